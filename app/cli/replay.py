"""Replay a recorded session folder or any video file; writes events (CSV, JSONL) and a timeline PNG."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from app.control import EngineOptions

from .common import Flag, add_lab_arguments, add_settings_arguments, lab_settings, settings_from_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a session folder (made by live --record) or a video/audio file")
    parser.add_argument("--checkpoint", default=None, help="CARAT checkpoint (.safetensors); default: the bundled one")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--exact",
        dest="exact",
        action="store_true",
        default=True,
        help="every frame, as fast as possible, same events every time (default)",
    )
    mode.add_argument("--realtime", dest="exact", action="store_false", help="pace by the file's timestamps, like live")
    parser.add_argument(
        "--out",
        default=None,
        help="folder for events.csv, events.jsonl and events_timeline.png "
        "(default: replay/ inside a session folder, else next to the file)",
    )
    add_settings_arguments(parser.add_argument_group("engine"), EngineOptions, ENGINE_FLAGS)
    add_lab_arguments(parser, replay=True)


# How EngineOptions' fields appear as options (the rest: --field-name without _s, type and default from
# the field).
ENGINE_FLAGS = {
    "window_s": Flag("--window", help="seconds each prediction sees"),
    "hop_s": Flag("--hop", help="seconds between predictions"),
    "utterance_pause_s": Flag(
        help="words each prediction sees: the current sentence, whole (sentences end at . ! ? and at pauses "
        "this long, in seconds); 0 scores every word of the last --text-window + --text-fade seconds as one",
    ),
    "text_window_s": Flag(help="seconds a sentence votes at full strength after it is recognised"),
    "text_fade_s": Flag(help="seconds over which a sentence's vote then fades out"),
    "video_size": Flag(metavar=("WIDTH", "HEIGHT"), help="size video frames are scaled to"),
    "fps": Flag(help="camera frame rate asked for"),
    "smoothing_s": Flag(help="seconds of score smoothing"),
    "audio_queue_s": Flag(help="seconds of audio that may wait for one worker"),
    "asr_backlog_s": Flag(help="live: seconds of audio that may wait for speech recognition"),
    "exact_video_queue": Flag(help="exact replay: frames that may wait for the face worker"),
    "asr_threads": Flag(help="speech-recognition threads"),
    "asr_pause_s": Flag(help="seconds of silence after which the words heard so far are given out"),
    "asr_early_pass_s": Flag(
        help="seconds of silence after which speech recognition starts on the words heard so far, "
        "held until the pause is confirmed (0: starts at the pause)"
    ),
}


def note(text: str) -> None:
    """A line of news from LSL or calibration, above the progress bar."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from app.replay import EventFiles, replay
    from app.session import is_session_folder
    from feature_extractors.media import MediaError

    path = Path(args.path)
    if args.out:
        out = Path(args.out)
    elif is_session_folder(path):
        out = path / "replay"
    else:
        out = path.with_name(f"{path.stem}_replay")
    try:  # every argument is checked before any model loads
        options = settings_from_arguments(EngineOptions, args)
        lsl, calibration = lab_settings(args)
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
                        out=files, stop=stop, lsl=lsl, calibration=calibration, on_note=note)  # fmt: skip
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
