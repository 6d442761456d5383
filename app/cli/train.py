"""Train CARAT on the benchmark feature files or a prepared dataset (torchrun for several processes).

Examples:
    main.py train --data train_valid_test.pt --dataset mosei-aligned --out runs/mosei
    main.py train --data runs/synthetic.pt --preset small --epochs 20 --batch-size 16 --lr 3e-3 --out runs/syn
    torchrun --nproc_per_node 2 main.py train --data ... --out ...   (data-parallel; gloo on CPU, NCCL on GPUs)
    main.py train ... --resume   (continue an interrupted run from its last epoch, same arguments)
    main.py train --data data/mine --out runs/mine --from   (fine-tune the shipped default on your data)
    main.py train --data data/mine --out runs/mine --from runs/other/model.safetensors

--from CHECKPOINT fine-tunes that checkpoint; --from alone (or --from default) the shipped default,
models/carat_default.safetensors. Data it cannot read (other feature sizes, extractors or window shape) is
refused before training. The streams the data has learn; the others are kept as they were. Without --from the
model starts from fresh weights. Either way the run ends with a card (model_card.md and .json beside the
checkpoint): the new checkpoint beside the one it started from, or beside the shipped default when the data
fits it, on your test split.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from carat_model import MODALITIES, CaratConfig, CheckpointError, read_checkpoint_info
from trainer.data_checks import check_readable, sample_warnings, stream_names, streams_in
from trainer.datasets import DatasetError, FeatureDataset
from trainer.finetune import FINETUNE, finetune_settings, load_start
from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit
from trainer.model_card import Baseline, card_paths, card_summary
from trainer.optim import RECIPES

from .common import Flag, add_data_arguments, add_settings_arguments, print_table, read_dataset, settings_from_arguments

DEFAULT_START = "default"
FINETUNE_DEFAULTS = f"--epochs {FINETUNE.epochs} --lr {FINETUNE.lr:g} --batch-size {FINETUNE.batch_size}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--out", required=True, help="run folder: checkpoints, logs, learning curves")
    parser.add_argument(
        "--from",
        dest="start",
        nargs="?",
        const=DEFAULT_START,
        metavar="CHECKPOINT",
        help="fine-tune this checkpoint on the data (alone or 'default': the shipped default); its sizes, "
        "window shape and thresholds are kept, the streams the data lacks stay as they were; "
        f"defaults then {FINETUNE_DEFAULTS}",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last completed epoch")
    parser.add_argument(
        "--keep-degenerate",
        action="store_true",
        help="save the model even when its thresholds predict every label or none (refused otherwise): for "
        "smoke runs of the plumbing, e.g. a few epochs on synthetic data",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--preset",
        choices=("aligned", "unaligned", "small"),
        default=None,
        help="sizes: the authors' CMU-MOSEI settings (aligned/unaligned), or a small CARAT for quick runs; "
        "default follows the data's alignment",
    )
    model.add_argument("--hidden", type=int, help="hidden size (default: preset)")
    model.add_argument("--heads", type=int, help="attention heads (default: preset)")
    model.add_argument("--layers", type=int, nargs=3, metavar=("TEXT", "VISUAL", "AUDIO"), help="encoder layers")
    model.add_argument("--projection", type=int, help="latent size of the contrastive space")
    model.add_argument("--queue-size", type=int, help="contrastive queue length")
    model.add_argument("--dropout", type=float, help="dropout rate")
    model.add_argument(
        "--unaligned-steps",
        type=int,
        help="unaligned data: steps the soft aligner maps visual/audio to (authors: 500, or 50)",
    )
    train = parser.add_argument_group("training (with --from, the fine-tune's defaults instead)")
    # Unset options keep the base's values: TrainSettings' defaults, or a fine-tune's (finetune_settings).
    add_settings_arguments(train, TrainSettings, TRAIN_FLAGS, skip=("frozen_modalities",), unset=True)


# How TrainSettings' fields appear as options (the rest: --field-name, type and default from the field).
TRAIN_FLAGS = {
    "batch_size": Flag(help="per process"),
    "warmup": Flag(help="fraction of steps with rising learning rate"),
    "recipe": Flag(
        choices=RECIPES,
        help="adamw (default) or authors (their BertAdam: no bias correction, per-parameter clipping)",
    ),
    "clip_norm": Flag("--clip", help="global gradient-norm clip (0: off)"),
    "modality_dropout": Flag(help="probability that a training sample loses one of its modalities"),
    "absent_modalities": Flag("--absent", choices=MODALITIES, help="train and evaluate without these modalities"),
    "device": Flag(help="auto, cpu, cuda or cuda:N"),
    "amp": Flag(negate="--no-amp", help="float32 on CUDA too"),
    "eval_batch_size": Flag(help="batch size for validation and test scoring"),
    "stop_after_epoch": Flag("--stop-after", help="stop after this epoch (continue later with --resume)"),
    "empty_match": Flag(
        choices=(0.0, 1.0),
        help="Acc of a sample with no true and no predicted label: 0 (the authors', default) or 1",
    ),
    "progress": Flag(negate="--quiet", help="no progress bars"),
}


def build_config(args: argparse.Namespace, aligned: bool) -> CaratConfig:
    preset = args.preset or ("aligned" if aligned else "unaligned")
    base = {
        "aligned": CaratConfig.mosei_aligned,
        "unaligned": CaratConfig.mosei_unaligned,
        "small": default_small_config,
    }[preset]()
    changes = {}
    for name in ("hidden", "heads", "projection", "queue_size", "dropout", "unaligned_steps"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.layers:
        changes.update(text_layers=args.layers[0], visual_layers=args.layers[1], audio_layers=args.layers[2])
    if "hidden" in changes and "intermediate" not in changes:
        changes["intermediate"] = max(changes["hidden"], base.intermediate * changes["hidden"] // base.hidden)
    return base.replace(**changes)


MODEL_OPTIONS = ("preset", "hidden", "heads", "layers", "projection", "queue_size", "dropout", "unaligned_steps")


@dataclass
class Plan:
    """What `fit` is given: a model from fresh weights, or a fine-tune of a checkpoint (--from)."""

    config: CaratConfig
    settings: TrainSettings
    baseline: Baseline | None  # what the card compares the result with
    initial_weights: dict | None = None
    extra: dict | None = None


def from_scratch(args: argparse.Namespace, dataset: FeatureDataset) -> Plan:
    config = config_for_dataset(dataset, build_config(args, dataset.aligned))
    return Plan(
        config, settings_from_arguments(TrainSettings, args, base=TrainSettings()), shipped_default_for(dataset)
    )


def fine_tune(args: argparse.Namespace, dataset: FeatureDataset) -> Plan:
    """The checkpoint --from names, trained further on the data: refused before training when it cannot
    read the data; the streams the data lacks frozen."""
    start = load_start(start_path(args.start))
    given = [f"--{name.replace('_', '-')}" for name in MODEL_OPTIONS if getattr(args, name) is not None]
    if given:
        raise ValueError(f"--from keeps {start.path}'s model sizes; drop {', '.join(given)}")
    check_readable(dataset, start.info, str(start.path))
    streams = streams_in(dataset.split("train"))
    frozen = tuple(m for m in MODALITIES if m not in streams)
    base = finetune_settings(len(dataset.split("train")))
    print(
        f"train: fine-tuning {start.path}: {stream_names(streams)} learn"
        + (f", {stream_names(frozen)} kept as they were (not in the data)" if frozen else "")
    )
    trained = [m for m in MODALITIES if m in streams or m in start.trained_modalities]
    return Plan(
        config=start.model.config,
        settings=settings_from_arguments(TrainSettings, args, base=base, frozen_modalities=frozen),
        baseline=Baseline(start.path, "started from"),
        initial_weights=start.model.state_dict(),
        extra={"started_from": start.facts(), "trained_modalities": trained},
    )


def run(args: argparse.Namespace) -> int:
    try:
        dataset = read_dataset(args)
        plan = from_scratch(args, dataset) if args.start is None else fine_tune(args, dataset)
        for warning in sample_warnings(dataset, from_checkpoint=args.start is not None):
            print(f"train: warning: {warning}", file=sys.stderr)
        result = fit(
            dataset,
            plan.config,
            plan.settings,
            args.out,
            resume=args.resume,
            initial_weights=plan.initial_weights,
            compare_with=plan.baseline,
            extra=plan.extra,
            refuse_degenerate=not args.keep_degenerate,
        )
    except (DatasetError, CheckpointError, ValueError, FileNotFoundError, RuntimeError, FloatingPointError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 2
    if result.test is None and result.valid is None:
        if not result.finished:
            print(f"stopped after epoch {result.epochs_done}; continue with --resume")
        return 0
    rows = [("split", "Acc", "micro-F1", "macro-F1", "micro-P", "micro-R", "Hamming")]
    for name, metrics in (
        ("valid", result.valid),
        ("test", result.test),
        ("test@default", result.test_default_threshold),
    ):
        if metrics is not None:
            rows.append(
                (
                    name,
                    *(
                        f"{v:.4f}"
                        for v in (
                            metrics.accuracy,
                            metrics.micro_f1,
                            metrics.macro_f1,
                            metrics.micro_precision,
                            metrics.micro_recall,
                            metrics.hamming_loss,
                        )
                    ),
                )
            )
    chosen = "the starting weights: no epoch beat them" if result.best_epoch == 0 else "validation micro-F1"
    print(f"best epoch {result.best_epoch} ({chosen}); thresholds {[round(t, 3) for t in result.thresholds]}")
    print_table(rows)
    print(f"Acc counts a sample with no true and no predicted label as {plan.settings.empty_match:g}")
    print(f"checkpoint: {result.checkpoint}")
    if result.card is not None:
        print("\n".join(card_summary(result.card)))
        print(f"card: {card_paths(result.checkpoint)[0]}")
    return 0


def start_path(name: str) -> Path:
    """The checkpoint --from names: a file, or the shipped default for 'default' (and --from alone)."""
    from app.defaults import default_checkpoint

    return default_checkpoint() if name == DEFAULT_START else Path(name)


def shipped_default_for(dataset: FeatureDataset) -> Baseline | None:
    """The shipped default, for a run from scratch to be compared with, when it reads this data."""
    from app.defaults import default_checkpoint

    if dataset.feature_spec is None:  # the benchmark files: no extractor the default knows
        return None
    path = default_checkpoint()
    try:
        check_readable(dataset, read_checkpoint_info(path), str(path))
    except (DatasetError, CheckpointError):
        return None
    return Baseline(path, "the shipped default (fine-tune it with --from)")
