"""List the cameras and microphones this machine offers (ids for live --camera / --microphone)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=("all", "camera", "microphone"), default="all")


def run(args: argparse.Namespace) -> int:
    from app.devices import list_cameras, list_microphones

    if args.kind in ("all", "camera"):
        cameras = list_cameras()
        print("cameras:")
        for camera in cameras:
            print(f"  {camera.id}: {camera.name} ({camera.details})")
        if not cameras:
            print("  none found (a video file or stream URL works too: live --camera PATH)")
    if args.kind in ("all", "microphone"):
        try:
            microphones = list_microphones()
        except OSError as error:  # PortAudio missing
            print(f"microphones: cannot list them ({error}); install libportaudio2")
            return 1
        print("microphones:")
        for microphone in microphones:
            print(f"  {microphone.id}: {microphone.name} ({microphone.details})")
        if not microphones:
            print("  none found (start PulseAudio or plug one in; 'default' uses the system's default)")
    return 0
