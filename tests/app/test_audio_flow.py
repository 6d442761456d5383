"""Bounded audio flow on a real microphone (a PulseAudio null sink's monitor): with speech recognition
made 3x slower than real time for a minute, nothing waits behind it. The recording keeps every sample,
voice keeps real time, and ASR reports the seconds it skipped.

Bounds: a 60 s run (the issue's length) plus start-up, waits capped; the voice lag bound (1 s) is the
issue's, measured on events after the first 5 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import soundfile

from app.control import EngineCallbacks, EngineSettings
from app.engine import Engine
from trainer.spoken_media import speak

RUN_S = 60.0


def test_asr_three_times_slower_than_real_time_skips_and_says_so_while_voice_and_recording_keep_up(
    pulse_server, predictor, extractors, tmp_path: Path, monkeypatch, wait_for
) -> None:
    recognizer = extractors.recognizer
    original = recognizer.transcribe

    def three_times_slower(samples, *args, **kwargs):
        time.sleep(3.0 * len(samples) / 16000)
        return original(samples, *args, **kwargs)

    monkeypatch.setattr(recognizer, "transcribe", three_times_slower)
    sentence = speak("I am so happy to see you today, and I will tell you all about it")
    pause = np.zeros(8000, np.float32)
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, np.concatenate([sentence, pause] * int(RUN_S / (len(sentence) / 16000 + 0.5) + 2)), 16000)

    events, asr, voice = [], [], []
    callbacks = EngineCallbacks(
        on_event=events.append,
        on_health=lambda h: (asr if h.name == "asr" else voice if h.name == "voice" else []).append(h),
    )
    folder = tmp_path / "session"
    settings = EngineSettings(camera=None, microphone="default", record_to=str(folder))
    engine = Engine(settings, callbacks, predictor=predictor, extractors=extractors)
    engine.start()
    try:
        assert wait_for(lambda: engine.stats.audio_packets > 10, 30), "the microphone delivers"
        player = pulse_server.play(wav)
        began = time.monotonic()
        time.sleep(RUN_S)
        captured_s = engine.stats.audio_packets * 0.02
    finally:
        engine.stop()
    player.join(5)
    elapsed = time.monotonic() - began

    with av.open(str(folder / "media.mkv")) as container:
        recorded = sum(frame.samples for frame in container.decode(audio=0))
    assert recorded >= engine.stats.audio_packets * 320 - 320, "the recording holds every captured sample"
    assert captured_s >= RUN_S - 2.0, f"capture kept real time: {captured_s:.1f} s in {elapsed:.1f} s"

    steady = [e for e in events if e.window_end > events[0].window_end + 5.0 and e.present["audio"]]
    assert len(steady) > RUN_S * 2, "voice events all along"
    # Voice keeps up: nineteen windows in twenty within a second, none over two, and no growth at the end. Speech
    # recognition's bursts can starve a 2-core machine for a moment (CI saw one window at 1.02 s among 0.26 s);
    # a voice that waited behind it would instead lag by the whole transcription, growing window after window.
    lags = sorted(e.latency_s for e in steady)
    assert lags[int(0.95 * len(lags))] < 1.0, f"voice lag over 1 s in more than 1 window in 20: {lags[-10:]}"
    assert lags[-1] < 2.0, f"voice lag up to {lags[-1]:.2f} s"
    last = [e.latency_s for e in steady[-10:]]
    assert sum(last) / len(last) < 1.0, f"voice lag grew to {last} by the end"

    skipped = max(h.details.get("skipped_s", 0.0) for h in asr)
    assert skipped > 10.0, f"ASR skipped only {skipped} s at 3x slower than real time"
    assert any("s of audio skipped so far" in h.message for h in asr)
    assert all(h.details.get("skipped_s", 0.0) == 0.0 for h in voice), "voice skipped nothing"
