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

Here: `fit` and its epochs, devices. Around it: step.py (one optimiser step, precision), settings.py
(TrainSettings, TrainResult), batching.py (batches, modalities hidden or dropped), evaluation.py (scores, validation,
the end of a run), resume.py (the training state), run_logs.py (metrics files, learning curves).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from carat_model import Carat, CaratConfig, save_checkpoint
from carat_model.config import feature_dim_fields
from carat_model.model import SoftAlignment

from .balancing import ClassBalancedSampler
from .batching import SplitDataset
from .datasets import FeatureDataset, FeatureSplit
from .distributed import DistributedContext, start_distributed
from .evaluation import BEST_FILE, finish_run, per_source_micro_f1, predict_scores, score_split, validate
from .finetune import FrozenStreams
from .mixing import MixedSplit, SourceShareSampler
from .model_card import Baseline
from .optim import make_optimizer, make_schedule
from .resume import STATE_FILE, load_training_state, restore_rng, save_training_state
from .run_logs import MetricsLogger, plot_learning_curves
from .settings import TrainResult, TrainSettings
from .step import mixed_precision, train_step

# The trainer's entry points, importable from here: fit and its settings, and scoring a trained model.
__all__ = [
    "STATE_FILE",
    "TrainResult",
    "TrainSettings",
    "config_for_dataset",
    "default_small_config",
    "fit",
    "predict_scores",
    "resolve_device",
    "score_split",
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


@dataclass
class _Run:
    """What a run's epochs share: the model (and the network that trains it: itself, or its data-parallel
    wrapper), optimiser, schedule, random generators, precision, frozen streams, and where the choice stands."""

    model: Carat
    optimizer: torch.optim.Optimizer
    schedule: Any
    shuffle_generator: torch.Generator
    dropout_generator: torch.Generator
    autocast: Any
    scaler: torch.amp.GradScaler | None
    frozen: FrozenStreams
    network: torch.nn.Module | None = None
    start_epoch: int = 1
    best_epoch: int = 0
    best_f1: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)


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
    loader, sampler = _training_loader(train_split, settings, context, SoftAlignment.of(config))
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(
            f"the training split has {len(train_split)} samples, fewer than one batch of {settings.batch_size} "
            f"per process ({context.world_size} processes); lower --batch-size"
        )
    schedule = make_schedule(optimizer, settings.recipe, settings.epochs * steps_per_epoch, settings.warmup)
    shuffle_generator = torch.Generator(device=device).manual_seed(settings.seed + 1000 * context.rank)
    dropout_generator = torch.Generator().manual_seed(settings.seed + 1 + 1000 * context.rank)
    run = _Run(model, optimizer, schedule, shuffle_generator, dropout_generator,
               *mixed_precision(device, settings.amp), frozen)  # fmt: skip
    if resume:
        _restore(run, run_dir, config, settings)
    if context.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if initial_weights is not None and run.start_epoch == 1:
            _starting_weights_as_epoch_zero(run, dataset, valid_split, settings, device, run_dir)
    run.network = _network(model, device, context)
    logger = MetricsLogger(run_dir) if context.is_main else None
    last_epoch = (
        settings.epochs if settings.stop_after_epoch is None else min(settings.epochs, settings.stop_after_epoch)
    )
    for epoch in range(run.start_epoch, last_epoch + 1):
        record = _train_epoch(run, loader, sampler, epoch, settings, device, context)
        if context.is_main:
            _end_epoch(run, record, dataset, valid_split, settings, device, run_dir, config, logger)
        context.barrier()
    return _finish(run, dataset, settings, device, context, run_dir, last_epoch, logger, ending)


def _training_loader(train_split, settings: TrainSettings, context: DistributedContext, alignment: SoftAlignment):
    """(the DataLoader of the training split's batches, its sampler): fixed shares of each source for mixed
    sources (mixing.py), class-balanced epochs, or a (distributed) shuffle."""
    if isinstance(train_split, MixedSplit):  # several sources: fixed shares of each batch (mixing.py)
        if context.active:
            raise ValueError("training on mixed sources runs in one process; start it without torchrun")
        sampler = SourceShareSampler(train_split, settings.batch_size, settings.seed)
        loader = torch.utils.data.DataLoader(
            SplitDataset(train_split),
            batch_sampler=sampler,
            collate_fn=lambda indices: train_split.pieces(indices, alignment),
        )
        return loader, sampler
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
    return loader, sampler


