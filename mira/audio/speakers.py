"""Who is speaking: voice profiles and open-set identification on embeddings (pure numpy).

A profile is a robust aggregate of a person's sample embeddings: their normalised mean after
dropping samples that disagree with the rest (a mislabelled or noisy sample must not drag a
profile away, which an exponential average would let it do). `identify` is the plain open-set
rule (the most similar profile, if it reaches a threshold); `decide`, below, is what the worker
uses: it accounts for noise and short speech, and may answer "nobody yet".
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

# Chosen with bench/speaker_id.py on the shared LibriSpeech speakers (VAD-trimmed speech,
# 3-utterance profiles): 0.74–0.76 accepted every enrolled utterance and no stranger's.
DEFAULT_THRESHOLD = 0.75
MAX_SAMPLES = 20
EMBEDDING_SIZE = 256


def normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def aggregate(embeddings: Sequence[np.ndarray], threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The profile of a set of samples: the normalised mean of those that agree.

    A sample that would not be identified as this person by the others (similarity to the
    centre of the other samples below the threshold) is left out, as long as two or more
    samples remain."""
    if not embeddings:
        raise ValueError("a profile needs at least one sample")
    stack = np.stack([normalise(e) for e in embeddings])
    if len(stack) >= 3:
        others = stack.sum(axis=0)[None, :] - stack  # each sample's leave-one-out centre
        others /= np.linalg.norm(others, axis=1, keepdims=True)
        keep = np.einsum("ij,ij->i", stack, others) >= threshold
        if keep.sum() >= 2:
            stack = stack[keep]
    return normalise(stack.mean(axis=0))


@dataclass(frozen=True)
class Match:
    key: Hashable | None  # None: no profile is close enough (a stranger)
    score: float  # similarity to the best profile (0 without profiles)
    best_key: Hashable | None  # the closest profile, accepted or not


def identify(
    embedding: np.ndarray,
    profiles: Sequence[tuple[Hashable, np.ndarray]],
    threshold: float = DEFAULT_THRESHOLD,
) -> Match:
    if not profiles:
        return Match(None, 0.0, None)
    keys = [key for key, _ in profiles]
    scores = np.stack([vector for _, vector in profiles]) @ normalise(embedding)
    best = int(np.argmax(scores))
    score = float(scores[best])
    return Match(keys[best] if score >= threshold else None, score, keys[best])


# --- deciding who spoke, in a real room ------------------------------------------------------
#
# A voice's similarity to its own profile falls with noise and with shorter speech, and so does
# a stranger's; one fixed threshold therefore either turns most noisy utterances of known people
# away or lets strangers in. Profiles carry two centres: the clean one (the mean of the clean
# samples, `aggregate`) and a noisy one (the mean of the same samples embedded again with
# household-like noise added, `mira.audio.augment`), so a noisy utterance has a centre heard in
# similar conditions to be compared with. Each centre has its own threshold, which depends on how
# much speech the utterance holds and how noisy it is (SNR estimated around the speech, see
# `mira.audio.quality.speech_snr_db`), and the best person must lead the runner-up by a margin.
# Below the thresholds Mira says nobody rather than someone: an utterance creates a new person
# only when it is long and clean enough to stand on its own and resembles no profile.


@dataclass(frozen=True)
class Voice:
    """A person's profile: the clean centre and, when known, the noisy one."""

    clean: np.ndarray
    noisy: np.ndarray | None = None


@dataclass(frozen=True)
class Evidence:
    """What the utterance is: its embedding, how much speech it holds, how noisy it is."""

    embedding: np.ndarray
    speech_s: float
    snr_db: float


@dataclass(frozen=True)
class Calibration:
    """Thresholds of `decide`. The defaults were fitted with `bench/speaker_id.py --fit` on the
    shared LibriSpeech speakers (all ten; fitted on five, the same procedure met the targets on
    the other five: docs/performance.md), at most 0.4 % of strangers' utterances accepted in any
    band of SNR and speech duration.

    With n = clip((30 - snr_db) / 20, 0, 1) (0 when clean, 1 at 10 dB and below) and
    d = clip((3 - speech_s) / 2, 0, 1) (0 from 3 s of speech on, 1 at 1 s), an utterance is the
    best person's when its clean similarity reaches `clean + clean_short·d`, or its noisy
    similarity reaches `noisy + noisy_noise·n + noisy_short·d`, and it leads the runner-up by
    `margin`."""

    clean: float = 0.7405
    clean_short: float = -0.05
    noisy: float = 0.7775
    noisy_noise: float = 0.05
    noisy_short: float = -0.10
    margin: float = 0.03

    def shifted(self, offset: float) -> Calibration:
        """Every threshold moved by `offset` (a network's stricter or looser setting)."""
        return Calibration(
            self.clean + offset,
            self.clean_short,
            self.noisy + offset,
            self.noisy_noise,
            self.noisy_short,
            self.margin,
        )


DEFAULT_CALIBRATION = Calibration()
MIN_SPEECH_S = 1.0  # shorter speech gives unreliable embeddings: nobody is attributed
# A new person only from evidence that stands on its own: enough clean speech, like no one.
NEW_MIN_SPEECH_S = 2.0
NEW_MIN_SNR_DB = 20.0
NEW_GAP = 0.05  # ... and at least this far below the clean threshold of every profile
# A profile learns only from confident, clean matches (never from noisy ones, which would pull
# the clean centre toward the noise): clean similarity this far above its threshold, and clean.
LEARN_MARGIN = 0.05
LEARN_MIN_SNR_DB = 25.0
LEARN_MIN_SPEECH_S = 2.0


