"""Live analysis from a camera and a microphone (the dashboard; --headless prints events instead)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
import time
from dataclasses import replace

from app.control import EngineCallbacks, EngineSettings
from app.events import EmotionEvent, StreamHealth, TimedWord

from .common import Flag, add_lab_arguments, add_settings_arguments, lab_settings, settings_from_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="no window: print events to the terminal")
    add_settings_arguments(
        parser, EngineSettings, SETTINGS_FLAGS, skip=("media", "exact", "extra", "lsl", "calibration")
    )
    parser.add_argument("--seconds", type=float, default=None, help="headless: stop after this many seconds")
    parser.add_argument("--loop", action="store_true", help="loop a file given as camera or microphone")
    parser.add_argument("--json", action="store_true", help="headless: print each event as one JSON line")
    add_lab_arguments(parser, replay=False)


# How EngineSettings' fields appear as options (media and exact are replay's; extra holds --loop; lsl and
# calibration come from the lab options). Devices stay text here: settings_from reads them ("none", an
# index, a name).
SETTINGS_FLAGS = {
    "camera": Flag(
        default=None,
        has_default=True,
        help="camera index, video file or stream URL; 'none' for no camera "
        "(default: the first camera; with none, the window replays the bundled sample clip)",
    ),
    "microphone": Flag(help="sounddevice input device; 'none' for no microphone"),
    "checkpoint": Flag(help="CARAT checkpoint (.safetensors); default: the bundled one"),
    "record_to": Flag("--record", metavar="DIR", help="record the session into this new folder"),
}


def settings_from(args: argparse.Namespace) -> EngineSettings:
    def device(value: str | None) -> int | str | None:
        if value is None or value.lower() == "none":
            return None
        return int(value) if value.isdigit() else value

    lsl, calibration = lab_settings(args)
    return settings_from_arguments(
        EngineSettings,
        args,
        camera=device(args.camera if args.camera is not None else "0"),
        microphone=device(args.microphone),
        lsl=lsl,
        calibration=calibration,
        extra={"loop": args.loop},
    )


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def first_run_settings(args: argparse.Namespace, settings: EngineSettings) -> EngineSettings:
    """No camera asked for and none attached: replay the bundled sample so the app shows what it does
    (the window's pickers still offer live mode when a camera appears)."""
    if args.camera is not None:
        return settings
    from app.defaults import sample_clip
    from app.devices import list_cameras

    if list_cameras() or not sample_clip().is_file():
        return settings
    print(f"no camera found: replaying the bundled sample {sample_clip()}", file=sys.stderr)
    return replace(settings, camera=None, microphone=None, media=str(sample_clip()))


def run(args: argparse.Namespace) -> int:
    try:
        settings = first_run_settings(args, settings_from(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.headless and not has_display():
        print(
            "no display found (DISPLAY/WAYLAND_DISPLAY unset), so the dashboard cannot open; running headless. "
            "On a desktop, `./start.sh` opens the window; here, `main.py live --headless` or "
            "`main.py replay FILE` work too.",
            file=sys.stderr,
        )
        args.headless = True
    if not args.headless:
        if importlib.util.find_spec("app.dashboard") is None or not hasattr(
            importlib.import_module("app.dashboard"), "launch"
        ):
            print(
                "the dashboard is not available in this build; run `main.py live --headless`", file=sys.stderr
            )
            return 2
        return int(importlib.import_module("app.dashboard").launch(settings) or 0)
    return run_headless(settings, seconds=args.seconds, as_json=args.json)


def format_event(event: EmotionEvent) -> str:
    decided = [label for label, on in zip(event.labels, event.decided) if on]
    scores = " ".join(f"{label[:4]}={score:.2f}" for label, score in zip(event.labels, event.scores))
    streams = "".join(
        letter if event.present.get(name) else "-"
        for name, letter in (("text", "W"), ("visual", "F"), ("audio", "V"))
    )
    latency = f" {event.latency_s * 1000:.0f}ms" if event.latency_s is not None else ""
    return f"[{event.window_end:7.2f}s {streams}{latency}] {scores}  -> {', '.join(decided) or 'none'}"


def run_headless(settings: EngineSettings, *, seconds: float | None = None, as_json: bool = False) -> int:
    import json

    from app.engine import Engine

    finished = threading.Event()
    lock = threading.Lock()

    def say(line: str, stream=sys.stdout) -> None:
        with lock:
            print(line, file=stream, flush=True)

    def on_event(event: EmotionEvent) -> None:
        say(json.dumps(event.to_json()) if as_json else format_event(event))

    def on_words(words: list[TimedWord]) -> None:
        if not as_json:
            say(f"  words: {' '.join(w.text.strip() for w in words)}")

    def on_health(health: StreamHealth) -> None:
        if health.state in ("starting", "retrying", "failed", "stopped") or health.message:
            say(
                f"  {health.name}: {health.state}{' - ' + health.message if health.message else ''}",
                sys.stderr,
            )

    callbacks = EngineCallbacks(
        on_event=on_event,
        on_words=on_words,
        on_health=on_health,
        on_error=lambda message: say(f"error: {message}", sys.stderr),
        on_finished=finished.set,
    )
    try:
        engine = Engine(settings, callbacks)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    previous = signal.signal(signal.SIGINT, lambda *_: finished.set())
    signal.signal(signal.SIGTERM, lambda *_: finished.set())
    engine.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while not finished.is_set() and (deadline is None or time.monotonic() < deadline):
            finished.wait(0.2)
    finally:
        engine.stop()
        signal.signal(signal.SIGINT, previous)
    stats = engine.stats
    print(
        f"{stats.events} events, {stats.words} words, "
        f"{stats.frames_processed}/{stats.frames_captured} frames "
        f"processed ({stats.frames_dropped} dropped)",
        file=sys.stderr,
    )
    if engine.error:  # the last line says why the exit status is not 0
        print(f"error: {engine.error}", file=sys.stderr)
        return 1
    return 0
