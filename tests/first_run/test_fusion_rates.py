"""The shipped default reads the stream that carries an emotion, and stays quiet when none does, through a real
replay (issue 39, item 1): eight segments of each of A (the face carries it), B (the voice), C (the words) and
D (nothing), rendered back to back into one webcam-like video from held-out material by trainer/fusion_segments.py
(FER+ test-half faces, RAVDESS actors 05/06/08/13 and EmoDB speakers 10/12, XED and GoEmotions test lines and our
neutral sentences spoken by espeak-ng; 5 s segments, drawn by seed 0), replayed once by `main.py replay --exact`
with the shipped default, and read back by the module's rule: a segment is right when, in at least half of the
windows ending in its second half, the decided labels are exactly the one shown (none in D). The floor: 7 of 8 in
each scenario. benchmarks/fusion_accuracy.py is the full version (30 a scenario, E and F, each stream alone,
linger), on the same code.
"""

from __future__ import annotations

import json

import pytest

import main
from app.defaults import default_checkpoint
from trainer.fusion_material import SPEECH_LEAD_S, SPEECH_ROOM_S
from trainer.fusion_plan import SCENARIOS, STREAM_WORDS, FusionSegment
from trainer.fusion_reading import SegmentReading, read_segment, voice_onset_alarms
from trainer.fusion_segments import render_benchmark

# The segments are drawn from every corpus: faces, both voice corpora, and XED and GoEmotions lines.
pytestmark = pytest.mark.needs_data("ferplus", "ravdess", "emodb", "xed", "goemotions")

PER_SCENARIO = 8
FLOOR = 7  # segments right of PER_SCENARIO
SEED = 0


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """The video's path, its segments and its frame rate."""
    video = tmp_path_factory.mktemp("fusion") / "fusion.mp4"
    segments, settings, _ = render_benchmark(video, PER_SCENARIO, half="test", seed=SEED, scenarios="ABCD")
    return video, segments, settings.fps


@pytest.fixture(scope="module")
def events(rendered) -> list[dict]:
    """The default's events of the video, from `main.py replay --exact`."""
    video, _, _ = rendered
    out = video.parent / "replay"
    arguments = ["replay", video, "--exact", "--checkpoint", default_checkpoint(), "--out", out]
    assert main.main([str(a) for a in arguments]) == 0
    return [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def readings(rendered, events) -> list[tuple[FusionSegment, SegmentReading]]:
    """Each segment with the default's reading of it, in the video's order."""
    _, segments, fps = rendered
    return [(segment, read_segment(events, segment, fps)) for segment in segments]


def test_segments_are_whole_frames_with_their_speech_inside_them(rendered) -> None:
    _, segments, fps = rendered
    assert [s.plan.scenario for s in segments[:4]] == list("ABCD")
    for index, segment in enumerate(segments):
        assert (segment.start_frame, segment.frames) == (index * 150, 150)
        assert segment.speech_start_s == pytest.approx(segment.start_s(fps) + SPEECH_LEAD_S, abs=1e-4)
        assert segment.speech_end_s <= segment.end_s(fps) - SPEECH_ROOM_S + 1e-4


def rate_in(readings, scenario: str) -> tuple[int, str]:
    """(segments right, a line per segment: what it showed, what passed, whether right)."""
    mine = [(s, r) for s, r in readings if s.plan.scenario == scenario]
    assert len(mine) == PER_SCENARIO
    lines = []
    for segment, reading in mine:
        shown = ", ".join(f"{STREAM_WORDS[m]} {label}" for m, label in segment.plan.shown.items()) or "nothing"
        passing = ", ".join(f"{label} {share:.2f}" for label, share in reading.passing.items() if share) or "none"
        lines.append(
            f"{'right' if reading.right else 'WRONG'}: {shown} ({segment.plan.speech.source}); passing {passing}"
        )
    return sum(r.right for _, r in mine), "\n".join(lines)


# Issue 39 is open: today's default is right on A 3, B 3 and C 3 of these 8 (D 8; one run). The floor is for the
# retrained default: these turn into plain tests when it reaches it.
SHORT_OF_THE_FLOOR = {"A", "B", "C"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, marks=pytest.mark.xfail(reason="issue 39 open: today's default misses this floor"))
        if s in SHORT_OF_THE_FLOOR
        else s
        for s in ("A", "B", "C")
    ],
)
def test_the_stream_that_carries_the_emotion_is_read_right_in_7_of_8_segments(readings, scenario: str) -> None:
    right, detail = rate_in(readings, scenario)
    assert right >= FLOOR, f"{scenario} ({SCENARIOS[scenario]}): {right} of {PER_SCENARIO} right\n{detail}"


@pytest.mark.slow
def test_a_neutral_face_voice_and_words_raise_no_label_in_7_of_8_segments(readings) -> None:
    right, detail = rate_in(readings, "D")
    assert right >= FLOOR, f"D ({SCENARIOS['D']}): {right} of {PER_SCENARIO} right\n{detail}"


@pytest.mark.slow
def test_a_voice_that_carries_nothing_raises_no_label_as_it_starts(rendered, events) -> None:
    """Issue 39, item 3: in the first 2.5 s of a voice that carries nothing (A, C and D: RAVDESS neutral and calm
    actors the default never heard, espeak-ng voices in an accent it never heard), a label nobody showed passes
    with the voice deciding it in at most one window in ten (the issue found 39 of 160 with an earlier default;
    on the benchmark's validation half today's default did in 10 of 1200, the voice checkpoint alone in 208)."""
    _, segments, _ = rendered
    onset = voice_onset_alarms(events, segments)
    assert onset.windows >= 200, f"only {onset.windows} onset windows: were segments dropped?"
    assert onset.rate <= 0.1, f"{onset.alarms} of {onset.windows} windows, by label {onset.labels}"
