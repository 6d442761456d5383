"""The face stream recognises expressions: held-out FER+ faces (the ferplus corpus) through the live face extractor
and the shipped face checkpoint (models/carat_face.safetensors), and a video of still faces through replay."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import main
from app.predictor import Predictor
from carat_model import CheckpointError
from feature_extractors import spec as feature_spec
from feature_extractors.spec import FeatureSpecMismatch
from trainer.data_folders import corpus
from trainer.face_images import VOTE_NAMES, held_out_halves, read_face_set
from trainer.spoken_media import still_frame

ROOT = Path(__file__).resolve().parents[2]
FERPLUS = corpus("ferplus") / "ferplus48.npz"
FACE_CHECKPOINT = ROOT / "models" / "carat_face.safetensors"


@pytest.fixture(scope="module")
def faces(needs_data) -> dict[str, np.ndarray]:
    needs_data("ferplus")
    return read_face_set(FERPLUS)


def clear_face(faces: dict[str, np.ndarray], vote: str, nth: int = 0) -> np.ndarray:
    """The nth held-out (test-half) face that at least 9 of 10 annotators called `vote`."""
    _, test = held_out_halves(faces["split"])
    clear = test[faces["votes"][test, VOTE_NAMES.index(vote)] >= 9]
    return faces["images"][clear[nth]]


@pytest.fixture(scope="module")
def face_predictor() -> Predictor:
    return Predictor(FACE_CHECKPOINT, smoothing_s=0.0, threads=1)


def still_face_scores(image: np.ndarray, still_face_extractor, predictor: Predictor):
    """The prediction for a live window in which this still face fills every frame (30 fps, 3 s)."""
    from feature_extractors.windows import TimedRows, build_window

    face = still_face_extractor.extract(image)
    assert face is not None, "the extractor found no face"
    times = np.arange(90) / 30
    dims = predictor.feature_spec.dims
    visual = TimedRows(np.stack([times, times + 1 / 30], 1), np.repeat(face.vector[None], 90, 0))
    empty = {m: TimedRows.empty(dims[m]) for m in ("text", "audio")}
    window = build_window(empty["text"], visual, empty["audio"], 0.0, 3.0, aligned=False, lengths=predictor.lengths)
    predictor.smoother.reset()
    return predictor.predict(window, 3.0)


@pytest.fixture(scope="module")
def still_faces():
    from feature_extractors.visual import FaceExtractor

    with FaceExtractor(static_image=True) as extractor:
        yield extractor


def test_a_clearly_happy_face_scores_happy_above_its_threshold(faces, still_faces, face_predictor) -> None:
    prediction = still_face_scores(clear_face(faces, "happiness"), still_faces, face_predictor)
    happy = face_predictor.labels.index("happy")
    assert prediction.raw_scores[happy] > face_predictor.thresholds[happy]
    assert int(np.argmax(prediction.raw_scores)) == happy
    assert prediction.scored["visual"] and prediction.deciding_modality[happy] == "visual"


def test_a_neutral_face_passes_no_threshold(faces, still_faces, face_predictor) -> None:
    prediction = still_face_scores(clear_face(faces, "neutral"), still_faces, face_predictor)
    assert not any(s > t for s, t in zip(prediction.raw_scores, face_predictor.thresholds)), prediction.raw_scores


def test_a_face_checkpoint_is_refused_by_a_build_with_other_face_features(monkeypatch) -> None:
    current = feature_spec.default_feature_spec()
    geometry_only = feature_spec.ModalitySpec(
        "visual", feature_spec.FACE_GEOMETRY_NAMES, None, "MediaPipe 0.10.21 face mesh (478 landmarks) geometry", "1"
    )
    other_build = feature_spec.FeatureSpec(current.text, geometry_only, current.audio)
    monkeypatch.setattr(feature_spec, "default_feature_spec", lambda: other_build)
    with pytest.raises((FeatureSpecMismatch, CheckpointError)) as refused:
        Predictor(FACE_CHECKPOINT, warm_up=False)
    message = str(refused.value)
    assert current.visual.describe() in message and geometry_only.describe() in message


def write_still_faces_video(path: Path, pictures: list[np.ndarray], seconds_each: float, fps: int = 15) -> None:
    """A silent video showing each picture (a grey face) still for `seconds_each`, one after another."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = 640, 480, "yuv420p", 4_000_000
        for picture in pictures:
            frame = av.VideoFrame.from_ndarray(still_frame(picture), format="bgr24")
            for _ in range(int(seconds_each * fps)):
                container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_a_video_of_still_faces_replays_with_the_face_scored_and_the_top_label_following_it(
    faces, tmp_path: Path
) -> None:
    video = tmp_path / "faces.mkv"
    write_still_faces_video(video, [clear_face(faces, "happiness"), clear_face(faces, "surprise")], 4.0)
    out = tmp_path / "out"
    assert main.main(["replay", str(video), "--checkpoint", str(FACE_CHECKPOINT), "--out", str(out)]) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    # Windows wholly inside one face's 4 s (3 s windows): 3-4 s shows the happy face, 7-8 s the surprised one.
    first = [e for e in events if 3.0 <= e["window_end"] <= 4.0]
    second = [e for e in events if 7.0 <= e["window_end"] <= 8.0]
    assert first and second
    for group, label in ((first, "happy"), (second, "surprise")):
        for event in group:
            assert event["scored"]["visual"], "the face stream votes with a face-trained checkpoint"
            top = int(np.argmax(event["scores"]))
            assert event["labels"][top] == label, (event["window_end"], dict(zip(event["labels"], event["scores"])))
            assert event["deciding_modality"][top] == "visual"
