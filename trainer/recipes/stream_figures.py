"""What each stream of the default is judged by, on the default recipe's sources (default_sources.py): words
micro/macro-F1, face 7-class accuracy, UAR and recalls, voice 6-class UAR over clips, and how often calm
voices raise a label; and the validation merits the thresholds are chosen by.
"""

from __future__ import annotations

import numpy as np

from ..emodb import class_of_letter, clip_letters
from ..loop import predict_scores
from ..metrics import compute_metrics
from ..synthetic_speech import false_alarms
from ..voice_scoring import clip_scores, decide, recalls, uar
from .face_validation import accuracy_and_uar, seven_class

FACE_CLASSES = ("neutral", "happy", "sad", "angry", "surprise", "disgust", "fear")  # seven_class's order


def words_figures(labels, scores, thresholds) -> dict:
    metrics = compute_metrics(labels, scores > np.asarray(thresholds))
    return {"micro_f1": metrics.micro_f1, "macro_f1": metrics.macro_f1, "per_label_f1": metrics.per_label_f1}


def face_figures(scores, truth, thresholds) -> dict:
    chosen = truth >= 0
    predicted = seven_class(scores[chosen], np.asarray(thresholds))
    accuracy, uar = accuracy_and_uar(predicted, truth[chosen])
    recall = {c: float((predicted[truth[chosen] == k] == k).mean()) for k, c in enumerate(FACE_CLASSES)}
    return {"accuracy": accuracy, "uar": uar, "recall": recall, "faces": int(chosen.sum())}


def voice_figures(scores, windows, thresholds, labels) -> dict:
    """6-class figures over clips, each clip scored by the mean of its windows."""
    clips, _ = clip_scores(scores, windows)
    truth = np.array([class_of_letter(letter) for letter in clip_letters(windows)])
    predicted = decide(clips, labels, thresholds)
    return {"uar": uar(truth, predicted), "recall": recalls(truth, predicted), "clips": len(truth)}


def held_out_figures(model, thresholds, sources, corpora, truths) -> dict:
    """Each stream's held-out figures for `model` at `thresholds` (the same windows for every model)."""
    labels = model.config.labels
    words = {c: words_figures(corpora[c]["test"].labels, predict_scores(model, corpora[c]["test"]), thresholds)
             for c in ("xed", "goemotions")}  # fmt: skip
    face = face_figures(predict_scores(model, sources["face"].split("test")), truths["face"]["test"], thresholds)
    voice_scores = predict_scores(model, sources["voice"].split("test"))
    voice = voice_figures(voice_scores, truths["voice"]["test"], thresholds, labels)
    return {"words": words, "face": face, "voice": voice, "calm_voice": calm_voice_figures(model, thresholds, truths)}


def calm_voice_figures(model, thresholds, truths) -> dict:
    """How often the held-out synthetic voices (no emotion in them) raise a label: clips and windows."""
    dataset, windows = truths["calm_voice"]
    return false_alarms(predict_scores(model, dataset.split("train")), windows, thresholds)


def valid_merits(model, thresholds, sources, truths) -> dict[str, float]:
    """Each stream's validation figure (words macro-F1, face (accuracy + UAR) / 2, voice UAR) at `thresholds`."""
    scores = {name: predict_scores(model, source.split("valid")) for name, source in sources.items()}
    return merits(scores, thresholds, sources, truths, model.config.labels)


def merits(scores, thresholds, sources, truths, labels) -> dict[str, float]:
    face = face_figures(scores["face"], truths["face"]["valid"], thresholds)
    return {
        "words": words_figures(sources["words"].split("valid").labels, scores["words"], thresholds)["macro_f1"],
        "face": (face["accuracy"] + face["uar"]) / 2,
        "voice": voice_figures(scores["voice"], truths["voice"]["valid"], thresholds, labels)["uar"],
    }
