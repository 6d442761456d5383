"""The fusion benchmark's video: held-out faces, voices and words put together in segments of one webcam-like
video, so that a replay shows whether fusion reads the stream that carries an emotion and stays quiet when none
does.

Used by `benchmarks/fusion_accuracy.py` (the figures) and `tests/first_run/test_fusion_rates.py` (per-scenario
floors), so both choose, render and read the same way:
- trainer/fusion_material.py: the held-out faces, recordings and lines, and the espeak-ng voices;
- trainer/fusion_plan.py: the scenarios, and what each segment shows, in order;
- this module: the video;
- trainer/fusion_reading.py: how a replay of it is read back.

Rendering (`write_fusion_video`): trainer/face_video.py's webcam-like video (640x480, 30 fps, H.264 CRF 26, grey
wall, sensor noise, small head motion, face widths cycling over 160-300 px; its docstring gives each choice),
each segment a whole number of frames (5.0 s = 150 by default), with an AAC track at 16 kHz mono (what the
recogniser and the voice stream read; `main.py replay` resamples any rate). Each segment's speech starts
`SPEECH_LEAD_S` into it and ends at least `SPEECH_ROOM_S` before its end, so one segment's speech is followed
by a pause of at least a second (`feature_extractors.utterances.UTTERANCE_PAUSE_S`) before the next one's
and the two never make one utterance. Recordings are cut to their speech (trainer/fusion_material.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE

from .face_video import FaceVideoSettings, Scene, add_video_stream
from .fusion_material import SPEECH_LEAD_S, Material
from .fusion_plan import FusionSegment, SegmentPlan, plan_segments


def write_fusion_video(
    path: Path, plans: Sequence[SegmentPlan], material: Material, settings: FaceVideoSettings
) -> list[FusionSegment]:
    """The plans as one H.264 + AAC (16 kHz mono) mp4 at `path`, segments back to back (module docstring);
    returns the segments, in order."""
    import av

    frames_each, fps = settings.frames_each, settings.fps
    rng = np.random.default_rng(settings.seed)  # drawn in write_face_video's order: the wall's noise, then motion
    scene = Scene.draw(rng, settings)
    track = np.zeros(round(len(plans) * frames_each / fps * SAMPLE_RATE), np.float32)
    segments = []
    for index, plan in enumerate(plans):
        start_frame = index * frames_each
        sound = material.sound(plan.speech)
        begin = round((start_frame / fps + SPEECH_LEAD_S) * SAMPLE_RATE)
        track[begin : begin + len(sound)] += sound
        width_px = settings.face_widths[index % len(settings.face_widths)]
        speech_s = (begin / SAMPLE_RATE, (begin + len(sound)) / SAMPLE_RATE)
        segments.append(FusionSegment(plan, start_frame, frames_each, width_px, *speech_s))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        video = add_video_stream(container, settings)
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        written = 0
        for segment in segments:
            face = material.images[segment.plan.face_index]
            frames = scene.face_frames(face, segment.start_frame, segment.face_width, rng)
            for k, video_frame in enumerate(frames):
                container.mux(video.encode(video_frame))
                until = min(len(track), round((segment.start_frame + k + 1) / fps * SAMPLE_RATE))
                written = _write_audio(container, audio, track, written, until)
        _write_audio(container, audio, track, written, len(track))
        container.mux(video.encode())
        container.mux(audio.encode())
    return segments


def _write_audio(container, stream, track: np.ndarray, start: int, end: int) -> int:
    import av

    if end <= start:
        return start
    frame = av.AudioFrame.from_ndarray(np.clip(track[start:end], -1, 1)[None, :], format="fltp", layout="mono")
    frame.sample_rate, frame.pts = SAMPLE_RATE, start
    container.mux(stream.encode(frame))
    return end


def render_benchmark(
    path: Path, per_scenario: int, *, half: str = "valid", seed: int = 0, seconds_each: float = 5.0,
    scenarios: str = "ABCDEF", data: Path | None = None,
) -> tuple[list[FusionSegment], FaceVideoSettings, dict]:  # fmt: skip
    """Choose the material (seeded) from `data` (default: data_folders.data_root()) and render the benchmark
    video at `path`: (segments, video settings, what the pools gave: `Material.summary`)."""
    settings = FaceVideoSettings(seconds_each=seconds_each, seed=seed)  # refuses a duration of partial frames
    material = Material(half, seed, seconds_each, data)
    plans = plan_segments(material, per_scenario, scenarios)
    segments = write_fusion_video(path, plans, material, settings)
    return segments, settings, material.summary()
