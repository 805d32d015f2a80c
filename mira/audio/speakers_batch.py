"""A voice sample and its noisy copies, embedded in one forward pass of the encoder.

A clip that creates a person or teaches a profile is stored with the embeddings of its noisy
copies (`mira.audio.augment`). Embedded one after the other, the copy doubled the speaker
stage's cost (a second front end and a second run of the LSTM over 160 steps). Stacked with
the clip's own partial windows, it costs the LSTM a larger batch instead (~1.4–1.8x on one
core, not 2x: a batch of three 1.6 s windows leaves the CPU's matrix kernels underfilled).

- `partials_together`: `SpeakerEncoder.partials` of several clips in one pass, the same
  numbers (float rounding aside) as each clip's own call.
- `sample_rows`: a voice sample as stored (the clip's embedding, then its copies') in one
  pass; enrolment and the analysis job's several-voice uploads use it.
- `WithCopies`: an encoder for `mira.audio.diarize.diarize` that embeds the copies of the
  speech together with the speech itself; the analysis job hands it over only for clips that
  might teach or create a person (`mira.audio.speakers.may_teach`), so a noisy or short clip
  pays nothing for copies it could never be stored with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mira.audio.augment import KINDS, noisy_copies
from mira.audio.embedding import EMBEDDING_SIZE

# --- one forward pass ----------------------------------------------------------------------------


def partials_together(encoder, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
    """`encoder.partials(clip)` for every clip, with one run of the network over all their
    windows. An encoder without that split (a test's stand-in) is asked clip by clip."""
    if not clips:
        return []
    if not hasattr(encoder, "run"):
        return [encoder.partials(clip) for clip in clips]
    batches = [encoder.windows(np.asarray(clip, dtype=np.float32)) for clip in clips]
    out = encoder.run(np.concatenate(batches))
    return np.split(out, np.cumsum([len(b) for b in batches])[:-1])


def utterance_embedding(partials: np.ndarray) -> np.ndarray:
    """`SpeakerEncoder.embed`'s answer from the partials: their normalised mean."""
    mean = partials.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)


def sample_rows(
    encoder, speech: np.ndarray, kinds=KINDS, embedding: np.ndarray | None = None
) -> np.ndarray:
    """A voice sample as stored: the speech's embedding, then one per noisy copy (shape
    (1 + len(kinds), 256)), embedded in one forward pass. `embedding` (the speech's, already
    known) saves embedding the speech again."""
    copies = noisy_copies(speech, kinds=kinds)
    clips = copies if embedding is not None else [speech, *copies]
    rows = [utterance_embedding(p) for p in partials_together(encoder, clips)]
    if embedding is not None:
        rows.insert(0, np.asarray(embedding, dtype=np.float32))
    return np.stack(rows).astype(np.float32)


class WithCopies:
    """The encoder, for `diarize`: when asked for the partials of `speech` (the voiced samples
    diarize embeds first), it embeds the noisy copies of `speech` in the same pass and keeps
    their embeddings in `copies` (shape (len(kinds), 256)); any other call is the encoder's.

    `copies` stays None when diarize never embedded `speech` whole."""

    def __init__(self, encoder, speech: np.ndarray, kinds=KINDS):
        self._encoder = encoder
        self._speech = np.asarray(speech, dtype=np.float32)
        self._kinds = tuple(kinds)
        self.copies: np.ndarray | None = None

    def partials(self, audio: np.ndarray) -> np.ndarray:
        if (
            self.copies is None
            and len(audio) == len(self._speech)
            and np.array_equal(audio, self._speech)
        ):
            copies = noisy_copies(self._speech, kinds=self._kinds)
            own, *noisy = partials_together(self._encoder, [self._speech, *copies])
            self.copies = (
                np.stack([utterance_embedding(p) for p in noisy])
                if noisy
                else np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
            )
            return own
        return self._encoder.partials(audio)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        return self._encoder.embed(audio)

    def rows(self, embedding: np.ndarray) -> np.ndarray | None:
        """The sample rows of the speech (`embedding`, then its copies'), or None when the
        copies were not made."""
        if self.copies is None:
            return None
        return np.vstack([np.asarray(embedding, np.float32)[None, :], self.copies])
