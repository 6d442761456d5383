"""Where the app's files live: those shipped with it (the default checkpoint, its model card, the sample
clip) and the user's own (`user_data_folder`: calibration profiles).

They sit in the top-level folders `models/` and `samples/`, beside the `app` package both in a checkout
and in an installed wheel (which ships them as data packages of those names); where they are not beside
it (an unusual install), importlib.resources finds the installed ones.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout, or the site-packages folder installed into


def shipped(folder: str, name: str) -> Path:
    """A file of the shipped data folder `folder` ("models" or "samples")."""
    beside = REPO_ROOT / folder / name
    if beside.exists():
        return beside
    try:
        return Path(str(importlib.resources.files(folder) / name))
    except ModuleNotFoundError:
        return beside  # missing: the callers say what to do


def default_checkpoint() -> Path:
    """The default CARAT checkpoint (see models/MODEL_CARD.md)."""
    return shipped("models", "carat_default.safetensors")


def model_card() -> Path:
    return shipped("models", "MODEL_CARD.md")


def words_checkpoint() -> Path:
    """The words-only checkpoint (XED + GoEmotions), the default's single-stream reference for words."""
    return shipped("models", "carat_words.safetensors")


def words_model_card() -> Path:
    return shipped("models", "WORDS_MODEL_CARD.md")


def sample_clip() -> Path:
    """A 19 s clip with a face and speech (happy, sad, angry sentences) for machines with no camera."""
    return shipped("samples", "sample_clip.mp4")


def user_data_folder() -> Path:
    """The user's CARAT Live data (calibration profiles): the platform's per-user data folder (XDG_DATA_HOME
    or ~/.local/share/carat-live on Linux, Application Support on macOS, AppData on Windows)."""
    import platformdirs

    return platformdirs.user_data_path("carat-live", appauthor=False)
