"""Replay a recorded session folder or any video file; writes events (CSV, JSONL) and a timeline PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a session folder (made by live --record) or a video/audio file")
    parser.add_argument(
        "--checkpoint", default=None, help="CARAT checkpoint (.safetensors); default: the bundled one"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--exact",
        dest="exact",
        action="store_true",
        default=True,
        help="every frame, as fast as possible, same events every time (default)",
    )
    mode.add_argument(
        "--realtime", dest="exact", action="store_false", help="pace by the file's timestamps, like live"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for events.csv, events.jsonl and events_timeline.png "
        "(default: replay/ inside a session folder, else next to the file)",
    )
    parser.add_argument("--window", type=float, default=3.0, help="seconds each prediction sees")
    parser.add_argument("--hop", type=float, default=0.25, help="seconds between predictions")
    parser.add_argument(
        "--utterance-pause",
        type=float,
        default=1.0,
        help="words each prediction sees: those after the last pause this long (seconds) in the last 8 s; "
        "0 keeps them all",
    )


def run(args: argparse.Namespace) -> int:
    from .pipeline import EngineOptions
    from .replay import replay, write_outputs
    from .session import is_session_folder
    from .sources import MediaError

    path = Path(args.path)
    if args.out:
        out = Path(args.out)
    elif is_session_folder(path):
        out = path / "replay"
    else:
        out = path.with_name(f"{path.stem}_replay")
    try:
        result = replay(
            path,
            checkpoint=args.checkpoint,
            exact=args.exact,
            options=EngineOptions(window_s=args.window, hop_s=args.hop, utterance_pause_s=args.utterance_pause),
            progress=True,
        )
    except (MediaError, ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    written = write_outputs(result, out)
    print(f"{len(result.events)} events, {len(result.words)} words")
    for kind, file in written.items():
        print(f"{kind}: {file}")
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0
