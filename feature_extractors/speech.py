"""Audio -> words with start and end times (faster-whisper, offline tiny.en by default)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np


class Word(NamedTuple):
    text: str
    start: float
    end: float
    probability: float


class SpeechRecognizer:
    def __init__(self, model: str | Path | None = None, *, threads: int = 2, compute_type: str = "int8") -> None:
        raise NotImplementedError("work in progress")

    def transcribe(self, samples: np.ndarray, offset: float = 0.0) -> list[Word]:
        raise NotImplementedError("work in progress")


class StreamingTranscriber:
    def __init__(self, recognizer: SpeechRecognizer, *, pause_s: float = 0.6, max_utterance_s: float = 8.0) -> None:
        raise NotImplementedError("work in progress")

    def feed(self, samples: np.ndarray, first_sample_time: float) -> list[Word]:
        raise NotImplementedError("work in progress")

    def flush(self) -> list[Word]:
        raise NotImplementedError("work in progress")
