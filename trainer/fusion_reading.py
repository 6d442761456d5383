"""A replay of the fusion benchmark's video read back segment by segment, from its events.jsonl.

Reading a replay back (`read_segment`): a segment's decision windows are the events whose window ends in the
segment's second half (after its midpoint, up to and including its end). The segment is right when, in at
least half of its decision windows, the set of labels decided (smoothed score above threshold) is exactly its
targets: the label shown (A, B, C, E), nothing (D). F has no right answer: each of its two labels "wins" when
it passes in at least half of the decision windows. The stream shown as deciding a label is the most common
`deciding_modality` for it over the decision windows in which it passes. Linger (`lingering`): for each label
shown in a segment and not in the next, whether it passed in the window ending at the boundary, and the time
from the next segment's start to the end of the first window after it in which the label no longer passes
(the segment's length when it never stops), and to the end of the last window of the next segment in which it
passes (0 when none: a label raised late, e.g. by words recognised after their segment ended, shows here).
Voice onset (`voice_onset_alarms`: does the voice stream know when it does not know?): in the segments whose
voice carries nothing (A, C, D, and E and F where the words carry the label), the windows ending in the first
`ONSET_S` seconds after the speech starts, and those of them in which a label nobody showed passes with the
voice deciding it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .face_video import EDGE
from .fusion_plan import FusionSegment


@dataclass(frozen=True)
class SegmentReading:
    """One segment read from one replay's events (module docstring's rules)."""

    right: bool
    exact_share: float  # of the decision windows, those whose decided labels are exactly the targets
    passing: dict[str, float]  # label -> share of the decision windows in which it passes
    deciding: dict[str, str | None]  # target label -> the stream most often deciding it where it passes
    windows: int


def decision_windows(events: Iterable[dict], segment: FusionSegment, fps: float) -> list[dict]:
    """The events (as in events.jsonl) whose window ends in the segment's second half."""
    middle, end = (segment.start_s(fps) + segment.end_s(fps)) / 2, segment.end_s(fps)
    return [e for e in events if middle + EDGE < e["window_end"] <= end + EDGE]


def decided_labels(event: dict) -> frozenset[str]:
    return frozenset(label for label, passed in zip(event["labels"], event["decided"]) if passed)


def read_segment(events: Sequence[dict], segment: FusionSegment, fps: float) -> SegmentReading:
    windows = decision_windows(events, segment, fps)
    if not windows:
        raise ValueError(
            f"no window ends in the second half of the segment from {segment.start_s(fps):.2f} to "
            f"{segment.end_s(fps):.2f} s; was the replay cut short?"
        )
    targets = segment.plan.targets
    exact = float(np.mean([decided_labels(e) == targets for e in windows]))
    labels = windows[0]["labels"]
    passing = {label: float(np.mean([e["decided"][i] for e in windows])) for i, label in enumerate(labels)}
    deciding = {}
    for label in sorted(targets):
        at = labels.index(label)
        streams = Counter(e["deciding_modality"][at] for e in windows if e["decided"][at])
        deciding[label] = streams.most_common(1)[0][0] if streams else None
    return SegmentReading(exact >= 0.5, exact, passing, deciding, len(windows))


@dataclass(frozen=True)
class Linger:
    """A label shown in one segment and not in the next, and how long it stayed."""

    next_segment: int  # index of the next segment
    label: str
    at_boundary: bool  # it passed in the window ending at the boundary
    gone_after_s: float  # the next segment's start -> the end of the first window in which it no longer passes
    last_pass_s: float  # the next segment's start -> the end of the last window in it in which it passes (0: none)


def lingering(events: Sequence[dict], segments: Sequence[FusionSegment], fps: float) -> list[Linger]:
    """Every label shown in a segment and not in the next (module docstring)."""
    ordered = sorted(events, key=lambda e: e["window_end"])
    ends = np.array([e["window_end"] for e in ordered])
    found = []
    for position in range(1, len(segments)):
        before, after = segments[position - 1], segments[position]
        start, end = after.start_s(fps), after.end_s(fps)
        boundary = np.flatnonzero(np.abs(ends - start) <= EDGE)
        inside = [ordered[i] for i in np.flatnonzero((ends > start + EDGE) & (ends <= end + EDGE))]
        for label in sorted(before.plan.targets - after.plan.targets):
            at = ordered[0]["labels"].index(label)
            passed = bool(len(boundary)) and bool(ordered[boundary[0]]["decided"][at])
            stopped = next((e["window_end"] for e in inside if not e["decided"][at]), end)
            last = max((e["window_end"] for e in inside if e["decided"][at]), default=start)
            found.append(Linger(position, label, passed, round(stopped - start, 6), round(last - start, 6)))
    return found


ONSET_S = 2.5  # seconds after a voice starts: the stretch where the voice stream raised labels nobody showed


@dataclass(frozen=True)
class OnsetAlarms:
    windows: int  # windows ending in the first ONSET_S of a voice that carries nothing
    alarms: int  # of them: a label nobody showed passes, decided by the voice
    labels: dict[str, int]  # alarms by label

    @property
    def rate(self) -> float | None:
        return self.alarms / self.windows if self.windows else None


def voice_onset_alarms(
    events: Sequence[dict], segments: Sequence[FusionSegment], seconds: float = ONSET_S
) -> OnsetAlarms:
    """The module docstring's voice-onset count, over the segments whose voice carries no label."""
    windows, alarms, labels = 0, 0, Counter()
    for segment in segments:
        if segment.plan.speech.voice_label:
            continue
        start = segment.speech_start_s
        for event in events:
            if not start + EDGE < event["window_end"] <= start + seconds + EDGE:
                continue
            windows += 1
            raised = [label for label, passed, stream in zip(event["labels"], event["decided"], event["deciding_modality"])
                      if passed and stream == "audio" and label not in segment.plan.targets]  # fmt: skip
            alarms += bool(raised)
            labels.update(raised)
    return OnsetAlarms(windows, alarms, dict(labels))
