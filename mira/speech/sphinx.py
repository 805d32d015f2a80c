"""PocketSphinx: the ultra-light offline fallback (its English model ships inside its wheel).

Far less accurate than Whisper on real speech (about 30 % WER on read speech), but small, fast
and dependency-free; used when Whisper cannot load. Its acoustic model also gives the wake word
a second, phonetic opinion (`WakeSpotter`) when Whisper's transcript lacks the name.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from mira.speech import SAMPLE_RATE, Segment, Transcript, TranscriptionError
from mira.speech.text import normalise

FRAMES_PER_S = 100  # PocketSphinx reports word timings in 10 ms frames
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


class SphinxTranscriber:
    name = "pocketsphinx"

    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise TranscriptionError("pocketsphinx is not installed") from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            words = [
                (seg.word, seg.start_frame, seg.end_frame)
                for seg in self._decoder.seg()
                if seg.word not in FILLERS
            ]
        text = hyp.hypstr.strip() if hyp is not None else ""
        segments = [
            Segment(round(start / FRAMES_PER_S, 2), round(end / FRAMES_PER_S, 2), _clean(word))
            for word, start, end in words
        ]
        # PocketSphinx's word posteriors are not computed in this decoding mode: no confidence.
        return Transcript(
            text=text,
            language="en",
            confidence=None,
            segments=segments,
            engine="pocketsphinx",
        )


def _clean(word: str) -> str:
    # Alternative pronunciations come back as "word(2)".
    return word.split("(", 1)[0]


# --------------------------------------------------------------------------- the wake word

# Words PocketSphinx may hear instead of the wake word, which must win over it when said.
# `RIVALS` may stand before the words Whisper heard (a name that opens like the wake word);
# `LOOK_ALIKES` may stand where Whisper wrote the wake word or a sound-alike of it. Without
# them PocketSphinx hears "Mira" in "Miranda called" and "Mia is coming" (bench/wake.py).
RIVALS: dict[str, tuple[str, ...]] = {"mira": ("miranda", "myra", "admiral")}
LOOK_ALIKES: dict[str, tuple[str, ...]] = {
    "mira": ("mirror", "mirrors", "miranda", "myra", "mia", "admiral", "meer", "mir")
}
# Narrower beams than PocketSphinx's defaults: the grammar is tiny. Measured on bench/wake.py's
# clips: the same words heard, 45 against 69 ms a clip (median, loaded machine).
_BEAMS = {"beam": 1e-30, "pbeam": 1e-25, "wbeam": 1e-20}


def _variants(phones: str) -> list[str]:
    """A pronunciation and how robotic or British voices say its vowel before R ("Mira":
    M IH R AH, M IY R AH, M IY AH R AH — espeak-ng's /mi@r@/)."""
    found = [phones]
    for old, new in (("IH R", "IY R"), ("IH R", "IY AH R")):
        if old in phones:
            found.append(phones.replace(old, new, 1))
    return found


class WakeSpotter:
    """A second, phonetic opinion on whether an utterance opens with a wake word.

    Whisper tiny.en drops a name it does not know (flite's "kal" voice saying "Mira, how many
    people are here?" comes back as "How many people are here?"). PocketSphinx is made to
    choose, on the same audio, between Whisper's words as they are and the same words with the
    wake word before them (or in place of the first two, which are often what Whisper made of
    the name: "There are how many people are here"), against rivals that open like it
    ("Miranda", "Myra"). Pronunciations come from PocketSphinx's own dictionary; a wake word it
    does not know is not spotted (no letter-to-sound rules here).
    """

    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise TranscriptionError("pocketsphinx is not installed") from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", lm=None, **_BEAMS)
        self._names: dict[str, list[str]] = {}  # wake word -> its dictionary entries
        self._searches = 0
        self._lock = threading.Lock()

    def _known(self, word: str) -> bool:
        return self._decoder.lookup_word(word) is not None

    def _entries(self, wake: str) -> list[str]:
        """Dictionary entries spelling the one-word wake word (`wake_1`, `wake_2`…)."""
        if wake not in self._names:
            phones = []
            for suffix in ("", "(2)", "(3)"):
                found = self._decoder.lookup_word(wake + suffix)
                if found:
                    phones += [p for p in _variants(found) if p not in phones]
            entries = []
            for n, pron in enumerate(phones, 1):  # the grammars made later see them
                entry = f"wake_{wake}_{n}"
                self._decoder.add_word(entry, pron, False)
                entries.append(entry)
            self._names[wake] = entries
        return self._names[wake]

    def _grammar(self, text: str, wake: str, entries: list[str]) -> str:
        from mira.assistant.wakeword import lead_ins, sounds_like

        # Whisper's words as the dictionary spells them: numbers in words, no punctuation.
        words = [w for w in normalise(text) if self._known(w)]
        leads = [w for w in sorted(lead_ins()) if self._known(w)]
        while words and words[0] in leads:
            words = words[1:]
        look_alikes = [w for w in LOOK_ALIKES.get(wake, ()) if self._known(w)]
        rivals = [w for w in RIVALS.get(wake, ()) if self._known(w)]

        def token(word: str) -> str:
            if word == wake or word in look_alikes or sounds_like(word, wake):
                return "<slot>"
            return word

        tokens = [token(w) for w in words]
        body = " ".join([f"[{t}]" for t in tokens[:2]] + tokens[2:])
        head = "[<head>]" if body.strip() else "<head>"
        lines = [
            "#JSGF V1.0;",
            "grammar wake;",
            f"public <utterance> = [<lead>] {head} {body};",
            f"<head> = {' | '.join(entries + rivals)};",
            f"<slot> = {' | '.join(entries + look_alikes)};",
        ]
        if leads:
            lines.append(f"<lead> = {' | '.join(leads)};")
        else:
            lines[2] = lines[2].replace("[<lead>] ", "")
        return "\n".join(lines) + "\n"

    def opening(self, samples: np.ndarray, text: str, wake_word: str) -> str | None:
        """The word PocketSphinx hears opening `samples` (after lead-ins): `wake_word` when it
        prefers the wake word before (or instead of the first words of) Whisper's `text`, a
        rival or look-alike when it prefers that, "" when it prefers Whisper's words as they
        are; None when it cannot tell (a multi-word or unknown wake word, no result)."""
        wake = wake_word.strip().lower()
        if not wake or " " in wake:
            return None
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with self._lock:
            entries = self._entries(wake)
            if not entries:
                return None
            self._searches += 1
            name = f"wake{self._searches}"
            try:
                self._decoder.add_jsgf_string(name, self._grammar(text, wake, entries))
            except (RuntimeError, ValueError):
                return None
            try:
                self._decoder.activate_search(name)
                self._decoder.start_utt()
                self._decoder.process_raw(pcm, full_utt=True)
                self._decoder.end_utt()
                hyp = self._decoder.hyp()
            finally:
                self._decoder.remove_search(name)
        from mira.assistant.wakeword import lead_ins

        words = hyp.hypstr.split() if hyp is not None else []
        words = [w for w in words if w not in lead_ins()]
        if not words:
            return None if hyp is None else ""
        first = words[0]
        if first in entries:
            return wake
        if first in RIVALS.get(wake, ()) or first in LOOK_ALIKES.get(wake, ()):
            return first
        return ""
