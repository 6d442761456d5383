"""The main window, offscreen: it opens, shows what the engine sends from its threads, drives the
engine's replay commands, turns failures into messages, and stops the engine when closed."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from dashboard_fakes import LABELS, health, make_event, make_frame
from PyQt6.QtCore import Qt

from app.dashboard.runner import IDLE, RUNNING
from app.events import TimedWord


def start_live(qtbot, window, factory):
    window.start_live()
    qtbot.waitUntil(lambda: window.runner.state == RUNNING, timeout=3000)
    return factory.last


def open_replay(qtbot, window, factory, path="/videos/interview.mp4"):
    window.open_media(path)
    qtbot.waitUntil(lambda: window.runner.state == RUNNING, timeout=3000)
    return factory.last


def test_window_opens_with_every_panel_readable_at_1280x720(window):
    assert window.windowTitle() == "CARAT Live"
    assert (window.width(), window.height()) == (1280, 720)
    panels = [window.video, window.bars, window.timeline, window.transcript.parentWidget(), window.health,
              window.modalities, window.source_bar, window.replay_bar]
    for panel in panels:
        assert panel.isVisible(), panel
        hint = panel.minimumSizeHint()
        assert panel.width() >= max(200, hint.width()) and panel.height() >= max(14, hint.height()), panel
    # Every bar row fits: the bars are not squeezed below their drawn height.
    assert window.bars.height() >= window.bars.ROW_HEIGHT * len(LABELS)
    image = window.grab().toImage()
    assert not image.isNull() and image.width() == 1280


def test_events_from_an_engine_thread_move_bars_timeline_and_transcript(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    words = (TimedWord("so", 1.0, 1.2), TimedWord("happy", 1.2, 1.6))
    engine.from_thread(engine.callbacks.on_words, list(words))  # the transcript's one path: as recognised
    for i in range(5):
        scores = (0.1 + 0.15 * i, 0.2, 0.3, 0.4, 0.5, 0.6)
        engine.from_thread(engine.callbacks.on_event, make_event(2.0 + 0.5 * i, scores, words=words))
    qtbot.waitUntil(lambda: len(window.events) == 5, timeout=3000)
    happy = window.bars.bars[0]
    assert happy.label == "happy" and happy.score == pytest.approx(0.7)
    assert happy.decided and not window.bars.bars[1].decided  # 0.2 < 0.5
    qtbot.waitUntil(lambda: len(window.timeline.series("happy")[0]) == 5, timeout=2000)
    x, y = window.timeline.series("happy")
    assert np.allclose(y, [0.1, 0.25, 0.4, 0.55, 0.7])
    assert x[-1] == 0 and x[0] == pytest.approx(-2.0)  # seconds before the newest event
    assert "so happy" in window.transcript.toPlainText()
    assert window.transcript.toPlainText().count("happy") == 1  # the same words in 5 events, shown once


def test_timeline_keeps_only_the_last_minute(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    for i in range(100):
        engine.callbacks.on_event(make_event(1.0 * i))
    qtbot.waitUntil(lambda: len(window.events) == 100, timeout=3000)
    window.timeline.redraw()
    x, _ = window.timeline.series("sad")
    assert x.min() >= -60 and len(x) == 61


def test_words_arrive_in_the_transcript_as_spoken(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_words, [TimedWord("hello", 0.5, 0.8), TimedWord("there", 0.9, 1.2)])
    engine.from_thread(engine.callbacks.on_words, [TimedWord("again", 5.0, 5.4)])
    qtbot.waitUntil(lambda: "again" in window.transcript.toPlainText(), timeout=3000)
    lines = window.transcript.toPlainText().splitlines()
    assert lines == ["[00:00.5] hello there", "[00:05.0] again"]  # a long pause starts a new line


def test_each_emotion_shows_the_stream_that_decided_it_in_the_users_words(qtbot, window, factory):
    from app.dashboard.style import modality_word

    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_event, make_event(3.0))
    qtbot.waitUntil(lambda: len(window.events) == 1, timeout=3000)
    shown = [modality_word(bar.deciding) for bar in window.bars.bars]
    assert shown == ["face", "", "words", "voice", "", "face"]


def test_streams_shown_but_not_scored_are_said_plainly(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    event = make_event(
        3.0,
        deciding=("text",) * 6,
        present={"text": True, "visual": True, "audio": True},
        scored={"text": True, "visual": False, "audio": False},
    )
    engine.from_thread(engine.callbacks.on_event, event)
    qtbot.waitUntil(lambda: window.modalities.note.isVisible(), timeout=3000)
    assert window.modalities.note.text() == (
        "Face and voice are shown but not scored by this model — "
        "train with your labelled videos: main.py prepare, main.py train"
    )
    assert window.modalities.status == {"visual": "shown, not scored", "audio": "shown, not scored", "text": "scored"}
    engine.from_thread(engine.callbacks.on_event, make_event(3.5))  # every stream scored again
    qtbot.waitUntil(lambda: not window.modalities.note.isVisible(), timeout=3000)


def test_stream_health_is_listed_per_stream(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_health, health("camera", fps=29.7, dropped=3))
    engine.from_thread(engine.callbacks.on_health, health("asr", lag_s=0.84))
    engine.from_thread(engine.callbacks.on_health, health("camera", fps=30.0, dropped=4))
    qtbot.waitUntil(lambda: window.health.rowCount() == 2 and window.health.text_of("camera", "dropped") == "4",
                    timeout=3000)
    assert window.health.text_of("camera", "fps") == "30.0"
    assert window.health.text_of("asr", "lag / latency") == "840 ms"


def test_preview_frame_is_drawn_with_the_face_box(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_frame, make_frame())
    qtbot.waitUntil(lambda: window.video.frames_shown == 1, timeout=3000)
    image = window.video.grab().toImage()
    pixels = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(0, image.width(), 3)]
                       for y in range(0, image.height(), 3)])
    box_green = np.all(pixels == (0x00, 0xE6, 0x76), axis=-1)
    assert box_green.sum() > 50  # the face box's outline is on screen
    assert pixels.std() > 10  # the frame, not a blank widget


def test_frames_the_ui_had_no_time_for_are_replaced_not_queued(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)

    def capture_burst():  # an engine thread, faster than the (blocked) UI thread
        for i in range(40):
            engine.callbacks.on_frame(make_frame(time=i / 30))

    engine.from_thread(capture_burst)
    qtbot.waitUntil(lambda: window.video.frames_shown >= 1, timeout=3000)
    qtbot.wait(50)
    assert window.video.frames_shown == 1
    assert window.video.frame.time == pytest.approx(39 / 30)  # the newest one


def test_replay_controls_drive_the_engine(qtbot, window, factory):
    engine = open_replay(qtbot, window, factory)
    assert engine.settings.media == "/videos/interview.mp4"
    assert engine.settings.record_to is None
    assert window.replay_bar.slider.maximum() == 200  # 20 s in tenths
    window.replay_bar.play.click()
    window.replay_bar.play.click()
    window.seek_to(7.5)
    window.replay_bar.speed.setCurrentIndex(window.replay_bar.speed.findData(2.0))
    assert engine.calls[1:] == [("set_speed", 1.0), ("pause",), ("resume",), ("seek", 7.5), ("set_speed", 2.0)]
    engine.from_thread(engine.callbacks.on_position, 12.0)
    qtbot.waitUntil(lambda: window.replay_bar.slider.value() == 120, timeout=3000)
    assert window.replay_bar.time.text() == "00:12 / 00:20"


def test_play_after_the_end_replays_from_the_start(qtbot, window, factory):
    engine = open_replay(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_finished)
    qtbot.waitUntil(lambda: window.at_end, timeout=3000)
    assert window.replay_bar.play.text() == "Play"
    window.toggle_play()
    assert engine.calls[-2:] == [("seek", 0.0), ("resume",)]


def test_keyboard_shortcuts_drive_replay(qtbot, window, factory):
    engine = open_replay(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_position, 10.0)
    qtbot.waitUntil(lambda: window.position == 10.0, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_BracketRight)
    assert engine.calls[-3:] == [("pause",), ("seek", 15.0), ("set_speed", 1.5)]
    qtbot.keyClick(window, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)
    assert engine.stopped.wait(3)


def test_opening_a_new_file_silences_the_previous_run(qtbot, window, factory):
    first = open_replay(qtbot, window, factory, "/videos/a.mp4")
    second = open_replay(qtbot, window, factory, "/videos/b.mp4")
    assert first.stopped.wait(3)
    first.from_thread(first.callbacks.on_event, make_event(1.0))  # a late callback of the old run
    second.from_thread(second.callbacks.on_event, make_event(2.0))
    qtbot.waitUntil(lambda: len(window.events) == 1, timeout=3000)
    qtbot.wait(50)
    assert [e.window_end for e in window.events] == [2.0]


def test_engine_errors_appear_as_messages(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_error, "the microphone stopped: plug it in again")
    qtbot.waitUntil(lambda: "plug it in again" in window.banner.text(), timeout=3000)
    engine.from_thread(engine.callbacks.on_health, health("camera", "failed", message="no camera at index 0"))
    qtbot.waitUntil(lambda: "no camera at index 0" in window.banner.text(), timeout=3000)
    assert window.banner.level == "error" and window.isVisible()


def test_an_engine_that_cannot_be_built_is_a_message_not_a_crash(qtbot, window):

    def failing_factory(settings, callbacks):
        raise FileNotFoundError("no camera at /dev/video0: plug one in, or open a video to replay")

    window.runner._factory = failing_factory
    window.start_live()
    qtbot.waitUntil(lambda: window.runner.state == IDLE, timeout=3000)
    assert "no camera at /dev/video0" in window.banner.text()
    assert window.source_bar.start.isEnabled()


def test_a_missing_model_with_the_real_engine_is_a_message(qtbot, window, tmp_path):
    from app.dashboard import real_engine

    window.runner._factory = real_engine
    window.set_checkpoint(tmp_path / "missing.safetensors")
    assert "no checkpoint at" in window.banner.text()  # the picker says so before starting
    window.start_live()
    qtbot.waitUntil(lambda: window.runner.state == IDLE, timeout=10000)
    assert "missing.safetensors" in window.banner.text() and window.isVisible()


def test_closing_the_window_stops_the_engine(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    window.close()
    assert engine.stopped.is_set()  # stop() returned before the window closed
    assert window.runner.state == IDLE


def test_recording_goes_to_a_new_session_folder(qtbot, window, factory, tmp_path):
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.source_bar.record.isChecked()
    engine = start_live(qtbot, window, factory)
    assert engine.settings.record_to.startswith(str(tmp_path / "sessions"))
    assert (engine.settings.camera, engine.settings.microphone) == (0, "default")


def test_choosing_no_streams_at_all_asks_for_one(qtbot, window, factory):
    window.source_bar.camera.setCurrentIndex(window.source_bar.camera.findData(None))
    window.source_bar.microphone.setCurrentIndex(window.source_bar.microphone.findData(None))
    window.start_live()
    assert factory.engines == [] and "Pick a camera or a microphone" in window.banner.text()


def test_events_export_to_csv(qtbot, window, factory, tmp_path):
    engine = start_live(qtbot, window, factory)
    for i in range(3):
        engine.callbacks.on_event(make_event(3.0 + i, words=(TimedWord("hi", 2.0, 2.3),)))
    qtbot.waitUntil(lambda: len(window.events) == 3, timeout=3000)
    assert window.export_csv(tmp_path / "events.csv") == 3
    with open(tmp_path / "events.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["window_end"]) for r in rows] == [3.0, 4.0, 5.0]
    assert rows[0]["happy_score"] == "0.8" and rows[0]["happy_decided"] == "1" and rows[0]["happy_modality"] == "visual"
    assert rows[0]["sad_decided"] == "0" and rows[0]["words"] == "hi"
    assert "Saved 3 events" in window.banner.text()


def test_exporting_with_no_events_says_what_to_do(window, tmp_path):
    assert window.export_csv(tmp_path / "none.csv") == 0
    assert "no events to export yet" in window.banner.text()
    assert not (tmp_path / "none.csv").exists()


def test_a_stream_that_recovers_takes_its_message_away(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_health, health("camera", "retrying", message="cannot open camera 0"))
    qtbot.waitUntil(lambda: window.banner.text() == "camera: cannot open camera 0", timeout=3000)
    engine.from_thread(engine.callbacks.on_health, health("camera", "running", fps=30.0))
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=3000)


def test_a_nan_score_shows_as_an_empty_bar_and_a_gap(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)
    engine.callbacks.on_event(make_event(1.0))
    engine.callbacks.on_event(make_event(2.0, (float("nan"), 0.1, 0.2, 0.6, 0.05, 0.3)))
    window.timeline.redraw()
    window.grab()  # paints without raising
    assert window.bars.bars[0].score != window.bars.bars[0].score  # NaN kept, drawn as an empty bar
    _, y = window.timeline.series("happy")
    assert y[0] == 0.8 and np.isnan(y[1])


def test_a_preview_frame_of_the_wrong_shape_is_explained(qtbot, window, factory):
    from app.control import PreviewFrame

    engine = start_live(qtbot, window, factory)
    engine.from_thread(engine.callbacks.on_frame, PreviewFrame(np.zeros((480, 640), np.uint8), 1.0))
    qtbot.waitUntil(lambda: "Cannot show a preview frame of shape (480, 640)" in window.video.placeholder,
                    timeout=3000)


def test_the_display_reports_frames_drawn_and_skipped(qtbot, window, factory):
    engine = start_live(qtbot, window, factory)

    def capture_burst():
        for i in range(10):
            engine.callbacks.on_frame(make_frame(time=i / 30))

    engine.from_thread(capture_burst)
    qtbot.waitUntil(lambda: "display" in window.health.streams, timeout=3000)
    assert window.health.text_of("display", "dropped") == "9"  # one drawn, nine replaced by newer ones
