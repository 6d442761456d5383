"""Words -> one 384-d vector per word (all-MiniLM-L6-v2 token embeddings, word pieces averaged)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .speech import Word
from .windows import TimedRows


class TextEncoder:
    dim = 384

    def __init__(self, model_path: str | Path | None = None) -> None:
        raise NotImplementedError("work in progress")

    def encode(self, words: Sequence[Word]) -> TimedRows:
        raise NotImplementedError("work in progress")

    def encode_sentence(self, text: str) -> np.ndarray:
        raise NotImplementedError("work in progress")
