"""What a training run is asked (`TrainSettings`) and what it gives back (`TrainResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carat_model import MODALITIES, Carat

from .metrics import MultiLabelMetrics


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of all steps
    recipe: str = "adamw"  # or "authors" (their BertAdam), see optim.py
    clip_norm: float = 1.0
    seed: int = 1
    # Each training sample loses one random modality with this probability (never its last one),
    # so the model stays sensible when live use has no face or no speech.
    modality_dropout: float = 0.0
    # Modalities treated as missing everywhere (training and evaluation): a model that ignores them.
    absent_modalities: tuple[str, ...] = ()
    # Streams whose branches keep their weights (trainer/finetune.py FrozenStreams): a fine-tune on data
    # without them leaves what the model learnt of them as it was.
    frozen_modalities: tuple[str, ...] = ()
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA (bfloat16 where supported); the CPU always runs float32
    eval_batch_size: int = 256
    stop_after_epoch: int | None = None  # end early (resumable), e.g. to fit a time-sliced job
    empty_match: float = 0.0  # Acc for a sample with no true and no predicted label (authors: 0)
    # Draw every class (strongest label, or none) equally often (trainer/balancing.py): for small
    # unbalanced sets judged by UAR, such as EmoDB's voices.
    balance_classes: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        unknown = (set(self.absent_modalities) | set(self.frozen_modalities)) - set(MODALITIES)
        if unknown:
            raise ValueError(f"unknown modalities {sorted(unknown)}; choose from {list(MODALITIES)}")
        if len(self.absent_modalities) == len(MODALITIES):
            raise ValueError("cannot train with every modality absent")
        if len(self.frozen_modalities) == len(MODALITIES):
            raise ValueError("cannot train with every stream frozen")
        object.__setattr__(self, "absent_modalities", tuple(self.absent_modalities))
        object.__setattr__(self, "frozen_modalities", tuple(self.frozen_modalities))


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    epochs_done: int
    finished: bool  # False when stopped early by stop_after_epoch (resume to continue)
    thresholds: list[float] = field(default_factory=list)
    valid: MultiLabelMetrics | None = None  # chosen epoch, tuned thresholds
    test: MultiLabelMetrics | None = None  # chosen epoch, tuned thresholds
    test_default_threshold: MultiLabelMetrics | None = None  # chosen epoch, the config's threshold
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Path | None = None
    model: Carat | None = None  # this process's model after the last epoch trained (not the chosen one)
    card: dict[str, Any] | None = None  # the checkpoint's card (trainer/model_card.py)
