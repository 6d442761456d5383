"""Reproduce the words checkpoint (models/carat_words.safetensors): the words stream alone, trained on
XED + GoEmotions, by the words recipe (trainer/recipes/words.py, whose docstring gives the steps).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_words.py [--work build/words] [--epochs 6]
    .venv/bin/python scripts/train_words.py --card-only      # WORDS_MODEL_CARD.md again from words_metrics.json

The text encoder (models/words_encoder.safetensors) comes first, from scripts/finetune_words_encoder.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.recipes.words import WordsSettings, rewrite_card, train_words


def main() -> int:
    defaults = WordsSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=defaults.work)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--card-only", action="store_true", help="rewrite WORDS_MODEL_CARD.md from words_metrics.json")
    args = parser.parse_args()
    if args.card_only:
        rewrite_card(args.out)
        return 0
    figures = train_words(WordsSettings(work=args.work, out=args.out, epochs=args.epochs, workers=args.workers))
    print(json.dumps({k: figures[k] for k in ("xed", "goemotions", "samples", "best_epoch")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
