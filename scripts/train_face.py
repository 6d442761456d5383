"""Train the shipped face checkpoint (models/carat_face.safetensors): the face stream alone, on FER+.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_face.py [--epochs 8] [--lr 6e-4] [--weight-decay 0.05]
        [--jitter-sets DIR ...] [--save PATH] [--from-checkpoint CKPT] [--evaluate CKPT]

Steps (the expression CNN, feature_extractors/models/expression_cnn.safetensors, comes first from
scripts/train_face_cnn.py; the extractor's observations of every FER+ face from
scripts/cache_ferplus_faces.py):
1. `main.py prepare`'s face-set route (`trainer.face_images.prepare_face_set`) on ../shared FER+: one
   face-only window per face (the still face over a live window's frames, jittered), vote shares of our six
   labels as soft targets, in the stream window (`trainer.presets.STREAMS_WINDOW`) -> build/face/prepared.
   FER+ train -> train; FER+ valid halved by seed 12 -> valid (epochs, thresholds) and test (figures only).
   `--jitter-sets` names more prepared folders of the same faces with other jitter (prepare's seed): epoch e
   trains on set (e - 1) mod n, the first being --prepared, so a face is not seen with one jitter only.
2. `main.py train`'s `fit` with the face branch only (words and voice absent) and `streams_config`, one
   epoch at a time (fit's resume), each epoch's weights kept (RUN/epoch-E.safetensors).
3. Validation as the benchmark scores (benchmarks/face_accuracy.py, on the validation half): each validation
   face as a still face filling a live window (the extractor's cached observation, the same vector every
   frame), a face the extractor missed counting as wrong; contempt-majority faces left out. For every epoch,
   and for the weight average of the last 2..--average epochs ending at each epoch, thresholds for the 7-class
   decision (neutral when no label passes) are tuned for accuracy + w * UAR (--uar-weight) one label at a
   time over a grid; the best candidate by that objective is saved (--save, default the shipped checkpoint)
   as float16 with trained_modalities ["visual"]. With --from-checkpoint, steps 1 and 2 are skipped (its
   thresholds alone are retuned); --evaluate only prints a checkpoint's validation figures at its own
   thresholds and retuned ones.
The held-out figures come from benchmarks/face_accuracy.py (through the live extractor, beside fer's CNN).
"""

from __future__ import annotations

import argparse
import dataclasses
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


def still_validation(work: Path, faces: dict[str, np.ndarray], truth: np.ndarray):
    """The validation half as the benchmark sees it: (split of still windows of the found faces, their
    positions among the scored faces, the scored faces' truth). Scored: validation faces whose majority is
    neutral or one of our six; the windows hold one vector, from the extractor's cached observation, in
    every one of a live window's face steps (a still face filling 3 s at 30 fps)."""
    from feature_extractors.expression_cnn import DEFAULT_WEIGHTS, ExpressionEmbedder
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.visual import face_vector
    from feature_extractors.windows import TimedRows, build_window
    from trainer.datasets import FeatureSplit
    from trainer.face_images import held_out_halves, vote_targets
    from trainer.presets import STREAMS_WINDOW

    validation, _ = held_out_halves(faces["split"])
    scored = validation[truth[validation] >= 0]
    cache = np.load(work / "ferplus_faces.npz")
    found = cache["found"][scored]
    kept = scored[found]
    embeddings = ExpressionEmbedder(DEFAULT_WEIGHTS).embed(cache["crops"][kept])[0]
    vectors = face_vector(cache["points"][kept].astype(np.float64), cache["blendshapes"][kept], embeddings)
    dims = default_feature_spec().dims
    fps, window_s = 30.0, 3.0  # app.pipeline.EngineOptions' defaults, as the benchmark
    times = np.arange(int(fps * window_s)) / fps
    spans = np.stack([times, times + 1 / fps], 1)
    empty = {m: TimedRows.empty(dims[m]) for m in ("text", "audio")}
    rows: dict[str, list[np.ndarray]] = {}
    for vector in vectors:
        visual = TimedRows(spans, np.repeat(vector[None], len(times), 0).astype(np.float32))
        window = build_window(
            empty["text"], visual, empty["audio"], 0.0, window_s,
            aligned=STREAMS_WINDOW.aligned, lengths=STREAMS_WINDOW.lengths,
        )  # fmt: skip
        for missing in ("text", "audio"):
            window[missing], window[f"{missing}_mask"] = window[missing][:1], window[f"{missing}_mask"][:1]
        for name, value in window.items():
            rows.setdefault(name, []).append(value)
    split = FeatureSplit(**{k: np.stack(v) for k, v in rows.items()}, labels=vote_targets(faces["votes"][kept]))
    return split, np.flatnonzero(found), truth[scored]


