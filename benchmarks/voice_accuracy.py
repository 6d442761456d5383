"""Voice accuracy: speaker-independent folds over EmoDB and RAVDESS, and cross-corpus, CARAT on the voice
stream beside the standard baseline trained on exactly the same clips in the same run.

    .venv/bin/python benchmarks/voice_accuracy.py [--json] [--epochs 10] [--jobs 2] [--work build/voice]

The folds are the voice recipe's (trainer/recipes/voice_folds.py, which says how they are drawn, trained and
scored); this prints their figures. The recipe writes them to WORK/voice_accuracy.json, where
scripts/train_voice.py finds them (or runs the folds itself).

Data: EmoDB (CARAT_DATA/emodb, 8 German speakers) and RAVDESS (CARAT_DATA/ravdess, actors 01-16,
English) as voice-only live-shaped windows (trainer/voice_corpora.py: each clip in a recording with room
around it, 7 windows from half a second into the speech to 1.5 s after it, made by `main.py prepare`'s
code with the live extractors); a clip's scores are the mean of its windows' scores.

Folds (seed 0): EmoDB leave one speaker out (8 folds); RAVDESS in 4 groups of 4 actors (2 male, 2 female,
drawn by the seed). Fold k tests EmoDB speaker k and RAVDESS group k mod 4, so each RAVDESS actor is tested
twice, by two models that never heard them (its figures count both). Fold k's validation (the epoch the
training loop keeps, and one threshold for every label, chosen on the validation clips' seven-class UAR) is
the next EmoDB speaker and one male and one female actor of the next RAVDESS group; it trains on the rest
(6 EmoDB speakers, 10 RAVDESS actors), the calm synthetic voices and noise-only windows. Figures come from
that model (no refit). Cross-corpus: trained on EmoDB alone (one speaker for validation) and tested on all of
RAVDESS 01-16, and trained on RAVDESS alone (two actors for validation) and tested on all of EmoDB.

A clip none of whose windows holds speech (the speech gate kept no voice row: a few quiet RAVDESS clips) is
scored as live shows it: no vote, so neutral.

Seven classes (the six labels and neutral; RAVDESS calm and EmoDB boredom are neutral): CARAT's class is its
best label above the threshold, or neutral when none passes. UAR is over the classes present (EmoDB has no
surprise: its UAR is over six, though CARAT may still answer surprise).

Baseline: openSMILE eGeMAPSv02 functionals (88 per clip, of the clean clip), standardised, multinomial
logistic regression (scikit-learn), trained on the same speakers' clips (train + validation) of each task.
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
