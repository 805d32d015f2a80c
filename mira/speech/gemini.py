"""Transcription by Gemini, for deployments that have GEMINI_API_KEY (Lambda, small servers).

The engine adds no model weights to the image; it needs the network, so any Gemini failure
becomes a `TranscriptionError` and the caller moves on to an offline engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mira.assistant.gemini import GeminiClient, GeminiError
from mira.speech import Transcript, TranscriptionError


class GeminiTranscriber:
    """The Transcriber protocol over `GeminiClient.transcribe`."""

    name = "gemini"

    def __init__(self, client: GeminiClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> GeminiTranscriber | None:
        """The engine when GEMINI_API_KEY is set, else None."""
        client = GeminiClient.from_settings(settings)
        return None if client is None else cls(client)

    def transcribe(self, samples: np.ndarray, hotwords: Sequence[str] = ()) -> Transcript:
        """Gemini knows names like "Mira" without hints; `hotwords` are accepted and unused."""
        try:
            return self.client.transcribe(samples)
        except GeminiError as exc:
            raise TranscriptionError(f"Gemini transcription failed: {exc}") from exc
