"""The arrays every reader returns: FeatureSplit (one split, padded) and FeatureDataset (its splits, labels
and the FeatureSpec it was made with), with the checks of their feature sizes.

Per split: padded arrays `[N, L, D]` per modality with masks `[N, L]` (1 = real step) and multi-hot labels
`[N, C]`. The prepared datasets' files (datasets.py) and the official files' readers (official_files.py)
both build on this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from carat_model import MODALITIES
from carat_model.model import SoftAlignment

from .batching import Batch, make_batch

SPLITS = ("train", "valid", "test")


class DatasetError(ValueError):
    """A data file that cannot be used, with what was wrong and what to do."""


@dataclass
class FeatureSplit:
    """One split, padded: features [N, L, D] float32, masks [N, L] float32, labels [N, C] float32."""

    text: np.ndarray
    text_mask: np.ndarray
    visual: np.ndarray
    visual_mask: np.ndarray
    audio: np.ndarray
    audio_mask: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def features(self, modality: str) -> np.ndarray:
        return getattr(self, modality)

    def mask(self, modality: str) -> np.ndarray:
        return getattr(self, f"{modality}_mask")

    def subset(self, indices: np.ndarray) -> FeatureSplit:
        return FeatureSplit(**{name: value[indices] for name, value in vars(self).items()})

    def batch(self, indices: list[int] | np.ndarray, alignment: SoftAlignment | None = None) -> Batch:
        """The samples at `indices` as model inputs (`make_batch`); a MixedSplit answers the same call."""
        return make_batch(self, indices, alignment)


@dataclass
class FeatureDataset:
    name: str
    labels: tuple[str, ...]
    aligned: bool
    splits: dict[str, FeatureSplit]
    feature_spec: dict[str, Any] | None = None  # prepared datasets carry one; the official files don't
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def feature_dims(self) -> dict[str, int]:
        return {m: int(self.splits["train"].features(m).shape[2]) for m in MODALITIES}

    def max_steps(self) -> dict[str, int]:
        return {m: max(int(s.features(m).shape[1]) for s in self.splits.values()) for m in MODALITIES}

    def split(self, name: str) -> FeatureSplit:
        if name not in self.splits:
            raise DatasetError(f"{self.source or self.name} has no '{name}' split (it has {sorted(self.splits)})")
        return self.splits[name]


def check_consistent_dims(splits: dict[str, FeatureSplit], source: str | Path) -> None:
    reference = {m: splits["train"].features(m).shape[2] for m in MODALITIES}
    for split_name, split in splits.items():
        for m in MODALITIES:
            if split.features(m).shape[2] != reference[m]:
                raise DatasetError(
                    f"{source}: {m} features have size {split.features(m).shape[2]} in '{split_name}' but "
                    f"{reference[m]} in 'train'"
                )


def check_feature_dims(dataset: FeatureDataset, expected: dict[str, int], what: str) -> None:
    """Refuse data whose feature sizes differ from what a model or preset expects, naming both."""
    have = dataset.feature_dims()
    for m in MODALITIES:
        if have[m] != expected[m]:
            raise DatasetError(
                f"{dataset.source or dataset.name} has {m} features of size {have[m]} but {what} expects {expected[m]}; "
                "use data made with the same feature extractors, or train a model for this data (main.py train)"
            )


def concatenate_padded(values: list[np.ndarray]) -> np.ndarray:
    """Concatenate [N, L, ...] arrays along N, zero-padding L to the longest (shards and parts may
    differ in padded length, e.g. after `compact_absent_modalities`)."""
    if values[0].ndim >= 2:
        steps = max(v.shape[1] for v in values)
        values = [np.pad(v, [(0, 0), (0, steps - v.shape[1])] + [(0, 0)] * (v.ndim - 2)) for v in values]
    return np.concatenate(values).astype(np.float32)
