"""The live engine on real devices and real extractors: words from a real microphone, faces from a video
through VideoCapture, and faults (a source that raises, an ASR error, a model error) it survives."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.camera import CameraSource
from app.control import EngineCallbacks, EngineSettings
from app.engine import Engine
from app.inbox import Inbox
from app.media_source import MediaFileSource
from app.source_thread import SourceError
from trainer.spoken_media import speak


class Recorder:
    """Collects everything the engine says, thread-safely."""

    def __init__(self) -> None:
        self.events, self.words, self.health, self.frames, self.errors = [], [], [], [], []
        self.lock = threading.Lock()
        self.finished = threading.Event()

    def callbacks(self) -> EngineCallbacks:
        def keep(store):
            def add(item):
                with self.lock:
                    store.extend(item) if isinstance(item, list) else store.append(item)

            return add

        return EngineCallbacks(
            on_event=keep(self.events),
            on_words=keep(self.words),
            on_health=keep(self.health),
            on_frame=keep(self.frames),
            on_error=keep(self.errors),
            on_finished=self.finished.set,
        )

    def states(self, name: str) -> list[str]:
        with self.lock:
            return [h.state for h in self.health if h.name == name]

    def messages(self, name: str) -> list[str]:
        with self.lock:
            return [h.message for h in self.health if h.name == name and h.message]


def start_engine(settings: EngineSettings, predictor, extractors, sources=None):
    recorder = Recorder()
    engine = Engine(
        settings, recorder.callbacks(), predictor=predictor, extractors=extractors, sources=sources
    )
    engine.start()
    return engine, recorder


def stop_cleanly(engine: Engine) -> None:
    engine.stop()
    assert engine.alive_threads() == [], "every engine thread is gone after stop()"


def spoken_words(words) -> set[str]:
    return {w.text.strip(" .,!?").lower() for w in words}


def test_speech_from_a_real_microphone_comes_out_as_words(
    pulse_server, predictor, extractors, tmp_path: Path, wait_for
) -> None:
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, speak("I am so happy to see you today"), 16000)
    engine, seen = start_engine(EngineSettings(camera=None, microphone="default"), predictor, extractors)
    try:
        assert wait_for(lambda: engine.stats.audio_packets > 10, 20), (
            f"no audio: {seen.messages('microphone')}"
        )
        pulse_server.play(wav).join(30)
        assert wait_for(lambda: len(seen.words) >= 4, 20), f"no words came out: {seen.messages('asr')}"
        time.sleep(0.5)
    finally:
        stop_cleanly(engine)
    heard = spoken_words(seen.words)
    assert len(heard & {"i", "am", "so", "happy", "to", "see", "you", "today"}) >= 5, heard
    with_words = [e for e in seen.events if e.words]
    assert with_words and all(e.present["audio"] for e in with_words)
    assert any(e.present["text"] for e in seen.events), "the words reached the model as the text stream"
    assert not any(e.present["visual"] for e in seen.events), "no camera, no face"


def test_camera_from_a_video_file_gives_face_events_and_previews(
    clip: Path, predictor, extractors, wait_for
) -> None:
    engine, seen = start_engine(EngineSettings(camera=str(clip), microphone=None), predictor, extractors)
    try:
        assert wait_for(lambda: len(seen.events) >= 8, 30), seen.messages("camera") + seen.messages("face")
    finally:
        stop_cleanly(engine)
    assert engine.sources[0]._capture is None, "the camera was released"
    late = seen.events[4:]
    assert all(e.present == {"text": False, "visual": True, "audio": False} for e in late)
    assert all(set(e.deciding_modality) == {"visual"} for e in late), "only the face can decide"
    assert all(e.latency_s is not None and 0 <= e.latency_s < 1.0 for e in late)
    ends = [e.window_end for e in seen.events]
    assert np.allclose(np.diff(ends), 0.25), "one event every hop"
    with_face = [f for f in seen.frames if f.face_box is not None]
    assert len(with_face) > 0.8 * len(seen.frames) and with_face[0].landmarks.shape == (478, 2)
    x0, y0, x1, y1 = with_face[0].face_box
    assert 80 < x0 < x1 < 560 and 0 <= y0 < y1 <= 480, "the box lies on the astronaut's face"


class FlakyCamera(CameraSource):
    """A camera whose driver throws once, mid-stream (the edge of the world we cannot unplug here)."""

    def __init__(self, *args, fail_after: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fail_after, self.failed = fail_after, False

    def read(self):
        if not self.failed and self._index >= self.fail_after:
            self.failed = True
            raise SourceError("VIDIOC_DQBUF: No such device")
        return super().read()


def test_source_that_raises_mid_stream_is_retried_while_the_others_go_on(
    short_clip: Path, predictor, extractors, wait_for
) -> None:
    from app.source_thread import RetryPolicy

    camera = FlakyCamera(str(short_clip), loop=True, fail_after=20, retry=RetryPolicy(first_delay_s=1.0))
    microphone = MediaFileSource(short_clip, loop=True, use_video=False, as_live=True, name="microphone")
    engine, seen = start_engine(
        EngineSettings(camera=None, microphone=None), predictor, extractors, sources=[camera, microphone]
    )
    try:
        assert wait_for(lambda: "retrying" in seen.states("camera"), 20)
        retry_at = engine.clock.now()
        assert wait_for(
            lambda: seen.states("camera")[-1] == "running" and engine.stats.frames_captured > 40, 20
        )
        time.sleep(1.0)
    finally:
        stop_cleanly(engine)
    assert "No such device" in seen.messages("camera")[0]
    during = [e for e in seen.events if retry_at + 0.3 < e.window_end < retry_at + 0.9]
    assert during and all(e.present["audio"] for e in during), "the voice went on while the camera was away"
    assert seen.events[-1].present["visual"], "the face came back"


def test_asr_error_is_reported_and_recognition_recovers(
    short_clip: Path, predictor, extractors, monkeypatch: pytest.MonkeyPatch, wait_for
) -> None:
    real_transcribe = extractors.recognizer.transcribe
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("CTranslate2 ran out of memory")
        return real_transcribe(*args, **kwargs)

    monkeypatch.setattr(extractors.recognizer, "transcribe", fails_once)
    settings = EngineSettings(camera=None, microphone=str(short_clip), extra={"loop": True})
    engine, seen = start_engine(settings, predictor, extractors)
    try:
        assert wait_for(lambda: "retrying" in seen.states("asr"), 30), seen.health
        assert wait_for(lambda: len(seen.words) >= 1, 30), "no words after the failure"
    finally:
        stop_cleanly(engine)
    assert any("out of memory" in m for m in seen.messages("asr"))
    assert seen.states("asr")[-1] in ("running", "stopped") and "running" in seen.states("asr")
    assert "hello" in spoken_words(seen.words)


def test_model_error_is_reported_and_predictions_resume(
    short_clip: Path, predictor, extractors, monkeypatch: pytest.MonkeyPatch, wait_for
) -> None:
    real_forward = predictor.model.forward
    failures = []

    def fails_four_times(inputs):
        if len(failures) < 4:
            failures.append(1)
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real_forward(inputs)

    monkeypatch.setattr(predictor.model, "forward", fails_four_times)
    engine, seen = start_engine(
        EngineSettings(camera=str(short_clip), microphone=None, extra={"loop": True}), predictor, extractors
    )
    try:
        assert wait_for(lambda: len(seen.events) >= 4, 30)
    finally:
        stop_cleanly(engine)
    assert seen.states("model")[:3] == ["running", "retrying", "retrying"] or "retrying" in seen.states(
        "model"
    )
    assert any("illegal memory access" in m for m in seen.messages("model"))
    assert seen.states("model")[-1] == "running"
    assert seen.events[0].window_end >= 5 * 0.25 - 1e-9, "the failed windows gave no events, the rest did"


def test_live_video_inbox_keeps_the_newest_frame_and_counts_drops() -> None:
    inbox = Inbox(1, keep_newest=True, stop=threading.Event())
    for frame in range(5):
        inbox.put(frame)
    assert inbox.get() == 4 and inbox.dropped == 4


def test_audio_inbox_never_drops_it_waits_for_room() -> None:
    inbox = Inbox(2, keep_newest=False, stop=threading.Event())
    inbox.put(1)
    inbox.put(2)
    producer = threading.Thread(target=inbox.put, args=(3,))
    producer.start()
    time.sleep(0.2)
    assert producer.is_alive(), "a full audio inbox makes the producer wait"
    assert inbox.get() == 1
    producer.join(2)
    assert [inbox.get(), inbox.get()] == [2, 3] and inbox.dropped == 0


def test_stop_while_capturing_joins_every_thread_and_releases_devices(
    short_clip: Path, predictor, extractors, wait_for
) -> None:
    before = {t.ident for t in threading.enumerate()}
    settings = EngineSettings(camera=str(short_clip), microphone=str(short_clip), extra={"loop": True})
    engine, seen = start_engine(settings, predictor, extractors)
    assert wait_for(lambda: len(seen.events) >= 2, 30)
    began = time.monotonic()
    stop_cleanly(engine)
    assert time.monotonic() - began < 5
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [name for name in left if name.startswith(("source-", "worker-", "engine-", "session-"))], left
    assert all(
        getattr(s, "_capture", None) is None and getattr(s, "_container", None) is None
        for s in engine.sources
    )


def test_live_headless_command_prints_events(
    clip: Path, checkpoint: Path, extractors, monkeypatch, capsys
) -> None:
    import main
    from app.workers import Extractors

    monkeypatch.setattr(
        Extractors, "load", classmethod(lambda cls, *a: extractors)
    )  # reuse the loaded models
    code = main.main(
        [
            "live",
            "--headless",
            "--camera",
            str(clip),
            "--microphone",
            "none",
            "--checkpoint",
            str(checkpoint),
            "--seconds",
            "3",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0
    lines = [line for line in printed.out.splitlines() if "->" in line]
    assert len(lines) >= 8, printed.out
    assert "-F-" in lines[-1] and "happ=" in lines[-1], "face present, scores printed"
    assert "events" in printed.err and "frames processed" in printed.err


def test_live_without_headless_and_without_a_dashboard_says_what_to_do(monkeypatch, capsys) -> None:
    import importlib.util

    import main

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a display exists, but the dashboard does not
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "app.dashboard" else real_find_spec(name, *a),
    )
    assert main.main(["live"]) == 2
    assert "live --headless" in capsys.readouterr().err


def test_slow_face_worker_takes_the_newest_frame_so_latency_stays_bounded(
    short_clip: Path, predictor, extractors, monkeypatch: pytest.MonkeyPatch, wait_for
) -> None:
    from feature_extractors.visual import FaceExtractor

    real_extract = FaceExtractor.extract

    def slow_extract(self, frame, **kwargs):
        time.sleep(0.1)
        return real_extract(self, frame, **kwargs)

    monkeypatch.setattr(FaceExtractor, "extract", slow_extract)
    settings = EngineSettings(camera=str(short_clip), microphone=None, extra={"loop": True})
    engine, seen = start_engine(settings, predictor, extractors)
    try:
        assert wait_for(lambda: engine.stats.frames_captured >= 90, 20)
    finally:
        stop_cleanly(engine)
    stats = engine.stats
    assert stats.frames_dropped > 0.4 * stats.frames_captured, "frames it had no time for were dropped"
    assert stats.frames_processed + stats.frames_dropped >= stats.frames_captured - 2
    assert max(list(stats.preview_latency_s)[5:]) < 0.35, "no backlog: each processed frame is a fresh one"
    face_health = [h for h in seen.health if h.name == "face" and h.dropped]
    assert face_health and face_health[-1].dropped > 0, "the health panel hears about the drops"


def test_exact_replay_uses_every_frame_and_every_audio_sample(clip: Path, predictor, extractors) -> None:
    recorder = Recorder()
    engine = Engine(
        EngineSettings(camera=None, microphone=None, media=str(clip), exact=True),
        recorder.callbacks(),
        predictor=predictor,
        extractors=extractors,
    )
    engine.start()
    assert recorder.finished.wait(60), "the replay reached its end"
    stop_cleanly(engine)
    assert engine.stats.frames_captured == engine.stats.frames_processed == 180
    assert engine.stats.frames_dropped == 0
    assert engine.stats.audio_packets == 6 * 50, "every 20 ms of audio"


def test_stop_during_start_up_starts_nothing_and_leaves_no_thread(short_clip: Path, predictor) -> None:
    settings = EngineSettings(camera=str(short_clip), microphone=None)
    recorder = Recorder()
    engine = Engine(settings, recorder.callbacks(), predictor=predictor)  # loads its models on start
    engine.start()
    time.sleep(0.2)
    stop_cleanly(engine)
    assert engine.stats.frames_captured == 0 and recorder.events == []
    assert recorder.finished.is_set()


def test_engine_goes_on_while_the_camera_disappears_and_uses_it_again_when_it_returns(
    short_clip: Path, predictor, extractors, tmp_path: Path, wait_for
) -> None:
    import shutil

    from app.source_thread import RetryPolicy

    camera_file = tmp_path / "camera.mkv"
    shutil.copy(short_clip, camera_file)
    camera = CameraSource(str(camera_file), loop=True, retry=RetryPolicy(first_delay_s=0.3, max_delay_s=0.6))
    microphone = MediaFileSource(short_clip, loop=True, use_video=False, as_live=True, name="microphone")
    engine, seen = start_engine(
        EngineSettings(camera=None, microphone=None), predictor, extractors, sources=[camera, microphone]
    )
    try:
        assert wait_for(lambda: len(seen.events) >= 4 and seen.events[-1].present["visual"], 20)
        camera_file.rename(tmp_path / "unplugged.mkv")  # gone when the camera reopens at the loop point
        assert wait_for(lambda: "retrying" in seen.states("camera"), 10)
        assert wait_for(lambda: not seen.events[-1].present["visual"], 10), "the face stream went missing"
        events_while_gone = len(seen.events)
        assert wait_for(lambda: len(seen.events) >= events_while_gone + 4, 5), (
            "events go on without the camera"
        )
        assert all(e.present["audio"] for e in seen.events[events_while_gone:])
        (tmp_path / "unplugged.mkv").rename(camera_file)
        assert wait_for(lambda: seen.events[-1].present["visual"], 15), "the face came back"
    finally:
        stop_cleanly(engine)
    assert seen.states("camera")[-2:] == ["running", "stopped"]
    assert "camera.mkv is not there" in seen.messages("camera")[0]
