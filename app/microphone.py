"""The microphone source: sounddevice input at any rate, delivered as 16 kHz mono 20 ms packets."""

from __future__ import annotations

import queue
import time

import numpy as np

from .packets import AUDIO_BLOCK, SAMPLE_RATE, AudioBlocker, AudioPacket
from .source_thread import RetryPolicy, Source, SourceError


class MicrophoneSource(Source):
    """sounddevice.InputStream on a chosen input device, delivered as 16 kHz mono 20 ms packets.

    A device that cannot record at 16 kHz records at its own rate and is resampled. PortAudio's
    callback only queues the block (it must never block); this source's thread stamps and delivers.
    """

    has_audio = True
    silence_limit_s = 3.0  # no callback for this long (after the first) means the device is gone

    def __init__(self, device: int | str | None = "default", *, retry: RetryPolicy | None = None) -> None:
        super().__init__("microphone", retry)
        self.device = int(device) if isinstance(device, str) and device.isdigit() else device
        self._stream = None
        self._blocks: queue.Queue = queue.Queue()
        self._device_rate = SAMPLE_RATE
        self._audio = DeviceAudio(SAMPLE_RATE)
        self._opened_at = 0.0
        self.overflows = 0
        self.queue_overflows = 0  # blocks PortAudio gave that the capture thread had no room for

    # PortAudio's callback never waits: blocks queue for the capture thread up to this many seconds,
    # beyond that they are dropped and counted (the capture thread itself never waits on the engine).
    block_queue_s = 10.0

    def describe(self) -> dict[str, object]:
        return {"kind": "microphone", "device": self.device, "device_rate": self._device_rate}

    def open(self) -> None:
        import sounddevice as sd

        try:
            info = sd.query_devices(self.device, kind="input")
        except (ValueError, sd.PortAudioError) as error:
            raise SourceError(
                f"no microphone {self.device!r} ({error}); plug one in or pick another (main.py devices)"
            ) from error
        try:
            sd.check_input_settings(device=self.device, samplerate=SAMPLE_RATE, channels=1, dtype="float32")
            self._device_rate = SAMPLE_RATE
        except sd.PortAudioError:
            self._device_rate = int(info["default_samplerate"])
        self._blocks = queue.Queue(maxsize=int(self.block_queue_s * SAMPLE_RATE / AUDIO_BLOCK))
        self._audio = DeviceAudio(self._device_rate)
        blocksize = round(self._device_rate * AUDIO_BLOCK / SAMPLE_RATE)
        self._stream = sd.InputStream(
            device=self.device,
            samplerate=self._device_rate,
            channels=1,
            dtype="float32",
            blocksize=blocksize,
            callback=self._callback,
        )
        self._stream.start()
        self._opened_at = time.monotonic()

    def _callback(self, indata: np.ndarray, frames: int, _time_info: object, status: object) -> None:
        try:
            self._blocks.put_nowait(
                (indata[:, 0].copy(), self.clock.now(), bool(getattr(status, "input_overflow", False)))
            )
        except queue.Full:
            self.queue_overflows += 1

    def read(self) -> list[AudioPacket]:
        # The first callback can take a couple of seconds on a busy machine; after that, silence
        # from PortAudio itself (not quiet audio) means the device went away.
        limit = self.silence_limit_s + (3.0 if self._audio.expected_time() is None else 0.0)
        deadline = time.monotonic() + limit
        while True:
            try:
                samples, arrived, overflow = self._blocks.get(timeout=0.1)
                break
            except queue.Empty:
                if self.stopping:
                    return []
                if time.monotonic() > deadline:
                    raise SourceError(
                        f"microphone {self.device!r} stopped delivering audio (unplugged?)"
                    ) from None
        if overflow:
            self.overflows += 1
        self.health.dropped = self.overflows + self.queue_overflows
        return self._audio.push(samples, arrived)

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None


class DeviceAudio:
    """A device's blocks (any rate, stamped when they arrived) -> 16 kHz AudioPackets.

    One streaming resampler (soxr) for the whole stream: resampling each block on its own put a
    discontinuity at every block edge (a 50 Hz click train on a pure tone). Re-anchors the packet
    times (and restarts the resampler) when the arrival times say samples were lost or the stream stalled.
    """

    def __init__(self, device_rate: int) -> None:
        self.device_rate = int(device_rate)
        self._blocker = AudioBlocker()
        self._resampler = None
        self._start_resampler()

    def _start_resampler(self) -> None:
        import soxr

        if self.device_rate != SAMPLE_RATE:
            self._resampler = soxr.ResampleStream(self.device_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def expected_time(self) -> float | None:
        return self._blocker.expected_time()

    def push(self, samples: np.ndarray, arrived: float) -> list[AudioPacket]:
        """`samples` (mono float32 at the device rate) whose last one arrived at session time `arrived`."""
        first_sample = arrived - len(samples) / self.device_rate
        expected = self._blocker.expected_time()
        if expected is not None and abs(expected - first_sample) > 0.25:
            self._blocker.reset()  # an overflow or a stall: re-anchor rather than drift
            self._start_resampler()
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(np.ascontiguousarray(samples, np.float32))
        return self._blocker.push(samples, first_sample)


def reinitialise_portaudio() -> None:
    """PortAudio lists devices once, when first loaded (`import mediapipe` loads it early); call
    this after an audio server starts in the same process so that its devices appear."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()
