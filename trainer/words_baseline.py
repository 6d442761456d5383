"""The words stream's baseline: logistic regression on each line's mean sentence embedding from the
ORIGINAL (not fine-tuned) all-MiniLM-L6-v2, one classifier per label, thresholds tuned on validation.

It is what a careful engineer would try first with the packaged encoder, so the words checkpoint has to
beat it on the same lines in the same run (scripts/train_words.py, scripts/train_default.py, benchmarks/words_accuracy.py).
Sentence embeddings are cached under `build/words/baseline/` (they are derived from the data: never
committed), keyed by a hash of the lines.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from carat_model.config import MOSEI_LABELS

from .words_corpora import Line

CACHE = Path(__file__).resolve().parents[1] / "build" / "words" / "baseline"


def targets(lines: list[Line]) -> np.ndarray:
    return np.array([[label in line.labels for label in MOSEI_LABELS] for line in lines], np.float32)


def sentence_embeddings(texts: list[str], cache: Path = CACHE) -> np.ndarray:
    """[N, 384]: sentence-transformers' own mean pooling (normalised) of the packaged model, as written."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from feature_extractors.text import bundled_model_path

    model = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    vectors = model.encode(texts, batch_size=64, show_progress_bar=False, convert_to_numpy=True).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def baseline_scores(
    train: list[Line], valid: list[Line], tests: dict[str, list[Line]]
) -> tuple[list[float], dict[str, np.ndarray]]:
    """(thresholds tuned on `valid`, {name: test scores [N, 6]}) for LR trained on `train`."""
    from sklearn.linear_model import LogisticRegression

    from .metrics import tune_thresholds

    x_train = sentence_embeddings([line.text for line in train])
    x_valid = sentence_embeddings([line.text for line in valid])
    x_tests = {name: sentence_embeddings([line.text for line in lines]) for name, lines in tests.items()}
    y_train = targets(train)
    valid_scores = np.zeros((len(valid), len(MOSEI_LABELS)), np.float32)
    test_scores = {name: np.zeros((len(x), len(MOSEI_LABELS)), np.float32) for name, x in x_tests.items()}
    for label in range(len(MOSEI_LABELS)):
        classifier = LogisticRegression(max_iter=2000, C=1.0).fit(x_train, y_train[:, label])
        valid_scores[:, label] = classifier.predict_proba(x_valid)[:, 1]
        for name, x in x_tests.items():
            test_scores[name][:, label] = classifier.predict_proba(x)[:, 1]
    return tune_thresholds(targets(valid), valid_scores), test_scores


def corpora_baseline(corpora: tuple[str, ...] = ("xed", "goemotions")) -> tuple[list[float], dict[str, np.ndarray]]:
    """The baseline as the default checkpoint is trained: on every corpus's train lines, thresholds tuned on
    every corpus's validation lines; scored on each corpus's test lines ({corpus: scores})."""
    from .words_corpora import corpus_split

    train = [line for corpus in corpora for line in corpus_split(corpus, "train")]
    valid = [line for corpus in corpora for line in corpus_split(corpus, "valid")]
    return baseline_scores(train, valid, {corpus: corpus_split(corpus, "test") for corpus in corpora})
