"""Train the shipped face checkpoint (models/carat_face.safetensors): the face stream alone, on FER+.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_face.py [--epochs 6] [--from-checkpoint RUN/model.safetensors]

Steps (the expression CNN, feature_extractors/models/expression_cnn.safetensors, comes first from
scripts/train_face_cnn.py; the extractor's observations of every FER+ face from
scripts/cache_ferplus_faces.py):
1. `main.py prepare`'s face-set route (`trainer.face_images.prepare_face_set`) on ../shared FER+: one
   face-only window per face (the still face over a live window's frames, jittered), vote shares of our six
   labels as soft targets, in the stream window (`trainer.presets.STREAMS_WINDOW`) -> build/face/prepared.
   FER+ train -> train; FER+ valid halved by seed 12 -> valid (epochs, thresholds) and test (figures only).
2. `main.py train`'s `fit` with the face branch only (words and voice absent) and `streams_config`.
3. Thresholds for the 7-class decision (neutral when no label passes) tuned on the validation faces for
   accuracy + w * UAR (--uar-weight, default 1), one label at a time over a grid; saved as float16 with
   trained_modalities ["visual"]. With --from-checkpoint, step 2 is skipped (a run's best.safetensors).
The held-out figures come from benchmarks/face_accuracy.py (through the live extractor, beside fer's CNN).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FERPLUS = ROOT.parent / "shared" / "data" / "ferplus" / "ferplus48.npz"
TARGET = ROOT / "models" / "carat_face.safetensors"


def seven_class(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The 7-class decision: the best-scoring label above its threshold (1 + index), else neutral (0)."""
    passing = np.where(scores > thresholds, scores, -np.inf)
    return np.where(np.isfinite(passing).any(1), passing.argmax(1) + 1, 0)


def accuracy_and_uar(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    recalls = [(predicted[truth == k] == k).mean() for k in np.unique(truth)]
    return float((predicted == truth).mean()), float(np.mean(recalls))


def tune_seven_class_thresholds(
    scores: np.ndarray, truth: np.ndarray, rounds: int = 3, uar_weight: float = 1.0
) -> list[float]:
    """Per-label thresholds maximising 7-class accuracy + uar_weight * UAR (both matter: accuracy alone lets the thin
    classes, disgust and fear, go unseen), by coordinate ascent over a grid, starting from 0.5 each."""
    from trainer.metrics import ascend_thresholds

    def judge(trial: np.ndarray) -> float:
        accuracy, uar = accuracy_and_uar(seven_class(scores, trial), truth)
        return accuracy + uar_weight * uar

    return ascend_thresholds(judge, scores.shape[1], rounds=rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "face")
    parser.add_argument("--prepared", type=Path, help="the prepared face windows (default WORK/prepared)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--uar-weight", type=float, default=1.0, help="thresholds maximise accuracy + this * UAR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--from-checkpoint", type=Path, help="skip training: tune thresholds for and ship this checkpoint of a run"
    )
    args = parser.parse_args()

    import torch

    from carat_model import load_checkpoint, save_checkpoint
    from feature_extractors.spec import default_feature_spec
    from trainer.datasets import load_prepared_dataset
    from trainer.face_images import held_out_halves, majority_class, prepare_face_set, read_face_set, usable_faces
    from trainer.loop import TrainSettings, fit, predict_scores
    from trainer.presets import STREAMS_WINDOW, streams_config

    torch.set_num_threads(1)
    start = time.perf_counter()
    prepared = args.prepared or args.work / "prepared"
    if not (prepared / "index.json").is_file():
        samples = prepare_face_set(
            FERPLUS, prepared, shape=STREAMS_WINDOW, seed=args.seed, observations=args.work / "ferplus_faces.npz"
        )
        print(f"prepared {samples} in {time.perf_counter() - start:.0f} s", flush=True)
    dataset = load_prepared_dataset(prepared)
    settings = TrainSettings(
        epochs=args.epochs, batch_size=64, lr=args.lr, warmup=0.1, seed=args.seed,
        absent_modalities=("text", "audio"), progress=True,
    )  # fmt: skip
    if args.from_checkpoint:
        checkpoint, best_epoch, history = args.from_checkpoint, None, []
    else:
        result = fit(dataset, streams_config(default_feature_spec().dims), settings, args.work / f"run-{args.epochs}")
        checkpoint, best_epoch, history = result.checkpoint, result.best_epoch, result.history
        print(f"trained: best epoch {best_epoch}, {time.perf_counter() - start:.0f} s", flush=True)

    model, info = load_checkpoint(checkpoint)
    faces = read_face_set(FERPLUS)
    validation, _ = held_out_halves(faces["split"])
    truth = majority_class(faces["votes"])
    # The validation split's windows, in the same order as its faces (prepare keeps index order).
    cache = np.load(args.work / "ferplus_faces.npz")
    kept = validation[cache["found"][validation] & usable_faces(faces["votes"][validation])]
    valid_split = dataset.split("valid")
    assert len(kept) == len(valid_split), (len(kept), len(valid_split))
    scores = predict_scores(model, valid_split, batch_size=256, device=torch.device("cpu"), absent=("text", "audio"))
    chosen = truth[kept] >= 0  # contempt-majority faces are not in the 7-class figures
    thresholds = tune_seven_class_thresholds(scores[chosen], truth[kept][chosen], uar_weight=args.uar_weight)
    accuracy, uar = accuracy_and_uar(seven_class(scores[chosen], np.array(thresholds)), truth[kept][chosen])
    print(f"validation 7-class accuracy {accuracy:.4f}, UAR {uar:.4f} (faces found) at {thresholds}", flush=True)
    model.set_label_thresholds(thresholds)
    extra = dict(info.extra)
    # fit's multi-label figures were measured at its own per-label F1 thresholds, not the shipped ones.
    extra["fit_metrics_at_its_f1_thresholds"] = {
        key: extra.pop(key, None) for key in ("valid_metrics", "test_metrics", "test_metrics_default_threshold")
    }
    extra.update(
        dataset="FER+ (FER2013 faces, ten votes each) as face-only windows",
        trained_modalities=["visual"],
        thresholds_chosen_for=f"7-class accuracy + {args.uar_weight:g} x UAR on the FER+ validation faces "
        "(neutral when none passes)",
        valid_seven_class_accuracy=accuracy,
        valid_seven_class_uar=uar,
        training_seconds=round(time.perf_counter() - start),
    )
    save_checkpoint(TARGET, model, feature_spec=info.feature_spec, extra=extra, dtype=torch.float16)
    record = {
        "thresholds": thresholds, "valid_seven_class_accuracy": accuracy, "valid_seven_class_uar": uar,
        "best_epoch": best_epoch, "history": history, "checkpoint": str(checkpoint),
        "seconds": round(time.perf_counter() - start),
    }  # fmt: skip
    (args.work / "train_face.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"saved {TARGET}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