class Validation:
    """Scores a model on the still validation windows: thresholds tuned, then accuracy and UAR over every
    scored face (missed faces wrong)."""

    def __init__(self, work: Path, faces: dict[str, np.ndarray], truth: np.ndarray, uar_weight: float) -> None:
        self.split, self.found, self.truth = still_validation(work, faces, truth)
        self.uar_weight = uar_weight

    def scores(self, model) -> np.ndarray:
        import torch

        from trainer.loop import predict_scores

        return predict_scores(model, self.split, batch_size=256, device=torch.device("cpu"), absent=("text", "audio"))

    def figures(self, scores: np.ndarray, thresholds) -> tuple[float, float]:
        predicted = np.full(len(self.truth), -1)  # missed faces: wrong whatever the truth
        predicted[self.found] = seven_class(scores, np.asarray(thresholds))
        return accuracy_and_uar(predicted, self.truth)

    def tune(self, scores: np.ndarray) -> tuple[list[float], float, float]:
        # Missed faces are wrong at any threshold: tuning on the found ones maximises the same objective
        # up to the constant the missed ones take off accuracy (and each class's recall).
        thresholds = tune_seven_class_thresholds(scores, self.truth[self.found], uar_weight=self.uar_weight)
        return (thresholds, *self.figures(scores, thresholds))


