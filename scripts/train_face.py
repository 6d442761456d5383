"""Train the shipped face checkpoint (models/carat_face.safetensors): the face stream alone, on FER+, by the
face recipe (trainer/recipes/face.py, whose docstring gives the steps).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_face.py [--epochs 8] [--lr 6e-4] [--weight-decay 0.05]
        [--jitter-sets DIR ...] [--save PATH] [--from-checkpoint CKPT] [--evaluate CKPT]

The expression CNN (feature_extractors/models/expression_cnn.safetensors) comes first from
scripts/train_face_cnn.py, the extractor's observations of every FER+ face from scripts/cache_ferplus_faces.py.
The held-out figures come from benchmarks/face_accuracy.py (through the live extractor, beside fer's CNN).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.recipes.face import FaceSettings, evaluate_checkpoint, train_face


def parse_args() -> argparse.Namespace:
    defaults = FaceSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=defaults.work)
    parser.add_argument("--prepared", type=Path, help="the prepared face windows (default WORK/prepared)")
    parser.add_argument(
        "--jitter-sets",
        type=Path,
        nargs="*",
        default=[],
        help="more prepared folders of the same faces, other jitter: epochs cycle through them",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="CARAT's dropout (streams_config: 0.1)")
    parser.add_argument(
        "--contrastive-weight", type=float, help="CARAT's contrastive loss weight (default the config's, 1.0)"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        help="train no further than this epoch (the schedule stays "
        "--epochs long), then choose among the epochs done; rerun to score a stopped run's epochs",
    )
    parser.add_argument(
        "--average", type=int, default=defaults.average, help="also try weight averages of up to this many epochs"
    )
    parser.add_argument(
        "--uar-weight", type=float, default=defaults.uar_weight, help="thresholds maximise accuracy + this * UAR"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--run", type=Path, help="the run folder (default WORK/run-EPOCHS-LR)")
    parser.add_argument("--save", type=Path, default=defaults.save, help="where the chosen checkpoint goes")
    parser.add_argument(
        "--from-checkpoint", type=Path, help="skip training: tune thresholds for and save this checkpoint"
    )
    parser.add_argument("--evaluate", type=Path, help="only print this checkpoint's validation figures")
    parser.add_argument(
        "--init", type=Path, help="fine-tune: start from this checkpoint's weights (e.g. the shipped default)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    settings = FaceSettings(
        work=args.work,
        prepared=args.prepared,
        jitter_sets=tuple(args.jitter_sets),
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        contrastive_weight=args.contrastive_weight,
        stop_after=args.stop_after,
        average=args.average,
        uar_weight=args.uar_weight,
        seed=args.seed,
        run=args.run,
        save=args.save,
        from_checkpoint=args.from_checkpoint,
        init=args.init,
    )
    if args.evaluate:
        print(json.dumps(evaluate_checkpoint(settings, args.evaluate), indent=2))
        return 0
    train_face(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
