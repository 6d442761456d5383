"""Open the dashboard directly: `python -m app.dashboard [--media FILE] [--screenshot PNG]`.

`main.py live` is the usual way in; this entry adds the screenshot option the Xvfb test and the
docs screenshot use.
"""

from __future__ import annotations

import argparse
import sys

from app.control import EngineSettings

from . import launch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.dashboard", description=__doc__)
    parser.add_argument("--media", help="replay this video file or session folder at once")
    parser.add_argument("--checkpoint", help="CARAT checkpoint (.safetensors); default: the bundled one")
    parser.add_argument("--camera", default=None, help="camera index or file for live analysis")
    parser.add_argument("--microphone", default=None, help="sounddevice input for live analysis")
    parser.add_argument("--screenshot", help="grab the screen to this PNG after --after seconds, then quit")
    parser.add_argument("--after", type=float, default=8.0, help="seconds before the screenshot")
    args = parser.parse_args(argv)
    camera = int(args.camera) if args.camera and args.camera.isdigit() else args.camera
    settings = EngineSettings(camera=camera, microphone=args.microphone, media=args.media, checkpoint=args.checkpoint)
    return launch(settings, screenshot=args.screenshot, screenshot_after_s=args.after)


if __name__ == "__main__":
    sys.exit(main())
