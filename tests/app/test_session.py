"""Recorded sessions: the files, their round trip, and a recording killed with SIGKILL stays readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from app.events import EmotionEvent, TimedWord
from app.packets import AUDIO_BLOCK, AudioPacket, VideoPacket
from app.session import SessionError, SessionReader, SessionWriter
from trainer.spoken_media import face_frame

REPO = Path(__file__).resolve().parents[2]


def make_event(end: float) -> EmotionEvent:
    return EmotionEvent(
        window_start=end - 3,
        window_end=end,
        labels=("happy", "sad"),
        scores=(0.7, 0.1),
        raw_scores=(0.8, 0.1),
        decided=(True, False),
        thresholds=(0.5, 0.5),
        deciding_modality=("visual", None),
        present={"text": True, "visual": True, "audio": False},
        scored={"text": True, "visual": True, "audio": False},
        words=(TimedWord("happy", end - 1, end - 0.6, 0.9),),
        latency_s=0.05,
        created_at=end + 0.05,
    )


def test_session_round_trip_keeps_media_events_transcript_and_facts(tmp_path: Path, checkpoint: Path) -> None:
    folder = tmp_path / "session"
    writer = SessionWriter(
        folder,
        devices={"camera": {"device": 0}},
        feature_spec={"fake": 1},
        checkpoint=checkpoint,
        video_size=(320, 240),
    )
    for index in range(60):  # 2 s of video and audio
        writer.write_video(VideoPacket(face_frame(index, 30, (320, 240)), 5.0 + index / 30, index))
    tone = np.sin(np.arange(32000) / 16000 * 2 * np.pi * 440).astype(np.float32) * 0.5
    for start in range(0, 32000, AUDIO_BLOCK):
        writer.write_audio(AudioPacket(tone[start : start + AUDIO_BLOCK], 5.0 + start / 16000))
    events = [make_event(5.0 + k * 0.25) for k in range(8)]
    for event in events:
        writer.write_event(event)
    writer.write_words([TimedWord("hello", 5.2, 5.5, 0.8)])
    writer.close()

    session = SessionReader.open(folder)
    assert session.complete and session.damaged_lines == 0
    assert session.events == events
    assert session.words == [TimedWord("hello", 5.2, 5.5, 0.8)]
    assert session.info["devices"] == {"camera": {"device": 0}} and session.info["feature_spec"] == {
        "fake": 1
    }
    assert len(session.info["checkpoint_sha256"]) == 64 and session.info["started_at"]
    with av.open(str(session.media_path)) as container:
        frames = [f for f in container.decode(video=0)]
        container.seek(0)
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(frames) == 60 and frames[0].time == pytest.approx(0.0, abs=0.002)
    assert len(audio) == 32000 and np.abs(audio).max() > 10000


def test_recording_refuses_a_folder_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(SessionError, match="not empty"):
        SessionWriter(tmp_path, devices={}, feature_spec=None)
    assert (tmp_path / "old.txt").read_text() == "keep me"


def test_reader_skips_a_half_written_last_line(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path / "s", devices={}, feature_spec=None, video_size=None, audio=False)
    writer.write_event(make_event(3.0))
    writer.close()
    with open(tmp_path / "s" / "events.jsonl", "a") as handle:
        handle.write('{"window_start": 1.0, "wind')
    session = SessionReader.open(tmp_path / "s")
    assert session.events == [make_event(3.0)] and session.damaged_lines == 1


def test_a_folder_that_is_no_session_says_so(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="not a session folder"):
        SessionReader.open(tmp_path)


def test_recording_killed_with_sigkill_leaves_a_readable_session(
    tmp_path: Path, checkpoint: Path, short_clip: Path
) -> None:
    folder = tmp_path / "killed"
    command = [
        sys.executable,
        str(REPO / "main.py"),
        "live",
        "--headless",
        "--json",
        "--camera",
        str(short_clip),
        "--microphone",
        str(short_clip),
        "--loop",
        "--checkpoint",
        str(checkpoint),
        "--record",
        str(folder),
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        events_file = folder / "events.jsonl"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if events_file.is_file() and events_file.read_text().count("\n") >= 12:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    session = SessionReader.open(folder)
    assert not session.complete, "it never closed, and says so"
    assert len(session.events) >= 12
    assert all(e.labels == session.events[0].labels for e in session.events)
    assert json.loads((folder / "session.json").read_text())["feature_spec"]["visual"]["version"]
    with av.open(str(session.media_path)) as container:
        video_times = [f.time for f in container.decode(video=0)]
    assert len(video_times) >= 15 and video_times == sorted(video_times), "recorded video is there, in order"
    with av.open(str(session.media_path)) as container:
        audio_samples = sum(f.samples for f in container.decode(audio=0))
    assert audio_samples >= 16000 * 0.5


def test_two_closes_at_once_both_return_and_the_session_is_complete(tmp_path: Path, at_once) -> None:
    writer = SessionWriter(tmp_path / "s", devices={}, feature_spec=None, video_size=None)
    writer.write_event(make_event(1.0))
    errors, hanging = at_once(writer.close, 4)
    assert errors == [] and not hanging
    session = SessionReader.open(tmp_path / "s")
    assert session.complete and len(session.events) == 1
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.startswith(".")] == [], "no temporary file left"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs: a disk that fills up within seconds of recording video."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a small tmpfs needs root: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_a_full_disk_while_recording_gives_a_clear_error_and_a_session_readable_to_that_point(
    small_disk: Path, short_clip: Path, predictor, extractors
) -> None:
    from app.control import EngineCallbacks, EngineSettings
    from app.engine import Engine

    failed, events = [], []
    callbacks = EngineCallbacks(
        on_event=events.append,
        on_health=lambda h: failed.append(h) if h.name == "recording" and h.state == "failed" else None,
    )
    folder = small_disk / "session"
    settings = EngineSettings(
        camera=str(short_clip), microphone=str(short_clip), record_to=str(folder), extra={"loop": True}
    )
    engine = Engine(settings, callbacks, predictor=predictor, extractors=extractors)
    engine.start()
    try:
        deadline = time.monotonic() + 60
        while not failed and time.monotonic() < deadline:
            time.sleep(0.1)
        count_at_failure = len(events)
        time.sleep(1.5)  # events go on being made (and shown) after the recording stopped
    finally:
        engine.stop()  # does not raise
    assert failed, "the full disk was reported"
    message = failed[0].message
    assert "No space left on device" in message and "Free some disk space" in message and str(folder) in message
    assert engine.error == message
    assert len(events) > count_at_failure, "the other streams went on"
    session = SessionReader.open(folder)  # readable
    assert session.damaged_lines == 0, "no half line at the end of any file"
    assert [e.to_json() for e in session.events] == [e.to_json() for e in events[: len(session.events)]]
