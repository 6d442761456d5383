"""Packets: what a source delivers (timestamped video frames and 20 ms audio blocks), and the blocker
that cuts any stream of samples into exact 20 ms packets.

Every packet carries the session-clock time of its capture (its first sample, for audio); in replay
the session clock is the media's own clock, so live and replay read the same way downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feature_extractors.acoustic import SAMPLE_RATE  # what the acoustic and speech extractors take

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
