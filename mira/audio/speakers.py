"""Who is speaking: voice profiles and open-set identification on embeddings (pure numpy).

A profile is a robust aggregate of a person's sample embeddings: their normalised mean after
dropping samples that disagree with the rest (a mislabelled or noisy sample must not drag a
profile away, which an exponential average would let it do). An utterance belongs to the most
similar profile when the similarity reaches the threshold; otherwise it is a stranger's.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

# Chosen with bench/speaker_id.py on the shared LibriSpeech speakers (VAD-trimmed speech,
# 3-utterance profiles): 0.74–0.76 accepted every enrolled utterance and no stranger's.
DEFAULT_THRESHOLD = 0.75
MAX_SAMPLES = 20


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
