"""Reproduce the shipped default (models/carat_default.safetensors): one CARAT that sees, hears and reads,
trained on three single-stream sources at once by the default recipe (trainer/recipes/default.py, whose
docstring says how; trainer/recipes/default_sources.py names the sources).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_default.py [--seed 0] [--epochs 10] [--lr 5e-4] [--no-ship]
    .venv/bin/python scripts/train_default.py --card-only [--second-run build/default/seed-1/figures.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.recipes.default import (
    PAIRS,
    THREE_STREAM,
    DefaultSettings,
    co_present,
    rewrite_card,
    ship,
    train_default,
)


def load_seconds(path: Path) -> float:
    """Seconds for the app's Predictor to load the checkpoint (the median of three, warm disk)."""
    from app.predictor import Predictor

    times = []
    for _ in range(3):
        began = time.perf_counter()
        Predictor(path)
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def parse_args() -> argparse.Namespace:
    defaults = DefaultSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=defaults.work)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate")
    parser.add_argument(
        "--stopped", action="store_true", help="a run stopped by hand: measure and save its best epoch so far"
    )
    parser.add_argument("--steps-per-epoch", type=int, default=defaults.steps_per_epoch)
    parser.add_argument(
        "--voice-min-rows",
        type=int,
        default=defaults.voice_min_rows,
        help="voice rows a window needs before the voice votes (CaratConfig.audio_min_rows)",
    )
    parser.add_argument("--co-present", action="store_true", help=f"add two-stream windows to each batch: {PAIRS}")
    parser.add_argument(
        "--three-stream", action="store_true", help=f"add three-stream windows to each batch: {THREE_STREAM}"
    )
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--no-ship", action="store_true", help="train and measure, but leave models/ alone")
    parser.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from default_metrics.json")
    parser.add_argument("--second-run", type=Path, help="figures.json of another seed's run, for the card")
    parser.add_argument(
        "--ship-from",
        type=Path,
        help="ship a --no-ship run's checkpoint (RUN/default_fp16.safetensors), "
        "measured again beside the single-stream checkpoints now in models/",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.card_only:
        rewrite_card(args.out, args.second_run)
        return 0
    if args.ship_from:
        figures = ship(args.ship_from, args.work, args.out, load_seconds)
        print(json.dumps({k: figures[k] for k in ("default", "single_stream", "valid_merit")}, indent=1))
        return 0
    settings = DefaultSettings(
        work=args.work,
        out=args.out,
        seed=args.seed,
        epochs=args.epochs,
        lr=args.lr,
        steps_per_epoch=args.steps_per_epoch,
        voice_min_rows=args.voice_min_rows,
        pairs=co_present(args.co_present, args.three_stream),
        stopped=args.stopped,
        ship=not args.no_ship,
    )
    figures = train_default(settings, load_seconds)
    print(json.dumps({k: figures[k] for k in ("default", "single_stream", "best_epoch", "minutes")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
