"""Training from still faces: FER+ votes become soft targets, and face photos (an npz face set or a folder of
images per label) become jittered face-only windows through the live face extractor."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from carat_model.config import MOSEI_LABELS
from trainer.data_folders import corpus
from trainer.datasets import load_prepared_dataset
from trainer.face_images import VOTE_NAMES, majority_class, read_face_set, usable_faces, vote_targets
from trainer.metrics import compute_metrics, tune_thresholds
from trainer.presets import STREAMS_WINDOW

ROOT = Path(__file__).resolve().parents[2]
FERPLUS = corpus("ferplus") / "ferplus48.npz"


@pytest.fixture(scope="module")
def faces() -> dict[str, np.ndarray]:
    return read_face_set(FERPLUS)


def clear(faces, vote: str, count: int) -> np.ndarray:
    """Indices of the first `count` train faces at least 8 of 10 annotators called `vote`."""
    return np.flatnonzero((faces["split"] == 0) & (faces["votes"][:, VOTE_NAMES.index(vote)] >= 8))[:count]


@pytest.mark.needs_data("ferplus")
def test_vote_shares_become_soft_targets_for_our_six_labels(faces) -> None:
    votes = np.zeros((3, len(VOTE_NAMES)), np.uint8)
    votes[0, [VOTE_NAMES.index("happiness"), VOTE_NAMES.index("surprise")]] = (6, 4)
    votes[1, [VOTE_NAMES.index("neutral"), VOTE_NAMES.index("contempt")]] = (7, 3)
    votes[2, [VOTE_NAMES.index("sadness"), VOTE_NAMES.index("unknown")]] = (4, 6)
    targets = vote_targets(votes)
    assert targets[0, MOSEI_LABELS.index("happy")] == pytest.approx(0.6)
    assert targets[0, MOSEI_LABELS.index("surprise")] == pytest.approx(0.4)
    assert not targets[1].any(), "neutral and contempt carry none of our labels"
    assert targets[2, MOSEI_LABELS.index("sad")] == pytest.approx(1.0), "shares of the emotion votes only"
    real = vote_targets(faces["votes"][:500])
    assert real.min() >= 0 and real.max() <= 1 and (real.sum(1) <= 1 + 1e-6).all()
    assert usable_faces(votes).tolist() == [True, True, False]
    assert majority_class(votes).tolist() == [1 + MOSEI_LABELS.index("happy"), 0, -1]


def test_metrics_and_thresholds_read_soft_targets_as_present_from_half_the_votes() -> None:
    soft = np.array([[0.7, 0.2], [0.4, 0.5], [0.0, 0.9]])
    hard = np.array([[1, 0], [0, 1], [0, 1]])
    predicted = np.array([[1, 0], [1, 1], [0, 0]], bool)
    assert compute_metrics(soft, predicted) == compute_metrics(hard, predicted)
    scores = np.array([[0.8, 0.1], [0.3, 0.6], [0.1, 0.7]])
    assert tune_thresholds(soft, scores) == tune_thresholds(hard, scores)


@pytest.mark.needs_data("ferplus")
def test_prepare_turns_a_face_set_into_jittered_face_only_windows_with_vote_targets(faces, tmp_path: Path) -> None:
    chosen = np.concatenate([clear(faces, "happiness", 3), clear(faces, "surprise", 2), clear(faces, "neutral", 2)])
    small = tmp_path / "faces.npz"
    np.savez(small, images=faces["images"][chosen], votes=faces["votes"][chosen], split=faces["split"][chosen])
    out = tmp_path / "prepared"
    args = ["prepare", str(small), "--out", str(out), "--unaligned", "--media-steps", str(STREAMS_WINDOW.media_steps)]
    assert main.main(args + ["--quiet"]) == 0
    train = load_prepared_dataset(out).split("train")
    assert 5 <= len(train) <= len(chosen), "a face the extractor misses is skipped, most are found"
    assert not train.text_mask.any() and not train.audio_mask.any(), "face-only windows"
    rows = train.visual_mask.sum(1)
    assert (rows >= 45).all() and (rows <= STREAMS_WINDOW.media_steps).all(), "3 s of frames at 15-30 fps"
    frames = train.visual[0, : int(rows[0])]
    assert np.isfinite(frames).all() and frames.std(0).max() > 0, "the frames differ (jitter)"
    between_faces = train.visual[:, 0].std(0)
    assert np.median(frames.std(0) / (between_faces + 1e-6)) < 0.5, "small jitter, far less than another face"
    happy = MOSEI_LABELS.index("happy")
    shares = vote_targets(faces["votes"][chosen])
    assert sorted(np.round(train.labels[:, happy], 3)) == pytest.approx(
        sorted(np.round(shares[: len(train), happy], 3)), abs=0.11
    )
    assert train.labels.max() <= 1 and (train.labels[:, happy] >= 0.8).sum() == 3


@pytest.mark.needs_data("ferplus")
def test_prepare_turns_a_folder_of_face_photos_per_label_into_face_windows(faces, tmp_path: Path) -> None:
    source = tmp_path / "photos"
    for label, vote in (("happy", "happiness"), ("neutral", "neutral")):
        (source / label).mkdir(parents=True)
        for i in clear(faces, vote, 2):
            cv2.imwrite(str(source / label / f"face{i}.png"), faces["images"][i])
    out = tmp_path / "prepared"
    args = ["prepare", str(source), "--out", str(out), "--unaligned", "--split", "train", "--quiet"]
    assert main.main(args + ["--media-steps", str(STREAMS_WINDOW.media_steps)]) == 0
    train = load_prepared_dataset(out).split("train")
    assert len(train) == 4 and not train.text_mask.any()
    assert (train.visual_mask.sum(1) >= 45).all()
    assert sorted(train.labels[:, MOSEI_LABELS.index("happy")].tolist()) == [0, 0, 1, 1]


@pytest.mark.needs_data("ferplus")
def test_another_jitter_of_the_training_faces_keeps_faces_and_targets_and_moves_the_frames(faces, tmp_path) -> None:
    """scripts/train_face.py --jitter-sets: the training faces prepared again with another seed, train only."""
    from trainer.face_images import prepare_face_set

    chosen = np.concatenate([clear(faces, "happiness", 2), clear(faces, "sadness", 2)])
    valid = np.flatnonzero(faces["split"] == 1)[:2]
    small = tmp_path / "faces.npz"
    picked = np.concatenate([chosen, valid])
    np.savez(small, images=faces["images"][picked], votes=faces["votes"][picked], split=faces["split"][picked])
    observations = tmp_path / "observations.npz"
    first = prepare_face_set(small, tmp_path / "a", shape=STREAMS_WINDOW, seed=0, observations=observations,
                             progress=False)  # fmt: skip
    again = prepare_face_set(small, tmp_path / "b", shape=STREAMS_WINDOW, seed=1, observations=observations,
                             progress=False, splits=("train",))  # fmt: skip
    assert set(again) == {"train"} and again["train"] == first["train"] and len(first) > 1
    a, b = load_prepared_dataset(tmp_path / "a").split("train"), load_prepared_dataset(tmp_path / "b").split("train")
    np.testing.assert_array_equal(a.labels, b.labels)
    rows = int(min(a.visual_mask[0].sum(), b.visual_mask[0].sum()))
    assert not np.allclose(a.visual[0, :rows], b.visual[0, :rows]), "another seed, other jitter"
    same_face = np.abs(a.visual[0, :rows].mean(0) - b.visual[0, :rows].mean(0)).mean()
    other_face = np.abs(a.visual[0, :rows].mean(0) - a.visual[2, :rows].mean(0)).mean()
    assert same_face < 0.5 * other_face, "the same face underneath"
