"""Where the files shipped with the app live: the default checkpoint, its model card, the sample clip."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_checkpoint() -> Path:
    """The default CARAT checkpoint (see models/MODEL_CARD.md)."""
    return REPO_ROOT / "models" / "carat_default.safetensors"


def model_card() -> Path:
    return REPO_ROOT / "models" / "MODEL_CARD.md"


def words_checkpoint() -> Path:
    """The words-only checkpoint (XED + GoEmotions), the default's single-stream reference for words."""
    return REPO_ROOT / "models" / "carat_words.safetensors"


def words_model_card() -> Path:
    return REPO_ROOT / "models" / "WORDS_MODEL_CARD.md"


def sample_clip() -> Path:
    """A 19 s clip with a face and speech (happy, sad, angry sentences) for machines with no camera."""
    return REPO_ROOT / "samples" / "sample_clip.mp4"
