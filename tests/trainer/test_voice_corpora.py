"""The voice's two corpora (trainer/voice_corpora.py) read from ../shared, and the voice recipe's folds:
labels as the corpora's READMEs map them, speakers that never mix, and folds that never test a speaker the
model trained or chose its epoch on."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from trainer.data_folders import corpus
from trainer.recipes.voice_folds import tasks
from trainer.voice_corpora import CLASSES, corpus_clips, decide, ravdess_clips, uar

RAVDESS = corpus("ravdess")


@pytest.fixture(scope="module")
def clips() -> list[dict[str, str]]:
    if not (RAVDESS / "labels.csv").is_file():
        pytest.fail(f"RAVDESS is missing at {RAVDESS} (the shared data beside the checkout)")
    return corpus_clips()


@pytest.mark.needs_data("ravdess")
def test_ravdess_labels_follow_its_readme_calm_and_neutral_carry_none() -> None:
    by_emotion = collections.defaultdict(set)
    for clip in ravdess_clips(RAVDESS):
        emotion = Path(clip["file"]).stem.split("-")[2]  # RAVDESS's own code in the file name
        by_emotion[emotion].add((clip["labels"], clip["class"]))
    assert by_emotion["01"] == {("", "neutral")} and by_emotion["02"] == {("", "neutral")}  # neutral, calm
    assert by_emotion["03"] == {("happy", "happy")} and by_emotion["06"] == {("fear", "fear")}
    assert by_emotion["08"] == {("surprise", "surprise")}, "surprise is learnt from RAVDESS (EmoDB has none)"


@pytest.mark.needs_data("ravdess")
def test_speakers_are_named_by_corpus_so_the_two_never_mix(clips) -> None:
    corpora = {clip["speaker"].split(":")[0] for clip in clips}
    assert corpora == {"emodb", "ravdess"}
    assert all(clip["speaker"].split(":")[0] == clip["corpus"] for clip in clips)
    assert len({c["speaker"] for c in clips if c["corpus"] == "ravdess"}) == 16
    assert {c["class"] for c in clips} == set(CLASSES)


@pytest.mark.needs_data("ravdess")
def test_benchmark_folds_keep_test_validation_and_training_speakers_apart(clips) -> None:
    plan = tasks(clips)
    folds = [t for t in plan if t["name"].startswith("fold")]
    emodb = sorted({c["speaker"] for c in clips if c["corpus"] == "emodb"})
    assert sorted(s for t in folds for s in t["test"] if s.startswith("emodb")) == emodb, "leave one speaker out"
    sex = {c["speaker"]: c["sex"] for c in clips}
    tested = collections.Counter(s for t in folds for s in t["test"] if s.startswith("ravdess"))
    assert set(tested.values()) == {2} and len(tested) == 16, "every RAVDESS actor tested twice"
    for task in plan:
        test, valid, train = set(task["test"]), set(task["valid"]), set(task["train"])
        assert not (test & valid or test & train or valid & train), task["name"]
        ravdess_test = [s for s in test if s.startswith("ravdess")]
        if task["name"].startswith("fold"):
            assert sorted(sex[s] for s in ravdess_test) == ["f", "f", "m", "m"], "2 male + 2 female actors"
    cross = {t["name"]: t for t in plan if not t["name"].startswith("fold")}
    assert not any(s.startswith("ravdess") for s in cross["emodb_to_ravdess"]["train"] + cross["emodb_to_ravdess"]["valid"])
    assert not any(s.startswith("emodb") for s in cross["ravdess_to_emodb"]["train"] + cross["ravdess_to_emodb"]["valid"])


def test_a_clip_s_class_is_its_best_label_over_threshold_or_neutral() -> None:
    labels = ("happy", "sad", "angry", "fear", "disgust", "surprise")
    scores = np.array([[0.9, 0.1, 0.95, 0, 0, 0], [0.2, 0.1, 0.1, 0, 0, 0.3], [0, 0, 0, 0, 0, 0.8]])
    thresholds = np.array([0.5, 0.5, 0.99, 0.5, 0.5, 0.5])
    assert decide(scores, labels, thresholds).tolist() == ["happy", "neutral", "surprise"]
    truth = np.array(["happy", "sad", "surprise"])
    assert uar(truth, decide(scores, labels, thresholds)) == pytest.approx(2 / 3), "over the classes present"
