"""Training and evaluation of CARAT on a FeatureDataset.

`fit` trains with the CARAT objective, keeps the epoch with the best validation micro-F1, tunes one
threshold per label on validation, scores the test split with them and writes, into the run folder:

    model.safetensors      the chosen epoch, tuned thresholds, metrics and training facts in its header
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
"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
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
    CaratInputs,
    CaratOutput,
    carat_objective,
    save_checkpoint,
)
from carat_model.atomic import write_atomically, write_json_atomically, write_text_atomically

from .datasets import Batch, FeatureDataset, FeatureSplit, SplitDataset
from .distributed import DistributedContext, start_distributed, update_shared_training_state
from .metrics import MultiLabelMetrics, compute_metrics, tune_thresholds
from .mixing import MixedSplit, SourceShareSampler
from .optim import make_optimizer, make_schedule

STATE_FILE = "training_state.pt"
BEST_FILE = "best.safetensors"
MODEL_FILE = "model.safetensors"
STATE_VERSION = 1


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
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA (bfloat16 where supported); the CPU always runs float32
    eval_batch_size: int = 256
    stop_after_epoch: int | None = None  # end early (resumable), e.g. to fit a time-sliced job
    empty_match: float = 0.0  # Acc for a sample with no true and no predicted label (authors: 0)
    progress: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.absent_modalities) - set(MODALITIES)
        if unknown:
            raise ValueError(f"unknown modalities {sorted(unknown)}; choose from {list(MODALITIES)}")
        if len(self.absent_modalities) == len(MODALITIES):
            raise ValueError("cannot train with every modality absent")
        object.__setattr__(self, "absent_modalities", tuple(self.absent_modalities))


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


def config_for_dataset(dataset: FeatureDataset, base: CaratConfig) -> CaratConfig:
    """`base` with the dataset's feature sizes, labels and alignment; position tables grown to fit."""
    dims, steps = dataset.feature_dims(), dataset.max_steps()
    changes: dict[str, Any] = {f"{m}_dim": dims[m] for m in MODALITIES}
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


# -- batches and modalities ---------------------------------------------------------------------


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


def _aligned_steps(config: CaratConfig) -> int | None:
    return None if config.aligned else config.unaligned_steps


def _float_output(output: CaratOutput) -> CaratOutput:
    """Autocast leaves some outputs in half precision; the objective's sums need float32."""
    return CaratOutput(**{k: v.float() if v.is_floating_point() else v for k, v in vars(output).items()})


# -- evaluation ---------------------------------------------------------------------------------


@torch.no_grad()
def predict_scores(
    model: Carat,
    split: FeatureSplit,
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    absent: tuple[str, ...] = (),
    progress: bool = False,
) -> np.ndarray:
    """The model's scores [N, C] for a split, in inference mode."""
    was_training = model.training
    model.eval()
    scores = []
    starts = range(0, len(split), batch_size)
    for start in tqdm(starts, desc="evaluate", leave=False, disable=not progress):
        batch = split.batch(np.arange(start, min(start + batch_size, len(split))), _aligned_steps(model.config))
        inputs = hide_modalities(batch.inputs, absent).to(device)
        scores.append(model(inputs).scores.float().cpu())
    model.train(was_training)
    return torch.cat(scores).numpy()


