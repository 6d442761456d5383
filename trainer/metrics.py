"""The paper's multi-label metrics: Acc (example-based Jaccard), Hamming loss, micro/macro P/R/F1.

Acc = mean over samples of |y ∩ ŷ| / |y ∪ ŷ|. A sample with no true and no predicted label has an
empty union: the authors' code counts it 0, which is our default (`empty_match=0.0`) so reported
numbers compare with the paper; `empty_match=1.0` counts it as a perfect match instead.
Divisions by zero in precision/recall/F1 give 0. The computations are scikit-learn's (`sklearn.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, jaccard_score, precision_recall_fscore_support


@dataclass(frozen=True)
class MultiLabelMetrics:
    accuracy: float
    hamming_loss: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    per_label_f1: tuple[float, ...]

    def as_dict(self) -> dict[str, float | list[float]]:
        values = asdict(self)
        values["per_label_f1"] = list(self.per_label_f1)
        return values


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)  # the thresholds every tuner tries

# A soft target (a share of annotators' votes, e.g. FER+) counts as the label being present from here on.
SOFT_TARGET_PRESENT = 0.5


def hard_targets(targets: np.ndarray) -> np.ndarray:
    """0/1, bool or soft targets (vote shares in [0, 1]) -> bool [N, C]: present at SOFT_TARGET_PRESENT."""
    return np.asarray(targets, dtype=np.float64) >= SOFT_TARGET_PRESENT


def _as_multilabel(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """scikit-learn reads a [N, 1] array as binary classes, not one label: a column of zeros after it (no
    true or false positive, no change to any sample's intersection or union) keeps it multi-label; the
    metrics name `labels=range(C)` so that column is never scored."""
    if arrays[0].shape[1] > 1:
        return arrays
    return tuple(np.concatenate([a, np.zeros_like(a)], axis=1) for a in arrays)


def compute_metrics(targets: np.ndarray, predicted: np.ndarray, *, empty_match: float = 0.0) -> MultiLabelMetrics:
    """targets: [N, C] 0/1, bool or soft (see hard_targets); predicted: [N, C] 0/1 or bool."""
    y = hard_targets(targets)
    p = np.asarray(predicted).astype(bool)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"targets {y.shape} and predictions {p.shape} must both be [samples, labels]")
    if len(y) == 0:
        raise ValueError("no samples to score")
    labels = list(range(y.shape[1]))
    empty = ~(y | p).any(1)  # scikit-learn's zero_division takes only 0 or 1: other values are added here
    y_wide, p_wide = _as_multilabel(y, p)
    accuracy = jaccard_score(y_wide, p_wide, average="samples", zero_division=0.0) + empty_match * empty.mean()
    micro = precision_recall_fscore_support(y_wide, p_wide, labels=labels, average="micro", zero_division=0.0)
    macro = precision_recall_fscore_support(y_wide, p_wide, labels=labels, average="macro", zero_division=0.0)
    per_f1 = f1_score(y_wide, p_wide, labels=labels, average=None, zero_division=0.0)
    return MultiLabelMetrics(
        accuracy=float(accuracy),
        hamming_loss=float(hamming_loss(y, p)),
        micro_precision=float(micro[0]),
        micro_recall=float(micro[1]),
        micro_f1=float(micro[2]),
        macro_precision=float(macro[0]),
        macro_recall=float(macro[1]),
        macro_f1=float(macro[2]),
        per_label_f1=tuple(float(v) for v in per_f1),
    )


# A label with fewer positive samples than this keeps a fine-tune's starting threshold: on a handful of
# samples the best-F1 threshold is mostly chance (the default's thresholds tuned on 25 held-out FER+ faces,
# about 5 a label, took its macro-F1 on 29 others from 0.875 to 0.792).
MIN_POSITIVES_TO_TUNE = 10


def tune_thresholds(
    targets: np.ndarray,
    scores: np.ndarray,
    grid: np.ndarray | None = None,
    *,
    start: tuple[float, ...] | list[float] | None = None,
) -> list[float]:
    """Per label, the threshold on `grid` with the best F1 on these samples (ties: the lowest). With `start`
    (the thresholds of the model a fine-tune started from): ties go to the value nearest the start's, and a
    label with fewer than MIN_POSITIVES_TO_TUNE positive samples keeps its start threshold."""
    grid = THRESHOLD_GRID if grid is None else np.asarray(grid)
    y = hard_targets(targets)
    scores = np.asarray(scores)
    labels = list(range(y.shape[1]))
    f1 = np.stack(  # [G, C]
        [f1_score(*_as_multilabel(y, scores > limit), labels=labels, average=None, zero_division=0.0) for limit in grid]
    )
    if start is None:
        return [float(grid[int(np.argmax(f1[:, column]))]) for column in labels]
    chosen = []
    for column in labels:
        if y[:, column].sum() < MIN_POSITIVES_TO_TUNE:
            chosen.append(float(start[column]))
            continue
        best = np.flatnonzero(f1[:, column] >= f1[:, column].max() - 1e-12)
        chosen.append(float(grid[best[np.argmin(np.abs(grid[best] - start[column]))]]))
    return chosen


def ascend_thresholds(
    judge: Callable[[np.ndarray], float], labels_count: int, *, rounds: int = 3, grid: np.ndarray | None = None
) -> list[float]:
    """Per-label thresholds maximising `judge(thresholds)` (any merit of all labels together, e.g. a
    class decision's accuracy) by coordinate ascent: from 0.5 each, `rounds` passes over the labels, each
    label set in turn to the grid value that scores best with the others held (ties: the lowest)."""
    grid = THRESHOLD_GRID if grid is None else np.asarray(grid)
    thresholds = np.full(labels_count, 0.5)
    for _ in range(rounds):
        for label in range(labels_count):
            results = []
            for value in grid:
                trial = thresholds.copy()
                trial[label] = value
                results.append(judge(trial))
            thresholds[label] = grid[int(np.argmax(results))]
    return [float(t) for t in thresholds]
