"""Batch benchmark: media hours analysed per wall hour by `main.py batch` with 1 and 2 worker processes on
this machine, their ratio, and what one worker costs to start.

The same clips (copies of the bundled sample, 19 s with a face and three spoken sentences) go through the
user's path: `main.py batch CLIPS --out FRESH_FOLDER --workers N`, a process of its own, timed from its
start to its exit (Python's start, the probe of every file, the LocalCluster, every worker's model load,
the replays, the summary). Each run starts from an empty output folder, so nothing is skipped.

Start-up cost, measured apart: from the moment the LocalCluster is asked for (`app.batch.connect`) until
each worker process has loaded the checkpoint and the extractors (`preload_models`, a task pinned to that
worker), and the load alone as timed inside the worker. The throughput without start-up is the media
divided by (wall time - the slowest worker's start-up), so a short benchmark does not understate what a
long batch gets.

    nice -n 19 .venv/bin/python benchmarks/batch_bench.py [--copies 6] [--workers 1 2] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.batch import ClusterSettings, close_cluster, connect, preload_models
from app.control import EngineOptions
from feature_extractors.media import probe_media
from trainer.untrained import build_untrained_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_clip.mp4"


def timed_batch(clips: Path, out: Path, workers: int, checkpoint: Path) -> float:
    """Wall seconds of one `main.py batch` run over `clips` into the fresh folder `out`."""
    command = [sys.executable, "main.py", "batch", str(clips), "--out", str(out), "--workers", str(workers)]
    began = time.perf_counter()
    ended = subprocess.run(
        [*command, "--checkpoint", str(checkpoint)], check=False, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if ended.returncode != 0:
        raise SystemExit(f"main.py batch with {workers} workers ended with {ended.returncode}: {ended.stderr[-2000:]}")
    return wall


def start_up(workers: int, checkpoint: Path) -> list[tuple[float, float]]:
    """Per worker: (seconds from asking for the cluster to its models loaded, seconds the load took)."""
    began = time.perf_counter()
    client, local = connect(ClusterSettings(workers=workers))
    try:
        loaded = {}
        futures = {
            address: client.submit(preload_models, str(checkpoint), EngineOptions(), workers=[address], pure=False)
            for address in client.scheduler_info()["workers"]
        }
        for address, future in futures.items():
            load_s = future.result()
            loaded[address] = (time.perf_counter() - began, load_s)
        return sorted(loaded.values())
    finally:
        close_cluster(client, local)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="copies of the 19 s sample to analyse (default: 6)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--checkpoint", default=None, help="default: an untrained paper-sized checkpoint")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="carat-batch-bench-"))
    try:
        clips = work / "clips"
        clips.mkdir()
        for index in range(args.copies):
            shutil.copyfile(SAMPLE, clips / f"interview{index:02d}.mp4")
        media_s = args.copies * probe_media(SAMPLE).duration
        checkpoint = Path(args.checkpoint or build_untrained_checkpoint(work / "full.safetensors", size="full"))
        print(f"{args.copies} clips, {media_s:.0f} s of media; checkpoint {checkpoint.name}; cores: {_cores()}")

        rates = {}
        for workers in args.workers:
            costs = start_up(workers, checkpoint)
            wall = timed_batch(clips, work / f"out{workers}", workers, checkpoint)
            rates[workers] = media_s / wall
            steady = media_s / max(1e-9, wall - costs[-1][0])
            per_worker = ", ".join(f"{ready:.1f} s (load {load:.1f} s)" for ready, load in costs)
            print(f"{workers} worker(s): start-up per worker {per_worker}")
            print(
                f"{workers} worker(s): {wall:.1f} s wall for the batch -> {rates[workers]:.1f} media hours per wall "
                f"hour ({steady:.1f} without the start-up)"
            )
        if 1 in rates and len(rates) > 1:
            for workers, rate in rates.items():
                if workers != 1:
                    print(f"ratio {workers} workers / 1 worker: {rate / rates[1]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
