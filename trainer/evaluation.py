"""Scoring a model on a split, the epoch choice's validation, and the end of a run: thresholds tuned per
label on validation, test scored with them, `model.safetensors` and `result.json` written.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from carat_model import MODALITIES, Carat, save_checkpoint
from carat_model.atomic import write_json_atomically
from carat_model.model import SoftAlignment

from .batching import hide_modalities
from .data_checks import held_out_split, label_counts, labels_with_samples, sample_warnings, stream_names, streams_in
from .datasets import FeatureDataset, FeatureSplit
from .metrics import MultiLabelMetrics, compute_metrics, tune_thresholds
from .mixing import MixedSplit
from .model_card import Baseline, DegenerateModelError, build_card, refusal, write_card
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
    result: TrainResult,
    dataset: FeatureDataset,
    settings: TrainSettings,
    device: torch.device,
    *,
    start_thresholds: tuple[float, ...] | None = None,
    compare_with: Baseline | None = None,
    extra: dict[str, Any] | None = None,
    refuse_degenerate: bool = False,
) -> None:
    """Reload the chosen epoch, tune per-label thresholds on validation, score test, refuse a model that
    tells nothing apart (with `refuse_degenerate`: model_card.refusal), write model.safetensors and its card.

    `start_thresholds`: a fine-tune's starting thresholds (labels with too few validation samples keep them;
    metrics.tune_thresholds). `compare_with`: the checkpoint the card scores the new one against. `extra`:
    facts for the checkpoint's header and card (they win over the ones made here)."""
    from carat_model import load_checkpoint

    model, _ = load_checkpoint(result.run_dir / BEST_FILE, device=device)
    options = {"batch_size": settings.eval_batch_size, "device": device, "absent": settings.absent_modalities}
    valid_split = dataset.split("valid")
    valid_scores = predict_scores(model, valid_split, **options)
    thresholds = tune_thresholds(valid_split.labels, valid_scores, start=start_thresholds)
    result.thresholds = thresholds
    limits = np.asarray(thresholds)
    result.valid = compute_metrics(valid_split.labels, valid_scores > limits, empty_match=settings.empty_match)
    scores = {"valid": valid_scores}
    if "test" in dataset.splits:
        test_split = dataset.split("test")
        scores["test"] = predict_scores(model, test_split, **options)
        result.test = compute_metrics(test_split.labels, scores["test"] > limits, empty_match=settings.empty_match)
        result.test_default_threshold = compute_metrics(
            test_split.labels,
            scores["test"] > np.asarray(model.config.thresholds()),
            empty_match=settings.empty_match,
        )
    if refuse_degenerate:
        _refuse_degenerate(dataset, scores, thresholds, from_checkpoint=start_thresholds is not None)
    model.set_label_thresholds(thresholds)
    trained = [m for m in MODALITIES if m not in settings.absent_modalities]
    facts = {
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
        **(extra or {}),
    }
    checkpoint = result.run_dir / MODEL_FILE
    result.card = _card(checkpoint, dataset, settings, result.best_epoch, scores, thresholds, compare_with, facts)
    header = {**facts, "card": result.card, "settings": _plain(asdict(settings))}
    result.checkpoint = save_checkpoint(checkpoint, model, feature_spec=dataset.feature_spec, extra=header)
    write_card(result.card)
    write_json_atomically(result.run_dir / "result.json", {"thresholds": thresholds, **facts})


def _refuse_degenerate(
    dataset: FeatureDataset, scores: dict[str, np.ndarray], thresholds: list[float], *, from_checkpoint: bool
) -> None:
    """Raise DegenerateModelError, with the data's likely reasons, when the model at these thresholds raises
    every one of the data's labels or none on the held-out samples (validation and test together)."""
    targets = np.concatenate([dataset.split(name).labels for name in scores])
    predicted = np.concatenate(list(scores.values())) > np.asarray(thresholds)
    data_labels = labels_with_samples(dataset.split("train").labels, dataset.labels)
    problem = refusal(targets, predicted, dataset.labels, data_labels)
    if problem is None:
        return
    reasons = sample_warnings(dataset, from_checkpoint=from_checkpoint)
    why = (
        f"Likely why: {'; '.join(reasons)}."
        if reasons
        else "The data's counts look sufficient: check that its labels are right, or train longer (--epochs)."
    )
    raise DegenerateModelError(
        f"refused: {problem}, so it tells nothing apart; it was not saved as {MODEL_FILE} (thresholds "
        f"{[round(t, 3) for t in thresholds]}). {why} Starting from a trained checkpoint (main.py train --from) "
        "needs far fewer samples."
    )


def _card(
    checkpoint: Path,
    dataset: FeatureDataset,
    settings: TrainSettings,
    best_epoch: int,
    scores: dict[str, np.ndarray],
    thresholds: list[float],
    compare_with: Baseline | None,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """The new checkpoint's card (model_card.py): on the test split (validation when there is none), beside
    `compare_with` at its own thresholds."""
    from carat_model import load_checkpoint

    split_name, split = held_out_split(dataset)
    other_scores, other_thresholds = None, ()
    if compare_with is not None:
        baseline, _ = load_checkpoint(compare_with.path)
        options = {"batch_size": settings.eval_batch_size, "absent": settings.absent_modalities}
        other_scores, other_thresholds = predict_scores(baseline, split, **options), baseline.config.thresholds()
    return build_card(
        checkpoint=checkpoint,
        dataset_facts={
            "source": dataset.source or dataset.name,
            "samples": {name: len(part) for name, part in dataset.splits.items()},
            "streams": stream_names(streams_in(dataset.split("train"))),
            "labels": label_counts(dataset),
        },
        split=split_name,
        targets=split.labels,
        labels=dataset.labels,
        new_scores=scores[split_name],
        new_thresholds=thresholds,
        other=compare_with,
        other_scores=other_scores,
        other_thresholds=other_thresholds,
        facts={
            "started_from": facts.get("started_from"),
            "frozen_streams": stream_names(settings.frozen_modalities) if settings.frozen_modalities else "",
            "epochs": settings.epochs,
            "best_epoch": best_epoch,
        },
    )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
