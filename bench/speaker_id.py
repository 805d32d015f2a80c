"""Speaker identification in a real room: short utterances, household noise, reverberation.

Speech: the LibriSpeech speakers of tests/data (10 speakers × 10 utterances), or
../shared/data/librispeech-test-other when that holds more speakers. Each speaker's first three
utterances, clean and whole, enrol them (through the enrolment path: high-pass, VAD, embedding);
their other utterances are the probes, and so are all utterances of the strangers (speakers
never enrolled, treated the same way).

Conditions (each probe, every condition):

- duration: 1.0 s, 1.6 s, 3 s of audio from the first detected speech on (with 0.25 s of the
  recording's own surroundings either side), or the full utterance;
- noise, made with sox at run time and mixed at 20 / 10 / 5 dB SNR (speech power over the
  probe's speech against noise power): pink, brown, babble (five voices of speakers outside the
  test network, summed with `sox -m`), music-like (plucked chords over a bass line, `sox synth`);
- reverberation: `sox reverb` on the clean probe.

Speakers are split into two folds (alternating in sorted order). Whatever the decision fits —
thresholds, the impostor cohort — comes from one fold and is tested on the other: networks of
3 enrolled speakers and 2 strangers, every choice of 3 out of the 5 held-out speakers
(10 networks per fold, 20 in all). Each probe is decided on its own against the enrolled
profiles (no learning between probes), through Mira's own path: denoise, VAD, `diarize`, the
analysis job's voice of the turn, and `mira.audio.speakers.decide` (which
`mira.persons.voices.attribute` calls). Printed per condition:

- enrolled probes: recognised (the right person), wrong person, undecided (nobody attributed),
  new unknown (a new "Person N" would be created);
- strangers' probes: accepted as an enrolled person (the error), and for information how many
  would become a new unknown person;
- the reference in the same run: the raw encoder (whole clip, no VAD, profile = mean of three,
  fixed threshold 0.80): recognised, strangers accepted, and how often it ranks the right
  speaker first.

Then, as before, the clean full-length online protocol (all 252 rotations of 5 enrolled and 5
strangers out of 10, utterances arriving interleaved, strangers becoming persons, profiles
learning) and the speed of the speaker stage on 3 s clips.

The thresholds of `mira.audio.speakers.Calibration` are fitted on the run's conditions by
`fit_calibration` (a grid; at most 0.4 % of the fitting speakers' strangers accepted in every
band of SNR and speech duration); `--fit` also fits them on all speakers, which is how Mira's
defaults were chosen. `--decision before` decides as Mira did before (one clean profile, fixed
0.75, anything else a new person), for the table this replaced.

    .venv/bin/python bench/speaker_id.py [--quick] [--cache /tmp/mira-speaker-cache] [--fit]
                                         [--decision before] [--min-speech S] [--cuts N]
    .venv/bin/python bench/speaker_id.py --cost [--repeats 5]

`--cost` measures only the speaker stage on 3 s clips (about a minute): before issue 15, a clip
that cannot teach, a clean clip that may teach (its noisy copy in the same forward pass), and
the copy embedded separately as until then, interleaved in the same run.

`--min-speech S` moves the speech below which nobody is attributed (Mira's
`MIN_SPEECH_S`, both the analysis job's gate and `decide`'s) for the run: probes are embedded
from EMBED_FLOOR_S of speech on, so one cache serves every minimum.

`--cuts N` cuts up to N probes of each short duration from every utterance instead of one: the
first from the first speech (the one probe of the default table), each next one from the first
stretch of speech that begins after the previous cut's speech ended and leaves room for a whole
cut (noise drawn afresh for each). With one cut, the 70 enrolled probes of a condition make
one probe worth 1.4 points of a row; `--cuts 4` cuts 1.7× as many 1.6 s probes and 1.3× as
many 3 s probes from these utterances (the run prints the counts).

`--quick` runs 1.6 s clean, 3 s clean and at 10 dB SNR of every noise, and full clean (a few
minutes on two busy cores; the held-out thresholds are then fitted on those conditions only);
`--cache` keeps embeddings between runs (keyed by what makes them); `bench/speaker_scoring.py`
reads that cache to measure other ways of scoring a probe against the profiles.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from mira.audio import SAMPLE_RATE as SR  # noqa: E402
from mira.audio import speakers as mira_speakers  # noqa: E402
from mira.audio.augment import ANALYSIS_KINDS, ENROLMENT_KINDS, noisy_copies  # noqa: E402
from mira.audio.denoise import denoise  # noqa: E402
from mira.audio.diarize import diarize  # noqa: E402
from mira.audio.embedding import EMBEDDING_SIZE, encoder  # noqa: E402
from mira.audio.quality import speech_snr_db  # noqa: E402
from mira.audio.speakers import (  # noqa: E402
    DEFAULT_CALIBRATION,
    MAX_SAMPLES,
    Calibration,
    Evidence,
    decide,
    may_teach,
    noise_factor,
    shortness,
    voice_of,
)
from mira.audio.speakers_batch import WithCopies, sample_rows  # noqa: E402
from mira.audio.vad import find_speech  # noqa: E402
from mira.persons import voices  # noqa: E402
from mira.pipeline.analysis import VoiceTurn, _voice_of  # noqa: E402

IN_REPO = PROJECT_ROOT / "tests" / "data" / "librispeech-test-other"
SHARED = PROJECT_ROOT.parent / "shared" / "data" / "librispeech-test-other"
ENROL = 3
RAW_THRESHOLD = 0.80
PAD_S = 0.25
DURATIONS = {"1.0 s": 1.0, "1.6 s": 1.6, "3 s": 3.0, "full": None}
NOISES = ("pink", "brown", "babble", "music")
SNRS = (20, 10, 5)
CONDITIONS = [  # the full table: every duration, clean, each noise at each SNR, reverberated
    (d, n, s)
    for d in DURATIONS
    for n, s in [("clean", None), *[(n, s) for n in NOISES for s in SNRS], ("reverb", None)]
]
QUICK = [
    ("1.6 s", "clean", None),
    ("3 s", "clean", None),
    *[("3 s", noise, 10) for noise in NOISES],
    ("full", "clean", None),
]
EMBED_FLOOR_S = 0.5  # probes are embedded from this much speech on; `--min-speech` decides
PIPELINE = "highpass-vad2-diarize-v3"  # part of the cache key: change it when the path changes
ROWS_CACHE = "enrolment-rows-self-babble"  # ... and this when enrolment stores other copies


def data_dir() -> Path:
    def count(folder: Path) -> int:
        return len({p.parent.name for p in folder.glob("*/*.flac")}) if folder.is_dir() else 0

    return SHARED if count(SHARED) > count(IN_REPO) else IN_REPO


@dataclass
class Utterance:
    speaker: str
    index: int  # position among the speaker's files
    samples: np.ndarray
    speech_starts: list[int]  # where each stretch of speech begins (VAD of the clean
    # high-passed utterance), in samples
    speech_power: float  # mean power of the clean speech

    @property
    def speech_start(self) -> int:
        return self.speech_starts[0]

    def cut_starts(self, duration: float | None, cuts: int) -> list[int]:
        """Where the probes of `duration` begin: the first speech, then (up to `cuts` in all)
        the first stretch of speech beginning after the previous cut's speech ended whose
        cut fits in the utterance. Decided on the clean utterance, so every condition cuts
        at the same places."""
        if duration is None:
            return [self.speech_start]
        length, pad = int(duration * SR), int(PAD_S * SR)
        starts = [self.speech_start]
        for onset in self.speech_starts[1:]:
            if len(starts) == cuts:
                break
            if onset >= starts[-1] + length and onset + length + pad <= len(self.samples):
                starts.append(onset)
        return starts


def load(folder: Path) -> list[Utterance]:
    import soundfile

    out = []
    for speaker in sorted({p.parent.name for p in folder.glob("*/*.flac")}):
        for k, path in enumerate(sorted((folder / speaker).glob("*.flac"))):
            samples, rate = soundfile.read(path, dtype="float32")
            assert rate == SR
            report = find_speech(denoise(samples))
            speech = report.samples(samples)
            out.append(
                Utterance(
                    speaker,
                    k,
                    samples,
                    [int(segment.start_s * SR) for segment in report.segments],
                    float(np.mean(speech.astype(np.float64) ** 2)),
                )
            )
    return out


# --- noise, made with sox ---------------------------------------------------------------


def sox(*args: str) -> None:
    """sox in repeatable mode (`-R`: its noise generators start from a fixed seed)."""
    subprocess.run(["sox", "-R", *args], check=True, capture_output=True)


def read(path: Path) -> np.ndarray:
    import soundfile

    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    assert rate == SR
    return samples.mean(axis=1)


def make_noises(
    utterances: list[Utterance],
    folds: list[list[str]],
    work: Path,
    kinds=("pink", "brown", "music"),
) -> dict:
    """Long noise tracks: {"pink": array, "brown": array, "music": array,
    ("babble", fold): array made from the other fold's voices} (`kinds` of the first three)."""
    seconds = "90"
    noises: dict = {}
    for kind in [k for k in ("pink", "brown") if k in kinds]:
        sox("-n", "-r", str(SR), "-c", "1", "-b", "16", str(work / f"{kind}.wav"), "synth",
            seconds, f"{kind}noise")  # fmt: skip
        noises[kind] = read(work / f"{kind}.wav")
    if "music" in kinds:
        chords = [("C3", "E4", "G4", "C2"), ("A2", "C4", "E4", "A1"), ("F2", "A3", "C4", "F1"),
                  ("G2", "B3", "D4", "G1")]  # fmt: skip
        parts = []
        for k, (a, b, c, bass) in enumerate(chords * 2):
            part = work / f"chord{k}.wav"
            tones = ["pluck", a, "pluck", b, "pluck", c, "triangle", bass]
            sox("-n", "-r", str(SR), "-c", "4", "-b", "16", str(part), "synth", "0.75", *tones,
                "tremolo", "6", "30")  # fmt: skip
            parts.append(str(part))
        sox(*parts, str(work / "phrase.wav"))
        sox(str(work / "phrase.wav"), str(work / "music.wav"), "repeat", "15")
        noises["music"] = read(work / "music.wav")
    for f in range(len(folds)):
        voices_ = [s for g, other in enumerate(folds) if g != f for s in other]
        streams = []
        for s in voices_:
            stream = work / f"voice-{s}.wav"
            mine = [u.samples for u in utterances if u.speaker == s]
            write(stream, np.concatenate(mine * 3))
            streams.append(str(stream))
        sox("-m", *streams, str(work / f"babble{f}.wav"), "trim", "0", seconds)
        noises[("babble", f)] = read(work / f"babble{f}.wav")
    return noises


def write(path: Path, samples: np.ndarray) -> None:
    import soundfile

    soundfile.write(path, samples, SR, subtype="FLOAT")


def reverberate(samples: np.ndarray, work: Path) -> np.ndarray:
    write(work / "dry.wav", samples)
    sox(str(work / "dry.wav"), str(work / "wet.wav"), "reverb", "50", "50", "100")
    return read(work / "wet.wav")[: len(samples)]


def probe_audio(
    u: Utterance,
    duration: float | None,
    noise: str,
    snr: int | None,
    noises,
    fold: int,
    work,
    cut: int = 0,
    onset: int | None = None,
) -> np.ndarray:
    """The probe of one condition: the cut from the speech at `onset` (the first speech when
    None; `cut` numbers it, so each cut has noise of its own), noise mixed at `snr`."""
    samples = reverberate(u.samples, work) if noise == "reverb" else u.samples
    onset = u.speech_start if onset is None else onset
    if duration is None:
        clip = samples
    else:
        start = max(0, onset - int(PAD_S * SR))
        clip = samples[start : onset + int((duration + PAD_S) * SR)]
    if noise in ("clean", "reverb"):
        return clip.astype(np.float32)
    track = noises[("babble", fold)] if noise == "babble" else noises[noise]
    name = f"{u.speaker}/{u.index}/{noise}" + (f"/{cut}" if cut else "")
    seed = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    offset = np.random.default_rng(seed).integers(0, len(track) - len(clip))
    piece = track[offset : offset + len(clip)].astype(np.float64)
    gain = np.sqrt(u.speech_power / (np.mean(piece**2) * 10 ** (snr / 10)))
    mixed = clip + gain * piece
    peak = float(np.max(np.abs(mixed)))
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


# --- Mira's path and the raw encoder ---------------------------------------------------------


@dataclass
class Probe:
    embedding: np.ndarray | None  # None: no speech found, or under EMBED_FLOOR_S of it
    speech_s: float  # what the analysis job passes to attribute
    voiced_s: float  # the VAD's speech (the analysis job embeds from voices.MIN_SPEECH_S on)
    snr_db: float  # SNR around the speech (`speech_snr_db`), as the analysis job passes it
    turns: int
    raw: np.ndarray  # the raw encoder on the whole clip
    seconds: float  # time Mira's speaker stage took (denoise, VAD, diarize)


def mira_path(audio: np.ndarray) -> Probe:
    """What the analysis job computes for an upload before attributing it."""
    model = encoder()
    clean = denoise(audio, "highpass")
    speech = find_speech(clean, 2)
    snr_db = speech_snr_db(clean, speech.segments)
    embedding, speech_s, turns = None, 0.0, 0
    started = time.perf_counter()
    if speech.has_speech:
        whole_s = speech.segments[-1].end_s - speech.segments[0].start_s
        speech_s = whole_s
        if speech.speech_s >= EMBED_FLOOR_S:
            found = diarize(clean, speech, model, None)
            turns = len(found)
            if len(found) <= 1:
                embedding = found[0].embedding if found else None
            else:  # the voice holding most of the speech
                parts = [VoiceTurn(t.start_s, t.end_s, t.embedding, t.cluster) for t in found]
                voiced = {c: _voice_of(parts, c) for c in {t.cluster for t in parts}}
                embedding, speech_s = max(voiced.values(), key=lambda v: v[1])
    seconds = time.perf_counter() - started
    voiced_s = speech.speech_s if speech.has_speech else 0.0
    return Probe(embedding, speech_s, voiced_s, snr_db, turns, model.embed(audio), seconds)


def decidable(probe: Probe) -> bool:
    """Whether the analysis job would embed the probe and `decide` judge it (both gates read
    the minimum of the run, `--min-speech`)."""
    return (
        probe.embedding is not None
        and probe.voiced_s >= voices.MIN_SPEECH_S
        and probe.speech_s >= mira_speakers.MIN_SPEECH_S
    )


def embed_condition(
    utterances, condition, noises, folds, work, cache: Path | None, cuts: int = 1
) -> list[list[Probe]]:
    """Per utterance, its probes of `condition`: one cut, or up to `cuts` (`--cuts`)."""
    duration_name, noise, snr = condition
    what = [PIPELINE, str(data_dir()), duration_name, noise, snr] + ([cuts] if cuts > 1 else [])
    key = hashlib.sha1(json.dumps(what).encode()).hexdigest()[:16]
    path = cache / f"{key}.npz" if cache else None
    if path is not None and path.exists():
        stored = list(np.load(path, allow_pickle=True)["probes"])
        return [list(p) for p in stored] if cuts > 1 else [[p] for p in stored]
    fold_of = {s: f for f, fold in enumerate(folds) for s in fold}
    duration = DURATIONS[duration_name]
    probes = [
        [
            mira_path(
                probe_audio(u, duration, noise, snr, noises, fold_of[u.speaker], work, k, onset)
            )
            for k, onset in enumerate(u.cut_starts(duration, cuts))
        ]
        for u in utterances
    ]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = np.empty(len(probes), dtype=object)
        stored[:] = probes if cuts > 1 else [p[0] for p in probes]
        np.savez(path, probes=stored)
    return probes


# --- decisions -----------------------------------------------------------------------------

OUTCOMES = ("right", "wrong", "undecided", "new")


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "match", "new" or "undecided"
    key: object
    learn: bool


def mira_decision(probe: Probe, voices_, calibration: Calibration) -> Outcome:
    """`mira.persons.voices.attribute`'s decision: `mira.audio.speakers.decide` on what the
    analysis job computed (nobody when the VAD found under `voices.MIN_SPEECH_S` of speech)."""
    if not decidable(probe):  # `decide` would answer "too_short" for the span's gate too
        return Outcome("undecided", None, False)
    evidence = Evidence(probe.embedding, probe.speech_s, probe.snr_db)
    decision = decide(evidence, voices_, calibration)
    return Outcome(decision.outcome, decision.key, decision.learn)


def before_decision(probe: Probe, voices_, _calibration=None) -> Outcome:
    """Mira before this benchmark's conditions existed: under MIN_SPEECH_S nobody, else the
    clean profile at 0.75, else a new person (learning 0.05 above the threshold)."""
    if not decidable(probe):
        return Outcome("undecided", None, False)
    keys = [key for key, _ in voices_]
    if not keys:
        return Outcome("new", None, True)
    scores = np.stack([v.clean for _, v in voices_]) @ probe.embedding
    best = int(np.argmax(scores))
    if scores[best] >= 0.75:
        return Outcome("match", keys[best], bool(scores[best] >= 0.80))
    return Outcome("new", None, True)


def networks(speakers: list[str], strangers_per_network: int):
    """(enrolled, strangers) for every choice of enrolled speakers among `speakers`."""
    size = len(speakers) - strangers_per_network
    for enrolled in itertools.combinations(speakers, size):
        yield list(enrolled), [s for s in speakers if s not in enrolled]


def protocol_networks(folds: list[list[str]], protocol: str):
    """(fold, enrolled, strangers). "held-out": every 3 of each fold's 5 speakers enrolled, the
    other 2 strangers, decided with what was fitted on the other fold; "all": every 5 of all
    speakers enrolled, the other 5 strangers (the issue's protocol), decided with Mira's
    defaults (fitted on all speakers: in-sample)."""
    if protocol == "all":
        for enrolled, strangers in networks(sorted(s for f in folds for s in f), 5):
            yield None, enrolled, strangers
        return
    for f, fold in enumerate(folds):
        for enrolled, strangers in networks(fold, 2):
            yield f, enrolled, strangers


def by_speaker(utterances) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        out.setdefault(u.speaker, []).append(i)
    return out


def spoken_by(speaker: str, enrolled: list[str], own_files, probes):
    """A speaker's probes in a network: an enrolled speaker's from the utterances that did not
    enrol them, a stranger's from all, every cut of each."""
    files = own_files[speaker][ENROL:] if speaker in enrolled else own_files[speaker]
    return (probe for i in files for probe in probes[i])


def score_condition(utterances, rows, raw_enrol, probes, folds, decider, protocol) -> dict:
    counts = dict.fromkeys(
        ["n", *OUTCOMES, "s_n", "s_accepted", "s_new", "raw_right", "raw_first", "raw_s_acc"], 0
    )
    own_files = by_speaker(utterances)
    for fold, enrolled, strangers in protocol_networks(folds, protocol):
        decision = decider(fold)
        profiles = [(s, voice_of([rows[i] for i in own_files[s][:ENROL]])) for s in enrolled]
        raw_matrix = np.stack(
            [plain_mean([raw_enrol[i] for i in own_files[s][:ENROL]]) for s in enrolled]
        )
        for s in enrolled + strangers:
            for probe in spoken_by(s, enrolled, own_files, probes):
                said = decision(probe, profiles)
                raw_scores = raw_matrix @ probe.raw
                best = int(np.argmax(raw_scores))
                raw_key = enrolled[best] if raw_scores[best] >= RAW_THRESHOLD else None
                if s in enrolled:
                    counts["n"] += 1
                    outcome = said.outcome
                    if outcome == "match":
                        outcome = "right" if said.key == s else "wrong"
                    counts[outcome] += 1
                    counts["raw_right"] += raw_key == s
                    counts["raw_first"] += enrolled[best] == s
                else:
                    counts["s_n"] += 1
                    counts["s_accepted"] += said.outcome == "match"
                    counts["s_new"] += said.outcome == "new"
                    counts["raw_s_acc"] += raw_key is not None
    return counts


# --- fitting the calibration -------------------------------------------------------------------

FIT_FALSE_ACCEPTS = 0.004  # strangers accepted on the fitting speakers, in every band of SNR
# and speech duration
SNR_BANDS = ((-np.inf, 15.0), (15.0, 25.0), (25.0, np.inf))  # estimated SNR, dB
SPEECH_BANDS = ((0.0, 2.0), (2.0, np.inf))  # seconds


def probe_arrays(utterances, probes_of_condition) -> dict:
    """A condition's probes (every cut) as arrays: utterance, speaker, embedding (zeros when
    none), whether `decide` would judge it, SNR, speech seconds."""
    items = [(i, p) for i, cuts in enumerate(probes_of_condition) for p in cuts]
    none = np.zeros(EMBEDDING_SIZE, dtype=np.float32)
    return {
        "utterance": np.array([i for i, _ in items]),
        "speaker": np.array([utterances[i].speaker for i, _ in items]),
        "embedding": np.stack(
            [p.embedding if p.embedding is not None else none for _, p in items]
        ).astype(np.float32),
        "decidable": np.array([decidable(p) for _, p in items]),
        "snr": np.array([p.snr_db for _, p in items]),
        "speech": np.array([p.speech_s for _, p in items]),
    }


def cosine(clean: np.ndarray, noisy: np.ndarray, probes: np.ndarray):
    """`decide`'s similarities, persons × probes: against the clean and the noisy centres."""
    return clean @ probes.T, noisy @ probes.T


def network_rows(
    utterances, rows, arrays, speakers, enrolled_per_network: int = 3, similarities=cosine
) -> np.ndarray:
    """Per (network, probe) on `speakers` (`enrolled_per_network` enrolled, the rest strangers,
    every choice; `arrays` from `probe_arrays`): is the probe an enrolled speaker's, is the best
    person right, the best person's clean and noisy similarity, the lead over the runner-up,
    SNR, speech seconds, and whether `decide` would judge the probe at all. `similarities`
    scores the probes against the centres (bench/speaker_scoring.py tries others)."""
    own_files = by_speaker(utterances)
    among = np.isin(arrays["speaker"], speakers)
    out = []
    for enrolled in map(list, itertools.combinations(speakers, enrolled_per_network)):
        voices_ = [voice_of([rows[i] for i in own_files[s][:ENROL]]) for s in enrolled]
        enrolling = [i for s in enrolled for i in own_files[s][:ENROL]]
        keep = among & ~np.isin(arrays["utterance"], enrolling)
        clean, noisy = similarities(
            np.stack([v.clean for v in voices_]),
            np.stack([v.noisy for v in voices_]),
            arrays["embedding"][keep],
        )
        combined = np.maximum(clean, noisy)
        order = np.argsort(-combined, axis=0)
        best, second = order[0], order[1]
        cols = np.arange(keep.sum())
        out.append(
            np.column_stack(
                [
                    np.isin(arrays["speaker"][keep], enrolled),
                    np.array(enrolled)[best] == arrays["speaker"][keep],
                    clean[best, cols],
                    noisy[best, cols],
                    combined[best, cols] - combined[second, cols],
                    arrays["snr"][keep],
                    arrays["speech"][keep],
                    arrays["decidable"][keep],
                ]
            )
        )
    return np.concatenate(out).astype(np.float64)


def fit_rows(
    utterances, rows, probes_by_condition, speakers: list[str], enrolled_per_network: int = 3
) -> np.ndarray:
    """`network_rows` of every condition, the probes `decide` judges only (what
    `fit_calibration` fits on)."""
    return judged(
        [
            network_rows(
                utterances, rows, probe_arrays(utterances, probes), speakers, enrolled_per_network
            )
            for probes in probes_by_condition
        ]
    )


def judged(tables: list[np.ndarray]) -> np.ndarray:
    """`network_rows` tables as one, without the probes `decide` would not judge and without
    that last column: the rows `fit_calibration` and `accepts` take."""
    table = np.concatenate(tables)
    return table[table[:, 7] == 1][:, :7]


def accepts(r: np.ndarray, cal: Calibration) -> np.ndarray:
    n, d = noise_factor(r[:, 5]), shortness(r[:, 6])
    clean_ok = r[:, 2] >= cal.clean + cal.clean_short * d
    noisy_ok = r[:, 3] >= cal.noisy + cal.noisy_noise * n + cal.noisy_short * d
    return (clean_ok | noisy_ok) & (r[:, 4] >= cal.margin)


def fit_calibration(r: np.ndarray) -> tuple[Calibration, float]:
    """The thresholds recognising most enrolled probes with at most FIT_FALSE_ACCEPTS of the
    strangers' probes accepted in each band of estimated SNR and speech, over a small grid (the
    clean centre's threshold takes half the budget, the noisy centre's what remains)."""
    strangers, enrolled = r[r[:, 0] == 0], r[r[:, 0] == 1]

    def up(value: float) -> float:  # 4 decimals, never below the limit found
        return float(np.ceil(value * 1e4) / 1e4)

    def limit(values: np.ndarray, rate: float) -> float:
        if len(values) == 0:
            return 1.0
        return float(np.sort(values)[max(0, int(np.ceil((1 - rate) * len(values))) - 1)] + 1e-6)

    d_s, n_s = shortness(strangers[:, 6]), noise_factor(strangers[:, 5])
    bands = [
        (strangers[:, 5] >= lo)
        & (strangers[:, 5] < hi)
        & (strangers[:, 6] >= a)
        & (strangers[:, 6] < b)
        for lo, hi in SNR_BANDS
        for a, b in SPEECH_BANDS
    ]
    bands = [band for band in bands if band.any()]
    best: tuple[float, Calibration] | None = None
    half = FIT_FALSE_ACCEPTS / 2
    for clean_short in np.linspace(-0.15, 0.05, 5):
        shifted = strangers[:, 2] - clean_short * d_s
        clean = max(limit(shifted[band], half) for band in bands)
        for noisy_noise in np.linspace(-0.05, 0.10, 7):
            for noisy_short in np.linspace(-0.15, 0.05, 5):
                values = strangers[:, 3] - noisy_noise * n_s - noisy_short * d_s
                for margin in (0.0, 0.03, 0.06):
                    rest = (shifted < clean) & (strangers[:, 4] >= margin)
                    noisy = max(
                        limit(values[band & rest], half * band.sum() / max(1, (band & rest).sum()))
                        for band in bands
                    )
                    cal = Calibration(
                        up(clean),
                        round(float(clean_short), 4),
                        up(noisy),
                        round(float(noisy_noise), 4),
                        round(float(noisy_short), 4),
                        margin,
                    )
                    accepted = accepts(strangers, cal)
                    if any(accepted[band].mean() > FIT_FALSE_ACCEPTS for band in bands):
                        continue
                    recognised = float(np.mean(accepts(enrolled, cal) & (enrolled[:, 1] == 1)))
                    if best is None or recognised > best[0]:
                        best = (recognised, cal)
    assert best is not None
    return best[1], best[0]


def plain_mean(samples) -> np.ndarray:
    mean = np.mean(samples, axis=0)
    return mean / np.linalg.norm(mean)


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}" if b else "  -  "


