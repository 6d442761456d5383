"""One optimiser step of the training loop (loop.py), with the devices' precision, and the plain words for a
loss that stops being finite.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from carat_model import MODALITIES, Carat, CaratOutput, carat_objective
from carat_model.model import CaratInputs

from .batching import Batch, drop_random_modalities, hide_modalities
from .distributed import DistributedContext, update_shared_training_state
from .settings import TrainSettings


def float_output(output: CaratOutput) -> CaratOutput:
    """Autocast leaves some outputs in half precision; the objective's sums need float32."""
    return CaratOutput(**{k: v.float() if v.is_floating_point() else v for k, v in vars(output).items()})


def train_step(
    network: torch.nn.Module,
    model: Carat,
    batch: Batch | list[Batch],
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    settings: TrainSettings,
    device: torch.device,
    autocast: Any,
    scaler: torch.amp.GradScaler | None,
    shuffle_generator: torch.Generator,
    dropout_generator: torch.Generator,
    context: DistributedContext,
) -> dict[str, float]:
    """One optimiser step. A list of batches (one per source, `MixedSplit.pieces`) is one step too: each
    piece's loss is weighted by its share of the samples and the gradients add up before the step."""
    pieces = batch if isinstance(batch, list) else [batch]
    samples = sum(len(piece.labels) for piece in pieces)
    optimizer.zero_grad(set_to_none=True)
    done, parts = [], {}
    for piece in pieces:
        inputs = hide_modalities(piece.inputs, settings.absent_modalities)
        if settings.modality_dropout > 0:
            inputs = drop_random_modalities(inputs, settings.modality_dropout, dropout_generator)
        inputs, labels = inputs.to(device, non_blocking=True), piece.labels.to(device, non_blocking=True)
        with autocast():
            output = network(inputs)
        output = float_output(output)
        loss = carat_objective(model, output, labels, shuffle_generator)
        if not torch.isfinite(loss.total):
            parts_now = {k: round(v.item(), 4) for k, v in loss.parts.items()}
            raise FloatingPointError(
                f"the training loss became {loss.total.item()} ({parts_now}): "
                + nonfinite_loss_cause(inputs, labels, settings.lr)
            )
        share = len(labels) / samples
        scaled = loss.total * share
        (scaler.scale(scaled) if scaler is not None else scaled).backward()
        for name, value in {"total": loss.total, **loss.parts}.items():
            parts[name] = parts.get(name, 0.0) + share * value.item()
        done.append((output, labels, loss))
    if scaler is not None:
        scaler.unscale_(optimizer)
    if settings.clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    schedule.step()
    for output, labels, loss in done:  # queues and prototypes move after the step, as for one batch
        update_shared_training_state(model, output, labels, loss, context)
    return parts


def nonfinite_loss_cause(inputs: CaratInputs, labels: torch.Tensor, lr: float) -> str:
    """What in a batch makes the loss NaN or infinite, in the user's words, with what to do; a too high
    learning rate only when the batch itself looks sound."""
    names = {"text": "words", "visual": "face", "audio": "voice"}
    present = torch.stack([inputs.mask(m).bool().any(dim=1) for m in MODALITIES], dim=1).cpu()  # [B, 3]
    empty = int((~present.any(dim=1)).sum())
    if empty:
        padding = [names[m] for m, has in zip(MODALITIES, present.any(dim=0).tolist()) if not has]
        everywhere = " and ".join(filter(None, [", ".join(padding[:-1]), padding[-1]])) if padding else ""
        return (
            f"{empty} of the batch's {len(present)} samples have no stream at all: their words, face and voice "
            "are all padding"
            + (
                f" ({everywhere} {'is' if len(padding) == 1 else 'are'} padding in every sample of the batch)"
                if padding
                else ""
            )
            + ", and a sample with nothing to read has nothing to learn from. Windows of the wrong shape do this: "
            "an aligned window (one step per word) of a face photo or a voice with no words holds nothing. "
            "Prepare the data again in the model's shape (main.py prepare, without --aligned)"
        )
    for m in MODALITIES:
        values = inputs.features(m)[inputs.mask(m).bool()]
        if values.numel() and not torch.isfinite(values).all():
            return f"the {names[m]} features hold NaN or infinite values; prepare the data again"
        if values.numel() and values.abs().max() > 1e4:
            return (
                f"the {names[m]} features reach {values.abs().max().item():.3g}, far outside what the extractors give; "
                "check the data for extreme values"
            )
    if not torch.isfinite(labels).all() or (labels < 0).any() or (labels > 1).any():
        return "the labels hold values outside 0..1; labels are 0/1 or shares of votes"
    return f"the batch looks sound, so the learning rate ({lr:g}) is likely too high: lower --lr"


def mixed_precision(device: torch.device, enabled: bool) -> tuple[Any, torch.amp.GradScaler | None]:
    if not (enabled and device.type == "cuda"):
        return nullcontext, None
    if torch.cuda.is_bf16_supported():
        return (lambda: torch.autocast("cuda", dtype=torch.bfloat16)), None
    return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")
