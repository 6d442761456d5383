"""Training throughput: samples per second of CARAT training steps on synthetic CMU-MOSEI-sized data.

The authors' aligned preset (text 300, visual 35, audio 74 features; up to 60 steps; encoders 6/4/4
layers, hidden 256; contrastive queue 8192), batch 64, the same step as `main.py train` (trainer.step
.train_step: forward, CARAT objective, backward, clip, AdamW, prototype and queue update).
By default it times --steps steps after a warm-up and projects an epoch (255 steps of 64 for MOSEI's
16,326 training samples); --full-epoch times a whole epoch. Runs on the CPU, and on the GPU when there is one.

    .venv/bin/python benchmarks/train_bench.py [--steps 12] [--full-epoch] [--threads N]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carat_model import Carat, CaratConfig
from trainer.batching import make_batch
from trainer.datasets import FeatureDataset, load_dataset
from trainer.distributed import DistributedContext
from trainer.loop import TrainSettings, config_for_dataset
from trainer.optim import make_optimizer, make_schedule
from trainer.step import mixed_precision, train_step
from trainer.synthetic import SyntheticSizes, generate_synthetic, write_official_aligned

MOSEI_TRAIN = 16326


def synthetic_mosei_sized(samples: int) -> FeatureDataset:
    """MOSEI-sized synthetic data, written in the official layout and read back by the real reader."""
    sizes = dataclasses.replace(SyntheticSizes.mosei_sized(), train=samples, valid=1, test=1)
    with tempfile.TemporaryDirectory() as folder:
        path = write_official_aligned(
            Path(folder) / "train_valid_test.pt", generate_synthetic(sizes, seed=0).layout
        )
        return load_dataset(path, "mosei-aligned")


def time_steps(
    dataset: FeatureDataset, device: torch.device, steps: int, batch_size: int, recipe: str, warmup: int = 2
) -> dict:
    config = config_for_dataset(dataset, CaratConfig.mosei_aligned())
    torch.manual_seed(1)
    model = Carat(config).to(device)
    settings = TrainSettings(batch_size=batch_size, recipe=recipe, device=str(device))
    optimizer = make_optimizer(model, recipe, settings.lr, settings.weight_decay)
    schedule = make_schedule(optimizer, recipe, steps + warmup, settings.warmup)
    autocast, scaler = mixed_precision(device, settings.amp)
    shuffle = torch.Generator(device=device).manual_seed(1)
    dropout = torch.Generator().manual_seed(2)
    split = dataset.split("train")
    order = np.random.default_rng(0).permutation(len(split))
    model.train()
    loading = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started, loading = time.perf_counter(), 0.0
        begin = time.perf_counter()
        indices = order[(step * batch_size) % (len(split) - batch_size + 1) :][:batch_size]
        batch = make_batch(split, indices)
        loading += time.perf_counter() - begin
        train_step(
            model,
            model,
            batch,
            optimizer,
            schedule,
            settings,
            device,
            autocast,
            scaler,
            shuffle,
            dropout,
            DistributedContext(),
        )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "steps": steps,
        "samples_per_s": steps * batch_size / seconds,
        "loading_share": loading / seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=12, help="timed steps per device (after 2 warm-up steps)"
    )
    parser.add_argument(
        "--full-epoch", action="store_true", help="time a whole MOSEI-sized epoch (255 steps)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--recipe", choices=("adamw", "authors"), default="adamw")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = MOSEI_TRAIN // args.batch_size if args.full_epoch else args.steps
    samples = MOSEI_TRAIN if args.full_epoch else min(MOSEI_TRAIN, (steps + 2) * args.batch_size)
    started = time.perf_counter()
    dataset = synthetic_mosei_sized(samples)
    print(
        f"synthetic MOSEI-sized data: {samples} training samples, features 300/35/74, 10-60 steps "
        f"(made in {time.perf_counter() - started:.1f} s)"
    )
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = [
        (
            "device",
            "threads",
            "recipe",
            "batch",
            "steps",
            "s/step",
            "samples/s",
            "batching",
            "epoch (255 steps)",
        )
    ]
    for device in devices:
        result = time_steps(dataset, device, steps, args.batch_size, args.recipe)
        per_step = result["seconds"] / result["steps"]
        name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
        rows.append(
            (
                name,
                str(torch.get_num_threads()),
                args.recipe,
                str(args.batch_size),
                str(steps),
                f"{per_step:.3f}",
                f"{result['samples_per_s']:.1f}",
                f"{100 * result['loading_share']:.1f} %",
                f"{per_step * (MOSEI_TRAIN // args.batch_size) / 60:.1f} min",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