def _restore(run: _Run, run_dir: Path, config: CaratConfig, settings: TrainSettings) -> None:
    """`--resume`: the saved training state back into the run (weights, optimiser, schedule, generators,
    precision's scaler, where the choice stood)."""
    state_path = run_dir / STATE_FILE
    if not state_path.is_file():
        raise FileNotFoundError(f"--resume: no {STATE_FILE} in {run_dir}; start the run without --resume")
    saved = load_training_state(state_path, config, settings)
    run.model.load_state_dict(saved["model"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.schedule.load_state_dict(saved["schedule"])
    restore_rng(saved["rng"], run.shuffle_generator, run.dropout_generator)
    if run.scaler is not None and saved["scaler"]:
        run.scaler.load_state_dict(saved["scaler"])
    run.start_epoch, run.best_epoch, run.best_f1 = saved["epoch"] + 1, saved["best_epoch"], saved["best_f1"]
    run.history = json.loads(saved["history"])


def _starting_weights_as_epoch_zero(run: _Run, dataset, valid_split, settings, device, run_dir: Path) -> None:
    """The starting weights are "epoch 0" of the choice: an epoch must beat them on validation, so a fine-tune
    that cannot improve on its start (a small validation split, data the start knows) gives back its start
    rather than something worse."""
    run.best_f1, valid_figures = _epoch_choice(run.model, valid_split, settings, device)
    _save_best(run, dataset, run_dir, 0, valid_figures)


def _save_best(run: _Run, dataset, run_dir: Path, epoch: int, valid_figures: dict[str, float]) -> None:
    """The model as the best epoch so far (best.safetensors), with its epoch and validation micro-F1."""
    extra = {"epoch": epoch, "valid_micro_f1": valid_figures["valid_micro_f1"]}
    save_checkpoint(run_dir / BEST_FILE, run.model, feature_spec=dataset.feature_spec, extra=extra)


def _network(model: Carat, device: torch.device, context: DistributedContext) -> torch.nn.Module:
    """The module the steps run: the model, or its data-parallel wrapper under torchrun."""
    if not context.active:
        return model
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False
    )


def _train_epoch(run: _Run, loader, sampler, epoch: int, settings: TrainSettings, device: torch.device,
                 context: DistributedContext) -> dict[str, Any]:  # fmt: skip
    """One epoch of optimiser steps; its record (losses, rate, time) for the history."""
    sampler.set_epoch(epoch)
    run.model.train()
    started = time.perf_counter()
    totals: dict[str, float] = {}
    bar = tqdm(loader, desc=f"epoch {epoch}/{settings.epochs}", disable=not (settings.progress and context.is_main))
    for batch in bar:
        parts = train_step(
            run.network, run.model, batch, run.optimizer, run.schedule, settings, device, run.autocast, run.scaler,
            run.shuffle_generator, run.dropout_generator, context,
        )  # fmt: skip
        run.frozen.restore()
        for name, value in parts.items():
            totals[name] = totals.get(name, 0.0) + value
        bar.set_postfix(loss=f"{parts['total']:.4f}")
    seconds = time.perf_counter() - started
    steps_per_epoch = len(loader)
    return {
        "epoch": epoch,
        "lr": run.schedule.get_last_lr()[0],
        "seconds": round(seconds, 3),
        "samples_per_s": steps_per_epoch * settings.batch_size * context.world_size / seconds,
        "processes": context.world_size,
        **{f"train_{name}": value / steps_per_epoch for name, value in totals.items()},
    }


def _end_epoch(run: _Run, record: dict, dataset, valid_split, settings, device, run_dir: Path, config,
               logger: MetricsLogger) -> None:  # fmt: skip
    """Validation figures into the epoch's record; the best epoch kept (best.safetensors); the history and
    the training state saved (the main process only)."""
    choice, valid_figures = _epoch_choice(run.model, valid_split, settings, device)
    record.update(valid_figures)
    epoch = record["epoch"]
    if choice > run.best_f1:
        run.best_epoch, run.best_f1 = epoch, choice
        _save_best(run, dataset, run_dir, epoch, valid_figures)
    run.history.append(record)
    logger.write(run.history)
    save_training_state(
        run_dir / STATE_FILE, run.model, run.optimizer, run.schedule, run.shuffle_generator, run.dropout_generator,
        scaler=run.scaler, epoch=epoch, best_epoch=run.best_epoch, best_f1=run.best_f1, history=run.history,
        config=config, settings=settings,
    )  # fmt: skip


def _finish(run: _Run, dataset, settings, device, context, run_dir: Path, last_epoch: int, logger,
            ending: dict[str, Any]) -> TrainResult:  # fmt: skip
    """The run's result; the learning curves, and at the schedule's end the chosen model and its card."""
    finished = last_epoch >= settings.epochs
    result = TrainResult(
        run_dir=run_dir,
        best_epoch=run.best_epoch,
        epochs_done=last_epoch,
        finished=finished,
        history=run.history,
        model=run.model,
    )
    if context.is_main:
        logger.close()
        plot_learning_curves(run.history, run_dir / "learning_curves.png")
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
