"""How the face recipe scores a face checkpoint: the 7-class decision (the best-scoring label above its
threshold, else neutral), accuracy and UAR, thresholds tuned for accuracy + w x UAR, and the FER+ validation
half as the face benchmark sees it (each face still in a live window, a face the extractor missed wrong).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics import ascend_thresholds


def seven_class(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The 7-class decision: the best-scoring label above its threshold (1 + index), else neutral (0)."""
    passing = np.where(scores > thresholds, scores, -np.inf)
    return np.where(np.isfinite(passing).any(1), passing.argmax(1) + 1, 0)


def accuracy_and_uar(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    recalls = [(predicted[truth == k] == k).mean() for k in np.unique(truth)]
    return float((predicted == truth).mean()), float(np.mean(recalls))


def tune_seven_class_thresholds(
    scores: np.ndarray, truth: np.ndarray, rounds: int = 3, uar_weight: float = 1.0
) -> list[float]:
    """Per-label thresholds maximising 7-class accuracy + uar_weight * UAR (both matter: accuracy alone lets the thin
    classes, disgust and fear, go unseen), by coordinate ascent over a grid, starting from 0.5 each."""

    def judge(trial: np.ndarray) -> float:
        accuracy, uar = accuracy_and_uar(seven_class(scores, trial), truth)
        return accuracy + uar_weight * uar

    return ascend_thresholds(judge, scores.shape[1], rounds=rounds)


def still_validation(work: Path, faces: dict[str, np.ndarray], truth: np.ndarray):
    """The validation half as the benchmark sees it: (split of still windows of the found faces, their
    positions among the scored faces, the scored faces' truth). Scored: validation faces whose majority is
    neutral or one of our six; the windows hold one vector, from the extractor's cached observation, in
    every one of a live window's face steps (a still face filling 3 s at 30 fps)."""
    from feature_extractors.expression_cnn import DEFAULT_WEIGHTS, ExpressionEmbedder
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.visual import face_vector
    from feature_extractors.windows import TimedRows, build_window

    from ..datasets import FeatureSplit
    from ..face_images import held_out_halves, vote_targets
    from ..presets import STREAMS_WINDOW

    validation, _ = held_out_halves(faces["split"])
    scored = validation[truth[validation] >= 0]
    cache = np.load(work / "ferplus_faces.npz")
    found = cache["found"][scored]
    kept = scored[found]
    embeddings = ExpressionEmbedder(DEFAULT_WEIGHTS).embed(cache["crops"][kept])[0]
    vectors = face_vector(cache["points"][kept].astype(np.float64), cache["blendshapes"][kept], embeddings)
    dims = default_feature_spec().dims
    fps, window_s = 30.0, 3.0  # app.pipeline.EngineOptions' defaults, as the benchmark
    times = np.arange(int(fps * window_s)) / fps
    spans = np.stack([times, times + 1 / fps], 1)
    empty = {m: TimedRows.empty(dims[m]) for m in ("text", "audio")}
    rows: dict[str, list[np.ndarray]] = {}
    for vector in vectors:
        visual = TimedRows(spans, np.repeat(vector[None], len(times), 0).astype(np.float32))
        window = build_window(
            empty["text"], visual, empty["audio"], 0.0, window_s,
            aligned=STREAMS_WINDOW.aligned, lengths=STREAMS_WINDOW.lengths,
        )  # fmt: skip
        for missing in ("text", "audio"):
            window[missing], window[f"{missing}_mask"] = window[missing][:1], window[f"{missing}_mask"][:1]
        for name, value in window.items():
            rows.setdefault(name, []).append(value)
    split = FeatureSplit(**{k: np.stack(v) for k, v in rows.items()}, labels=vote_targets(faces["votes"][kept]))
    return split, np.flatnonzero(found), truth[scored]


class Validation:
    """Scores a model on the still validation windows: thresholds tuned, then accuracy and UAR over every
    scored face (missed faces wrong)."""

    def __init__(self, work: Path, faces: dict[str, np.ndarray], truth: np.ndarray, uar_weight: float) -> None:
        self.split, self.found, self.truth = still_validation(work, faces, truth)
        self.uar_weight = uar_weight

    def scores(self, model) -> np.ndarray:
        import torch

        from ..loop import predict_scores

        return predict_scores(model, self.split, batch_size=256, device=torch.device("cpu"), absent=("text", "audio"))

    def figures(self, scores: np.ndarray, thresholds) -> tuple[float, float]:
        predicted = np.full(len(self.truth), -1)  # missed faces: wrong whatever the truth
        predicted[self.found] = seven_class(scores, np.asarray(thresholds))
        return accuracy_and_uar(predicted, self.truth)

    def tune(self, scores: np.ndarray) -> tuple[list[float], float, float]:
        # Missed faces are wrong at any threshold: tuning on the found ones maximises the same objective
        # up to the constant the missed ones take off accuracy (and each class's recall).
        thresholds = tune_seven_class_thresholds(scores, self.truth[self.found], uar_weight=self.uar_weight)
        return (thresholds, *self.figures(scores, thresholds))
