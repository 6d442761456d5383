"""Per-person calibration on real faces (FER+, the ferplus corpus) and the shipped default model: a neutral face
the model reads as sad passes nothing once calibrated on it, while a smile still passes happy; baselines
round-trip as profiles, a damaged profile is named in its error, and a calibrated session replays to the
same scores."""

from __future__ import annotations

import json
import math
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import main
from app import calibration
from app.calibration import Baseline, CalibrationError
from app.control import CalibrationSettings, EngineCallbacks, EngineSettings
from app.defaults import default_checkpoint
from app.engine import Engine
from app.predictor import Predictor
from app.replay import read_events_jsonl, replay
from app.workers import Extractors
from trainer.data_folders import corpus
from trainer.face_images import VOTE_NAMES, held_out_halves, read_face_set
from trainer.spoken_media import still_frame

FERPLUS = corpus("ferplus") / "ferplus48.npz"
FPS = 15


@pytest.fixture(scope="module")
def default_predictor() -> Predictor:
    return Predictor(default_checkpoint(), threads=1)


@pytest.fixture(scope="module")
def faces(needs_data) -> tuple[np.ndarray, np.ndarray]:
    """(a held-out face every annotator called neutral that the default model reads as sad, clearly (0.1 above
    the threshold), as the videos frame it; a held-out face at least 9 of 10 called happy): the first of
    each, in FER+'s order."""
    from feature_extractors.visual import FaceExtractor

    needs_data("ferplus")
    data = read_face_set(FERPLUS)
    _, test = held_out_halves(data["split"])
    votes = data["votes"][test]
    neutral = test[votes[:, VOTE_NAMES.index("neutral")] == 10]
    happy = test[votes[:, VOTE_NAMES.index("happiness")] >= 9]
    predictor = Predictor(default_checkpoint(), smoothing_s=0.0, threads=1)
    sad = predictor.labels.index("sad")
    with FaceExtractor(static_image=True) as extractor:
        for index in neutral:
            if (
                still_face_raw(still_frame(data["images"][index]), extractor, predictor)[sad]
                > predictor.thresholds[sad] + 0.1
            ):
                return data["images"][index], data["images"][happy[0]]
    pytest.fail("no neutral face that the default model reads as sad")


def still_face_raw(image: np.ndarray, extractor, predictor: Predictor) -> tuple[float, ...]:
    from feature_extractors.windows import TimedRows, build_window

    face = extractor.extract(image)
    if face is None:
        return (0.0,) * len(predictor.labels)
    times = np.arange(90) / 30
    visual = TimedRows(np.stack([times, times + 1 / 30], 1), np.repeat(face.vector[None], 90, 0))
    empty = {m: TimedRows.empty(predictor.feature_spec.dims[m]) for m in ("text", "audio")}
    window = build_window(empty["text"], visual, empty["audio"], 0.0, 3.0, aligned=False, lengths=predictor.lengths)
    predictor.smoother.reset()
    return predictor.predict(window, 3.0).raw_scores


