"""Sources: cameras, microphones and media files, each on its own thread, as timestamped packets.

Every packet carries the session-clock time of its capture (its first sample, for audio); in replay
the session clock is the media's own clock, so live and replay read the same way downstream.

A source that fails (device unplugged, read error, no device at all) reports its state through
`on_health` and retries with exponential back-off; a file that cannot be read at all (corrupt,
truncated header) fails once with a message saying what to do. The other sources go on either way.
"""

from __future__ import annotations

import collections
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from feature_extractors.acoustic import non_finite_warning, silence_non_finite
from feature_extractors.media import MediaDecodeError, MediaError, MediaReader, cut_off_message, probe_media

from .events import StreamHealth

SAMPLE_RATE = 16000  # what the acoustic and speech extractors take
AUDIO_BLOCK = 320  # 20 ms at 16 kHz: every audio packet has exactly this many samples


@dataclass(frozen=True)
class VideoPacket:
    image: np.ndarray  # H x W x 3, BGR, uint8
    time: float  # session clock at capture, seconds
    index: int  # frame number within this source


@dataclass(frozen=True)
class AudioPacket:
    samples: np.ndarray  # float32 mono 16 kHz, AUDIO_BLOCK samples
    time: float  # session clock of the first sample, seconds


class PacketSink(Protocol):
    """Where a source delivers. `put_*` may block (exact replay applies back-pressure that way)."""

    def put_video(self, packet: VideoPacket) -> None: ...

    def put_audio(self, packet: AudioPacket) -> None: ...

    def end_of_stream(self, source: Source) -> None: ...


class SourceError(RuntimeError):
    """A failure worth retrying (device busy, unplugged, read error)."""


class EndOfStream(Exception):
    """The source has nothing more to give (a file ended)."""


class SessionClock:
    """Seconds since the session started; in replay, the media's time, which pause, seek and
    speed control. Thread-safe; `wait_until` wakes early on stop, pause, seek or speed change."""

    def __init__(self, start_at: float = 0.0, speed: float = 1.0) -> None:
        self._condition = threading.Condition()
        self._base_time = start_at
        self._base_monotonic = time.monotonic()
        self._speed = speed
        self._paused = False
        self._jumps = 0  # jump_to calls so far: a waiter wakes on a jump

    def now(self) -> float:
        with self._condition:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._paused:
            return self._base_time
        return self._base_time + (time.monotonic() - self._base_monotonic) * self._speed

    def _rebase(self, new_time: float) -> None:
        self._base_time, self._base_monotonic = new_time, time.monotonic()
        self._condition.notify_all()

    def pause(self) -> None:
        with self._condition:
            if not self._paused:
                self._rebase(self._now_locked())
                self._paused = True

    def resume(self) -> None:
        with self._condition:
            if self._paused:
                self._paused = False
                self._rebase(self._base_time)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_speed(self, factor: float) -> None:
        if not factor > 0:
            raise ValueError(f"speed must be positive, got {factor}")
        with self._condition:
            self._rebase(self._now_locked())
            self._speed = factor

    def jump_to(self, seconds: float) -> None:
        with self._condition:
            self._jumps += 1
            self._rebase(seconds)

    def wait_until(self, target: float, stop: threading.Event, max_wait: float = 0.1) -> bool:
        """Sleep until the clock reaches `target`, or it jumps (a seek: the caller looks at the time
        again); False if `stop` was set first."""
        jumps = self._jumps
        while not stop.is_set():
            with self._condition:
                now = self._now_locked()
                if now >= target or self._jumps != jumps:
                    return True
                delay = max_wait if self._paused else min(max_wait, (target - now) / self._speed)
                self._condition.wait(max(delay, 0.0005))
        return False


@dataclass
class RetryPolicy:
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, failures: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(failures - 1, 0))


HealthCallback = Callable[[StreamHealth], None]


