"""The voice stream hears emotion through a real microphone: EmoDB clips of speakers the checkpoint never
heard, played into a PulseAudio null sink whose monitor is the default microphone, scored live.

The checkpoint is `models/carat_voice_heldout.safetensors`: the shipped voice recipe trained without the
speakers its header names (`held_out_speakers`). This test is about the live path, not accuracy (that is
benchmarks/voice_accuracy.py): of those speakers' clips, it plays the angry clip the model scores most
angry offline (file -> voice rows -> window, as `main.py prepare` makes them) and the neutral clip it
reads calmest in every window the live engine can score while the clip plays (`emodb_clips.live_scores`),
and checks the microphone path reaches the same decisions. (The clip EmoDB's listeners recognised best,
10a02Wa, is one the model gets wrong offline: it says disgust. Of the 8 neutral clips, 6 raise a label in
at least one of those windows, most often the first in which the voice votes: the voice's neutral recall
on unseen speakers, measured by the benchmark, not the microphone's doing.)
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.control import EngineCallbacks, EngineSettings
from app.engine import Engine
from tests import emodb_clips

pytestmark = pytest.mark.needs_data("emodb")

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT_CHECKPOINT = ROOT / "models" / "carat_voice_heldout.safetensors"


@pytest.fixture(scope="module")
def voice_predictor():
    from app.predictor import Predictor

    return Predictor(HELD_OUT_CHECKPOINT)


def clearest(predictor, letter: str, key) -> dict[str, str]:
    return emodb_clips.clearest(predictor, predictor.info.extra["held_out_speakers"], letter, key)


def events_while_playing(pulse_server, predictor, extractors, source: Path, tmp_path: Path, wait_for):
    """The engine's events from 0.5 s before the clip (the sound file `source`) plays until 1.5 s after it
    ends, and what the engine reports of the run (for a failure's message: a loaded machine drops audio or
    skips windows)."""
    samples, rate = soundfile.read(source, dtype="float32")
    wav = tmp_path / f"{source.stem}.wav"
    soundfile.write(wav, samples, rate)
    events, lock = [], threading.Lock()

    def keep(event) -> None:
        with lock:
            events.append(event)

    engine = Engine(
        EngineSettings(camera=None, microphone="default"),
        EngineCallbacks(on_event=keep),
        predictor=predictor,
        extractors=extractors,
    )
    engine.start()
    try:
        assert wait_for(lambda: engine.stats.audio_packets > 25, 20), "no audio from the microphone"
        played_from = engine.clock.now()
        pulse_server.play(wav).join(30)
        played_until = engine.clock.now()
        assert wait_for(lambda: engine.clock.now() > played_until + 1.5, 10)
    finally:
        engine.stop()
    microphone = engine.health.get("microphone")
    run = {"played_from": round(played_from, 2), "audio_dropped": microphone.dropped if microphone else None,
           "windows_skipped": engine.stats.windows_skipped, "audio_packets": engine.stats.audio_packets}  # fmt: skip
    with lock:
        return [e for e in events if played_from - 0.5 <= e.window_end <= played_until + 1.5], run


def test_an_angry_voice_through_the_microphone_raises_angry(
    pulse_server, voice_predictor, extractors, tmp_path: Path, wait_for
) -> None:
    assert voice_predictor.trained == {"text": False, "visual": False, "audio": True}
    angry = voice_predictor.labels.index("angry")
    clip = clearest(voice_predictor, "W", lambda scores: scores[angry])
    source = emodb_clips.EMODB / "wav" / clip["file"]
    heard, run = events_while_playing(pulse_server, voice_predictor, extractors, source, tmp_path, wait_for)
    scored = [e for e in heard if e.scored["audio"] and e.present["audio"]]
    assert scored, "the voice stream was present and scored while the clip played"
    assert any(e.decided[angry] for e in scored), (max(e.scores[angry] for e in scored), run)
    assert not any(e.scored["text"] or e.scored["visual"] for e in scored), "only the voice votes"


def test_a_neutral_voice_through_the_microphone_raises_no_label(
    pulse_server, voice_predictor, extractors, tmp_path: Path, wait_for
) -> None:
    thresholds = np.asarray(voice_predictor.thresholds)
    clip = emodb_clips.clearest(
        voice_predictor, voice_predictor.info.extra["held_out_speakers"], "N",
        lambda scores: -(scores / thresholds).max(), scores=emodb_clips.live_scores,
    )  # fmt: skip
    source = emodb_clips.EMODB / "wav" / clip["file"]
    heard, run = events_while_playing(pulse_server, voice_predictor, extractors, source, tmp_path, wait_for)
    scored = [e for e in heard if e.scored["audio"] and e.present["audio"]]
    assert scored, "the voice stream was present and scored while the clip played"
    decided = [(round(e.window_end - run["played_from"], 2), voice_predictor.labels[i], round(e.raw_scores[i], 2))
               for e in scored for i, d in enumerate(e.decided) if d]  # fmt: skip
    assert not decided, (clip["file"], decided, run)
