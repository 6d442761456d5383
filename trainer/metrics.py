"""The paper's multi-label metrics: Acc (example-based Jaccard), Hamming loss, micro/macro P/R/F1.

Acc = mean over samples of |y ∩ ŷ| / |y ∪ ŷ|. A sample with no true and no predicted label has an
empty union: the authors' code counts it 0, which is our default (`empty_match=0.0`) so reported
numbers compare with the paper; `empty_match=1.0` counts it as a perfect match instead.
Divisions by zero in precision/recall/F1 give 0 (as scikit-learn's default does).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


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


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


# A soft target (a share of annotators' votes, e.g. FER+) counts as the label being present from here on.
SOFT_TARGET_PRESENT = 0.5


def hard_targets(targets: np.ndarray) -> np.ndarray:
    """0/1, bool or soft targets (vote shares in [0, 1]) -> bool [N, C]: present at SOFT_TARGET_PRESENT."""
    return np.asarray(targets, dtype=np.float64) >= SOFT_TARGET_PRESENT


def compute_metrics(
    targets: np.ndarray, predicted: np.ndarray, *, empty_match: float = 0.0
) -> MultiLabelMetrics:
    """targets: [N, C] 0/1, bool or soft (see hard_targets); predicted: [N, C] 0/1 or bool."""
    y = hard_targets(targets)
    p = np.asarray(predicted).astype(bool)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"targets {y.shape} and predictions {p.shape} must both be [samples, labels]")
    if len(y) == 0:
        raise ValueError("no samples to score")
    intersection = (y & p).sum(1)
    union = (y | p).sum(1)
    jaccard = np.where(union > 0, _ratio(intersection, union), empty_match)

    true_positive = (y & p).sum(0)  # per label
    false_positive = (~y & p).sum(0)
    false_negative = (y & ~p).sum(0)
    micro_precision = float(_ratio(true_positive.sum(), true_positive.sum() + false_positive.sum()))
    micro_recall = float(_ratio(true_positive.sum(), true_positive.sum() + false_negative.sum()))
    per_precision = _ratio(true_positive, true_positive + false_positive)
    per_recall = _ratio(true_positive, true_positive + false_negative)
    per_f1 = _ratio(2 * true_positive, 2 * true_positive + false_positive + false_negative)
    return MultiLabelMetrics(
        accuracy=float(jaccard.mean()),
        hamming_loss=float((y != p).mean()),
        micro_precision=micro_precision,
        micro_recall=micro_recall,
        micro_f1=float(
            _ratio(
                2 * true_positive.sum(), 2 * true_positive.sum() + false_positive.sum() + false_negative.sum()
            )
        ),
        macro_precision=float(per_precision.mean()),
        macro_recall=float(per_recall.mean()),
        macro_f1=float(per_f1.mean()),
        per_label_f1=tuple(float(v) for v in per_f1),
    )


def tune_thresholds(targets: np.ndarray, scores: np.ndarray, grid: np.ndarray | None = None) -> list[float]:
    """Per label, the threshold on `grid` with the best F1 on these samples (ties: the lowest)."""
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3) if grid is None else np.asarray(grid)
    y = hard_targets(targets)
    thresholds = []
    for column in range(y.shape[1]):
        predicted = scores[:, column][None, :] > grid[:, None]  # [G, N]
        tp = (predicted & y[:, column]).sum(1)
        fp = (predicted & ~y[:, column]).sum(1)
        fn = (~predicted & y[:, column]).sum(1)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        thresholds.append(float(grid[int(np.argmax(f1))]))
    return thresholds
