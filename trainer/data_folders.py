"""Where the labelled corpora and the authors' reference tensors are: the one place that says so.

The data folder is `../shared/data` beside the checkout unless the environment variable CARAT_DATA names
another; the reference folder is `reference/` beside the data folder unless CARAT_REFERENCE names another.
Each corpus is a sub-folder named as in the shared copy (emodb, ferplus, goemotions, ravdess, xed).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "CARAT_DATA"
REFERENCE_ENV = "CARAT_REFERENCE"
CORPORA = ("emodb", "ferplus", "goemotions", "ravdess", "xed")
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared"


class MissingData(FileNotFoundError):
    """A corpus or the reference folder is not where the settings say."""


def data_root() -> Path:
    return Path(os.environ.get(DATA_ENV) or _BESIDE_CHECKOUT / "data")


def corpus(name: str) -> Path:
    """The folder of one corpus (it may be missing: `require` says so plainly)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; the corpora are {', '.join(CORPORA)}")
    return data_root() / name


def reference_root() -> Path:
    return Path(os.environ.get(REFERENCE_ENV) or data_root().parent / "reference")


def require(folder: Path) -> Path:
    """`folder` if it exists, else a MissingData that says where it was looked for and how to point elsewhere."""
    if not folder.is_dir():
        setting = REFERENCE_ENV if folder == reference_root() else DATA_ENV
        raise MissingData(
            f"{folder} is missing: put the shared data there (the `shared` folder beside the checkout), "
            f"or set {setting} to the folder that holds it"
        )
    return folder