def write_faces_video(path: Path, segments: list[tuple[np.ndarray, float]]) -> Path:
    """A silent 640x480 video showing each (grey face, seconds) in turn, whole frames only. Every frame
    carries a little sensor noise, so calibration frames are frames of a person, not one picture."""
    import av

    noise = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = 640, 480, "yuv420p", 4_000_000
        for picture, seconds in segments:
            still = still_frame(picture).astype(np.int16)
            for _ in range(round(seconds * FPS)):
                frame = np.clip(still + noise.normal(0, 2, still.shape), 0, 255).astype(np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    return path


def decided(event) -> list[str]:
    return [label for label, on in zip(event.labels, event.decided) if on]


@pytest.mark.slow
def test_a_face_that_reads_sad_at_rest_passes_nothing_once_calibrated_while_a_smile_passes_happy(
    faces, extractors, tmp_path: Path, monkeypatch, capsys
) -> None:
    neutral, happy = faces
    video = write_faces_video(tmp_path / "rest_then_smile.mkv", [(neutral, 8.0), (happy, 4.0)])
    monkeypatch.setattr(Extractors, "load", classmethod(lambda cls, *a: extractors))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    out = tmp_path / "out"
    command = ["replay", str(video), "--out", str(out), "--calibrate", "4", "--profile", "resting sad"]
    assert main.main(command) == 0, capsys.readouterr().err
    events = read_events_jsonl(out / "events.jsonl")
    sad = events[0].labels.index("sad")
    at_rest = [e for e in events if 3.0 <= e.window_end <= 4.0]  # the rest being recorded: not yet calibrated
    assert at_rest and all(e.rest is None and "sad" in decided(e) for e in at_rest), [decided(e) for e in at_rest]
    calm = [e for e in events if 7.0 <= e.window_end <= 8.0]  # the same face after calibration
    assert calm and all(decided(e) == [] for e in calm), [(decided(e), e.scores) for e in calm]
    assert all(e.rest is not None and e.raw_scores[sad] > e.thresholds[sad] for e in calm), "raw scores stay"
    smiling = [e for e in events if 11.0 <= e.window_end <= 12.0]
    assert smiling and all(decided(e) == ["happy"] for e in smiling), [(decided(e), e.scores) for e in smiling]
    # Saved as a profile in the user's data folder and beside the results, from the window it applied to.
    profile = tmp_path / "data" / "carat-live" / "profiles" / "resting sad.json"
    kept = calibration.load(profile)
    resting = [e.raw_scores[sad] for e in events if 3.0 <= e.window_end <= 4.0 and e.deciding_modality[sad] == "visual"]
    assert kept.streams["visual"][sad] == pytest.approx(np.median(resting))
    assert calibration.load_session_copy(out / "calibration.json") == (kept, 4.0)
    assert all(e.rest is None for e in events if e.window_end <= 4.0)
    assert all(e.rest is not None for e in events if e.window_end > 4.0)


def test_a_profile_round_trips_exactly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    rng = np.random.default_rng(1)
    windows = [(tuple(rng.random(6)), ("visual",) * 3 + ("text", None, "audio")) for _ in range(12)]
    windows += [(tuple(rng.random(6)), (None,) * 6)]  # nothing present: left out
    baseline = calibration.measure(
        ("happy", "sad", "angry", "surprise", "disgust", "fear"), windows, checkpoint="c.safetensors",
        checkpoint_sha256="ab" * 32,
    )  # fmt: skip
    assert baseline.windows == 12 and baseline.streams["visual"][3] is None and baseline.streams["text"][3] > 0
    path = calibration.save(baseline, calibration.profile_path("Ada"))
    assert path == tmp_path / "carat-live" / "profiles" / "Ada.json"
    assert calibration.load(path, labels=baseline.labels, checkpoint_sha256="ab" * 32) == baseline
    scores = np.array([0.9, 0.5, 0.2, 0.7, 0.1, 0.3])
    levels = baseline.levels(("visual", "visual", "visual", "text", None, "audio"))
    assert levels[4] == baseline.overall[4], "a stream never measured for a label falls back to the overall rest"
    expected = np.clip((scores - np.array(levels)) / (1 - np.array(levels)), 0, 1)
    assert np.array_equal(baseline.apply(scores, levels), expected)
    assert baseline.apply(np.array(levels), levels).max() == 0 and baseline.apply(np.ones(6), levels).min() == 1


@pytest.mark.parametrize(
    "content", ["{not json", '{"format": "carat-live-calibration", "format_version": 1}', "[1, 2]", "\udcff"]
)
def test_a_damaged_profile_is_refused_naming_the_file(tmp_path: Path, monkeypatch, capsys, content: str) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = calibration.profile_path("broken")
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(CalibrationError, match="damaged") as refused:
        calibration.load(path)
    assert str(path) in str(refused.value)
    # From the command line: refused before any model loads, with the same words.
    assert main.main(["replay", "no-such-clip.mp4", "--profile", "broken"]) == 2
    error = capsys.readouterr().err
    assert str(path) in error and "damaged" in error and len(error.strip().splitlines()) == 1


def test_a_profile_from_another_checkpoint_is_refused(tmp_path: Path) -> None:
    baseline = Baseline(("happy",), (0.1,), {}, 5, "old.safetensors", "00" * 32)
    path = calibration.save(baseline, tmp_path / "p.json")
    with pytest.raises(CalibrationError, match="calibrate again"):
        calibration.load(path, labels=("happy",), checkpoint_sha256="11" * 32)


@pytest.mark.slow
def test_a_calibrated_live_session_replays_to_the_same_calibrated_scores(
    faces, default_predictor, extractors, tmp_path: Path
) -> None:
    neutral, _ = faces
    camera = write_faces_video(tmp_path / "neutral.mkv", [(neutral, 3.0)])
    folder = tmp_path / "session"
    live = []
    settings = EngineSettings(camera=str(camera), microphone=None, record_to=str(folder),
                              calibration=CalibrationSettings(seconds=4.0), extra={"loop": True})  # fmt: skip
    engine = Engine(settings, EngineCallbacks(on_event=live.append), predictor=default_predictor, extractors=extractors)
    engine.start()
    time.sleep(7.0)
    engine.stop()
    assert engine.error is None
    baseline, applies_after = calibration.load_session_copy(folder / "calibration.json")
    assert applies_after == 4.0 and [e.rest is not None for e in live] == [e.window_end > 4.0 for e in live]
    first = replay(folder, predictor=default_predictor, extractors=extractors, exact=True, timeout_s=120)
    second = replay(folder, predictor=default_predictor, extractors=extractors, exact=True, timeout_s=120)
    assert first.error is None and len(first.events) >= 12
    assert [e.to_json() for e in first.events] == [e.to_json() for e in second.events]
    for event in first.events:  # the session's own baseline, from the same window on
        if event.window_end <= applies_after:
            assert event.rest is None
        else:
            assert event.rest == baseline.levels(event.deciding_modality)
    assert not any(decided(e) for e in first.events if e.window_end > applies_after + 1.0)
    assert math.isfinite(applies_after) and json.loads((folder / "session.json").read_text())["complete"]
