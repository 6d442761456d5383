"""Train the expression CNN (feature_extractors/expression_cnn.py) on FER+ aligned face crops.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_face_cnn.py [--arch resnet|small] [--augment webcam|basic]
        [--epochs 30] [--lr 2e-3] [--class-weight 0.5] [--seed 0] [--out PATH] [--init WEIGHTS] [--fresh]

Reads the crops cached by scripts/cache_ferplus_faces.py (the live extractor's aligned crops of the FER+
faces it finds). Trains on FER+ `train`; picks the epoch on the validation half of FER+ `valid`
(trainer.face_images.held_out_halves) by the mean of 7-class accuracy and UAR (the face benchmark's
figures; each crop and its mirror averaged, as the extractor does); the test half is never read. Targets:
each face's shares of the eight FER+ emotion votes (soft cross-entropy), each face weighted by its majority
class's frequency to the power -`--class-weight` (0.5: disgust, 184 train faces, counts 7.5 times a
neutral face; 0 turns it off), so the thin classes are learnt. Augmentation: `webcam`
(trainer/face_augment.py: pose, upscaling and motion blur, light, noise, compression, occlusion) or `basic`
(mirror, small rotation, shift and scale). The state after each epoch is saved beside --out
(`<out>.state.pt`) and a run started again with the same --out resumes from it (--fresh starts over).

Weights:
- shipped (`expression_cnn.safetensors`, the small net, FeatureSpec visual version 3): `--arch small
  --augment basic --class-weight 0 --epochs 8 --lr 3e-3`, then `--init` those weights and 8 more (lr 1.5e-3):
  FER+ validation majority accuracy 0.796 -> 0.805 (expression_cnn.json holds both logs);
- the larger candidate (`--arch resnet --threads 2 --epochs 16`, the other options at their defaults): best
  epoch 15, its head 0.800 accuracy / 0.644 UAR (7 classes, validation half) against the shipped net's 0.813 /
  0.589, but its embedding gives CARAT's features no more (models/FACE_MODEL_CARD.md has the figures): not
  shipped.
Writes --out (safetensors) and a .json training log beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from feature_extractors.expression_cnn import ExpressionCnn, ExpressionResNet, standardise
from trainer.face_augment import augment_crops, head_pose
from trainer.face_images import LABEL_VOTE, SEVEN_CLASSES, VOTE_NAMES, held_out_halves, majority_class, usable_faces

EMOTION_VOTES = 8  # neutral ... contempt (FER+'s order); unknown and NF are not targets
ARCHITECTURES = {"small": ExpressionCnn, "resnet": ExpressionResNet}
# FER+ vote columns in SEVEN_CLASSES order
SEVEN_VOTE_COLUMNS = [VOTE_NAMES.index("neutral")] + [VOTE_NAMES.index(LABEL_VOTE[c]) for c in SEVEN_CLASSES[1:]]


def basic_augment(x: torch.Tensor, generator: torch.Generator, rng: np.random.Generator) -> torch.Tensor:
    """The shipped net's augmentation: mirror and a small rotation, shift and scale (geometry only)."""
    del rng
    return head_pose(x, generator)


def validation_figures(model: torch.nn.Module, crops: np.ndarray, votes: np.ndarray) -> dict[str, float]:
    """On the validation faces: 8-class majority accuracy, and 7-class accuracy and UAR (contempt-majority
    faces left out, the top of the seven classes' probabilities predicted), each crop averaged with its mirror."""
    model.eval()
    x = standardise(crops)
    with torch.inference_mode():
        probabilities = []
        for i in range(0, len(x), 512):
            batch = x[i : i + 512]
            logits = model(torch.cat([batch, batch.flip(-1)]))[1]
            p = torch.softmax(logits, 1)
            probabilities.append((p[: len(batch)] + p[len(batch) :]) / 2)
        p = torch.cat(probabilities).numpy()
    majority = float((p.argmax(1) == votes[:, :EMOTION_VOTES].argmax(1)).mean())
    truth = majority_class(votes)
    seven = truth >= 0
    predicted = p[seven][:, SEVEN_VOTE_COLUMNS].argmax(1)
    recall = [float((predicted[truth[seven] == k] == k).mean()) for k in range(len(SEVEN_CLASSES))]
    accuracy = float((predicted == truth[seven]).mean())
    return {"majority_accuracy": majority, "accuracy": accuracy, "uar": float(np.mean(recall)),
            "objective": (accuracy + float(np.mean(recall))) / 2,
            "recall": dict(zip(SEVEN_CLASSES, recall))}  # fmt: skip


