"""Training and evaluation of CARAT on a FeatureDataset.

`fit` trains with the CARAT objective, keeps the epoch with the best validation micro-F1 (a fine-tune's
starting weights count as epoch 0: an epoch must beat them), tunes one threshold per label on validation,
scores the test split with them and writes, into the run folder:

    model.safetensors      the chosen epoch, tuned thresholds, metrics and training facts in its header,
                           with its card (model_card.py) also beside it: model_card.md, model_card.json
    best.safetensors       the best epoch so far at the config's threshold (updated while training)
    training_state.pt      everything `--resume` needs: weights and buffers, optimiser, schedule,
                           RNG states (torch, numpy, python, our generators), epoch, history
    metrics.jsonl / .csv   one row per epoch (TensorBoard events too when tensorboard is installed)
    learning_curves.png    loss and validation F1 per epoch

Resume restarts at the epoch after the last completed one. The sampler's order is a function of
(seed, epoch) and every random draw comes from saved generators, so on the CPU a resumed run ends with
the same weights as an uninterrupted one. Under torchrun the same code trains data-parallel (see
distributed.py); rank 0 evaluates, logs and checkpoints. Each rank seeds dropout with seed + rank,
so resuming a multi-process run continues correctly but is not bit-identical.

Here: `fit`, one optimiser step, devices and precision. Around it: settings.py (TrainSettings,
TrainResult), batching.py (batches, modalities hidden or dropped), evaluation.py (scores, validation,
the end of a run), resume.py (the training state), run_logs.py (metrics files, learning curves).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from carat_model import (
    MODALITIES,
    Carat,
    CaratConfig,
    CaratOutput,
    carat_objective,
    save_checkpoint,
)
from carat_model.config import feature_dim_fields
from carat_model.model import CaratInputs, SoftAlignment

from .balancing import ClassBalancedSampler
from .batching import Batch, SplitDataset, drop_random_modalities, hide_modalities
from .datasets import FeatureDataset, FeatureSplit
from .distributed import DistributedContext, start_distributed, update_shared_training_state
from .evaluation import BEST_FILE, finish_run, per_source_micro_f1, predict_scores, score_split, validate
from .finetune import FrozenStreams
from .mixing import MixedSplit, SourceShareSampler
from .model_card import Baseline
from .optim import make_optimizer, make_schedule
from .resume import STATE_FILE, load_training_state, restore_rng, save_training_state
from .run_logs import MetricsLogger, plot_learning_curves
from .settings import TrainResult, TrainSettings

# The trainer's entry points, importable from here: fit and its settings, and scoring a trained model.
__all__ = [
    "STATE_FILE",
    "TrainResult",
    "TrainSettings",
    "config_for_dataset",
    "default_small_config",
    "fit",
    "mixed_precision",
    "predict_scores",
    "resolve_device",
    "score_split",
    "train_step",
]


def config_for_dataset(dataset: FeatureDataset, base: CaratConfig) -> CaratConfig:
    """`base` with the dataset's feature sizes, labels and alignment; position tables grown to fit."""
    dims, steps = dataset.feature_dims(), dataset.max_steps()
    changes: dict[str, Any] = feature_dim_fields(dims)
    changes.update(labels=dataset.labels, aligned=dataset.aligned, label_thresholds=None)
    changes["text_max_len"] = max(base.text_max_len, steps["text"])
    if dataset.aligned:
        changes["visual_max_len"] = max(base.visual_max_len, steps["visual"])
        changes["audio_max_len"] = max(base.audio_max_len, steps["audio"])
    return base.replace(**changes)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


def _float_output(output: CaratOutput) -> CaratOutput:
    """Autocast leaves some outputs in half precision; the objective's sums need float32."""
    return CaratOutput(**{k: v.float() if v.is_floating_point() else v for k, v in vars(output).items()})


