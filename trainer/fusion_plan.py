"""The fusion benchmark's segments: what each shows (its scenario, face and speech) and in what order.

Scenarios (`SCENARIOS`), `per_scenario` segments each; in each, the label cycles over the six in turn (each
scenario starting at a different one) and the segments are interleaved scenario by scenario (A B C D E F A ...),
so consecutive segments show different labels (the linger measure needs transitions):
- A, the face carries it: an emotional face; a neutral voice and words (a RAVDESS neutral/calm clip or an
  espeak-ng neutral sentence, alternating).
- B, the voice carries it: a neutral face; an emotional RAVDESS clip, or EmoDB for a third of them (`EMODB_EVERY`).
- C, the words carry it: a neutral face; an emotional line spoken by espeak-ng (XED and GoEmotions alternating).
- D, nothing: a neutral face; a neutral voice and words (as in A).
- E, two streams agree: an emotional face with a RAVDESS voice of the same label, or with a line of it
  (alternating).
- F, two streams disagree: an emotional face with a RAVDESS voice of another label, or with a line of another
  label (alternating). (Voice against words would need an emotional voice saying emotional words: no corpus
  here has both, so F pits the face against each.)
Every draw (faces, clips, lines, espeak-ng voices, head motion) comes from the seed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from carat_model.config import MOSEI_LABELS

from .fusion_material import EMODB_EVERY, Material, Speech

SCENARIOS = {
    "A": "the face carries it",
    "B": "the voice carries it",
    "C": "the words carry it",
    "D": "nothing",
    "E": "two streams agree",
    "F": "two streams disagree",
}
CARRIER = {"A": "visual", "B": "audio", "C": "text"}  # the stream that carries A, B and C (CARAT's names)
STREAM_WORDS = {"visual": "face", "audio": "voice", "text": "words"}
LABEL_OFFSET = {"A": 0, "B": 1, "C": 2, "D": 0, "E": 3, "F": 4}  # where each scenario's label cycle starts


@dataclass(frozen=True)
class SegmentPlan:
    """One segment: its scenario, its face (a FER+ index and its majority class) and its speech."""

    scenario: str
    face_index: int
    face_label: str  # "" neutral
    speech: Speech

    @property
    def shown(self) -> dict[str, str]:
        """stream (CARAT's modality name) -> the label it carries, for each stream that carries one."""
        carried = {"visual": self.face_label, "audio": self.speech.voice_label, "text": self.speech.words_label}
        return {stream: label for stream, label in carried.items() if label}

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(self.shown.values())


@dataclass(frozen=True)
class FusionSegment:
    """A segment as rendered: its plan and where it lies in the video."""

    plan: SegmentPlan
    start_frame: int
    frames: int
    face_width: int  # px, before head motion
    speech_start_s: float  # in the video
    speech_end_s: float

    def start_s(self, fps: float) -> float:
        return self.start_frame / fps

    def end_s(self, fps: float) -> float:
        return (self.start_frame + self.frames) / fps



def plan_segments(material: Material, per_scenario: int, scenarios: str = "ABCDEF") -> list[SegmentPlan]:
    """`per_scenario` segments of each scenario, interleaved (module docstring), drawn from `material`."""
    labels = MOSEI_LABELS

    def corpus_of(count: int) -> str:
        return "xed" if count % 2 == 0 else "goemotions"

    seen: Counter[tuple[str, str]] = Counter()  # (scenario, label) -> segments so far
    plans = []
    for k in range(per_scenario):
        for scenario in scenarios:
            label = labels[(k + LABEL_OFFSET[scenario]) % len(labels)]
            nth = seen[scenario, label]
            seen[scenario, label] += 1
            alternate = (nth + labels.index(label)) % 2 == 0  # half of each label's segments each way
            if scenario == "A":
                plan = SegmentPlan("A", material.face(label), label, material.neutral_speech(alternate))
            elif scenario == "B":
                corpus = "emodb" if label in material.emodb and nth % EMODB_EVERY == 1 else "ravdess"
                plan = SegmentPlan("B", material.face(""), "", material.recorded(corpus, label))
            elif scenario == "C":
                speech = material.spoken(label, corpus_of(nth + labels.index(label)))
                plan = SegmentPlan("C", material.face(""), "", speech)
            elif scenario == "D":
                plan = SegmentPlan("D", material.face(""), "", material.neutral_speech(alternate))
            elif scenario == "E":
                speech = material.recorded("ravdess", label) if alternate else material.spoken(label, corpus_of(nth))
                plan = SegmentPlan("E", material.face(label), label, speech)
            else:
                other = labels[(k + LABEL_OFFSET[scenario] + 1) % len(labels)]
                speech = material.recorded("ravdess", other) if alternate else material.spoken(other, corpus_of(k))
                plan = SegmentPlan("F", material.face(label), label, speech)
            plans.append(plan)
    return plans
