"""Check our CARAT against reference tensors computed by the authors' implementation.

A reference file (`torch.save`d dict, read with weights_only=True) holds `state_dict` (the authors'
names), `config` (their settings; `aligned` says which path), `inputs` (text, visual, audio, their
masks, labels), `eval` (scores, predicted) and `train` (loss with the shuffle weight 0 and dropout off,
scores, and `buffers_after`: prototypes and queue after the step).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import import_authors_state_dict
from .config import MODALITIES, CaratConfig
from .losses import carat_objective, update_training_state
from .model import Carat, CaratInputs

SCORE_TOLERANCE = 1e-5
LOSS_TOLERANCE = 1e-4
BUFFER_TOLERANCE = 1e-5


@dataclass
class Difference:
    name: str
    largest: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.largest <= self.tolerance


def load_reference(path: str | Path) -> dict:
    try:
        reference = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any failure here means the same thing to the user
        raise ValueError(f"cannot read reference file {path}: {error}") from error
    for key in ("state_dict", "config", "inputs", "eval", "train"):
        if key not in reference:
            raise ValueError(f"{path} is not a reference-tensor file: it has no '{key}' entry")
    return reference


def reference_inputs(reference: dict) -> tuple[CaratInputs, torch.Tensor]:
    given = reference["inputs"]
    inputs = CaratInputs(**{name: given[name] for name in (*MODALITIES, *(f"{m}_mask" for m in MODALITIES))})
    return inputs, given["labels"]


def reference_model(reference: dict, *, dropout: float | None = None) -> Carat:
    base = CaratConfig.from_authors_config(reference["config"])
    if dropout is not None:
        base = base.replace(dropout=dropout)
    return import_authors_state_dict(reference["state_dict"], base)


def compare(reference: dict) -> list[Difference]:
    inputs, labels = reference_inputs(reference)
    differences: list[Difference] = []

    model = reference_model(reference).eval()
    with torch.no_grad():
        output = model(inputs)
    expected = reference["eval"]
    differences.append(Difference("eval.scores", _largest(output.scores, expected["scores"]), SCORE_TOLERANCE))
    differences.append(
        Difference("eval.predicted", _largest(output.predicted.float(), expected["predicted"].float()), 0.0)
    )

    # The training pass: dropout off (so it is deterministic); the reference's shuffle weight is 0.
    model = reference_model(reference, dropout=0.0).train()
    output = model(inputs)
    loss = carat_objective(model, output, labels)
    update_training_state(model, output, labels, loss)
    expected = reference["train"]
    differences.append(Difference("train.loss", _largest(loss.total.detach(), expected["loss"]), LOSS_TOLERANCE))
    differences.append(
        Difference("train.scores", _largest(output.scores.detach(), expected["scores"]), SCORE_TOLERANCE)
    )
    after = expected["buffers_after"]
    for i, m in enumerate(MODALITIES):
        for kind, ours in (("pos", model.pos_prototypes), ("neg", model.neg_prototypes)):
            name = f"{m}_{kind}_protos"
            differences.append(Difference(f"train.{name}", _largest(ours[i], after[name]), BUFFER_TOLERANCE))
    differences.append(Difference("train.queue", _largest(model.queue, after["queue"]), BUFFER_TOLERANCE))
    differences.append(
        Difference("train.queue_label", _largest(model.queue_labels, after["queue_label"].reshape(-1)), 0.0)
    )
    differences.append(
        Difference("train.queue_ptr", _largest(model.queue_ptr.float(), after["queue_ptr"].float()), 0.0)
    )
    return differences


def _largest(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    if ours.shape != theirs.shape:
        raise ValueError(f"shape mismatch: ours {tuple(ours.shape)}, reference {tuple(theirs.shape)}")
    return float((ours.double() - theirs.double()).abs().max())
