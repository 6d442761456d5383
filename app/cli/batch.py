"""Replay many recordings (files, folders, a CSV of paths) exactly, on this machine or a Dask cluster; a summary.

Each recording's events go to OUT/<name>/ exactly as `main.py replay --exact --out` writes them, and
OUT/summary.csv (and .parquet) gets one row per recording. A rerun skips the recordings already done.
Examples:

    main.py batch interviews/ --out results/                 # all video and audio files under interviews/
    main.py batch study.csv --out results/ --workers 4        # a CSV with a path column (+ any others)
    main.py batch study.csv --out results/ --scheduler tcp://head-node:8786
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from app.control import EngineOptions

from .common import add_settings_arguments, settings_from_arguments
from .replay import ENGINE_FLAGS, note


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a video or audio file, a session folder, a folder (searched for video and audio files), or a CSV "
        "with a 'path' column (relative paths are read from the CSV's folder; its other columns go into the summary)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, help="folder for the results: OUT/<name>/ per recording, summary.csv")
    parser.add_argument("--checkpoint", default=None, help="CARAT checkpoint (.safetensors); default: the bundled one")
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="an existing Dask cluster's scheduler (tcp://HOST:PORT), e.g. started by dask-jobqueue; its workers "
        "need carat-live installed and the recordings and OUT at the same paths. Default: a cluster of worker "
        "processes on this machine (loopback only)",
    )  # fmt: skip
    cluster.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="this machine's worker processes, each replaying one recording at a time with its own models "
        "(default: one per two cores)",
    )  # fmt: skip
    cluster.add_argument("--threads-per-worker", type=int, default=None, metavar="N",
                         help="recordings each worker process replays at once (default: 1)")  # fmt: skip
    cluster.add_argument("--dashboard", action="store_true", help="serve Dask's dashboard and print its address")
    cluster.add_argument("--connect-timeout", type=float, default=5.0, metavar="SECONDS",
                         help="how long to wait for --scheduler to answer (default: 5)")  # fmt: skip
    add_settings_arguments(parser.add_argument_group("engine"), EngineOptions, ENGINE_FLAGS)


def run(args: argparse.Namespace) -> int:
    from app.batch import BatchError, ClusterSettings, find_recordings, run_batch

    try:  # every argument is checked before a cluster starts or a model loads
        if args.scheduler and (args.workers is not None or args.threads_per_worker is not None):
            raise BatchError("--workers and --threads-per-worker size this machine's cluster; with --scheduler the "
                             "cluster's own workers run the recordings: leave them out")  # fmt: skip
        for name in ("workers", "threads_per_worker"):
            if getattr(args, name) is not None and getattr(args, name) < 1:
                raise BatchError(f"--{name.replace('_', '-')} must be 1 or more, got {getattr(args, name)}")
        if not 0 < args.connect_timeout <= 600:
            raise BatchError(f"--connect-timeout takes from 0 to 600 seconds, got {args.connect_timeout:g}")
        options = settings_from_arguments(EngineOptions, args)
        out = Path(args.out)
        recordings = find_recordings(args.inputs, skip=out)
        cluster = ClusterSettings(
            scheduler=args.scheduler, workers=args.workers, threads_per_worker=args.threads_per_worker or 1,
            dashboard=args.dashboard, connect_timeout_s=args.connect_timeout,
        )  # fmt: skip
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # SIGTERM (a cluster job's end, `kill`) stops like Ctrl-C: pending work cancelled, the summary written.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        report = run_batch(recordings, out, checkpoint=args.checkpoint, options=options, cluster=cluster, on_note=note)
    except (BatchError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while the cluster was starting: nothing had run yet
        print("interrupted before any recording started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    done, failed, pending = (report.count(status) for status in ("done", "failed", "pending"))
    print(f"{done} done ({report.skipped} of them before this run), {failed} failed, {pending} not run")
    for path in report.summary_paths:
        print(f"summary: {path}")
    if report.interrupted:
        print("interrupted: the recordings done are kept; run the same command again to finish the rest",
              file=sys.stderr)  # fmt: skip
        return 130
    return 1 if failed else 0
