"""From a split's arrays to model inputs: batches for the DataLoader, and modalities hidden or dropped.

`make_batch` gathers samples into `CaratInputs` (an unaligned model's face and voice masks follow
carat_model's `SoftAlignment`, as live windows do); `hide_modalities` blanks modalities a model is
trained without; `drop_random_modalities` is the training-time modality dropout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from carat_model import MODALITIES, CaratInputs
from carat_model.config import SOFT_ALIGNED
from carat_model.model import SoftAlignment


class SplitArrays(Protocol):
    """What batching reads of a split (feature_data.FeatureSplit, which builds on this module)."""

    labels: np.ndarray

    def __len__(self) -> int: ...

    def features(self, modality: str) -> np.ndarray: ...

    def mask(self, modality: str) -> np.ndarray: ...


class SplitDataset(torch.utils.data.Dataset):
    """Index access to a split; `collate` turns a list of indices into a batch."""

    def __init__(self, split: SplitArrays) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> int:
        return index


@dataclass
class Batch:
    inputs: CaratInputs
    labels: torch.Tensor  # [B, C] float


def make_batch(
    split: SplitArrays, indices: list[int] | np.ndarray, alignment: SoftAlignment | None = None
) -> Batch:
    """Gather samples into model inputs. Trailing steps that are padding in every sample of the batch
    are cut (the result is the same: padded keys carry no attention weight). For unaligned models,
    `alignment` (`SoftAlignment.of(config)`) gives the soft aligner's output length: visual/audio masks
    become all-real of that length (all-padding for a stream missing or under its fewest rows), as the
    aligned steps mix every input step."""
    indices = np.asarray(indices)
    tensors: dict[str, torch.Tensor] = {}
    for m in MODALITIES:
        features, mask = split.features(m)[indices], split.mask(m)[indices]
        if alignment is not None and m in SOFT_ALIGNED:
            mask = alignment.mask(m, mask)
        else:
            real = np.flatnonzero(mask.any(axis=0))
            steps = int(real[-1]) + 1 if len(real) else 1
            features, mask = features[:, :steps], mask[:, :steps]
        tensors[m] = torch.from_numpy(np.ascontiguousarray(features))
        tensors[f"{m}_mask"] = torch.from_numpy(np.ascontiguousarray(mask))
    return Batch(CaratInputs(**tensors), torch.from_numpy(split.labels[indices]))


def hide_modalities(inputs: CaratInputs, absent: tuple[str, ...]) -> CaratInputs:
    """Inputs with the given modalities missing (all padding, zero features)."""
    if not absent:
        return inputs
    values = dict(vars(inputs))
    for m in absent:
        values[m] = torch.zeros_like(values[m])
        values[f"{m}_mask"] = torch.zeros_like(values[f"{m}_mask"])
    return CaratInputs(**values)


def drop_random_modalities(inputs: CaratInputs, rate: float, generator: torch.Generator) -> CaratInputs:
    """Per sample, with probability `rate`, mask one of its present modalities (never the last)."""
    masks = torch.stack([inputs.mask(m).bool().any(1) for m in MODALITIES], dim=1)  # [B, 3] present
    batch = masks.shape[0]
    dropping = torch.rand(batch, generator=generator) < rate
    choice = torch.rand(batch, 3, generator=generator).masked_fill(~masks, -1.0).argmax(1)  # a present one
    dropping &= masks.sum(1) > 1
    if not dropping.any():
        return inputs
    values = dict(vars(inputs))
    for index, m in enumerate(MODALITIES):
        drop = dropping & (choice == index)
        keep = (~drop).to(values[f"{m}_mask"].dtype)
        values[f"{m}_mask"] = values[f"{m}_mask"] * keep[:, None]
        values[m] = values[m] * keep[:, None, None]
    return CaratInputs(**values)
