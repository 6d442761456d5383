"""Scoring voice windows by clip: a clip's scores are the mean of its windows' scores (`clip_scores`), and
its class in the six-class view (happy, sad, angry, fear, disgust, neutral) the label with the highest score
among those above their threshold, or neutral when none is.
"""

from __future__ import annotations

import numpy as np

from .emodb import CLASSES


def clip_scores(scores: np.ndarray, windows: list[dict[str, str]]) -> tuple[np.ndarray, list[str]]:
    """Each clip's scores (the mean over its windows that voted) and the clips' file names, in first-seen
    order. A window where no stream voted (every score 0: a model that needs more voice rows than it held,
    CaratConfig.audio_min_rows) shows nothing live, so it does not count; a clip with none scores 0."""
    files = list(dict.fromkeys(w["file"] for w in windows))
    of = np.array([w["file"] for w in windows])
    voted = np.asarray(scores).any(axis=1)
    return np.stack([_mean_or_zero(scores[(of == f) & voted], scores.shape[1]) for f in files]), files


def _mean_or_zero(rows: np.ndarray, width: int) -> np.ndarray:
    return rows.mean(axis=0) if len(rows) else np.zeros(width, np.float32)


def six_class(scores: np.ndarray, labels: tuple[str, ...], thresholds: np.ndarray) -> np.ndarray:
    """Each row's class: the best-scoring label above its threshold, or neutral when none passes.
    Only labels among CLASSES compete (surprise, absent from EmoDB, never does)."""
    columns = [labels.index(c) for c in CLASSES[:-1]]
    chosen = scores[:, columns]
    passing = chosen > np.asarray(thresholds)[columns]
    masked = np.where(passing, chosen, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(passing.any(axis=1), np.array(CLASSES[:-1])[best], "neutral")


def recalls(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Recall of each of the six classes (nan for a class with no clip)."""
    return {c: float((predicted[truth == c] == c).mean()) if (truth == c).any() else float("nan") for c in CLASSES}


def uar(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Unweighted average recall over the classes present in `truth`."""
    return float(np.nanmean(list(recalls(truth, predicted).values())))
