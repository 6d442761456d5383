"""CaratConfig: every size, weight and setting of one CARAT model, as one frozen dataclass."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MOSEI_LABELS = ("happy", "sad", "angry", "surprise", "disgust", "fear")
MODALITIES = ("text", "visual", "audio")
SOFT_ALIGNED = MODALITIES[1:]  # an unaligned CARAT's soft aligner maps these onto its own steps


def feature_dim_fields(dims: Mapping[str, int], modalities: Iterable[str] = MODALITIES) -> dict[str, int]:
    """CaratConfig's input-size fields (`text_dim`, ...) for each modality's feature size, e.g. a
    FeatureSpec's `dims`: `CaratConfig(**feature_dim_fields(dims), ...)`."""
    return {f"{m}_dim": dims[m] for m in modalities}


@dataclass(frozen=True)
class CaratConfig:
    # Inputs: feature sizes, and the longest sequence each encoder's position table holds.
    text_dim: int = 300
    visual_dim: int = 35
    audio_dim: int = 74
    text_max_len: int = 60
    visual_max_len: int = 500
    audio_max_len: int = 500
    # Aligned inputs share one word-aligned length; unaligned visual/audio go through a soft aligner
    # (2-layer LSTM) that maps them to `unaligned_steps` steps.
    aligned: bool = True
    unaligned_steps: int = 500
    # The fewest real rows a face or voice stream needs in a sample to count as present (unaligned only):
    # a few rows of a stream that has only just begun are not evidence enough to vote (a voice of 0.5 s).
    visual_min_rows: int = 1
    audio_min_rows: int = 1

    # Encoders (BERT-style, post-LayerNorm).
    text_layers: int = 6
    visual_layers: int = 4
    audio_layers: int = 4
    hidden: int = 256
    intermediate: int = 256
    heads: int = 8
    dropout: float = 0.3
    layer_norm_eps: float = 1e-12

    # Latent space, prototypes and the contrastive queue.
    projection: int = 64
    queue_size: int = 8192
    prototype_momentum: float = 0.99
    temperature: float = 0.07

    # Loss weights of the authors' MOSEI script.
    lsr_clf_weight: float = 0.01  # clf1: label-wise representations
    recon_clf_weight: float = 0.0  # clf2: latent reconstructions
    aug_clf_weight: float = 0.1  # clf3: first-level reconstructions
    total_clf_weight: float = 1.0  # clf4 (beta) and the aggregator
    shuffle_clf_weight: float = 0.1  # aggregator on shuffled virtual samples
    recon_mse_weight: float = 1.0
    aug_mse_weight: float = 1.0
    beta_mse_weight: float = 0.0
    contrastive_weight: float = 1.0

    labels: tuple[str, ...] = MOSEI_LABELS
    threshold: float = 0.25
    # Per-label thresholds tuned on validation; None means `threshold` for every label.
    label_thresholds: tuple[float, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.label_thresholds is not None and len(self.label_thresholds) != len(self.labels):
            raise ValueError(f"{len(self.label_thresholds)} label thresholds for {len(self.labels)} labels")
        # JSON gives lists; keep the dataclass hashable and comparable.
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.label_thresholds is not None:
            object.__setattr__(self, "label_thresholds", tuple(float(t) for t in self.label_thresholds))

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def feature_dim(self, modality: str) -> int:
        return getattr(self, f"{modality}_dim")

    def min_rows(self, modality: str) -> int:
        """The fewest real rows of a soft-aligned stream that count it as present (1 for text)."""
        return getattr(self, f"{modality}_min_rows", 1)

    def thresholds(self) -> tuple[float, ...]:
        return self.label_thresholds or (self.threshold,) * self.num_labels

    def replace(self, **changes: Any) -> CaratConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CaratConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown CaratConfig fields {unknown}; was this written by a newer version?")
        return cls(**values)

    @classmethod
    def mosei_aligned(cls) -> CaratConfig:
        """The authors' CMU-MOSEI settings, word-aligned features (sequences up to 60 words)."""
        return cls()

    @classmethod
    def mosei_unaligned(cls) -> CaratConfig:
        """The authors' CMU-MOSEI settings, unaligned features (text 50, visual/audio 500 steps)."""
        return cls(aligned=False)

    @classmethod
    def from_authors_config(cls, authors: dict[str, Any]) -> CaratConfig:
        """Map the authors' argument names (as stored in the reference files) to ours."""
        return cls(
            text_dim=int(authors["text_dim"]),
            visual_dim=int(authors["video_dim"]),
            audio_dim=int(authors["audio_dim"]),
            aligned=bool(authors["aligned"]),
            unaligned_steps=50 if authors.get("unaligned_mask_same_length") else 500,
            text_layers=int(authors["text_num_hidden_layers"]),
            visual_layers=int(authors["visual_num_hidden_layers"]),
            audio_layers=int(authors["audio_num_hidden_layers"]),
            hidden=int(authors["hidden_size"]),
            projection=int(authors["proj_size"]),
            queue_size=int(authors["moco_queue"]),
            prototype_momentum=float(authors["proto_m"]),
            lsr_clf_weight=float(authors["lsr_clf_weight"]),
            recon_clf_weight=float(authors["recon_clf_weight"]),
            aug_clf_weight=float(authors["aug_clf_weight"]),
            total_clf_weight=float(authors["total_aug_clf_weight"]),
            shuffle_clf_weight=float(authors["shuffle_aug_clf_weight"]),
            recon_mse_weight=float(authors["recon_mse_weight"]),
            aug_mse_weight=float(authors["aug_mse_weight"]),
            beta_mse_weight=float(authors["beta_mse_weight"]),
            contrastive_weight=float(authors["cl_weight"]),
            labels=MOSEI_LABELS[: int(authors["num_classes"])]
            if int(authors["num_classes"]) <= len(MOSEI_LABELS)
            else tuple(f"label_{i}" for i in range(int(authors["num_classes"]))),
            threshold=float(authors["binary_threshold"]),
        )
