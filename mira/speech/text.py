"""Comparing transcripts: normalisation and word error rate.

Used by the transcription benchmark and to check a voice sample's `expected_text`. Engines
disagree on case, punctuation and numbers ("five" vs "5"), none of which are errors of hearing.
"""

from __future__ import annotations

import re

_NUMBERS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
    "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve",
    "13": "thirteen", "14": "fourteen", "15": "fifteen", "16": "sixteen", "17": "seventeen",
    "18": "eighteen", "19": "nineteen", "20": "twenty", "30": "thirty", "40": "forty",
    "50": "fifty", "60": "sixty",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9']+")
_SPELLINGS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "ok": "okay"}


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; small numbers spelt out; common abbreviations
    expanded."""
    words = []
    for word in _WORD.findall(text.lower().replace("-", " ")):
        word = word.strip("'")
        if not word:
            continue
        word = _SPELLINGS.get(word, word)
        words.append(_NUMBERS.get(word, word))
    return words


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after `normalise`."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            )
        previous = current
    return previous[-1] / len(ref)
