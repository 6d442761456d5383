"""Held-out faces are read right through replay, class by class (issue 38): five faces of each of the seven
classes from the test half of FER+ valid (the ferplus corpus; trainer.face_images.held_out_halves, faces drawn by seed 0),
rendered into one webcam-like video (trainer/face_video.py: 4 s a face, 160-300 px wide, head motion, H.264),
replayed by `main.py replay --exact` with the shipped face checkpoint (models/carat_face.safetensors), real
MediaPipe and expression CNN, and read back segment by segment as benchmarks/face_accuracy.py reads them
(trainer.face_video.segment_classes). The floor is the issue's: recall of at least 0.5 in every class.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import av
import numpy as np
import pytest

import main
from trainer.data_folders import corpus
from trainer.face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set
from trainer.face_video import NO_FACE, FaceVideoSettings, Segment, balanced_faces, segment_classes, write_face_video

ROOT = Path(__file__).resolve().parents[2]
FERPLUS = corpus("ferplus") / "ferplus48.npz"
FACE_CHECKPOINT = ROOT / "models" / "carat_face.safetensors"
PER_CLASS = 5
SEED = 0
FLOOR = 0.5  # recall per class


@pytest.fixture(scope="module")
def faces(needs_data) -> dict[str, np.ndarray]:
    needs_data("ferplus")
    return read_face_set(FERPLUS)


@pytest.fixture(scope="module")
def replayed(faces, tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray, list[Segment]]:
    """(each face's true class, the class replay read, its segment), in the video's order."""
    _, test = held_out_halves(faces["split"])
    truth = majority_class(faces["votes"])
    chosen = balanced_faces(truth, test[truth[test] >= 0], PER_CLASS, SEED)
    folder = tmp_path_factory.mktemp("face_replay")
    settings = FaceVideoSettings(seed=SEED)
    segments = write_face_video(folder / "faces.mp4", [faces["images"][i] for i in chosen], settings)
    out = folder / "replay"
    arguments = ["replay", folder / "faces.mp4", "--exact", "--checkpoint", FACE_CHECKPOINT, "--out", out]
    assert main.main([str(a) for a in arguments]) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    return truth[chosen], segment_classes(events, segments, settings.fps), segments


def test_the_video_shows_each_face_for_whole_frames_at_the_stated_rate(faces, tmp_path: Path) -> None:
    settings = FaceVideoSettings(fps=30, seconds_each=0.5)
    segments = write_face_video(tmp_path / "two.mp4", [faces["images"][0], faces["images"][1]], settings)
    assert [(s.start_frame, s.frames, s.face_width, s.face_index) for s in segments] == [
        (0, 15, 160, 0),
        (15, 15, 200, 1),
    ]
    with av.open(str(tmp_path / "two.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 480)
        times = [frame.time for frame in container.decode(video=0)]
    assert np.allclose(times, np.arange(30) / 30)


def test_a_duration_that_is_not_a_whole_number_of_frames_is_refused() -> None:
    with pytest.raises(ValueError, match="whole number of frames"):
        FaceVideoSettings(fps=30, seconds_each=4.01)


# Issue 38 is open: the shipped face checkpoint (expression CNN version 3) reads these below the floor on
# this video (sad 2, angry 2, disgust 0 of 5; one run). They turn into plain tests with the new network.
SHORT_OF_THE_FLOOR = {"sad", "angry", "disgust"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason="issue 38 open: the shipped face model misses this class"))
        if n in SHORT_OF_THE_FLOOR
        else n
        for n in SEVEN_CLASSES
    ],
)
def test_at_least_half_the_held_out_faces_of_each_class_are_read_right_through_replay(name: str, replayed) -> None:
    truth, predicted, segments = replayed
    k = SEVEN_CLASSES.index(name)
    mine = np.flatnonzero(truth == k)
    assert len(mine) == PER_CLASS
    right = int((predicted[mine] == k).sum())
    readings = ", ".join(
        f"{'no face' if predicted[i] == NO_FACE else SEVEN_CLASSES[predicted[i]]} at {segments[i].face_width} px"
        for i in mine
    )
    assert right >= math.ceil(FLOOR * PER_CLASS), f"{name}: {right} of {PER_CLASS} read right ({readings})"
