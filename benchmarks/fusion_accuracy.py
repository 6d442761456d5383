"""Fusion on the user's path: held-out faces, voices and words put together in one webcam-like video,
segments back to back, through `main.py replay`, for the shipped default and for each stream's own checkpoint.

    .venv/bin/python benchmarks/fusion_accuracy.py [--per-scenario 30] [--seconds 5.0] [--half valid|test]
        [--seed 0] [--checkpoint models/carat_default.safetensors] [--skip-single] [--keep] [--json]

Material, scenarios and rendering: trainer/fusion_segments.py and the modules it names (their docstrings give
each choice). In short: clear
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

Rules (trainer.fusion_reading.read_segment): a segment's decision windows are those ending in its second half.
Right: in at least half of them the decided labels (smoothed score above threshold) are exactly the target set
(A, B, C, E: the label shown; D: none). The stream shown as deciding: the most common `deciding_modality` for the
target over the decision windows in which it passes. Per scenario: the right rate for the default and for each
single-stream checkpoint; for A-C also the default's right rate among the segments that the carrying stream's
own checkpoint gets right, and the share of the default's right answers shown as decided by the carrying stream;
per label. F has no right answer: for each of its two labels, the share of segments in which it passes in at
least half of the decision windows (it "wins"), by pair (face against voice, face against words). Linger
(trainer.fusion_reading.lingering): for each label shown in a segment and not in the next, how long after the
next segment's start it stops passing (the end of the first window in which it no longer passes); over the
transitions where it passed at the boundary, the share gone within 2 s and the median; over all transitions,
the share in which it does not pass in any window ending more than 2 s into the next segment (this also counts
a label raised late, e.g. words recognised after their segment ended). Voice onset
(trainer.fusion_reading.voice_onset_alarms), for every replay: in the segments whose voice carries nothing, the
windows ending in the first 2.5 s after the speech starts in which a label nobody showed passes, decided by
the voice.

The floor this is judged on (the target for a retrained default): in A, B and C the default right on >= 0.9
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fusion_figures import (
    floor_checks,
    heard,
    linger_figures,
    onset_figures,
    scenario_figures,
    segment_record,
)
from benchmarks.fusion_report import plot, print_table
from trainer.face_video import replay_events
from trainer.fusion_reading import lingering, read_segment, voice_onset_alarms
from trainer.fusion_segments import render_benchmark

WORK = ROOT / "build" / "fusion"
SINGLE = {
    "face": ROOT / "models" / "carat_face.safetensors",
    "voice": ROOT / "models" / "carat_voice_heldout.safetensors",
    "words": ROOT / "models" / "carat_words.safetensors",
}


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
