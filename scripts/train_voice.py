"""Make the shipped voice checkpoints from EmoDB and RAVDESS by the voice recipe (trainer/recipes/voice.py, whose
docstring says what it writes). The recipe's folds choose the epochs and threshold: they run first unless
they have (benchmarks/voice_accuracy.py runs and prints them, into the same WORK/voice_accuracy.json).

    .venv/bin/python scripts/train_voice.py [--no-ravdess] [--work build/voice] [--out models]
    .venv/bin/python scripts/train_voice.py --card-only      # VOICE_MODEL_CARD.md again from voice_metrics.json

RAVDESS is CC BY-NC-SA 4.0, so these weights carry its terms. `--no-ravdess` makes the same checkpoint from
EmoDB alone (CC0), with the epochs and threshold of the folds' EmoDB-only training, into `--out`
(models/carat_voice.safetensors by default: give another folder to keep the shipped one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.recipes.voice import VoiceSettings, rewrite_card, train_voice


def main() -> int:
    defaults = VoiceSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=defaults.work)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--no-ravdess", action="store_true", help="EmoDB alone: weights free of RAVDESS's licence")
    parser.add_argument("--fold-epochs", type=int, default=defaults.fold_epochs, help="the folds' epochs, if they run")
    parser.add_argument("--jobs", type=int, default=defaults.fold_jobs, help="fold trainings at once, if they run")
    parser.add_argument("--card-only", action="store_true", help="rewrite VOICE_MODEL_CARD.md from voice_metrics.json")
    args = parser.parse_args()
    if args.card_only:
        rewrite_card(args.out)
        return 0
    settings = VoiceSettings(work=args.work, out=args.out, ravdess=not args.no_ravdess, fold_epochs=args.fold_epochs,
                             fold_jobs=args.jobs)  # fmt: skip
    figures = train_voice(settings)
    print(f"wrote {args.out / 'carat_voice.safetensors'} ({figures['epochs']} epochs, threshold "
          f"{figures['threshold']:.3f}; trained in {figures['minutes']} min)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
