"""Voice accuracy: speaker-independent folds over EmoDB and RAVDESS, and cross-corpus, CARAT on the voice
stream beside the standard baseline trained on exactly the same clips in the same run.

    .venv/bin/python benchmarks/voice_accuracy.py [--json] [--epochs 10] [--jobs 2] [--work build/voice]

The folds are the voice recipe's (trainer/recipes/voice_folds.py, which says how they are drawn, trained and
scored); this prints their figures. The recipe writes them to WORK/voice_accuracy.json, where
scripts/train_voice.py finds them (or runs the folds itself). Data come from CARAT_DATA/emodb and
CARAT_DATA/ravdess (trainer/data_folders.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.recipes.voice_folds import FoldSettings, cross_validation


def table(result: dict) -> str:
    lines = [
        (
            f"seven classes, seed {result['seed']}, {result['seconds'] / 60:.0f} min; UAR and recall of CARAT "
            "(voice) on the clips as recorded and in a webcam user's room, and of the baseline (as recorded)"
        )
    ]
    for title, both in (
        ("RAVDESS, 4 groups of 4 held-out actors (each tested twice)", result["ravdess"]),
        ("EmoDB, leave one speaker out", result["emodb"]),
        ("cross-corpus: EmoDB -> RAVDESS 01-16", result["cross_corpus"]["emodb_to_ravdess"]),
        ("cross-corpus: RAVDESS -> EmoDB", result["cross_corpus"]["ravdess_to_emodb"]),
    ):
        recorded, room = both["recorded"], both["webcam_room"]
        lines.append(f"{title}: {recorded['clips']} clip tests")
        lines.append(f"  {'':<10}{'recorded':>10}{'webcam room':>13}{'baseline':>10}")
        lines.append(
            f"  {'UAR':<10}{recorded['carat']['uar']:>10.3f}{room['carat']['uar']:>13.3f}{recorded['baseline']['uar']:>10.3f}"
        )
        for name in recorded["classes"]:
            lines.append(
                f"  {name:<10}{recorded['carat']['recall'][name]:>10.3f}{room['carat']['recall'][name]:>13.3f}"
                f"{recorded['baseline']['recall'][name]:>10.3f}"
            )
    lines.append(
        f"calm voices raising a label (mean of folds): {result['calm_voice_clip_false_alarm']:.3f} of clips, "
        f"{result['calm_voice_window_false_alarm']:.3f} of windows"
    )
    lines.append(f"baseline: {result['baseline']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=FoldSettings.work)
    parser.add_argument("--epochs", type=int, default=FoldSettings.epochs)
    parser.add_argument(
        "--jobs", type=int, default=FoldSettings.jobs, help="trainings at once, a process each (2 cores: 2)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = cross_validation(FoldSettings(work=args.work, epochs=args.epochs, jobs=args.jobs))
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
