"""The sources a run's settings ask for: a media file to replay, or a camera and a microphone (either may
be a file standing in for the device)."""

from __future__ import annotations

from pathlib import Path

from .camera import CameraSource
from .control import EngineOptions, EngineSettings
from .media_source import MediaFileSource
from .microphone import MicrophoneSource
from .session import MEDIA_NAME, is_session_folder
from .source_thread import Source


def media_path(path: str | Path) -> Path:
    """A session folder's media file, or the file itself."""
    path = Path(path)
    return path / MEDIA_NAME if is_session_folder(path) else path


def build_sources(settings: EngineSettings, options: EngineOptions) -> list[Source]:
    if settings.media is not None:
        return [
            MediaFileSource(
                media_path(settings.media), realtime=not settings.exact, video_size=options.video_size
            )
        ]
    sources: list[Source] = []
    loop = bool(settings.extra.get("loop", False))
    width, height = options.video_size
    if settings.camera is not None:
        sources.append(CameraSource(settings.camera, width=width, height=height, fps=options.fps, loop=loop))
    if settings.microphone is not None:
        if isinstance(settings.microphone, str) and Path(settings.microphone).is_file():
            # A file standing in for a microphone (soak tests, demos): its audio, paced like a device.
            sources.append(
                MediaFileSource(
                    settings.microphone, loop=loop, use_video=False, as_live=True, name="microphone"
                )
            )
        else:
            sources.append(MicrophoneSource(settings.microphone))
    return sources
