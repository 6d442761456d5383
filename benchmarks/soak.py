"""Soak test: the live pipeline for 10 minutes on file-backed sources; RSS and event rate at the start
and at the end (no growth, no slowdown), with a PNG of both over time.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--checkpoint PATH] [--plot soak.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.control import EngineCallbacks, EngineSettings
from app.engine import Engine
from app.predictor import Predictor
from app.workers import Extractors
from trainer.spoken_media import write_clip
from trainer.untrained import build_untrained_checkpoint


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--plot", default="soak.png")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="carat-soak-"))
    clip = work / "soak.mkv"
    write_clip(
        clip,
        duration_s=10.0,
        speech=[(1.0, "I am so happy to see you today"), (5.5, "that is a big surprise")],
    )
    checkpoint = args.checkpoint or build_untrained_checkpoint(work / "full.safetensors", size="full")
    events = []
    engine = Engine(
        EngineSettings(camera=str(clip), microphone=str(clip), extra={"loop": True}),
        EngineCallbacks(on_event=lambda e: events.append(e.window_end)),
        predictor=Predictor(checkpoint),
        extractors=Extractors.load(),
    )
    engine.start()
    samples = []  # (minutes, RSS MiB, events per second over the last interval, words so far)
    began = time.monotonic()
    last_count, last_time = 0, began
    try:
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(args.sample_seconds)
            now, count = time.monotonic(), len(events)
            rate = (count - last_count) / (now - last_time)
            samples.append(((now - began) / 60, rss_mib(), rate, engine.stats.words))
            last_count, last_time = count, now
            print(
                f"{samples[-1][0]:5.1f} min  RSS {samples[-1][1]:7.1f} MiB  {rate:4.2f} events/s  "
                f"{engine.stats.words} words  {engine.stats.frames_dropped} frames dropped",
                flush=True,
            )
    finally:
        engine.stop()
    if len(samples) < 4:
        print("too short to compare start and end")
        return 1
    head, tail = samples[1 : 1 + max(1, len(samples) // 5)], samples[-max(1, len(samples) // 5) :]

    def mean(rows, column):
        return sum(r[column] for r in rows) / len(rows)

    rss_growth = mean(tail, 1) - mean(head, 1)
    print(f"\nstart: RSS {mean(head, 1):.1f} MiB, {mean(head, 2):.2f} events/s")
    print(f"end:   RSS {mean(tail, 1):.1f} MiB, {mean(tail, 2):.2f} events/s")
    print(
        f"RSS growth {rss_growth:+.1f} MiB over {samples[-1][0]:.1f} min; "
        f"event rate change {mean(tail, 2) - mean(head, 2):+.2f}/s; threads left after stop: "
        f"{len(engine.alive_threads())}"
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rss_axis, rate_axis) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
    rss_axis.plot([s[0] for s in samples], [s[1] for s in samples])
    rss_axis.set_ylabel("RSS (MiB)")
    rate_axis.plot([s[0] for s in samples], [s[2] for s in samples])
    rate_axis.set_ylabel("events / s")
    rate_axis.set_xlabel("minutes")
    rss_axis.set_title("live pipeline soak (file-backed camera and microphone)")
    figure.tight_layout()
    figure.savefig(args.plot, dpi=100)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
