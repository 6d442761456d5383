"""Fine-tuning: training a trained checkpoint further on a user's prepared data (`main.py train --from`).

The checkpoint gives the model: its sizes, labels, window shape and thresholds (data_checks.check_readable
refuses data it cannot read, before any training). The streams the data has learn; the branches of those it
lacks are frozen (`FrozenStreams`), so a face-only set leaves what the model knew of words and voices as it
was. A stream's branch is everything of the model that only that stream's representations pass through:
its input norm, soft aligner, encoder, label attention, projection into and out of the contrastive space,
its reconstruction map and its label-wise classifier. What all streams share (the aggregator) learns.
The starting weights are epoch 0 of the epoch choice (loop.py): a fine-tune that no epoch of which beats its
start on the user's validation split gives back the start. Thresholds are tuned on that split for the labels
it has enough samples of; the others keep the checkpoint's (evaluation.finish_run, metrics.tune_thresholds
`start`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from carat_model import MODALITIES, Carat, CheckpointInfo, load_checkpoint

from .settings import TrainSettings

# The model's per-stream module dictionaries (Carat's attributes keyed by modality): a stream's branch.
STREAM_BRANCHES = ("input_norm", "aligners", "encoders", "label_attention", "project", "deproject", "reconstruct")


@dataclass(frozen=True)
class StartingPoint:
    """The checkpoint a fine-tune starts from: its file, model and header."""

    path: Path
    model: Carat
    info: CheckpointInfo

    @property
    def trained_modalities(self) -> tuple[str, ...]:
        trained = self.info.extra.get("trained_modalities") or MODALITIES
        return tuple(m for m in MODALITIES if m in trained)

    def facts(self) -> dict[str, object]:
        """What a fine-tuned checkpoint records of where it started (its header, its card)."""
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return {
            "path": str(self.path),
            "name": self.path.name,
            "sha256": digest,
            "dataset": self.info.extra.get("dataset"),
            "trained_modalities": list(self.trained_modalities),
            "thresholds": list(self.model.config.thresholds()),
        }


def load_start(path: str | Path) -> StartingPoint:
    """The checkpoint at `path` (CheckpointError, saying what to do, when it cannot be used)."""
    model, info = load_checkpoint(path)
    return StartingPoint(Path(path), model, info)


# A fine-tune's settings before the options given: a few hundred samples, small batches, a rate a fifth of the
# default's training rate (scripts/train_default.py), enough epochs for voices the start never heard
# (scripts/few_shot_voice.py), the epoch choice keeping the best of them or the start.
FINETUNE = TrainSettings(epochs=10, batch_size=16, lr=1e-4, warmup=0.1)


def finetune_settings(train_samples: int) -> TrainSettings:
    """FINETUNE, for a training split of this many samples (one smaller than a batch is one batch)."""
    return dataclasses.replace(FINETUNE, batch_size=max(1, min(FINETUNE.batch_size, train_samples)))


class FrozenStreams:
    """Keeps the branches of `modalities` (see the module docstring) at the model's present weights while
    the rest trains. Parameters of a branch get no gradient; the label-wise classifier, one tensor [3, C, H]
    for all streams, has the frozen streams' rows put back after every optimiser step (weight decay and
    the optimiser's moments would move them otherwise). Build it before the optimiser."""

    def __init__(self, model: Carat, modalities: tuple[str, ...]) -> None:
        for name, parameter in model.named_parameters():
            branch, _, rest = name.partition(".")
            if branch in STREAM_BRANCHES and rest.split(".")[0] in modalities:
                parameter.requires_grad_(False)
        self.classifier = model.classifier
        self.rows = [MODALITIES.index(m) for m in modalities]
        self.kept = self.classifier.detach()[self.rows].clone()

    @torch.no_grad()
    def restore(self) -> None:
        if self.rows:
            self.classifier[self.rows] = self.kept