def print_table(rows: list[tuple[tuple, dict]]) -> None:
    print(
        "| probe | recognised | wrong person | undecided | new unknown | strangers accepted "
        "| (strangers → new) | raw: recognised | raw: right first | raw: strangers accepted |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (duration, noise, snr), c in rows:
        name = f"{duration}, {noise}" + (f" {snr} dB" if snr is not None else "")
        print(
            f"| {name} | {pct(c['right'], c['n'])} | {pct(c['wrong'], c['n'])} "
            f"| {pct(c['undecided'], c['n'])} | {pct(c['new'], c['n'])} "
            f"| {pct(c['s_accepted'], c['s_n'])} | {pct(c['s_new'], c['s_n'])} "
            f"| {pct(c['raw_right'], c['n'])} | {pct(c['raw_first'], c['n'])} "
            f"| {pct(c['raw_s_acc'], c['s_n'])} |"
        )


# --- the clean full-length online protocol (as before) ---------------------------------------


def online_rotations(utterances, probes, rows, decision):
    """Utterances arrive interleaved over 252 networks of 5 enrolled and 5 strangers; the
    voices Mira decides are new become persons, profiles learn when the decision says so (at
    most MAX_SAMPLES each, noisy copies for the first MAX_AUGMENTED_LEARNED, as Mira does)."""
    speakers = np.array([u.speaker for u in utterances])
    names = sorted(set(speakers))
    index = {s: np.flatnonzero(speakers == s) for s in names}
    right = total = false_accepts = stranger_total = merges = 0
    gathered = []
    for enrolled in itertools.combinations(names, 5):
        persons = {s: [rows[i] for i in index[s][:ENROL]] for s in enrolled}
        owner_of: dict[object, set] = {s: {s} for s in enrolled}
        auto = 0
        assigned = {}
        for k in range(10):
            for s in names:
                if s in enrolled and k < ENROL:
                    continue
                i = index[s][k]
                profiles = [(key, voice_of(samples)) for key, samples in persons.items()]
                said = decision(probes[i], profiles)
                key = said.key
                if said.outcome == "new":
                    auto += 1
                    key = f"person-{auto}"
                    persons[key], owner_of[key] = [], set()
                if key is not None:
                    learned = persons[key][ENROL:] if key in enrolled else persons[key]
                    if (said.outcome == "new" or said.learn) and len(learned) < MAX_SAMPLES:
                        augmented = sum(len(r) > 1 for r in learned)
                        copies = 1 + len(ANALYSIS_KINDS)  # the kinds come first in rows
                        keep = copies if augmented < voices.MAX_AUGMENTED_LEARNED else 1
                        persons[key].append(rows[i][:keep])
                    owner_of[key].add(s)
                assigned[i] = key
        for s in names:
            keys = [assigned[i] for i in (index[s][ENROL:] if s in enrolled else index[s])]
            if s in enrolled:
                right += sum(key == s for key in keys)
                total += len(keys)
            else:
                false_accepts += sum(key in enrolled for key in keys)
                stranger_total += len(keys)
                kept = [key for key in keys if key is not None]
                top = np.unique(kept, return_counts=True)[1].max() if kept else 0
                gathered.append(top / len(keys))
        merges += sum(len(owners) > 1 for owners in owner_of.values())
    return right / total, false_accepts / stranger_total, float(np.mean(gathered)), merges


def stage_cost(utterances, rows, repeats: int = 3) -> dict[str, float]:
    """The analysis job's speaker stage on 3 s clips of the first 20 utterances (best of
    `repeats` each, median ms), every variant in the same run and interleaved:

    - before: diarize, the fixed-threshold decision (Mira before issue 15);
    - now: the SNR around the speech, diarize, `decide` against 5 profiles — the cost of a clip
      that could not teach (`may_teach` false: noisy or short), which embeds no copy;
    - separate: now, then the noisy copy embedded on its own, as a clip that created a person
      or taught a profile cost until the copy joined the clip's pass;
    - learning: the path of a clean clip that may teach: the SNR, diarize with `WithCopies` (the
      noisy copy's windows in the same forward pass), `decide`, the sample rows."""
    timings: dict[str, list[float]] = {"before": [], "now": [], "separate": [], "learning": []}
    profiles = [(k, voice_of([rows[k]])) for k in range(0, 50, 10)]
    for u in utterances[:20]:
        start = max(0, u.speech_start - int(PAD_S * SR))
        clip = u.samples[start : u.speech_start + int((3.0 + PAD_S) * SR)]
        clean = denoise(clip, "highpass")
        speech = find_speech(clean, 2)
        span = speech.segments[-1].end_s - speech.segments[0].start_s
        best = dict.fromkeys(timings, float("inf"))
        for _ in range(repeats):
            started = time.perf_counter()
            turns = diarize(clean, speech, encoder(), None)
            probe = Probe(turns[0].embedding, span, speech.speech_s, 99.0, 1, turns[0].embedding, 0)
            before_decision(probe, profiles)
            best["before"] = min(best["before"], time.perf_counter() - started)

            started = time.perf_counter()
            snr_db = speech_snr_db(clean, speech.segments)
            turns = diarize(clean, speech, encoder(), None)
            decide(Evidence(turns[0].embedding, span, snr_db), profiles)
            now_done = time.perf_counter()
            for copy in noisy_copies(speech.samples(clean), kinds=ANALYSIS_KINDS):
                encoder().embed(copy)
            best["now"] = min(best["now"], now_done - started)
            best["separate"] = min(best["separate"], time.perf_counter() - started)

            started = time.perf_counter()
            snr_db = speech_snr_db(clean, speech.segments)
            assert may_teach(span, snr_db), "a clean 3 s clip may teach"
            paired = WithCopies(encoder(), speech.samples(clean), ANALYSIS_KINDS)
            turns = diarize(clean, speech, paired, None)
            decide(Evidence(turns[0].embedding, span, snr_db), profiles)
            paired.rows(turns[0].embedding)
            best["learning"] = min(best["learning"], time.perf_counter() - started)
        for key, value in best.items():
            timings[key].append(value * 1000)
    return {key: float(np.median(values)) for key, values in timings.items()}


def print_cost(cost: dict[str, float]) -> None:
    base = cost["before"]
    print(
        f"speaker stage on a 3 s clip (median): before {base:.0f} ms; now, a clip that cannot "
        f"teach {cost['now']:.0f} ms ({cost['now'] / base:.2f}x); a clean clip that may create "
        f"a person or teach a profile, its noisy copy in the same pass {cost['learning']:.0f} ms "
        f"({cost['learning'] / base:.2f}x); the copy embedded separately (until now) "
        f"{cost['separate']:.0f} ms ({cost['separate'] / base:.2f}x)"
    )


def DECISION(probe: Probe, voices_) -> Outcome:  # noqa: N802 - the decision under test
    return mira_decision(probe, voices_, DEFAULT_CALIBRATION)


def enrolment_rows(utterances) -> list[np.ndarray]:
    """Every full utterance as Mira stores an enrolled voice sample: its embedding and its noisy
    copies (every kind of `ENROLMENT_KINDS`; the analysis job's kinds come first, so a learned
    sample is a prefix)."""
    assert ENROLMENT_KINDS[: len(ANALYSIS_KINDS)] == ANALYSIS_KINDS
    return [stored_sample(u.samples) for u in utterances]


def stored_sample(samples: np.ndarray) -> np.ndarray:
    """A recording as enrolment stores it: high-pass, VAD, then the speech's embedding and its
    noisy copies' (`sample_rows`)."""
    clean = denoise(samples, "highpass")
    speech = find_speech(clean, 2).samples(clean)
    return sample_rows(encoder(), speech, ENROLMENT_KINDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few conditions (a few minutes)")
    parser.add_argument("--cache", type=Path, help="keep embeddings here between runs")
    parser.add_argument(
        "--decision",
        choices=("mira", "before"),
        default="mira",
        help="before: the fixed 0.75 threshold Mira used until the conditions were measured",
    )
    parser.add_argument(
        "--fit", action="store_true", help="also fit the calibration on all speakers and print it"
    )
    parser.add_argument(
        "--cost", action="store_true", help="only the speaker stage's cost on 3 s clips"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="--cost: best of this many runs per clip"
    )
    parser.add_argument(
        "--cuts",
        type=int,
        default=1,
        help="probes cut from each utterance for the 1.0 / 1.6 / 3 s conditions: the first "
        "speech, then each later stretch of speech after the previous cut (default 1)",
    )
    parser.add_argument(
        "--min-speech",
        type=float,
        help=f"seconds of speech below which nobody is attributed (Mira: "
        f"{mira_speakers.MIN_SPEECH_S}; from {EMBED_FLOOR_S} on)",
    )
    args = parser.parse_args()
    if args.min_speech is not None:
        assert args.min_speech >= EMBED_FLOOR_S, "probes are not embedded below EMBED_FLOOR_S"
        voices.MIN_SPEECH_S = mira_speakers.MIN_SPEECH_S = args.min_speech
        print(f"minimum speech to decide: {args.min_speech} s")

    folder = data_dir()
    utterances = load(folder)
    if args.cost:
        encoder().embed(np.zeros(SR, dtype=np.float32))  # load and warm
        rows = cached(args.cache, ROWS_CACHE, lambda: enrolment_rows(utterances))
        print_cost(stage_cost(utterances, rows, repeats=args.repeats))
        return
    names = sorted({u.speaker for u in utterances})
    folds = [names[0::2], names[1::2]]
    print(f"{len(utterances)} utterances of {len(names)} speakers from {folder}")
    print(f"folds (fit on one, test on the other): {folds[0]} | {folds[1]}")
    conditions = QUICK if args.quick else CONDITIONS
    encoder().embed(np.zeros(SR, dtype=np.float32))  # load and warm
    started = time.perf_counter()
    rows = cached(args.cache, ROWS_CACHE, lambda: enrolment_rows(utterances))
    with tempfile.TemporaryDirectory() as folder_:
        work = Path(folder_)
        noises = make_noises(utterances, folds, work)
        clean_full = [
            cuts[0]
            for cuts in embed_condition(
                utterances, ("full", "clean", None), noises, folds, work, args.cache
            )
        ]
        probes = {
            c: embed_condition(utterances, c, noises, folds, work, args.cache, args.cuts)
            for c in conditions
        }
    print(f"embedding all conditions took {time.perf_counter() - started:.0f} s")
    if args.cuts > 1:  # the same cuts in every condition of a duration
        counts = {
            c[0]: (
                sum(map(len, found)),
                sum(len(p) for p, u in zip(found, utterances, strict=True) if u.index >= ENROL),
            )
            for c, found in probes.items()
            if c[0] != "full"
        }
        print(
            "probes cut per duration (of them from utterances that never enrol): "
            + ", ".join(f"{d} {n} ({m})" for d, (n, m) in counts.items())
        )
    raw_enrol = [p.raw for p in clean_full]

    if args.decision == "before":
        calibrations: dict = {}
        decider = lambda fold: before_decision  # noqa: E731
    else:
        calibrations = {}
        for f in (0, 1):
            fitted, recognised = fit_calibration(
                fit_rows(utterances, rows, list(probes.values()), folds[1 - f])
            )
            calibrations[f] = fitted
            print(f"fitted on fold {1 - f} (for fold {f}): {fitted}, recognised {recognised:.3f}")
        calibrations[None] = DEFAULT_CALIBRATION
        print(f"Mira's defaults (networks of the 'all' table): {DEFAULT_CALIBRATION}")

        def decider(fold):
            return lambda probe, voices_: mira_decision(probe, voices_, calibrations[fold])

    tables: dict[str, list] = {"held-out": [], "all": []}
    for condition in conditions:
        for protocol, table in tables.items():
            counts = score_condition(
                utterances, rows, raw_enrol, probes[condition], folds, decider, protocol
            )
            table.append((condition, counts))
    print(f"decision: {args.decision}; reference: the raw encoder at {RAW_THRESHOLD:.2f}")
    print(
        "\nheld-out: networks of 3 enrolled + 2 strangers from one fold, decided with what was "
        "fitted on the other fold (20 networks)"
    )
    print_table(tables["held-out"])
    print(
        "\nall speakers: networks of 5 enrolled + 5 strangers (252), Mira's defaults (the "
        "issue's protocol; in-sample: the defaults were fitted on these speakers)"
    )
    print_table(tables["all"])
    chosen = before_decision if args.decision == "before" else DECISION
    right, fa, gathered, merges = online_rotations(utterances, clean_full, rows, chosen)
    print(
        f"\nonline, clean full length (252 networks of 5 + 5, learning): enrolled right "
        f"{right * 100:.1f} %, strangers attributed to enrolled persons {fa * 100:.2f} %, a "
        f"stranger's utterances on one auto-created person {gathered * 100:.1f} %, persons "
        f"holding two speakers {merges}"
    )
    print_cost(stage_cost(utterances, rows))
    if args.fit:
        everyone = fit_rows(utterances, rows, list(probes.values()), names)
        fitted, recognised = fit_calibration(everyone)
        print(f"fitted on all speakers: {fitted}, recognised {recognised:.3f}")
    print(
        "targets: 3 s at 10 dB: recognised >= 80 %, strangers <= 1 %, new unknown <= 5 %; "
        "1.6 s clean: >= 97 % / <= 1 %; full clean: >= 99 % / <= 1 %"
    )


def cached(cache: Path | None, name: str, make):
    path = cache / f"{name}-{PIPELINE}.npy" if cache else None
    if path is not None and path.exists():
        return list(np.load(path, allow_pickle=True))
    value = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.array(value, dtype=object), allow_pickle=True)
    return value


if __name__ == "__main__":
    main()
