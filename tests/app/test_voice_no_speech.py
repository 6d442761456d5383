"""Issue 41, false alarms with no speech: room noise, fan hum, music and typing replayed through the engine
with the shipped default give no voice rows, so the voice decides no label, and the voice's health (the
dashboard's health table) says "no speech". Audio-only clips, so nothing but the voice could vote: before
the speech gate (feature_extractors/voice.py) the voice decided a label in most windows of each of these."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from app.control import EngineCallbacks, EngineSettings
from app.engine import Engine
from app.events import StreamHealth
from app.workers import VoiceWorker
from tests.decisions import decided, decider
from trainer.room_sounds import noise
from trainer.spoken_media import write_clip

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the health table is a real widget, no display

SECONDS = 8.0
# Levels at which the voice, ungated, decided a label in 14-27 of 32 windows (measured when this was written).
SOUNDS = [("room", -45.0), ("hum", -30.0), ("music", -30.0), ("keyboard", -30.0)]


@pytest.fixture(scope="module")
def default_predictor():
    from app.defaults import default_checkpoint
    from app.predictor import Predictor

    predictor = Predictor(default_checkpoint())
    assert predictor.trained["audio"], "the shipped default must score the voice, or this tests nothing"
    return predictor


def run_engine(path: Path, predictor, extractors) -> tuple[list, list[StreamHealth]]:
    """Exact replay of `path` through the engine: its events, and every health report of the voice."""
    events, voice_health, finished = [], [], threading.Event()
    callbacks = EngineCallbacks(
        on_event=events.append,
        on_health=lambda health: voice_health.append(health) if health.name == "voice" else None,
        on_finished=finished.set,
    )
    settings = EngineSettings(camera=None, microphone=None, media=str(path), exact=True)
    engine = Engine(settings, callbacks, predictor=predictor, extractors=extractors)
    engine.start()
    try:
        assert finished.wait(120), "the replay did not finish"
    finally:
        engine.stop()
    return sorted(events, key=lambda e: e.window_end), voice_health


def clip_of(tmp_path: Path, kind: str, dbfs: float, speech: list[tuple[float, str]] = ()) -> Path:
    path = tmp_path / f"{kind}.mkv"
    sound = noise(kind, int(SECONDS * 16000), dbfs, np.random.default_rng(41))
    write_clip(path, duration_s=SECONDS, sound=sound, speech=speech, video=False)
    return path


@pytest.mark.parametrize(("kind", "dbfs"), SOUNDS)
def test_noise_alone_gives_no_voice_and_the_voice_decides_nothing(
    kind: str, dbfs: float, default_predictor, extractors, tmp_path: Path, qtbot
) -> None:
    from app.dashboard.health import HealthTable

    events, voice_health = run_engine(clip_of(tmp_path, kind, dbfs), default_predictor, extractors)
    assert len(events) == round(SECONDS / 0.25), "a window every hop"
    assert not any(e.present["audio"] for e in events), "the voice gave rows for a sound with no speech"
    by_voice = [
        (e.window_end, label)
        for e in events
        for label in e.labels
        if decided(e, label) and decider(e, label) == "audio"
    ]
    assert by_voice == [], f"the voice decided labels in {kind}: {by_voice[:5]}"

    running = [h for h in voice_health if h.state == "running"]
    assert running and running[-1].message == VoiceWorker.NO_SPEECH, [(h.state, h.message) for h in voice_health]
    table = HealthTable()  # what the dashboard shows for the voice while it replays this
    qtbot.addWidget(table)
    table.show_health(running[-1])
    assert table.text_of("voice", "message") == "no speech"


def test_speech_over_the_noise_is_heard_and_lifts_no_speech(default_predictor, extractors, tmp_path: Path) -> None:
    """The gate is not deaf: a sentence spoken over room noise gives voice rows, and the health message
    goes from "no speech" (the noise before it) to none while it is spoken."""
    path = clip_of(tmp_path, "room", -45.0, speech=[(2.0, "I am so happy to see you today")])
    events, voice_health = run_engine(path, default_predictor, extractors)
    assert not any(e.present["audio"] for e in events if e.window_end <= 1.5), "noise only so far"
    assert sum(e.present["audio"] for e in events if 3.0 <= e.window_end <= 5.0) >= 6, "the sentence is heard"
    messages = [h.message for h in voice_health if h.state == "running"]
    assert VoiceWorker.NO_SPEECH in messages, messages
    assert "" in messages[messages.index(VoiceWorker.NO_SPEECH) :], f"speech did not lift 'no speech': {messages}"
