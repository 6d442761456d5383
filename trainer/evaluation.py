"""Scoring a model on a split, the epoch choice's validation, and the end of a run: thresholds tuned per
label on validation, test scored with them, `model.safetensors` and `result.json` written.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from carat_model import MODALITIES, Carat, save_checkpoint
from carat_model.atomic import write_json_atomically
from carat_model.model import SoftAlignment

from .batching import hide_modalities
from .datasets import FeatureDataset, FeatureSplit
from .metrics import MultiLabelMetrics, compute_metrics, tune_thresholds
from .mixing import MixedSplit
from .settings import TrainResult, TrainSettings

BEST_FILE = "best.safetensors"
MODEL_FILE = "model.safetensors"




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
        batch = split.batch(np.arange(start, min(start + batch_size, len(split))), SoftAlignment.of(model.config))
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
