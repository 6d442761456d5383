"""Fusion on the user's path (issue 39): held-out faces, voices and words put together in one webcam-like video,
segments back to back, through `main.py replay`, for the shipped default and for each stream's own checkpoint.

    .venv/bin/python benchmarks/fusion_accuracy.py [--per-scenario 30] [--seconds 5.0] [--half valid|test]
        [--seed 0] [--checkpoint models/carat_default.safetensors] [--skip-single] [--keep] [--json]

Material, scenarios and rendering: trainer/fusion_segments.py (its docstring gives each choice). In short: clear
FER+ faces of one held-out half (`--half valid`, the default, while choosing things; `--half test` for final
figures; seed 12 halves, majority share >= 0.6); RAVDESS actors 05, 06, 08, 13 (the shared copy has actors
01-16 only: these four are the ones the voice checkpoint below never heard, and the default never heard RAVDESS
at all) and EmoDB speakers 10 and 12 (the default's held-out test speakers; a third of B's segments of the labels
EmoDB has, none elsewhere); held-out single-label XED (seed-0 test split) and GoEmotions (test split) lines and
twenty neutral sentences of ours, spoken by espeak-ng in the accent its calm-voice training held out (en) in
four voices and four pitches. Only the faces change with `--half`: the words' valid splits were
trained on, and the voices are held-out speakers either way. Scenarios A (the face carries it), B (the voice),
C (the words), D (nothing), E (two streams agree), F (two disagree), `--per-scenario` segments each,
interleaved so consecutive segments show different labels; each segment `--seconds` long (5.0 s = 150 frames
at 30 fps; a duration of partial frames is refused), speech starting 0.4 s into it and ending at least 0.6 s
before its end. Everything is drawn from `--seed` (numpy default_rng).

Replays: `main.py replay VIDEO --exact --checkpoint CKPT --out DIR`, each in its own process with the engine's
default options (3 s windows every 0.25 s, 1 s smoothing), for the default (`--checkpoint`) and, unless
`--skip-single`, for each stream alone on the same video: models/carat_face.safetensors,
models/carat_voice_heldout.safetensors and models/carat_words.safetensors (each reads only its own stream). The
voice one is the held-out fold: models/carat_voice.safetensors was trained on every RAVDESS actor here and on
EmoDB 10 and 12, so on these segments it would be scored on its own training clips; carat_voice_heldout never
heard RAVDESS 05, 06, 08, 13 or EmoDB 10 (EmoDB 12 was its validation speaker: it chose its epoch, never trained
it). Its thresholds are 0.05 on every label, so it often passes more than one label.

Rules (trainer.fusion_segments.read_segment): a segment's decision windows are those ending in its second half.
Right: in at least half of them the decided labels (smoothed score above threshold) are exactly the target set
(A, B, C, E: the label shown; D: none). The stream shown as deciding: the most common `deciding_modality` for the
target over the decision windows in which it passes. Per scenario: the right rate for the default and for each
single-stream checkpoint; for A-C also the default's right rate among the segments that the carrying stream's
own checkpoint gets right, and the share of the default's right answers shown as decided by the carrying stream;
per label. F has no right answer: for each of its two labels, the share of segments in which it passes in at
least half of the decision windows (it "wins"), by pair (face against voice, face against words). Linger
(trainer.fusion_segments.lingering): for each label shown in a segment and not in the next, how long after the
next segment's start it stops passing (the end of the first window in which it no longer passes); over the
transitions where it passed at the boundary, the share gone within 2 s and the median; over all transitions,
the share in which it does not pass in any window ending more than 2 s into the next segment (this also counts
a label raised late, e.g. words recognised after their segment ended). Voice onset
(trainer.fusion_segments.voice_onset_alarms), for every replay: in the segments whose voice carries nothing, the
windows ending in the first 2.5 s after the speech starts in which a label nobody showed passes, decided by
the voice.

The floor this is judged on (issue 39, once the default is retrained): in A, B and C the default right on >= 0.9
of the segments the carrying stream alone gets right and on >= 0.80 of all; D >= 0.90; the deciding stream the
carrying one in >= 0.85 of A-C's right answers; a previous segment's emotion gone within 2 s in >= 0.9 of
transitions. The table marks each.

Output: the table (or `--json`: one object with every segment's plan, what the recogniser heard and each
checkpoint's reading), and a PNG of the per-scenario bars next to the video, under build/fusion/ (the video is
deleted at the end unless `--keep`; the replays' event folders stay). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carat_model.config import MOSEI_LABELS
from trainer.face_video import replay_events
from trainer.fusion_segments import (
    CARRIER,
    ONSET_S,
    SCENARIOS,
    STREAM_WORDS,
    FusionSegment,
    Linger,
    SegmentReading,
    lingering,
    read_segment,
    render_benchmark,
    voice_onset_alarms,
)

WORK = ROOT / "build" / "fusion"
SINGLE = {
    "face": ROOT / "models" / "carat_face.safetensors",
    "voice": ROOT / "models" / "carat_voice_heldout.safetensors",
    "words": ROOT / "models" / "carat_words.safetensors",
}
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


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = result["scenarios"]
    names = ["default", *[n for n in SINGLE if n in result["checkpoints"]]]
    plain = [s for s in SCENARIOS if s in figures and s != "F"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 1.4]})
    width = 0.8 / (len(names) + 1)
    for k, name in enumerate(names):
        values = [figures[s][name]["rate"] for s in plain]
        left.bar(np.arange(len(plain)) + k * width, values, width, label=name)
    given = [figures[s].get("right_given_carrier", {}).get("rate") for s in plain]
    given = [np.nan if g is None else g for g in given]  # only A-C have it
    left.bar(np.arange(len(plain)) + len(names) * width, given, width, label="default | carrier right", hatch="//")
    for floor, meaning in ((FLOORS["right"], "A-C floor"), (FLOORS["nothing"], "D floor")):
        left.axhline(floor, color="grey", linestyle=":", linewidth=0.8)
        left.text(len(plain) - 0.2, floor + 0.01, meaning, fontsize=7, color="grey", ha="right")
    left.set_xticks(np.arange(len(plain)) + width * len(names) / 2, [f"{s}: {SCENARIOS[s]}" for s in plain],
                    rotation=20, ha="right", fontsize=8)  # fmt: skip
    left.set_ylim(0, 1)
    left.set_ylabel("segments right")
    left.legend(fontsize=8)
    left.set_title(f"right per scenario ({result['per_scenario']} segments each, FER+ {result['half']} half)")
    if "F" in figures:
        pairs = list(figures["F"])
        for k, key in enumerate(("face", "other", "both", "neither")):
            right.bar(np.arange(len(pairs)) + k * 0.2, [figures["F"][p][key] for p in pairs], 0.2, label=key)
        right.set_xticks(np.arange(len(pairs)) + 0.3, pairs)
        right.set_ylim(0, 1)
        right.legend(fontsize=8)
        right.set_title("F: whose label passes (default)")
    linger = result["linger"]
    figure.suptitle(
        f"{Path(result['checkpoint']).name}; linger: gone within 2 s in "
        f"{_share(linger['gone_within_2s'])} of {linger['passing_at_boundary']} transitions, median "
        f"{_seconds(linger['median_s'])}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def print_table(result: dict) -> None:
    names = list(result["checkpoints"])
    print(
        f"{result['segments']} segments of {result['seconds']:g} s ({result['per_scenario']} per scenario), FER+ "
        f"{result['half']} half, seed {result['seed']}; default {result['checkpoint']}"
    )
    print_material(result["material"])
    print(f"\nright per scenario (segments right / segments){'':4s}" + "".join(f"{n:>14s}" for n in names))
    for scenario, entry in result["scenarios"].items():
        if scenario == "F":
            continue
        cells = "".join(f"{_cell(entry[n]):>14s}" for n in names)
        print(f"  {scenario} {SCENARIOS[scenario]:42s}{cells}")
    print("\nthe carrying stream (A face, B voice, C words):")
    for scenario in CARRIER:
        entry = result["scenarios"].get(scenario)
        if entry is None:
            continue
        given = entry.get("right_given_carrier")
        deciding = entry["deciding_carrier"]
        print(
            f"  {scenario}: default right on {_cell(given) if given else '-'} of the segments "
            f"{CARRIER_CHECKPOINT[scenario]} alone gets right; shown as decided by the "
            f"{STREAM_WORDS[CARRIER[scenario]]} in {_cell(deciding)} of its right answers {entry['deciding_counts']}"
        )
    print("\nper label (default):")
    print(f"  {'':3s}" + "".join(f"{label:>10s}" for label in MOSEI_LABELS))
    for scenario, entry in result["scenarios"].items():
        if "by_label" in entry:
            print(f"  {scenario:3s}" + "".join(f"{_cell(entry['by_label'].get(label)):>10s}" for label in MOSEI_LABELS))
    if "B" in result["scenarios"]:
        corpora = result["scenarios"]["B"]["by_corpus"]
        print("\nB by corpus (default): " + ", ".join(f"{c} {_cell(v)}" for c, v in corpora.items()))
    if "E" in result["scenarios"]:
        pairs = result["scenarios"]["E"]["by_pair"]
        print("E by pair (default): " + ", ".join(f"{p} {_cell(v)}" for p, v in pairs.items()), end="")
        print(f"; decided by, in its right answers: {result['scenarios']['E']['deciding_counts']}")
    if "F" in result["scenarios"]:
        print("\nF, two streams disagree (default): share of segments whose label passes")
        for pair, entry in result["scenarios"]["F"].items():
            print(
                f"  {pair} ({entry['segments']}): face {entry['face']:.2f}, {pair.split('+')[1]} "
                f"{entry['other']:.2f}, both {entry['both']:.2f}, neither {entry['neither']:.2f}"
            )
    linger = result["linger"]
    print(
        f"\nlinger (default): {linger['transitions']} transitions to a segment without the previous label; it "
        f"passed at the boundary in {linger['passing_at_boundary']}: gone within 2 s in "
        f"{_share(linger['gone_within_2s'])}, median {_seconds(linger['median_s'])}; absent from 2 s on in "
        f"{_share(linger['absent_after_2s_all'])} of all transitions"
    )
    for name, onset in result["voice_onset"].items():
        print(
            f"voice onset ({name}): in the first {ONSET_S:g} s of a voice that carries nothing, a label nobody "
            f"showed passed with the voice deciding in {onset['alarms']} of {onset['windows']} windows "
            f"({_share(onset['rate'])}) {onset['labels'] or ''}"
        )
    print("\nfloor (issue 39; today's default is not expected to reach it):")
    for check, passed in result["floor"].items():
        print(f"  {'-' if passed is None else ('pass' if passed else 'FAIL'):4s}  {check}")
    print(f"\nreplays: {result['replay_seconds']}; bars: {result['png']}")


def print_material(material: dict) -> None:
    """Clips drawn per corpus and label, faces reused (a pool ran out), recordings skipped (too long)."""

    def drawn(pools: dict) -> str:
        return ", ".join(
            f"{key} {pool['drawn']}" + (f" ({pool['reused']} reused of {pool['pool']})" if pool["reused"] else "")
            for key, pool in pools.items()
        )

    print(f"faces (FER+): {drawn(material['faces'])}")
    print(f"RAVDESS clips: {drawn(material['ravdess'])}")
    print(f"EmoDB clips: {drawn(material['emodb'])}")
    print(f"espeak-ng lines: {drawn(material['lines'])}; neutral sentences {material['neutral_sentences']['drawn']}")
    lines_skipped = sum(pool["skipped_too_long"] for pool in material["lines"].values())
    print(
        f"skipped as longer than a segment's room: recordings {material['skipped'] or 'none'}; lines "
        f"{lines_skipped}; neutral sentences {material['neutral_sentences']['skipped_too_long']}"
    )


def _cell(entry: dict | None) -> str:
    if not entry or not entry["of"]:
        return "-"
    return f"{entry['right']}/{entry['of']} {entry['rate']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-scenario", type=int, default=30, help="segments of each scenario")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds a segment (a whole number of frames)")
    parser.add_argument("--half", choices=("valid", "test"), default="valid",
                        help="FER+ half for the faces: valid (choosing things) or test (final figures)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="draws the material and the head motion")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "carat_default.safetensors")
    parser.add_argument("--skip-single", action="store_true", help="replay the default only")
    parser.add_argument("--keep", action="store_true", help="keep the video (build/fusion/)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.per_scenario < 1:
        raise SystemExit("--per-scenario must be at least 1")

    WORK.mkdir(parents=True, exist_ok=True)
    stem = f"{args.half}_seed{args.seed}"
    video = WORK / f"{stem}.mp4"
    print(f"rendering {6 * args.per_scenario} segments to {video}", file=sys.stderr, flush=True)
    try:
        segments, settings, material = render_benchmark(
            video, args.per_scenario, half=args.half, seed=args.seed, seconds_each=args.seconds
        )
    except ValueError as error:
        raise SystemExit(f"--seconds: {error}") from error
    fps = settings.fps
    checkpoints = {"default": args.checkpoint} | ({} if args.skip_single else SINGLE)
    events, seconds = {}, {}
    for name, checkpoint in checkpoints.items():
        print(f"replaying it with {name} ({checkpoint})", file=sys.stderr, flush=True)
        start = time.perf_counter()
        events[name] = replay_events(video, checkpoint, WORK / f"{stem}_{name}")
        seconds[name] = round(time.perf_counter() - start, 1)
    if not args.keep:
        video.unlink()

    readings = {name: [read_segment(events[name], s, fps) for s in segments] for name in checkpoints}
    figures = scenario_figures(segments, readings)
    linger = linger_figures(lingering(events["default"], segments, fps))
    result = {
        "checkpoint": str(args.checkpoint),
        "checkpoints": {name: str(path) for name, path in checkpoints.items()},
        "half": args.half,
        "seed": args.seed,
        "per_scenario": args.per_scenario,
        "seconds": args.seconds,
        "segments": len(segments),
        "video": {
            "fps": fps,
            "size": list(settings.size),
            "face_widths": list(settings.face_widths),
            "crf": settings.crf,
            "audio": "AAC 16 kHz mono",
        },
        "material": material,
        "scenarios": figures,
        "linger": linger,
        "voice_onset": {name: onset_figures(voice_onset_alarms(events[name], segments)) for name in events},
        "floor": floor_checks(figures, linger),
        "replay_seconds": seconds,
        "png": str(WORK / f"{stem}_scenarios.png"),
        "per_segment": [
            segment_record(i, s, fps, heard(events["default"], s, fps), readings) for i, s in enumerate(segments)
        ],
    }
    plot(result, Path(result["png"]))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