def average_weights(paths: list[Path]):
    """The element-wise mean of checkpoints' floating-point weights and buffers (others from the last)."""
    from carat_model import load_checkpoint

    models = [load_checkpoint(path)[0] for path in paths]
    states = [m.state_dict() for m in models]
    average = {}
    for name, value in states[-1].items():
        if value.is_floating_point():
            average[name] = sum(state[name] for state in states) / len(states)
        else:
            average[name] = value
    models[-1].load_state_dict(average)
    return models[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "face")
    parser.add_argument("--prepared", type=Path, help="the prepared face windows (default WORK/prepared)")
    parser.add_argument(
        "--jitter-sets",
        type=Path,
        nargs="*",
        default=[],
        help="more prepared folders of the same faces, other jitter: epochs cycle through them",
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--dropout", type=float, default=0.1, help="CARAT's dropout (streams_config: 0.1)")
    parser.add_argument(
        "--contrastive-weight", type=float, help="CARAT's contrastive loss weight (default the config's, 1.0)"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        help="train no further than this epoch (the schedule stays "
        "--epochs long), then choose among the epochs done; rerun to score a stopped run's epochs",
    )
    parser.add_argument("--average", type=int, default=3, help="also try weight averages of up to this many epochs")
    parser.add_argument("--uar-weight", type=float, default=0.25, help="thresholds maximise accuracy + this * UAR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", type=Path, help="the run folder (default WORK/run-EPOCHS-LR)")
    parser.add_argument("--save", type=Path, default=TARGET, help="where the chosen checkpoint goes")
    parser.add_argument(
        "--from-checkpoint", type=Path, help="skip training: tune thresholds for and save this checkpoint"
    )
    parser.add_argument("--evaluate", type=Path, help="only print this checkpoint's validation figures")
    parser.add_argument(
        "--init", type=Path, help="fine-tune: start from this checkpoint's weights (e.g. the shipped default)"
    )
    args = parser.parse_args()

    import torch

    from carat_model import load_checkpoint, save_checkpoint
    from feature_extractors.spec import FeatureSpec, default_feature_spec
    from trainer.datasets import load_prepared_dataset
    from trainer.face_images import majority_class, prepare_face_set, read_face_set
    from trainer.loop import TrainSettings, fit
    from trainer.presets import STREAMS_WINDOW, streams_config

    torch.set_num_threads(1)
    start = time.perf_counter()
    faces = read_face_set(FERPLUS)
    truth = majority_class(faces["votes"])
    if args.evaluate:
        validation = Validation(args.work, faces, truth, args.uar_weight)
        model, _ = load_checkpoint(args.evaluate)
        thresholds = list(model.config.thresholds())
        accuracy, uar = validation.figures(validation.scores(model), thresholds)
        retuned, retuned_accuracy, retuned_uar = validation.tune(validation.scores(model))
        print(json.dumps({
            "checkpoint": str(args.evaluate), "faces": len(validation.truth), "missed": int(len(validation.truth) - len(validation.found)),
            "at_its_thresholds": {"thresholds": thresholds, "accuracy": accuracy, "uar": uar},
            "thresholds_retuned_on_still_validation": {"thresholds": retuned, "accuracy": retuned_accuracy, "uar": retuned_uar},
        }, indent=2))  # fmt: skip
        return 0

    validation = Validation(args.work, faces, truth, args.uar_weight)
    print(f"validation: {len(validation.truth)} faces, {len(validation.found)} found", flush=True)
    objective = lambda accuracy, uar: accuracy + args.uar_weight * uar  # noqa: E731
    candidates: list[dict] = []

    def consider(name: str, model) -> None:
        thresholds, accuracy, uar = validation.tune(validation.scores(model))
        candidates.append({"name": name, "thresholds": thresholds, "accuracy": accuracy, "uar": uar,
                           "objective": objective(accuracy, uar)})  # fmt: skip
        print(f"  {name}: validation accuracy {accuracy:.4f}, UAR {uar:.4f} at {thresholds}", flush=True)

    run_dir = args.run or args.work / f"run-{args.epochs}-{args.lr:g}"
    settings = TrainSettings(
        epochs=args.epochs, batch_size=64, lr=args.lr, weight_decay=args.weight_decay, warmup=0.1, seed=args.seed,
        absent_modalities=("text", "audio"), progress=False,
    )  # fmt: skip
    history: list[dict] = []
    models: dict[str, object] = {}
    if args.from_checkpoint:
        model, info = load_checkpoint(args.from_checkpoint)
        models["given"] = args.from_checkpoint
        consider("given", model)
        feature_spec = info.feature_spec
    else:  # train: the prepared windows first
        prepared = args.prepared or args.work / "prepared"
        if not (prepared / "index.json").is_file():
            samples = prepare_face_set(
                FERPLUS, prepared, shape=STREAMS_WINDOW, seed=args.seed, observations=args.work / "ferplus_faces.npz"
            )
            print(f"prepared {samples} in {time.perf_counter() - start:.0f} s", flush=True)
        for number, path in enumerate(args.jitter_sets, 1):
            if not (path / "index.json").is_file():  # the training faces again, jittered with another seed
                began = time.perf_counter()
                samples = prepare_face_set(
                    FERPLUS, path, shape=STREAMS_WINDOW, seed=args.seed + number,
                    observations=args.work / "ferplus_faces.npz", splits=("train",),
                )  # fmt: skip
                print(f"prepared jitter set {path} {samples} in {time.perf_counter() - began:.0f} s", flush=True)
        dataset = load_prepared_dataset(prepared)
        overrides = {} if args.contrastive_weight is None else {"contrastive_weight": args.contrastive_weight}
        config = streams_config(default_feature_spec().dims, dropout=args.dropout, **overrides)
        initial_weights = None
        if args.init:
            start_model, start_info = load_checkpoint(args.init, expected=config)  # refused if another shape
            FeatureSpec.from_dict(dataset.feature_spec).check_matches(
                FeatureSpec.from_dict(start_info.feature_spec), f"--init {args.init}", ("visual",)
            )
            initial_weights = start_model.state_dict()
        sets = [dataset] + [load_prepared_dataset(path) for path in args.jitter_sets]
        epoch_files = []
        resume = (run_dir / "training_state.pt").is_file()
        for epoch in range(1, min(args.epochs, args.stop_after or args.epochs) + 1):
            epoch_file = run_dir / f"epoch-{epoch}.safetensors"
            if resume and epoch_file.is_file():  # done by an earlier, interrupted call
                epoch_files.append(epoch_file)
                continue
            began = time.perf_counter()
            # The train split cycles through the jitter sets; valid (fit's own figures) stays the first set's.
            train_set = sets[(epoch - 1) % len(sets)]
            this = dataclasses.replace(dataset, splits={**dataset.splits, "train": train_set.split("train")})
            result = fit(this, config, dataclasses.replace(settings, stop_after_epoch=epoch), run_dir,
                         resume=epoch > 1 or resume, initial_weights=initial_weights)  # fmt: skip
            history = result.history
            save_checkpoint(epoch_file, result.model, feature_spec=dataset.feature_spec, extra={"epoch": epoch})
            epoch_files.append(epoch_file)
            loss = history[-1].get("train_total") if history else None
            print(f"epoch {epoch}: {time.perf_counter() - began:.0f} s, train loss {loss}", flush=True)
        for epoch, path in enumerate(epoch_files, 1):
            consider(f"epoch {epoch}", load_checkpoint(path)[0])
            models[f"epoch {epoch}"] = path
            for count in range(2, args.average + 1):
                if epoch >= count:
                    name = f"mean of epochs {epoch - count + 1}-{epoch}"
                    consider(name, average_weights(epoch_files[epoch - count : epoch]))
                    models[name] = epoch_files[epoch - count : epoch]
        feature_spec = dataset.feature_spec
        print(f"trained and scored: {time.perf_counter() - start:.0f} s", flush=True)

    best = max(candidates, key=lambda c: c["objective"])
    chosen = models[best["name"]]
    if isinstance(chosen, list):
        model, info = average_weights(chosen), load_checkpoint(chosen[-1])[1]
    else:
        model, info = load_checkpoint(chosen)
    print(f"chosen: {best['name']}", flush=True)
    model.set_label_thresholds(best["thresholds"])
    extra = {k: v for k, v in dict(info.extra).items() if k != "epoch"}
    extra.update(
        dataset="FER+ (FER2013 faces, ten votes each) as face-only windows",
        trained_modalities=["visual"],
        chosen=best["name"],
        training_settings={"lr": args.lr, "epochs": args.epochs, "stopped_after": args.stop_after, "weight_decay": args.weight_decay,
                           "dropout": args.dropout, "contrastive_weight": args.contrastive_weight, "jitter_sets": 1 + len(args.jitter_sets), "seed": args.seed,
                           "init": str(args.init or "")},
        thresholds_chosen_for=f"7-class accuracy + {args.uar_weight:g} x UAR on the FER+ validation faces as still "
        "faces in a live window (neutral when none passes; missed faces wrong)",
        valid_seven_class_accuracy=best["accuracy"],
        valid_seven_class_uar=best["uar"],
        training_seconds=round(time.perf_counter() - start),
    )  # fmt: skip
    save_checkpoint(args.save, model, feature_spec=feature_spec or info.feature_spec, extra=extra, dtype=torch.float16)
    record = {
        "chosen": best, "candidates": candidates, "history": history, "run": str(run_dir),
        "settings": extra["training_settings"], "seconds": round(time.perf_counter() - start),
    }  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_face.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"saved {args.save}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
