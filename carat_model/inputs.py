"""What goes into CARAT and what comes out: a batch of three masked sequences, the soft aligner's mask rule
(one rule for training batches and live windows), the forward pass's outputs, and the input check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .config import MODALITIES, SOFT_ALIGNED, CaratConfig


@dataclass
class CaratInputs:
    """One batch: three sequences [B, L, D] with masks [B, L] (1 = real step, 0 = padding)."""

    text: Tensor
    text_mask: Tensor
    visual: Tensor
    visual_mask: Tensor
    audio: Tensor
    audio_mask: Tensor

    def features(self, modality: str) -> Tensor:
        return getattr(self, modality)

    def mask(self, modality: str) -> Tensor:
        return getattr(self, f"{modality}_mask")

    def to(self, device: torch.device | str, non_blocking: bool = False) -> CaratInputs:
        return CaratInputs(**{k: v.to(device, non_blocking=non_blocking) for k, v in vars(self).items()})


def soft_aligned_mask(mask: np.ndarray, steps: int, min_rows: int = 1) -> np.ndarray:
    """The mask an unaligned CARAT takes for a face or voice stream (SOFT_ALIGNED): its soft aligner's
    `steps` steps mix every input row, so a sample with at least `min_rows` real rows has all of them real
    and one with fewer has all padding (the stream is missing), whatever its rows' padding.
    mask [..., rows] -> [..., steps] float32."""
    present = np.asarray(mask).sum(axis=-1, keepdims=True) >= max(1, min_rows)
    return np.repeat(present, steps, axis=-1).astype(np.float32)


@dataclass(frozen=True)
class SoftAlignment:
    """How an unaligned CARAT takes its face and voice rows: the soft aligner's output `steps`, and the
    fewest real rows each stream needs to vote (CaratConfig's `visual_min_rows`, `audio_min_rows`).
    Training batches (trainer) and live windows (app) both go through `mask`, so they follow one rule."""

    steps: int
    min_rows: tuple[tuple[str, int], ...] = ()  # (modality, rows); unnamed ones need one row

    @classmethod
    def of(cls, config: CaratConfig) -> SoftAlignment | None:
        """None for an aligned model (no soft aligner)."""
        if config.aligned:
            return None
        return cls(config.unaligned_steps, tuple((m, config.min_rows(m)) for m in SOFT_ALIGNED))

    def mask(self, modality: str, mask: np.ndarray, steps: int | None = None) -> np.ndarray:
        return soft_aligned_mask(mask, self.steps if steps is None else steps, dict(self.min_rows).get(modality, 1))


@dataclass
class CaratOutput:
    scores: Tensor  # [B, C] probabilities
    predicted: Tensor  # [B, C] bool, scores above the label thresholds
    deciding_modality: Tensor  # [B, C] long: argmax behind clf4's max-pool (NO_MODALITY if none)
    present: Tensor  # [B, 3] bool: which modalities had at least one real step
    # Internals the training objective needs.
    lsr: Tensor  # [B, 3, C, H] label-wise representations
    latent: Tensor  # [B, 3, C, P] latent of lsr (before normalisation)
    recon: Tensor  # [B, 3, C, H] latent reconstructions
    aug: Tensor  # [B, 3, C, H] first-level reconstructions
    beta: Tensor  # [B, 3, C, H] second-level reconstructions
    clf_lsr: Tensor  # [B, C] logits, max over modalities (clf1)
    clf_recon: Tensor  # [B, C] (clf2)
    clf_aug: Tensor  # [B, C] (clf3)
    clf_beta: Tensor  # [B, C] (clf4)
    agg_logits: Tensor  # [B, 3, C]


def check_finite(inputs: CaratInputs) -> None:
    for m in MODALITIES:
        x = inputs.features(m)
        if not torch.isfinite(x).all():
            bad = (~torch.isfinite(x)).nonzero()[0].tolist()
            raise ValueError(
                f"{m} features contain NaN or inf (first at batch {bad[0]}, step {bad[1]}, feature {bad[2]}); "
                "clean the input (the benchmark loaders read audio -inf as 0) or mark the step as padding"
            )