def score_split(
    model: Carat,
    split: FeatureSplit,
    *,
    thresholds: list[float] | tuple[float, ...] | None = None,
    empty_match: float = 0.0,
    **predict_options: Any,
) -> MultiLabelMetrics:
    scores = predict_scores(model, split, **predict_options)
    limits = np.asarray(thresholds if thresholds is not None else model.config.thresholds())
    return compute_metrics(split.labels, scores > limits, empty_match=empty_match)


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
) -> TrainResult:
    run_dir = Path(run_dir)
    device = resolve_device(settings.device)
    context = start_distributed(device.type)
    try:
        return _fit(dataset, config, settings, run_dir, resume, device, context)
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
) -> TrainResult:
    if context.active and device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
    train_split, valid_split = dataset.split("train"), dataset.split("valid")
    seed_everything(settings.seed + context.rank)
    model = Carat(config).to(device)
    optimizer = make_optimizer(model, settings.recipe, settings.lr, settings.weight_decay)

    aligned_steps = _aligned_steps(config)
    if isinstance(train_split, MixedSplit):  # several sources: fixed shares of each batch (mixing.py)
        if context.active:
            raise ValueError("training on mixed sources runs in one process; start it without torchrun")
        sampler = SourceShareSampler(train_split, settings.batch_size, settings.seed)
        loader = torch.utils.data.DataLoader(
            SplitDataset(train_split),
            batch_sampler=sampler,
            collate_fn=lambda indices: train_split.pieces(indices, aligned_steps),
        )
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
            collate_fn=lambda indices: train_split.batch(indices, aligned_steps),
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
        _restore_rng(saved["rng"], shuffle_generator, dropout_generator)
        if scaler is not None and saved["scaler"]:
            scaler.load_state_dict(saved["scaler"])
        start_epoch, best_epoch, best_f1 = saved["epoch"] + 1, saved["best_epoch"], saved["best_f1"]
        history = json.loads(saved["history"])
    if context.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    network: torch.nn.Module = model
    if context.active:
        network = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False
        )
    logger = MetricsLogger(run_dir) if context.is_main else None

    last_epoch = (
        settings.epochs
        if settings.stop_after_epoch is None
        else min(settings.epochs, settings.stop_after_epoch)
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
            valid = validate(model, valid_split, settings, device)
            record.update({f"valid_{k}": v for k, v in valid.as_dict().items() if k != "per_label_f1"})
            choice = valid.micro_f1
            if isinstance(valid_split, MixedSplit):  # each source counts the same, whatever its size
                per_source = per_source_micro_f1(model, valid_split, settings, device)
                record.update({f"valid_{name}_micro_f1": f1 for name, f1 in per_source.items()})
                choice = record["valid_choice"] = float(np.mean(list(per_source.values())))
            if choice > best_f1:
                best_epoch, best_f1 = epoch, choice
                save_checkpoint(
                    run_dir / BEST_FILE,
                    model,
                    feature_spec=dataset.feature_spec,
                    extra={"epoch": epoch, "valid_micro_f1": valid.micro_f1},
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
            finish_run(result, dataset, settings, device)
    context.barrier()
    return result


def validate(
    model: Carat, split: FeatureSplit | MixedSplit, settings: TrainSettings, device: torch.device
) -> MultiLabelMetrics:
    """A split's metrics at the config's threshold, as the epoch choice sees them."""
    return score_split(
        model,
        split,
        batch_size=settings.eval_batch_size,
        device=device,
        absent=settings.absent_modalities,
        empty_match=settings.empty_match,
    )


def per_source_micro_f1(
    model: Carat, split: MixedSplit, settings: TrainSettings, device: torch.device
) -> dict[str, float]:
    """Validation micro-F1 of each source of a mixed split, at the config's threshold."""
    return {name: validate(model, part, settings, device).micro_f1 for name, part in zip(split.names, split.parts)}


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
            raise FloatingPointError(
                f"the training loss became {loss.total.item()} ({ {k: round(v.item(), 4) for k, v in loss.parts.items()} }); "
                "lower --lr or check the data for extreme values"
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


def mixed_precision(device: torch.device, enabled: bool) -> tuple[Any, torch.amp.GradScaler | None]:
    if not (enabled and device.type == "cuda"):
        return nullcontext, None
    if torch.cuda.is_bf16_supported():
        return (lambda: torch.autocast("cuda", dtype=torch.bfloat16)), None
    return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")


def finish_run(
    result: TrainResult, dataset: FeatureDataset, settings: TrainSettings, device: torch.device
) -> None:
    """Reload the chosen epoch, tune per-label thresholds on validation, score test, write model.safetensors."""
    from carat_model import load_checkpoint

    model, _ = load_checkpoint(result.run_dir / BEST_FILE, device=device)
    options = {"batch_size": settings.eval_batch_size, "device": device, "absent": settings.absent_modalities}
    valid_split = dataset.split("valid")
    valid_scores = predict_scores(model, valid_split, **options)
    thresholds = tune_thresholds(valid_split.labels, valid_scores)
    result.thresholds = thresholds
    result.valid = compute_metrics(
        valid_split.labels, valid_scores > np.asarray(thresholds), empty_match=settings.empty_match
    )
    if "test" in dataset.splits:
        test_split = dataset.split("test")
        test_scores = predict_scores(model, test_split, **options)
        result.test = compute_metrics(
            test_split.labels, test_scores > np.asarray(thresholds), empty_match=settings.empty_match
        )
        result.test_default_threshold = compute_metrics(
            test_split.labels,
            test_scores > np.asarray(model.config.thresholds()),
            empty_match=settings.empty_match,
        )
    model.set_label_thresholds(thresholds)
    trained = [m for m in MODALITIES if m not in settings.absent_modalities]
    extra = {
        "dataset": dataset.name,
        "dataset_source": dataset.source,
        "trained_modalities": trained,
        "epoch": result.best_epoch,
        "epochs": settings.epochs,
        "acc_empty_match": settings.empty_match,
        "valid_metrics": result.valid.as_dict(),
        "test_metrics": result.test.as_dict() if result.test else None,
        "test_metrics_default_threshold": result.test_default_threshold.as_dict()
        if result.test_default_threshold
        else None,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
    }
    result.checkpoint = save_checkpoint(
        result.run_dir / MODEL_FILE, model, feature_spec=dataset.feature_spec, extra=extra
    )
    write_json_atomically(
        result.run_dir / "result.json",
        {"thresholds": thresholds, **{k: v for k, v in extra.items() if k != "settings"}},
    )


# -- training state (resume) --------------------------------------------------------------------


def _settings_fingerprint(config: CaratConfig, settings: TrainSettings) -> str:
    """What must not change between a run and its resumption (progress display and the stop point may)."""
    relevant = {
        k: v for k, v in asdict(settings).items() if k not in ("progress", "stop_after_epoch", "device")
    }
    return json.dumps({"config": config.to_dict(), "settings": relevant}, sort_keys=True, default=list)


def save_training_state(
    path: Path,
    model: Carat,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    shuffle_generator: torch.Generator,
    dropout_generator: torch.Generator,
    *,
    scaler: torch.amp.GradScaler | None,
    epoch: int,
    best_epoch: int,
    best_f1: float,
    history: list[dict[str, Any]],
    config: CaratConfig,
    settings: TrainSettings,
) -> None:
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    state = {
        "version": STATE_VERSION,
        "epoch": epoch,
        "best_epoch": best_epoch,
        "best_f1": best_f1,
        "history": json.dumps(history),
        "fingerprint": _settings_fingerprint(config, settings),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {
                "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
                "position": int(numpy_state[2]),
                "has_gauss": int(numpy_state[3]),
                "gauss": float(numpy_state[4]),
            },
            "python": {"version": python_state[0], "state": list(python_state[1]), "gauss": python_state[2]},
            "shuffle": shuffle_generator.get_state(),
            "modality_dropout": dropout_generator.get_state(),
        },
    }
    write_atomically(path, lambda temporary: torch.save(state, temporary))


def load_training_state(path: Path, config: CaratConfig, settings: TrainSettings) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"cannot read {path} ({error}); it is damaged: start the run again without --resume"
        ) from error
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{path} was written by another version of the trainer; start the run again")
    if state["fingerprint"] != _settings_fingerprint(config, settings):
        raise ValueError(
            f"{path} belongs to a run with other settings or model sizes; resume with the same arguments "
            "(only --stop-after, --device and progress may change) or use a new --out folder"
        )
    return state


def _restore_rng(
    rng: dict[str, Any], shuffle_generator: torch.Generator, dropout_generator: torch.Generator
) -> None:
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    numpy_state = rng["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["gauss"],
        )
    )
    python_state = rng["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss"]))
    shuffle_generator.set_state(rng["shuffle"])
    dropout_generator.set_state(rng["modality_dropout"])


