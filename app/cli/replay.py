"""Replay a recorded session folder or any video file; writes events (CSV, JSONL) and a timeline PNG."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
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
        help="words each prediction sees: the current sentence, whole (sentences end at . ! ? and at pauses "
        "this long, in seconds); 0 keeps every word of the last 8 s",
    )


def run(args: argparse.Namespace) -> int:
    from app.pipeline import EngineOptions
    from app.replay import EventFiles, replay
    from app.session import is_session_folder
    from app.sources import MediaError

    path = Path(args.path)
    if args.out:
        out = Path(args.out)
    elif is_session_folder(path):
        out = path / "replay"
    else:
        out = path.with_name(f"{path.stem}_replay")
    try:  # every argument is checked before any model loads
        options = EngineOptions(window_s=args.window, hop_s=args.hop, utterance_pause_s=args.utterance_pause)
        files = EventFiles(out)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop, received = threading.Event(), []

    def interrupt(number: int, _frame: object) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():  # (only there can Python handle signals)
        previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = replay(path, checkpoint=args.checkpoint, exact=args.exact, options=options, progress=True,
                        out=files, stop=stop)  # fmt: skip
    except (MediaError, ValueError, RuntimeError, OSError) as error:
        files.discard()
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    written = files.finish(timeline=not result.interrupted, title=path.name)
    print(f"{files.count} events, {len(result.words)} words")
    for kind, file in written.items():
        print(f"{kind}: {file}")
    if result.interrupted:
        print(
            f"interrupted by {received[0]}: the {files.count} events made until then are kept "
            "(no timeline PNG; run the replay to its end for one)",
            file=sys.stderr,
        )
        # Engine threads may still be inside native code (speech recognition, the face mesh), and
        # interpreter shutdown under them aborts ("terminate called"): the results are on disk, so leave.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + int(getattr(signal, received[0])))
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0