class Source:
    """One capture thread: open, read packets until the end or a failure, close; on a failure report
    "retrying" and try again after a back-off. Subclasses implement `open`, `read` and `close`."""

    has_video = False
    has_audio = False

    def __init__(self, name: str, retry: RetryPolicy | None = None) -> None:
        self.name = name
        self.retry = retry or RetryPolicy()
        self.clock = SessionClock()
        self.health = StreamHealth(name=name, state="idle")
        self._sink: PacketSink | None = None
        self._on_health: HealthCallback = lambda _h: None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count_times: collections.deque = collections.deque()

    # -- what a subclass provides --------------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> list[VideoPacket | AudioPacket]:
        """The next packets; raises EndOfStream at the end, SourceError (or anything) on failure."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, object]:
        """What this source is, for session.json."""
        return {"kind": type(self).__name__}

    # -- the thread ------------------------------------------------------------------------------
    def start(
        self, clock: SessionClock, sink: PacketSink, on_health: HealthCallback, supervisor: Any = None
    ) -> None:
        """`supervisor` (app.supervisor.Supervisor): the engine's guard, so this thread never dies silently."""
        self.clock, self._sink, self._on_health = clock, sink, on_health
        self._stop.clear()
        if supervisor is not None:
            self._thread = supervisor.thread(self.name, self._run)
        else:
            self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        """The thread is still reading (a file source ends at the end of the file)."""
        return self._thread is not None and self._thread.is_alive()

    def report(self, state: str, message: str = "", **details: object) -> None:
        self.health.state, self.health.message = state, message
        self.health.details.update(details)
        self._on_health(StreamHealth(**{**self.health.to_json(), "details": dict(self.health.details)}))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.report("starting")
            try:
                self.open()
            except MediaError as error:
                self.report("failed", str(error))
                self._finish()
                return
            except Exception as error:  # noqa: BLE001 - any device error is reported and retried
                failures += 1
                self._wait_before_retry(failures, error)
                continue
            self.report("running")
            try:
                while not self._stop.is_set():
                    for packet in self.read():
                        self._deliver(packet)
                    if failures and self.health.state == "running":
                        failures = 0
            except EndOfStream:
                self.close()
                self.report("stopped", self.health.message)
                self._finish()
                return
            except MediaError as error:
                self.close()
                self.report("failed", str(error))
                self._finish()
                return
            except Exception as error:  # noqa: BLE001
                self.close()
                failures += 1
                self._wait_before_retry(failures, error)
                continue
            self.close()
        self.report("stopped")

    def _finish(self) -> None:
        if self._sink is not None:
            self._sink.end_of_stream(self)

    def _wait_before_retry(self, failures: int, error: BaseException) -> None:
        delay = self.retry.delay(failures)
        self.report("retrying", f"{error} (retry {failures} in {delay:.1f} s)", failures=failures)
        self._stop.wait(delay)

    def _deliver(self, packet: VideoPacket | AudioPacket) -> None:
        assert self._sink is not None
        if isinstance(packet, VideoPacket):
            self._sink.put_video(packet)
            self._count_frame()
        else:
            self._sink.put_audio(packet)

    def _count_frame(self) -> None:
        now = time.monotonic()
        self._count_times.append(now)
        while self._count_times and self._count_times[0] < now - 1.0:
            self._count_times.popleft()
        self.health.fps = float(len(self._count_times))


class AudioBlocker:
    """Cuts a stream of mono float32 samples into AUDIO_BLOCK packets timed by their sample count,
    so timestamps never jitter. Re-anchors when told the stream was interrupted."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self._start: float | None = None
        self._emitted = 0

    def reset(self) -> None:
        self.__init__()

    def push(self, samples: np.ndarray, first_sample_time: float) -> list[AudioPacket]:
        if self._start is None:
            self._start = first_sample_time - len(self._pending) / SAMPLE_RATE
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        packets = []
        while len(self._pending) >= AUDIO_BLOCK:
            block, self._pending = self._pending[:AUDIO_BLOCK].copy(), self._pending[AUDIO_BLOCK:]
            packets.append(AudioPacket(block, self._start + self._emitted / SAMPLE_RATE))
            self._emitted += AUDIO_BLOCK
        return packets

    def expected_time(self) -> float | None:
        """Session time of the next sample that will be pushed, if anchored."""
        if self._start is None:
            return None
        return self._start + (self._emitted + len(self._pending)) / SAMPLE_RATE


# -- camera -------------------------------------------------------------------------------------


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


# -- microphone ---------------------------------------------------------------------------------


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
        blocksize = int(round(self._device_rate * AUDIO_BLOCK / SAMPLE_RATE))
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


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    divisor = math.gcd(from_rate, to_rate)
    return resample_poly(samples, to_rate // divisor, from_rate // divisor).astype(np.float32)


def reinitialise_portaudio() -> None:
    """PortAudio lists devices once, when first loaded (`import mediapipe` loads it early); call
    this after an audio server starts in the same process so that its devices appear."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