# -- logs and plots -----------------------------------------------------------------------------


class MetricsLogger:
    """metrics.jsonl and metrics.csv (rewritten whole each epoch, so a resumed run's logs stay whole),
    and TensorBoard scalars when the tensorboard package is installed."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.tensorboard = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"))
        except ImportError:
            pass  # optional
        self.written = 0

    def write(self, history: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(row) + "\n" for row in history)
        write_text_atomically(self.run_dir / "metrics.jsonl", lines)
        columns = list(dict.fromkeys(key for row in history for key in row))
        def write_csv(temporary: str) -> None:
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(history)

        write_atomically(self.run_dir / "metrics.csv", write_csv)
        if self.tensorboard is not None:
            for row in history[self.written :]:
                for key, value in row.items():
                    if key != "epoch" and isinstance(value, (int, float)):
                        self.tensorboard.add_scalar(key, value, row["epoch"])
            self.tensorboard.flush()
        self.written = len(history)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


def plot_learning_curves(history: list[dict[str, Any]], path: Path) -> None:
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, f1_axis) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axis.plot(epochs, [row["train_total"] for row in history], marker="o", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("CARAT objective")
    loss_axis.legend()
    for key, label in (
        ("valid_micro_f1", "validation micro-F1"),
        ("valid_macro_f1", "validation macro-F1"),
        ("valid_accuracy", "validation Acc"),
    ):
        f1_axis.plot(epochs, [row.get(key, float("nan")) for row in history], marker="o", label=label)
    f1_axis.set_xlabel("epoch")
    f1_axis.set_ylim(0, 1)
    f1_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


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
