"""EmoDB (Burkhardt et al. 2005, CC0) as voice-only training data, and the six-class scoring used on it.

EmoDB's sentences are German and emotionally neutral, so only the voice may learn from it: `emodb_csv`
writes a `main.py prepare` CSV whose `modalities` column keeps the voice alone (no words, no face).
Targets come from the emotion letter: F happy, T sad, W angry, A fear, E disgust; N (neutral) and
L (boredom) carry none of the six labels; EmoDB has no surprise.

Six-class view (happy, sad, angry, fear, disgust, neutral), for speaker-independent accuracy: a clip's
class is the label with the highest score among those above their threshold, or neutral when none is.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

CREDIT = (
    "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W. and Weiss, B. (2005). A Database of German "
    "Emotional Speech. Interspeech 2005. CC0 1.0 (audEERING's packaging)."
)
LETTER_LABEL = {"F": "happy", "T": "sad", "W": "angry", "A": "fear", "E": "disgust", "N": "", "L": ""}
CLASSES = ("happy", "sad", "angry", "fear", "disgust", "neutral")
SEED = 0
FOLDS = 4
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def read_labels(root: Path) -> list[dict[str, str]]:
    """labels.csv rows, sorted by file name (the order `main.py prepare` keeps for a CSV)."""
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no EmoDB labels at {path}; expected the shared copy (../shared/data/emodb)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    unknown = sorted({r["emodb_letter"] for r in rows} - set(LETTER_LABEL))
    if unknown:
        raise ValueError(f"{path}: unknown emotion letters {unknown}")
    return sorted(rows, key=lambda r: r["file"])


def emodb_csv(root: Path, out: Path) -> list[dict[str, str]]:
    """Write the prepare CSV (absolute paths, voice only) for every clip; returns the rows in its order."""
    rows = read_labels(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels", "modalities"])
        for row in rows:
            path = (Path(root) / "wav" / row["file"]).resolve()
            writer.writerow([str(path), LETTER_LABEL[row["emodb_letter"]], "audio"])
    return rows


def class_of_letter(letter: str) -> str:
    return LETTER_LABEL[letter] or "neutral"


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


# -- training a voice CARAT on speakers, scoring it on others ---------------------------------------


def voice_config(dims: dict[str, int]):
    """streams_config with one layer for the two streams EmoDB never trains (they stay unused)."""
    from .presets import streams_config

    return streams_config(dims, text_layers=1, visual_layers=1)


def voice_settings(epochs: int, seed: int = SEED):
    from .loop import TrainSettings

    return TrainSettings(
        epochs=epochs,
        batch_size=8,  # 330 clips: small batches give the steps CARAT needs to leave its first plateau
        lr=1e-3,
        warmup=0.1,
        seed=seed,
        absent_modalities=("text", "visual"),  # voice only: the predictor will not let them vote
        progress=False,
    )


def prepared_emodb(emodb: Path, work: Path):
    """The voice-only EmoDB dataset (prepared once, then read from `work`) and its clips' labels rows."""
    from feature_extractors.spec import default_feature_spec
    from .datasets import load_prepared_dataset
    from .prepare import prepare_dataset
    from .presets import STREAMS_WINDOW

    rows = emodb_csv(emodb, work / "emodb.csv")
    # One folder per FeatureSpec: a change to any stream's extractors prepares afresh instead of failing.
    spec = hashlib.sha256(json.dumps(default_feature_spec().to_dict(), sort_keys=True).encode()).hexdigest()
    out = work / f"emodb_prepared_{spec[:10]}"
    summary = prepare_dataset(work / "emodb.csv", out, shape=STREAMS_WINDOW, only_split="train")
    if summary.failures:
        raise RuntimeError(f"EmoDB clips failed to prepare: {summary.failures[:3]}")
    dataset = load_prepared_dataset(out)
    if len(dataset.split("train")) != len(rows):
        raise RuntimeError(f"{out} holds {len(dataset.split('train'))} clips, expected {len(rows)}")
    return dataset, rows


def folds(speakers: list[str], count: int = FOLDS, seed: int = SEED) -> list[tuple[list[str], str, list[str]]]:
    """(test speakers, validation speaker, training speakers) for each fold."""
    order = [speakers[i] for i in np.random.default_rng(seed).permutation(len(speakers))]
    size = len(order) // count
    result = []
    for k in range(count):
        test = order[k * size : (k + 1) * size]
        rest = order[(k + 1) * size :] + order[: k * size]
        result.append((test, rest[0], rest[1:]))
    return result


def fold_dataset(dataset, speaker_of: np.ndarray, train: list[str], valid: list[str], test: list[str]):
    from .datasets import FeatureDataset

    full = dataset.split("train")
    splits = {
        name: full.subset(np.flatnonzero(np.isin(speaker_of, group)))
        for name, group in (("train", train), ("valid", valid), ("test", test))
    }
    return FeatureDataset(
        "emodb-voice", dataset.labels, dataset.aligned, splits, dataset.feature_spec, dataset.source
    )


def best_threshold(scores: np.ndarray, labels: tuple[str, ...], truth: np.ndarray) -> float:
    """One threshold for every label: the grid value with the best six-class UAR (ties: the lowest)."""
    found = [uar(truth, six_class(scores, labels, np.full(len(labels), t))) for t in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(found))])


def train_voice_carat(dataset, run_dir: Path, epochs: int, valid_truth: np.ndarray):
    """Fit CARAT on the dataset's train split (the epoch chosen on its valid split, whose six-class truth
    is `valid_truth`); returns the model with its threshold set, the threshold and the epoch."""
    import torch

    from carat_model import load_checkpoint
    from .loop import fit, predict_scores

    torch.set_num_threads(1)  # two threads on two busy shared cores ran up to 10x slower (measured)
    result = fit(dataset, voice_config(dataset.feature_dims()), voice_settings(epochs), run_dir)
    model, _ = load_checkpoint(result.checkpoint)
    valid_scores = predict_scores(model, dataset.split("valid"), absent=("text", "visual"))
    threshold = best_threshold(valid_scores, model.config.labels, valid_truth)
    model.set_label_thresholds([threshold] * len(model.config.labels))
    return model, threshold, result.best_epoch