def may_teach(speech_s: float, snr_db: float) -> bool:
    """Whether `decide` could answer "new" or a match that learns for an utterance with this
    much speech and this SNR. Only such a clip is ever stored with noisy copies, so the analysis
    job embeds the copies of these clips alone (together with the clip, in one pass)."""
    return (speech_s >= NEW_MIN_SPEECH_S and snr_db >= NEW_MIN_SNR_DB) or (
        speech_s >= LEARN_MIN_SPEECH_S and snr_db >= LEARN_MIN_SNR_DB
    )


def voice_of(samples: Sequence[np.ndarray]) -> Voice:
    """A profile from stored samples, each an array of rows: the sample's embedding first,
    then the embeddings of its noisy copies (`mira.audio.speakers_batch.sample_rows`), if any."""
    rows = [np.asarray(s, dtype=np.float32).reshape(-1, EMBEDDING_SIZE) for s in samples]
    clean = aggregate([r[0] for r in rows])
    copies = [copy for r in rows for copy in r[1:]]
    return Voice(clean, aggregate(copies) if copies else None)


def noise_factor(snr_db):
    """0 for a clean utterance (30 dB SNR and above), 1 at 10 dB and below (numbers or arrays)."""
    return np.clip((30.0 - np.asarray(snr_db, dtype=np.float64)) / 20.0, 0.0, 1.0)


def shortness(speech_s):
    """0 from 3 s of speech on, 1 at 1 s (numbers or arrays)."""
    return np.clip((3.0 - np.asarray(speech_s, dtype=np.float64)) / 2.0, 0.0, 1.0)


@dataclass(frozen=True)
class Decision:
    """`outcome`: "match" (key is the person), "new" (create a person for this voice), or
    "undecided" (attribute no one; `reason` says why)."""

    outcome: str
    key: Hashable | None
    score: float  # the best person's similarity (the larger of clean and noisy; 0 without any)
    best_key: Hashable | None
    reason: str | None = None
    clean_score: float = 0.0
    noisy_score: float | None = None
    runner_up: float | None = None
    learn: bool = False

    def as_dict(self) -> dict:
        """What `metadata.speaker` of an interaction records."""
        out: dict = {"decision": self.outcome}
        if self.reason:
            out["reason"] = self.reason
        if self.best_key is not None:
            out["candidate"] = str(self.best_key)
            out["score"] = round(self.score, 4)
            out["clean_score"] = round(self.clean_score, 4)
            if self.noisy_score is not None:
                out["noisy_score"] = round(self.noisy_score, 4)
            if self.runner_up is not None:
                out["runner_up_score"] = round(self.runner_up, 4)
        return out


def decide(
    evidence: Evidence,
    voices: Sequence[tuple[Hashable, Voice]],
    calibration: Calibration = DEFAULT_CALIBRATION,
) -> Decision:
    """Who spoke `evidence`, among `voices` — or nobody yet, or a new person."""
    if evidence.speech_s < MIN_SPEECH_S:
        return Decision("undecided", None, 0.0, None, "too_short")
    x = normalise(evidence.embedding)
    n, d = float(noise_factor(evidence.snr_db)), float(shortness(evidence.speech_s))
    clean_limit = calibration.clean + calibration.clean_short * d
    noisy_limit = calibration.noisy + calibration.noisy_noise * n + calibration.noisy_short * d
    strong_new = evidence.speech_s >= NEW_MIN_SPEECH_S and evidence.snr_db >= NEW_MIN_SNR_DB
    if not voices:
        if strong_new:
            return Decision("new", None, 0.0, None)
        return Decision("undecided", None, 0.0, None, _weak(evidence))
    keys = [key for key, _ in voices]
    clean = np.stack([v.clean for _, v in voices]) @ x
    noisy = np.array([float(v.noisy @ x) if v.noisy is not None else -1.0 for _, v in voices])
    combined = np.maximum(clean, noisy)
    order = np.argsort(-combined)
    best = int(order[0])
    runner_up = float(combined[order[1]]) if len(order) > 1 else None
    details = {
        "score": float(combined[best]),
        "best_key": keys[best],
        "clean_score": float(clean[best]),
        "noisy_score": float(noisy[best]) if voices[best][1].noisy is not None else None,
        "runner_up": runner_up,
    }
    leads = runner_up is None or combined[best] - runner_up >= calibration.margin
    if leads and (clean[best] >= clean_limit or noisy[best] >= noisy_limit):
        learn = (
            clean[best] >= clean_limit + LEARN_MARGIN
            and evidence.snr_db >= LEARN_MIN_SNR_DB
            and evidence.speech_s >= LEARN_MIN_SPEECH_S
            and (runner_up is None or clean[best] - runner_up >= LEARN_MARGIN)
        )
        return Decision("match", keys[best], learn=learn, **details)
    if strong_new and combined[best] < clean_limit - NEW_GAP:
        return Decision("new", None, **details)
    if combined[best] >= clean_limit - NEW_GAP:
        reason = "ambiguous" if not leads else "below_threshold"
    else:
        reason = _weak(evidence)
    return Decision("undecided", None, reason=reason, **details)


def _weak(evidence: Evidence) -> str:
    return "too_short" if evidence.speech_s < NEW_MIN_SPEECH_S else "too_noisy"
