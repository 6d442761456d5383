"""The fusion benchmark's figures from its readings (benchmarks/fusion_accuracy.py's docstring gives each rule):
per scenario, F's winners, linger, voice onset, the floor checks and each segment's record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from carat_model.config import MOSEI_LABELS
from trainer.fusion_plan import CARRIER, SCENARIOS, STREAM_WORDS, FusionSegment
from trainer.fusion_reading import Linger, SegmentReading

CARRIER_CHECKPOINT = {"A": "face", "B": "voice", "C": "words"}
FLOORS = {"right_given_carrier": 0.9, "right": 0.80, "nothing": 0.90, "deciding": 0.85, "linger": 0.9}
LINGER_S = 2.0


def heard(events: Sequence[dict], segment: FusionSegment, fps: float) -> str:
    """The words the recogniser gave for speech starting in the segment."""
    start, end = segment.start_s(fps), segment.end_s(fps)
    words = {(w["start"], w["text"]) for e in events for w in e["words"] if start <= w["start"] < end}
    return " ".join(text for _, text in sorted(words))


def rate(flags: Sequence[bool]) -> dict:
    return {"right": int(sum(flags)), "of": len(flags), "rate": float(np.mean(flags)) if len(flags) else None}


def scenario_figures(segments: list[FusionSegment], readings: dict[str, list[SegmentReading]]) -> dict:
    """Per scenario: each checkpoint's right rate, per label; for A-C the carrier-conditioned rate and the
    deciding stream; B by corpus; F's winners."""
    figures = {}
    default = readings["default"]
    for scenario in SCENARIOS:
        at = [i for i, s in enumerate(segments) if s.plan.scenario == scenario]
        if not at:
            continue
        if scenario == "F":
            figures["F"] = winners(segments, default, at)
            continue
        entry = {name: rate([readings[name][i].right for i in at]) for name in readings}
        entry["by_label"] = {
            label: rate([default[i].right for i in at if label in segments[i].plan.targets])
            for label in MOSEI_LABELS
            if any(label in segments[i].plan.targets for i in at)
        }
        if scenario in CARRIER:
            carrier, stream = CARRIER_CHECKPOINT[scenario], CARRIER[scenario]
            if carrier in readings:
                entry["right_given_carrier"] = rate([default[i].right for i in at if readings[carrier][i].right])
            label_of = {i: next(iter(segments[i].plan.targets)) for i in at}
            right = [i for i in at if default[i].right]
            entry["deciding_carrier"] = rate([default[i].deciding[label_of[i]] == stream for i in right])
            entry["deciding_counts"] = _counts(str(default[i].deciding[label_of[i]]) for i in right)
        if scenario == "B":
            entry["by_corpus"] = {
                corpus: rate([default[i].right for i in at if segments[i].plan.speech.corpus == corpus])
                for corpus in ("ravdess", "emodb")
            }
        if scenario == "E":
            entry["by_pair"] = {
                pair: rate([default[i].right for i in at if _pair(segments[i]) == pair])
                for pair in sorted({_pair(segments[i]) for i in at})
            }
            label_of = {i: next(iter(segments[i].plan.targets)) for i in at}
            entry["deciding_counts"] = _counts(str(default[i].deciding[label_of[i]]) for i in at if default[i].right)
        figures[scenario] = entry
    return figures


def _counts(values) -> dict[str, int]:
    return dict(Counter(values))


def _pair(segment: FusionSegment) -> str:
    """The streams carrying a label in the segment, in user words: "face+voice"."""
    return "+".join(STREAM_WORDS[stream] for stream in ("visual", "audio", "text") if stream in segment.plan.shown)


def winners(segments: list[FusionSegment], readings: list[SegmentReading], at: list[int]) -> dict:
    """F: per pair, how often the face's label wins (passes in at least half of the decision windows), the
    other stream's does, both, neither."""
    result = {}
    for pair in sorted({_pair(segments[i]) for i in at}):
        face_wins, other_wins = [], []
        for i in at:
            if _pair(segments[i]) != pair:
                continue
            shown = segments[i].plan.shown
            other = next(stream for stream in shown if stream != "visual")
            face_wins.append(readings[i].passing[shown["visual"]] >= 0.5)
            other_wins.append(readings[i].passing[shown[other]] >= 0.5)
        face, other = np.array(face_wins), np.array(other_wins)
        result[pair] = {
            "segments": len(face),
            "face": float(face.mean()),
            "other": float(other.mean()),
            "both": float((face & other).mean()),
            "neither": float((~face & ~other).mean()),
        }
    return result


def linger_figures(found: list[Linger]) -> dict:
    lingering_ones = [f for f in found if f.at_boundary]
    gone = [f.gone_after_s for f in lingering_ones]
    return {
        "transitions": len(found),
        "passing_at_boundary": len(lingering_ones),
        "gone_within_2s": float(np.mean([g <= LINGER_S + 1e-6 for g in gone])) if gone else None,
        "median_s": float(np.median(gone)) if gone else None,
        "absent_after_2s_all": float(np.mean([f.last_pass_s <= LINGER_S + 1e-6 for f in found])) if found else None,
    }


def onset_figures(found) -> dict:
    return {"windows": found.windows, "alarms": found.alarms, "rate": found.rate, "labels": found.labels}


def floor_checks(figures: dict, linger: dict) -> dict[str, bool | None]:
    checks: dict[str, bool | None] = {}
    for scenario in CARRIER:
        entry = figures.get(scenario)
        if entry is None:
            continue
        given = entry.get("right_given_carrier", {}).get("rate")
        checks[f"{scenario} right given carrier >= {FLOORS['right_given_carrier']}"] = (
            None if given is None else given >= FLOORS["right_given_carrier"]
        )
        checks[f"{scenario} right >= {FLOORS['right']}"] = entry["default"]["rate"] >= FLOORS["right"]
    if "D" in figures:
        checks[f"D right >= {FLOORS['nothing']}"] = figures["D"]["default"]["rate"] >= FLOORS["nothing"]
    right = sum(figures[s]["deciding_carrier"]["right"] for s in CARRIER if s in figures)
    of = sum(figures[s]["deciding_carrier"]["of"] for s in CARRIER if s in figures)
    checks[f"A-C deciding stream right >= {FLOORS['deciding']}"] = right / of >= FLOORS["deciding"] if of else None
    gone = linger["gone_within_2s"]
    checks[f"linger gone within 2 s >= {FLOORS['linger']}"] = None if gone is None else gone >= FLOORS["linger"]
    return checks


def segment_record(index: int, segment: FusionSegment, fps: float, words: str, readings: dict) -> dict:
    plan = segment.plan
    return {
        "index": index,
        "scenario": plan.scenario,
        "start_s": segment.start_s(fps),
        "targets": sorted(plan.targets),
        "shown": {STREAM_WORDS[s]: label for s, label in plan.shown.items()},
        "face": {"ferplus_index": plan.face_index, "label": plan.face_label or "neutral", "width": segment.face_width},
        "speech": {"corpus": plan.speech.corpus, "source": plan.speech.source, "text": plan.speech.text,
                   "voice_label": plan.speech.voice_label, "words_label": plan.speech.words_label,
                   "line_corpus": plan.speech.line_corpus,
                   "seconds": round(segment.speech_end_s - segment.speech_start_s, 3)},
        "heard": words,
        "readings": {name: {"right": r[index].right, "exact_share": round(r[index].exact_share, 3),
                            "passing": {k: round(v, 3) for k, v in r[index].passing.items() if v > 0},
                            "deciding": r[index].deciding} for name, r in readings.items()},
    }  # fmt: skip