# -- training -----------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fit(
    dataset: FeatureDataset,
    config: CaratConfig,
    settings: TrainSettings,
    run_dir: str | Path,
    *,
    resume: bool = False,
    initial_weights: dict[str, torch.Tensor] | None = None,
    compare_with: Baseline | None = None,
    extra: dict[str, Any] | None = None,
    refuse_degenerate: bool = False,
) -> TrainResult:
    """Train CARAT on `dataset`. `initial_weights` (a state dict of a model of this config) starts a
    fine-tune from them instead of fresh weights (trainer/finetune.py): labels with too few validation
    samples then keep the config's thresholds; a resumed run continues from its own saved state.
    `compare_with`: the checkpoint the result's card scores it against (model_card.py); `extra`: facts
    for the checkpoint's header and card. `refuse_degenerate`: raise DegenerateModelError instead of
    saving a model whose thresholds predict every label or none (`main.py train` asks for it; smoke runs
    of the plumbing on a few samples do not)."""
    run_dir = Path(run_dir)
    device = resolve_device(settings.device)
    context = start_distributed(device.type)
    ending = {"compare_with": compare_with, "extra": extra, "refuse_degenerate": refuse_degenerate}
    if initial_weights is not None:
        ending["start_thresholds"] = config.thresholds()
    try:
        return _fit(dataset, config, settings, run_dir, resume, device, context, initial_weights, ending)
    finally:
        context.close()


def _fit(
    dataset: FeatureDataset,
    config: CaratConfig,
    settings: TrainSettings,
    run_dir: Path,
    resume: bool,
    device: torch.device,
    context: DistributedContext,
    initial_weights: dict[str, torch.Tensor] | None,
    ending: dict[str, Any],
) -> TrainResult:
    if context.active and device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
    train_split, valid_split = dataset.split("train"), dataset.split("valid")
    seed_everything(settings.seed + context.rank)
    model = Carat(config)
    if initial_weights is not None:
        model.load_state_dict({name: value.float() for name, value in initial_weights.items()})
    model = model.to(device)
    frozen = FrozenStreams(model, settings.frozen_modalities)  # before the optimiser: it skips what is frozen
    optimizer = make_optimizer(model, settings.recipe, settings.lr, settings.weight_decay)

    alignment = SoftAlignment.of(config)
    if isinstance(train_split, MixedSplit):  # several sources: fixed shares of each batch (mixing.py)
        if context.active:
            raise ValueError("training on mixed sources runs in one process; start it without torchrun")
        sampler = SourceShareSampler(train_split, settings.batch_size, settings.seed)
        loader = torch.utils.data.DataLoader(
            SplitDataset(train_split),
            batch_sampler=sampler,
            collate_fn=lambda indices: train_split.pieces(indices, alignment),
        )
    else:
        if settings.balance_classes and context.active:
            raise ValueError("class-balanced training runs in one process; start it without torchrun")
        if settings.balance_classes:
            sampler = ClassBalancedSampler(train_split.labels, settings.seed)
        else:
            sampler = torch.utils.data.DistributedSampler(
                SplitDataset(train_split),
                num_replicas=context.world_size,
                rank=context.rank,
                shuffle=True,
                seed=settings.seed,
                drop_last=True,
            )
        loader = torch.utils.data.DataLoader(
            SplitDataset(train_split),
            batch_size=settings.batch_size,
            sampler=sampler,
            drop_last=True,
            collate_fn=lambda indices: train_split.batch(indices, alignment),
        )
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(
            f"the training split has {len(train_split)} samples, fewer than one batch of {settings.batch_size} "
            f"per process ({context.world_size} processes); lower --batch-size"
        )
    schedule = make_schedule(optimizer, settings.recipe, settings.epochs * steps_per_epoch, settings.warmup)
    shuffle_generator = torch.Generator(device=device).manual_seed(settings.seed + 1000 * context.rank)
    dropout_generator = torch.Generator().manual_seed(settings.seed + 1 + 1000 * context.rank)

    autocast, scaler = mixed_precision(device, settings.amp)
    start_epoch, best_epoch, best_f1, history = 1, 0, -1.0, []
    state_path = run_dir / STATE_FILE
    if resume:
        if not state_path.is_file():
            raise FileNotFoundError(f"--resume: no {STATE_FILE} in {run_dir}; start the run without --resume")
        saved = load_training_state(state_path, config, settings)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        restore_rng(saved["rng"], shuffle_generator, dropout_generator)
        if scaler is not None and saved["scaler"]:
            scaler.load_state_dict(saved["scaler"])
        start_epoch, best_epoch, best_f1 = saved["epoch"] + 1, saved["best_epoch"], saved["best_f1"]
        history = json.loads(saved["history"])
    if context.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if initial_weights is not None and start_epoch == 1:
            # The starting weights are "epoch 0" of the choice: an epoch must beat them on validation, so a
            # fine-tune that cannot improve on its start (a small validation split, data the start knows)
            # gives back its start rather than something worse.
            best_f1, valid_figures = _epoch_choice(model, valid_split, settings, device)
            save_checkpoint(
                run_dir / BEST_FILE,
                model,
                feature_spec=dataset.feature_spec,
                extra={"epoch": 0, "valid_micro_f1": valid_figures["valid_micro_f1"]},
            )

    network: torch.nn.Module = model
    if context.active:
        network = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False
        )
    logger = MetricsLogger(run_dir) if context.is_main else None

    last_epoch = (
        settings.epochs if settings.stop_after_epoch is None else min(settings.epochs, settings.stop_after_epoch)
    )
    for epoch in range(start_epoch, last_epoch + 1):
        sampler.set_epoch(epoch)
        model.train()
        started = time.perf_counter()
        totals: dict[str, float] = {}
        bar = tqdm(
            loader,
            desc=f"epoch {epoch}/{settings.epochs}",
            disable=not (settings.progress and context.is_main),
        )
        for batch in bar:
            parts = train_step(
                network,
                model,
                batch,
                optimizer,
                schedule,
                settings,
                device,
                autocast,
                scaler,
                shuffle_generator,
                dropout_generator,
                context,
            )
            frozen.restore()
            for name, value in parts.items():
                totals[name] = totals.get(name, 0.0) + value
            bar.set_postfix(loss=f"{parts['total']:.4f}")
        seconds = time.perf_counter() - started
        record: dict[str, Any] = {
            "epoch": epoch,
            "lr": schedule.get_last_lr()[0],
            "seconds": round(seconds, 3),
            "samples_per_s": steps_per_epoch * settings.batch_size * context.world_size / seconds,
            "processes": context.world_size,
            **{f"train_{name}": value / steps_per_epoch for name, value in totals.items()},
        }
        if context.is_main:
            choice, valid_figures = _epoch_choice(model, valid_split, settings, device)
            record.update(valid_figures)
            if choice > best_f1:
                best_epoch, best_f1 = epoch, choice
                save_checkpoint(
                    run_dir / BEST_FILE,
                    model,
                    feature_spec=dataset.feature_spec,
                    extra={"epoch": epoch, "valid_micro_f1": valid_figures["valid_micro_f1"]},
                )
            history.append(record)
            logger.write(history)
            save_training_state(
                state_path,
                model,
                optimizer,
                schedule,
                shuffle_generator,
                dropout_generator,
                scaler=scaler,
                epoch=epoch,
                best_epoch=best_epoch,
                best_f1=best_f1,
                history=history,
                config=config,
                settings=settings,
            )
        context.barrier()

    finished = last_epoch >= settings.epochs
    result = TrainResult(
        run_dir=run_dir,
        best_epoch=best_epoch,
        epochs_done=last_epoch,
        finished=finished,
        history=history,
        model=model,
    )
    if context.is_main:
        logger.close()
        plot_learning_curves(history, run_dir / "learning_curves.png")
        if finished:
            finish_run(result, dataset, settings, device, **ending)
    context.barrier()
    return result


