"""Train CARAT on the benchmark feature files or a prepared dataset (torchrun for several processes).

Examples:
    main.py train --data train_valid_test.pt --dataset mosei-aligned --out runs/mosei
    main.py train --data runs/synthetic.pt --preset small --epochs 20 --batch-size 16 --lr 3e-3 --out runs/syn
    torchrun --nproc_per_node 2 main.py train --data ... --out ...   (data-parallel; gloo on CPU, NCCL on GPUs)
    main.py train ... --resume   (continue an interrupted run from its last epoch, same arguments)
"""

from __future__ import annotations

import argparse
import sys

from carat_model import MODALITIES, CaratConfig
from trainer.datasets import DatasetError
from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit
from trainer.optim import RECIPES

from .common import Flag, add_data_arguments, add_settings_arguments, print_table, read_dataset, settings_from_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--out", required=True, help="run folder: checkpoints, logs, learning curves")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last completed epoch"
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
    model.add_argument(
        "--layers", type=int, nargs=3, metavar=("TEXT", "VISUAL", "AUDIO"), help="encoder layers"
    )
    model.add_argument("--projection", type=int, help="latent size of the contrastive space")
    model.add_argument("--queue-size", type=int, help="contrastive queue length")
    model.add_argument("--dropout", type=float, help="dropout rate")
    model.add_argument(
        "--unaligned-steps",
        type=int,
        help="unaligned data: steps the soft aligner maps visual/audio to (authors: 500, or 50)",
    )
    train = parser.add_argument_group("training")
    add_settings_arguments(train, TrainSettings, TRAIN_FLAGS)


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


def run(args: argparse.Namespace) -> int:
    try:
        dataset = read_dataset(args)
        config = config_for_dataset(dataset, build_config(args, dataset.aligned))
        settings = settings_from_arguments(TrainSettings, args)
        result = fit(dataset, config, settings, args.out, resume=args.resume)
    except (DatasetError, ValueError, FileNotFoundError, RuntimeError, FloatingPointError) as error:
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
    print(
        f"best epoch {result.best_epoch} (validation micro-F1); thresholds {[round(t, 3) for t in result.thresholds]}"
    )
    print_table(rows)
    print(f"Acc counts a sample with no true and no predicted label as {args.empty_match:g}")
    print(f"checkpoint: {result.checkpoint}")
    return 0
