"""The camera source: OpenCV VideoCapture on a device index, a video file or a stream URL."""

from __future__ import annotations

from pathlib import Path

from .packets import VideoPacket
from .source_thread import EndOfStream, RetryPolicy, Source, SourceError


class CameraSource(Source):
    """OpenCV VideoCapture on a device index, a video file or a stream URL.

    A file plays at its own frame rate, like a camera (and loops with `loop=True`, for soak tests);
    frames are resized to the chosen size. A camera that stops delivering frames is reopened with
    back-off, so unplugging and plugging it back in recovers on its own.
    """

    has_video = True

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        loop: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__("camera", retry)
        self.device = int(device) if isinstance(device, str) and device.isdigit() else device
        self.width, self.height, self.fps, self.loop = width, height, fps, loop
        self._capture = None
        self._index = 0
        self._file_fps = 0.0
        self._next_due = 0.0

    @property
    def is_file(self) -> bool:
        return isinstance(self.device, str) and "://" not in self.device

    def describe(self) -> dict[str, object]:
        return {
            "kind": "camera",
            "device": self.device,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
        }

    def open(self) -> None:
        import cv2

        if self.is_file and not Path(str(self.device)).exists():
            raise SourceError(f"camera file {self.device} is not there; check the path")
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            what = f"camera {self.device}" if isinstance(self.device, int) else f"video {self.device}"
            raise SourceError(
                f"cannot open {what}: is it plugged in and free? (main.py devices lists cameras)"
            )
        if isinstance(self.device, int):
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._file_fps = (capture.get(cv2.CAP_PROP_FPS) or self.fps) if self.is_file else 0.0
        self._capture = capture
        self._next_due = self.clock.now()

    def read(self) -> list[VideoPacket]:
        import cv2

        if self.is_file:  # a file plays like a camera: one frame per frame period
            self.clock.wait_until(self._next_due, self._stop)
            self._next_due = max(self._next_due + 1.0 / self._file_fps, self.clock.now() - 1.0)
        ok, image = self._capture.read()
        if not ok:
            if self.is_file and self.loop:
                self.close()
                self.open()
                ok, image = self._capture.read()
            if not ok:
                if self.is_file and not self.loop:
                    raise EndOfStream()
                raise SourceError(f"camera {self.device} stopped delivering frames (unplugged?)")
        captured = self.clock.now()
        if image.shape[1] != self.width or image.shape[0] != self.height:
            image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self._index += 1
        return [VideoPacket(image, captured, self._index)]

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
