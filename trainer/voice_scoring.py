"""Scoring voice windows by clip: a clip's scores are the mean of its windows' scores (`clip_scores`), and
its class the label with the highest score among those above their threshold, or neutral when none is
(`decide`: EmoDB's six classes by default, happy, sad, angry, fear, disgust, neutral; any others given).
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


def decide(scores: np.ndarray, labels: tuple[str, ...], thresholds, classes: tuple[str, ...] = CLASSES) -> np.ndarray:
    """Each row's class: the best-scoring label among `classes` above its threshold, or neutral when none
    passes. `classes` ends with neutral; a label outside them never competes (EmoDB's six leave surprise out;
    trainer/voice_corpora.py's seven take it in)."""
    competing = classes[:-1]
    columns = [labels.index(c) for c in competing]
    chosen = np.asarray(scores)[:, columns]
    passing = chosen > np.asarray(thresholds)[columns]
    best = np.where(passing, chosen, -np.inf).argmax(axis=1)
    return np.where(passing.any(axis=1), np.array(competing)[best], "neutral")


def recalls(truth: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...] = CLASSES) -> dict[str, float]:
    """Recall of each class (nan for a class with no clip)."""
    return {c: float((predicted[truth == c] == c).mean()) if (truth == c).any() else float("nan") for c in classes}


def uar(truth: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...] = CLASSES) -> float:
    """Unweighted average recall over the classes present in `truth`."""
    return float(np.nanmean(list(recalls(np.asarray(truth), np.asarray(predicted), classes).values())))