def class_weights(votes: np.ndarray, power: float) -> np.ndarray:
    """Per face: its majority emotion's train frequency ** -power, scaled to a mean of 1."""
    majority = votes[:, :EMOTION_VOTES].argmax(1)
    counts = np.bincount(majority, minlength=EMOTION_VOTES).astype(np.float64)
    weights = counts[majority] ** -power
    return (weights / weights.mean()).astype(np.float32)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="build/face/ferplus_faces.npz")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="resnet")
    parser.add_argument("--augment", choices=("webcam", "basic"), default="webcam")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--class-weight", type=float, default=0.5, help="power of the class-frequency weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="train on this many faces only (timing runs)")
    parser.add_argument("--out", default="build/face/expression_resnet.safetensors")
    parser.add_argument("--init", default="", help="start from these weights (a fresh schedule continues them)")
    parser.add_argument("--fresh", action="store_true", help="ignore a saved state and start over")
    return parser.parse_args()


def one_epoch(model, batches, augment, generator, rng, optimiser, schedule, epoch: int) -> float:
    """One pass of soft cross-entropy steps over `batches` ((crops, vote shares, class weights) each); returns
    the summed loss."""
    total = 0.0
    for number, (crops, shares, weights) in enumerate(batches):
        _, logits = model(standardise(augment(crops, generator, rng)))
        per_face = -(shares * F.log_softmax(logits, dim=1)).sum(1)  # soft cross-entropy
        loss = (per_face * weights).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        total += loss.item() * len(crops)
        if number % 50 == 0:
            print(f"  epoch {epoch} batch {number}: loss {loss.item():.4f}", flush=True)
    return total


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    augment = augment_crops if args.augment == "webcam" else basic_augment

    cache = np.load(args.cache)
    found, votes, split = cache["found"], cache["votes"].astype(np.float32), cache["split"]
    keep = found & usable_faces(votes)
    train = np.flatnonzero(keep & (split == 0))
    if args.limit:
        train = train[: args.limit]
    validation = np.intersect1d(held_out_halves(split)[0], np.flatnonzero(keep))
    crops = cache["crops"]
    x_train = torch.from_numpy(crops[train].astype(np.float32))[:, None]  # 0-255: augmented, then standardised
    shares = votes[:, :EMOTION_VOTES] / votes[:, :EMOTION_VOTES].sum(1, keepdims=True).clip(min=1)
    y_train = torch.from_numpy(shares[train])
    w_train = torch.from_numpy(class_weights(votes[train], args.class_weight))
    print(f"train {len(train)} faces, validation {len(validation)}", flush=True)

    model = ARCHITECTURES[args.arch]()
    if args.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(args.init))
    print(f"{args.arch}: {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * math.ceil(len(train) / args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    from safetensors.torch import save_file

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state_path = out.with_suffix(".state.pt")
    log, best, first = [], -1.0, 1
    if state_path.exists() and not args.fresh:
        state = torch.load(state_path, weights_only=True)
        if state["args"] != {k: v for k, v in vars(args).items() if k != "fresh"}:
            raise SystemExit(f"{state_path} was saved by a run with other options ({state['args']}); "
                             "give the same options to resume, or --fresh to start over")  # fmt: skip
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        log, best, first = json.loads(state["log"]), state["best"], state["epoch"] + 1
        print(f"resuming after epoch {state['epoch']} (best objective {best:.4f})", flush=True)

    for epoch in range(first, args.epochs + 1):
        model.train()
        rng = np.random.default_rng([args.seed, epoch])  # per epoch, so a resumed run draws what a whole one would
        start = time.perf_counter()
        order = torch.randperm(len(train), generator=generator)
        rows = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
        batches = ((x_train[r], y_train[r], w_train[r]) for r in rows)  # one at a time, as the loop takes them
        total = one_epoch(model, batches, augment, generator, rng, optimiser, schedule, epoch)
        figures = validation_figures(model, crops[validation], votes[validation])
        seconds = time.perf_counter() - start
        log.append({"epoch": epoch, "loss": total / len(train), "seconds": seconds, **figures})
        print(f"epoch {epoch}: loss {total / len(train):.4f}  validation 7-class accuracy {figures['accuracy']:.4f} "
              f"UAR {figures['uar']:.4f} (8-class majority {figures['majority_accuracy']:.4f})  {seconds:.0f} s",
              flush=True)  # fmt: skip
        if figures["objective"] > best:  # the best epoch so far is saved at once: a cut-off run still leaves weights
            best = figures["objective"]
            save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(out))
        record = {"epochs": log, "best_objective": best, "args": vars(args), "train_faces": len(train)}
        out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(), "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "log": json.dumps(log), "best": best, "epoch": epoch,
                    "args": {k: v for k, v in vars(args).items() if k != "fresh"}}, state_path)  # fmt: skip
    print(f"best validation objective (accuracy + UAR) / 2 {best:.4f} -> {out}", flush=True)


if __name__ == "__main__":
    main()