def _epoch_choice(
    model: Carat, valid_split: FeatureSplit | MixedSplit, settings: TrainSettings, device: torch.device
) -> tuple[float, dict[str, float]]:
    """What the epoch choice maximises (validation micro-F1 at the config's thresholds; for mixed sources
    the mean of theirs, each source counting the same whatever its size) and the figures logged with it."""
    valid = validate(model, valid_split, settings, device)
    figures = {f"valid_{k}": v for k, v in valid.as_dict().items() if k != "per_label_f1"}
    choice = valid.micro_f1
    if isinstance(valid_split, MixedSplit):
        per_source = per_source_micro_f1(model, valid_split, settings, device)
        figures.update({f"valid_{name}_micro_f1": f1 for name, f1 in per_source.items()})
        choice = figures["valid_choice"] = float(np.mean(list(per_source.values())))
    return choice, figures


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
        output = _float_output(output)
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


def default_small_config() -> CaratConfig:
    """A small CARAT for quick runs on synthetic data (tests, smoke runs)."""
    return dataclasses.replace(
        CaratConfig(),
        hidden=32,
        intermediate=64,
        heads=2,
        text_layers=1,
        visual_layers=1,
        audio_layers=1,
        projection=16,
        queue_size=256,
        dropout=0.1,
    )
