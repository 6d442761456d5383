"""Score a trained checkpoint on a split of the benchmark files or a prepared dataset.

Prints Acc, Hamming loss, micro/macro precision, recall and F1 at the checkpoint's per-label thresholds
(or --threshold), optionally as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from carat_model import MODALITIES, CheckpointError, load_checkpoint
from trainer.datasets import DatasetError, check_feature_dims
from trainer.loop import predict_scores, resolve_device
from trainer.metrics import compute_metrics

from .common import add_data_arguments, print_table, read_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a model.safetensors written by main.py train")
    add_data_arguments(parser)
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--threshold", type=float, help="one threshold for every label instead of the checkpoint's")
    parser.add_argument("--absent", nargs="+", choices=MODALITIES, default=[], help="score without these modalities")
    parser.add_argument(
        "--empty-match",
        type=float,
        choices=(0.0, 1.0),
        default=0.0,
        help="Acc of a sample with no true and no predicted label: 0 (the authors', default) or 1",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        model, info = load_checkpoint(args.checkpoint, device=resolve_device(args.device))
        dataset = read_dataset(args)
        config = model.config
        check_feature_dims(dataset, {m: config.feature_dim(m) for m in MODALITIES}, f"checkpoint {args.checkpoint}")
        if tuple(dataset.labels) != tuple(config.labels):
            raise DatasetError(
                f"{args.data} has labels {list(dataset.labels)} but the checkpoint predicts {list(config.labels)}"
            )
        if dataset.aligned != config.aligned:
            raise DatasetError(
                f"{args.data} is {'aligned' if dataset.aligned else 'unaligned'} data but the checkpoint "
                f"is an {'aligned' if config.aligned else 'unaligned'} model"
            )
        if info.feature_spec is not None and dataset.feature_spec is not None:
            # Only the streams the checkpoint learnt from (and the spec's own fields) must match: an
            # untrained stream never votes, so its extractor may have changed since.
            trained = set(info.extra.get("trained_modalities") or MODALITIES)
            keys = set(info.feature_spec) | set(dataset.feature_spec)
            differ = sorted(
                k for k in keys
                if (k in trained or k not in MODALITIES)
                and not _same_features(info.feature_spec.get(k), dataset.feature_spec.get(k))
            )  # fmt: skip
            if differ:
                raise DatasetError(
                    f"the checkpoint's FeatureSpec and {args.data}'s differ in {differ}: checkpoint "
                    + "; ".join(f"{k} = {_brief(info.feature_spec.get(k))}" for k in differ)
                    + ", data "
                    + "; ".join(f"{k} = {_brief(dataset.feature_spec.get(k))}" for k in differ)
                    + "; prepare the data with the same extractors"
                )
        split = dataset.split(args.split)
        scores = predict_scores(
            model,
            split,
            batch_size=args.batch_size,
            device=next(model.parameters()).device,
            absent=tuple(args.absent),
            progress=not args.json,
        )
    except (CheckpointError, DatasetError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    thresholds = [args.threshold] * config.num_labels if args.threshold is not None else list(config.thresholds())
    metrics = compute_metrics(split.labels, scores > np.asarray(thresholds), empty_match=args.empty_match)
    if args.json:
        print(
            json.dumps(
                {
                    "split": args.split,
                    "samples": len(split),
                    "thresholds": thresholds,
                    "acc_empty_match": args.empty_match,
                    **metrics.as_dict(),
                }
            )
        )
        return 0
    print(f"{args.checkpoint} on {args.data} [{args.split}, {len(split)} samples], thresholds {thresholds}")
    rows = [("metric", "value")] + [(k, f"{v:.4f}") for k, v in metrics.as_dict().items() if k != "per_label_f1"]
    rows += [(f"F1 {label}", f"{v:.4f}") for label, v in zip(config.labels, metrics.per_label_f1)]
    print_table(rows)
    print(f"Acc counts a sample with no true and no predicted label as {args.empty_match:g}")
    return 0


def _same_features(ours, theirs) -> bool:
    """Whether two spec entries give the same features: a stream's feature names and version decide (as
    `FeatureSpec.check_matches` does for live use); its extractor text describes them and may be reworded,
    e.g. when the voice's speech gate started dropping rows without changing any row."""
    if isinstance(ours, dict) and isinstance(theirs, dict) and "version" in ours and "version" in theirs:
        return (ours.get("feature_names"), str(ours["version"])) == (
            theirs.get("feature_names"),
            str(theirs["version"]),
        )
    return ours == theirs


def _brief(entry) -> str:
    """A stream's spec entry as its extractor and version (the feature names would fill the screen)."""
    if isinstance(entry, dict):
        return f"{entry.get('extractor')} (version {entry.get('version')})"
    return repr(entry)
