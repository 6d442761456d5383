"""The media-file source: any file PyAV reads (feature_extractors.media), played for replay, or
standing in for a device."""

from __future__ import annotations

import os
from pathlib import Path

from feature_extractors.acoustic import non_finite_warning, silence_non_finite
from feature_extractors.media import MediaDecodeError, MediaError, MediaReader, cut_off_message, probe_media

from .packets import AudioBlocker, AudioPacket, VideoPacket
from .source_thread import EndOfStream, RetryPolicy, Source


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

    def restart(self, at: float) -> None:
        """Jump to `at` on this source's thread, before its next packet (read() does it)."""
        self._seek_to = max(0.0, at)

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
            self._sink.restart(target)  # before any packet from there: every stage downstream starts afresh
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
