"""Audio samples (16 kHz mono float32) -> acoustic feature frames at 100 per second.

The features are openSMILE's eGeMAPSv02 low-level descriptors (the field's standard minimal set: pitch,
jitter, shimmer, loudness, HNR, spectral slope and balance, MFCC 1-4, formants), computed by audEERING's
engine shipped in the `opensmile` wheel, plus one flag of ours, `voiced` (1 when openSMILE found a
pitch in the frame, else 0). Each frame covers 20 ms (pitch analysis looks at 60 ms around it) and frames
start every 10 ms. Unvoiced frames hold openSMILE's own fill values (0, or -201 dB for the formant
amplitudes), which are finite.
"""

from __future__ import annotations

import numpy as np

from .spec import AUDIO_FEATURE_NAMES, AUDIO_FRAME_RATE_HZ, EGEMAPS_LLD_NAMES
from .windows import TimedRows

SAMPLE_RATE = 16000
_PITCH_COLUMN = EGEMAPS_LLD_NAMES.index("F0semitoneFrom27.5Hz_sma3nz")


def check_audio(samples: np.ndarray, what: str = "audio") -> np.ndarray:
    """The samples as a 1-D float32 array, or a clear error saying what is wrong with them."""
    if not isinstance(samples, np.ndarray):
        raise TypeError(f"{what} must be a numpy array of float32 samples, got {type(samples).__name__}")
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise ValueError(
            f"{what} must be mono (one channel), got an array of shape {samples.shape}; "
            "mix the channels down first, e.g. samples.mean(axis=1)"
        )
    if samples.dtype != np.float32:
        if np.issubdtype(samples.dtype, np.floating):
            samples = samples.astype(np.float32)
        else:
            raise ValueError(
                f"{what} must be float samples in [-1, 1], got dtype {samples.dtype}; "
                "for 16-bit PCM use samples.astype(np.float32) / 32768"
            )
    if not np.isfinite(samples).all():
        raise ValueError(f"{what} holds NaN or infinite samples")
    return samples


def silence_non_finite(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Decoded media may hold NaN or infinite samples (a float file gone wrong); the commands replace
    them with silence, count them and say so, so `extract`, `replay` and `live` treat them alike
    (the extractors themselves refuse them)."""
    bad = ~np.isfinite(samples)
    count = int(bad.sum())
    if count:
        samples = np.where(bad, np.float32(0.0), samples).astype(np.float32, copy=False)
    return samples, count


def non_finite_warning(count: int, what: str) -> str:
    return f"{count} audio samples of {what} were NaN or infinite and were replaced by silence"


def check_sample_rate(sample_rate: int) -> None:
    if int(sample_rate) != SAMPLE_RATE:
        raise ValueError(
            f"audio must be sampled at {SAMPLE_RATE} Hz, got {sample_rate} Hz; resample it first "
            "(e.g. soxr.resample(samples, rate, 16000))"
        )


class AcousticExtractor:
    """eGeMAPSv02 low-level descriptors + voicing, one row per 10 ms frame."""

    frame_rate_hz = AUDIO_FRAME_RATE_HZ
    dim = len(AUDIO_FEATURE_NAMES)

    def __init__(self) -> None:
        import opensmile

        self._smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
        )
        if tuple(self._smile.feature_names) != EGEMAPS_LLD_NAMES:
            raise RuntimeError(
                "this opensmile gives other eGeMAPS features than FeatureSpec expects; "
                "install the pinned opensmile==2.6.0"
            )

    def extract(
        self, samples: np.ndarray, start_time: float = 0.0, sample_rate: int = SAMPLE_RATE
    ) -> TimedRows:
        """Frames of `samples` (mono float32 at 16 kHz); times are start_time + offsets in the clip."""
        check_sample_rate(sample_rate)
        samples = check_audio(samples)
        # openSMILE needs one full 20 ms frame; a shorter clip has no frame.
        if len(samples) < SAMPLE_RATE // 50:
            return TimedRows.empty(self.dim)
        frames = self._smile.process_signal(samples, SAMPLE_RATE)
        lld = frames.to_numpy(dtype=np.float32)
        voiced = (lld[:, _PITCH_COLUMN] > 0).astype(np.float32)[:, None]
        values = np.nan_to_num(np.concatenate([lld, voiced], axis=1), nan=0.0, posinf=0.0, neginf=0.0)
        starts = frames.index.get_level_values("start").total_seconds().to_numpy()
        ends = frames.index.get_level_values("end").total_seconds().to_numpy()
        times = np.stack([starts, ends], axis=1) + float(start_time)
        return TimedRows(times, values)


class AcousticStream:
    """Feed audio blocks as they arrive; get the frames completed so far.

    openSMILE runs on chunks of at least `chunk_s` of new audio, with `context_s` of the preceding audio in
    front so that frames near a chunk's start see the same past as offline; frames are emitted once, in
    order, when the audio they cover plus `lookahead_s` has arrived (openSMILE's pitch and voice-quality
    descriptors look ahead by a few frames; with 0.1 s the streamed frames equal the offline ones).
    """

    def __init__(
        self,
        extractor: AcousticExtractor,
        *,
        chunk_s: float = 0.25,
        context_s: float = 0.6,
        lookahead_s: float = 0.1,
    ) -> None:
        self.extractor = extractor
        self._lookahead = lookahead_s
        self._chunk = int(chunk_s * SAMPLE_RATE)
        self._context = int(context_s * SAMPLE_RATE)
        self._buffer = np.zeros(0, np.float32)
        self._buffer_time: float | None = None  # time of the buffer's first sample
        self._emitted_until: float | None = None  # start time of the next frame to emit
        self._new_samples = 0

    def feed(self, samples: np.ndarray, first_sample_time: float) -> TimedRows:
        samples = check_audio(samples)
        if self._buffer_time is None:
            self._buffer_time = float(first_sample_time)
            self._emitted_until = float(first_sample_time)
        else:
            expected = self._buffer_time + len(self._buffer) / SAMPLE_RATE
            gap = float(first_sample_time) - expected
            if gap > 0.05:  # samples were lost: restart cleanly after the hole
                self._buffer = np.zeros(0, np.float32)
                self._buffer_time = float(first_sample_time)
                self._emitted_until = max(self._emitted_until, float(first_sample_time))
        self._buffer = np.concatenate([self._buffer, samples])
        self._new_samples += len(samples)
        if self._new_samples < self._chunk:
            return TimedRows.empty(self.extractor.dim)
        self._new_samples = 0
        rows = self.extractor.extract(self._buffer, self._buffer_time)
        # Keep frames not emitted yet whose look-ahead lies inside the audio we have.
        buffer_end = self._buffer_time + len(self._buffer) / SAMPLE_RATE
        ready = (rows.times[:, 0] >= self._emitted_until - 1e-6) & (
            rows.times[:, 1] + self._lookahead <= buffer_end + 1e-6
        )
        out = TimedRows(rows.times[ready], rows.values[ready])
        if len(out):
            self._emitted_until = float(out.times[-1, 0]) + 1.0 / AUDIO_FRAME_RATE_HZ
        # Keep context before the next frame to emit.
        keep_from = max(0, round((self._emitted_until - self._buffer_time) * SAMPLE_RATE) - self._context)
        self._buffer = self._buffer[keep_from:]
        self._buffer_time += keep_from / SAMPLE_RATE
        return out