# -- media files --------------------------------------------------------------------------------


class MediaFileSource(Source):
    """Any container PyAV reads, with video and/or audio, for replay.

    Real-time mode paces packets by the file's timestamps against the session clock (which pause,
    seek and speed control); exact mode delivers as fast as the sink takes them. Media time 0 is the
    first packet of the file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        realtime: bool = True,
        loop: bool = False,
        video_size: tuple[int, int] | None = None,
        use_video: bool = True,
        use_audio: bool = True,
        as_live: bool = False,
        name: str = "media",
        retry: RetryPolicy | None = None,
    ) -> None:
        """`as_live`: stamp packets on the live session clock (media time + the clock at opening),
        for a file standing in for a device; otherwise media time is the session clock (replay)."""
        super().__init__(name, retry)
        self.path = Path(path)
        self.realtime, self.loop, self.video_size, self.as_live = realtime, loop, video_size, as_live
        info = probe_media(self.path)
        self.has_video, self.has_audio = info.has_video and use_video, info.has_audio and use_audio
        if not (self.has_video or self.has_audio):
            wanted = " and ".join(k for k, v in (("video", use_video), ("audio", use_audio)) if v)
            raise MediaError(f"{self.path} has no {wanted}; pick a file that has")
        self.duration = info.duration
        self.fps = info.fps
        self._container = None
        self._frames = None
        self._origin: float | None = None
        self._blocker = AudioBlocker()
        self._index = 0
        self._seek_to: float | None = None
        self._skip_before = 0.0
        self._loop_offset = 0.0
        self._last_time = 0.0
        self._offset = 0.0
        self.position = 0.0
        # A read error reopens the file where it was (never from 0 s); this many errors in a row with no
        # progress past the same point end the stream with a message instead of reopening for ever.
        self.max_failures_at_one_point = 3
        self._opened_before = False
        self._failed_at, self._failures_here, self._last_error = -1.0, 0, None
        self.non_finite_samples = 0  # NaN/inf audio samples replaced by silence

    def describe(self) -> dict[str, object]:
        return {"kind": "media", "path": str(self.path), "duration": self.duration}

    def seek(self, seconds: float) -> None:
        self._seek_to = max(0.0, seconds)

    def open(self) -> None:
        self._container = MediaReader(self.path, video=self.has_video, audio=self.has_audio)
        if self._opened_before:
            self._resume_after_a_read_error()
            return
        self._opened_before = True
        self._offset = self.clock.now() if self.as_live else 0.0
        self._origin, self._loop_offset, self._last_time = None, 0.0, 0.0
        self._start_decoding(0.0)

    def _resume_after_a_read_error(self) -> None:
        """Go on just after the last packet delivered (clock, origin and loop offset kept), or give up
        when reading keeps failing at the same point."""
        if self._last_time > self._failed_at:
            self._failed_at, self._failures_here = self._last_time, 0
        self._failures_here += 1
        if self._failures_here > self.max_failures_at_one_point:
            self.close()
            raise MediaError(
                f"{self.path} could not be read past {self._last_time:.1f} s ({self._last_error}; "
                f"{self.max_failures_at_one_point} retries); everything before that point was used. "
                "Copy the file again, or check the disk it is on."
            )
        self._start_decoding(self._last_time - self._loop_offset)
        self._skip_before = self._last_time + 0.002  # what was delivered is not delivered twice

    def _wait_before_retry(self, failures: int, error: BaseException) -> None:
        self._last_error = error
        super()._wait_before_retry(failures, error)

    def _start_decoding(self, at: float) -> None:
        self._frames = self._container.frames(at)
        self._blocker.reset()
        self._skip_before = at

    def read(self) -> list[VideoPacket | AudioPacket]:
        if self._seek_to is not None:
            target, self._seek_to = self._seek_to, None
            self._start_decoding(target)
            self._last_time = target  # a read error after a seek resumes from here
            restart_at = getattr(self._sink, "restart_at", None)
            if restart_at is not None:  # before any packet from there: the streams start afresh, clock moved
                restart_at(target)
            else:
                self.clock.jump_to(target)
        try:
            frame = next(self._frames)
        except StopIteration:
            return self._end_of_file()
        except MediaDecodeError as error:
            if self._last_time == 0.0:
                raise MediaError(str(error)) from error
            self.health.message = cut_off_message(self.path, self._last_time, error.cause)
            raise EndOfStream() from error
        if frame.time is None:
            return []
        if self._origin is None:
            self._origin = frame.time
        media_time = frame.time - self._origin + self._loop_offset
        if media_time < self._skip_before - 1e-6:
            return []
        media_time += self._offset
        packets: list[VideoPacket | AudioPacket] = []
        if frame.is_video:
            image = frame.image
            if self.video_size and (image.shape[1], image.shape[0]) != self.video_size:
                import cv2

                image = cv2.resize(image, self.video_size, interpolation=cv2.INTER_AREA)
            self._index += 1
            packets.append(VideoPacket(image, media_time, self._index))
        elif len(frame.samples):
            samples, non_finite = silence_non_finite(frame.samples)
            if non_finite:  # the same rule as `extract`: silence, counted and said
                self.non_finite_samples += non_finite
                self.health.message = non_finite_warning(self.non_finite_samples, str(self.path))
            packets.extend(self._blocker.push(samples, media_time))
        if packets and self.realtime:
            self.clock.wait_until(packets[0].time, self._stop)
        self._last_time = max(self._last_time, media_time - self._offset)
        self.position = media_time - self._offset
        return packets

    def _end_of_file(self) -> list[VideoPacket | AudioPacket]:
        if not self.loop:
            raise EndOfStream()
        # Loop: media time keeps counting up, as a live source's clock would.
        self._loop_offset = self._last_time + 1.0 / (self.fps or 30.0)
        self._origin = None
        self._start_decoding(0.0)
        self._skip_before = 0.0
        return []

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


# -- listing devices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "camera" | "microphone"
    id: int | str
    name: str
    details: str = ""


def list_microphones() -> list[DeviceInfo]:
    import sounddevice as sd

    found = []
    for index, device in enumerate(sd.query_devices()):
        if device["max_input_channels"] > 0:
            found.append(
                DeviceInfo(
                    "microphone",
                    index,
                    device["name"],
                    f"{device['max_input_channels']} ch, {device['default_samplerate']:.0f} Hz",
                )
            )
    return found


def list_cameras(max_index: int = 8) -> list[DeviceInfo]:
    """Cameras OpenCV can open, by index (it has no enumeration API; /dev/video* tells us which to try)."""
    import cv2

    candidates = sorted(int(p.name[5:]) for p in Path("/dev").glob("video*") if p.name[5:].isdigit())
    if not candidates and os.name != "posix":
        candidates = list(range(max_index))
    found = []
    for index in candidates:
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = capture.get(cv2.CAP_PROP_FPS)
            found.append(
                DeviceInfo("camera", index, f"/dev/video{index}", f"{width}x{height} @ {fps:.0f} fps")
            )
        capture.release()
    return found


__all__ = [
    "AUDIO_BLOCK",
    "SAMPLE_RATE",
    "AudioPacket",
    "CameraSource",
    "DeviceAudio",
    "DeviceInfo",
    "EndOfStream",
    "MediaError",
    "MediaFileSource",
    "MicrophoneSource",
    "PacketSink",
    "RetryPolicy",
    "SessionClock",
    "Source",
    "SourceError",
    "VideoPacket",
    "list_cameras",
    "list_microphones",
    "probe_media",
    "reinitialise_portaudio",
]
