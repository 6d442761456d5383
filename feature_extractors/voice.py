"""Audio samples (16 kHz mono float32) -> voice rows that carry emotion, 20 a second.

Every `HOP_S` (on a grid anchored at the stream's first sample) one encoder pass hears the last `PASS_S`
of audio: the span is scaled to a fixed peak level (so the microphone's gain does not matter, see
`normalise_span`), turned into Whisper's log-mel features and run through Whisper tiny.en's encoder
(CTranslate2, the model `speech.py` transcribes with, encoded at the span's own length rather than
padded to 30 s). The pass gives `ROWS_PER_HOP` rows, 0.05 s apart; each row is the mean and the
standard deviation over time of the encoder states of the `SPAN_S` before its time (2 x 384 = 768
numbers; less than `SPAN_S` at a stream's start, never less than `MIN_SPAN_S`). A 3 s window so holds
60 rows, which fills the model's 64 voice steps (its soft aligner mixes every step, padding included,
so a sparse stream drowns in padding), at the cost of one encoder pass per hop.

Why these: speaker-independent on EmoDB and RAVDESS, a linear classifier scores higher on these states than
on openSMILE's eGeMAPS functionals, and higher than on Whisper base's (which costs twice as much); the study
is `benchmarks/voice_features.py` (it prints its figures), and `benchmarks/voice_accuracy.py` measures the
result.

Speech only: a row exists only where someone speaks. Each pass also runs the Silero voice-activity model
that faster-whisper ships (`silero_vad_v6.onnx`, the one the recogniser's VAD uses; 2-3 ms a pass) over
its span, and a row is kept when at least `SPEECH_SHARE` of its second is speech (chunks of 32 ms whose
speech probability is at least `SPEECH_PROBABILITY`). Without it, the peak scaling lifted room noise, hum,
music and typing to the level of speech and the voice read emotions in them; now they give no rows, so
the voice does not vote (the dashboard shows "no speech"). `benchmarks/voice_false_alarms.py` measures it.

`VoiceExtractor.rows` is the one place rows are computed: `VoiceExtractor.extract` (files, `main.py
prepare`) and `VoiceStream` (the live voice worker) both call it on the same passes, so what is trained
on files is what the microphone shows. A silent pass (digital silence) gives no rows: no voice to score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .acoustic import SAMPLE_RATE, check_audio, check_sample_rate
from .spec import VOICE_FEATURE_NAMES, VOICE_ROW_RATE_HZ
from .windows import TimedRows

HOP_S = 0.25  # one encoder pass per hop
ROW_STEP_S = 1.0 / VOICE_ROW_RATE_HZ  # 0.05 s between rows
ROWS_PER_HOP = round(HOP_S / ROW_STEP_S)
SPAN_S = 1.0  # audio each row summarises (1.5 s scored no better and costs half as much again)
PASS_S = SPAN_S + HOP_S - ROW_STEP_S  # what one pass hears: the whole span of each of its rows
MIN_SPAN_S = 0.5  # a stream's first row waits for this much audio
VOICE_DIM = len(VOICE_FEATURE_NAMES)
PEAK_LEVEL = 0.5  # every pass is scaled so that its loudest sample has this amplitude
SILENCE_PEAK = 1e-4  # a pass quieter than this (-80 dBFS) is silence: no rows, the voice is missing
STATE_SAMPLES = 320  # one encoder state per two 10 ms mel frames
VAD_CHUNK = 512  # Silero's chunk at 16 kHz (32 ms)
SPEECH_PROBABILITY = 0.5  # a chunk is speech from this Silero probability (faster-whisper's default)
SPEECH_SHARE = 0.4  # a row exists when this share of its second is speech: a 1 s utterance gives 20 rows

_HOP, _ROW_STEP = round(HOP_S * SAMPLE_RATE), round(ROW_STEP_S * SAMPLE_RATE)
_SPAN, _PASS, _MIN_SPAN = (round(s * SAMPLE_RATE) for s in (SPAN_S, PASS_S, MIN_SPAN_S))


def normalise_span(samples: np.ndarray) -> np.ndarray | None:
    """The span scaled to a fixed peak (a quiet and a loud microphone give the same rows), or None when
    it is silent: silence has no voice to score, and was never in training."""
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak < SILENCE_PEAK:
        return None
    return samples * np.float32(PEAK_LEVEL / peak)


def pass_ends(available: int) -> list[int]:
    """Sample indices (from a stream's first sample) where passes end, given `available` samples."""
    first = -(-_MIN_SPAN // _HOP)  # the first hop with MIN_SPAN_S of audio behind it
    return [k * _HOP for k in range(first, available // _HOP + 1)]


class VoiceExtractor:
    """Whisper tiny.en's encoder on CPU (int8), one pass per hop; `threads` intra-op threads."""

    dim = VOICE_DIM
    rate_hz = VOICE_ROW_RATE_HZ

    def __init__(self, model: str | Path | None = None, *, threads: int = 1) -> None:
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        from .speech import resolve_model

        self._model = ctranslate2.models.Whisper(
            resolve_model(model), device="cpu", compute_type="int8", intra_threads=threads
        )
        self._mel = FeatureExtractor(feature_size=self._model.n_mels)
        self._vad = SpeechDetector()

    def encoder_states(self, span: np.ndarray) -> np.ndarray:
        """Whisper's encoder states [len(span) // STATE_SAMPLES, 384] of a (normalised) span."""
        import ctranslate2

        mel = self._mel(span, padding=0)
        frames = mel.shape[1] - mel.shape[1] % 2  # the encoder halves the frame rate
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None, :, :frames]))
        return np.asarray(self._model.encode(features, to_cpu=True))[0]

    def extract(self, samples: np.ndarray, start_time: float = 0.0, sample_rate: int = SAMPLE_RATE) -> TimedRows:
        """Rows of a whole clip on its own grid (anchored at start_time), as the stream gives them."""
        check_sample_rate(sample_rate)
        samples = check_audio(samples)
        return self.rows(samples, pass_ends(len(samples)), 0, float(start_time))

    def rows(self, samples: np.ndarray, ends: list[int], first: int, anchor: float) -> TimedRows:
        """The rows of the passes ending at `ends` (sample indices from the anchor, at `anchor` seconds)
        over `samples`, whose first sample has index `first`."""
        times, values = [], []
        for end in ends:
            start = max(0, end - _PASS)
            span = normalise_span(samples[start - first : end - first])
            if span is None:
                continue
            speech = self._vad.speech_chunks(span)  # chunk k ends (len(speech) - k) chunks before `end`
            row_ends = [
                row_end
                for row_end in range(end - (ROWS_PER_HOP - 1) * _ROW_STEP, end + 1, _ROW_STEP)
                if row_end >= _MIN_SPAN and speech_share(speech, end - row_end, min(row_end, _SPAN)) >= SPEECH_SHARE
            ]
            if not row_ends:
                continue
            states = self.encoder_states(span)
            for row_end in row_ends:
                last = min(len(states), (row_end - start) // STATE_SAMPLES)
                pooled = states[max(0, last - _SPAN // STATE_SAMPLES) : last]
                times.append((max(0, row_end - _SPAN), row_end))
                values.append(np.concatenate([pooled.mean(axis=0), pooled.std(axis=0)]))
        if not values:
            return TimedRows.empty(self.dim)
        return TimedRows(np.asarray(times, np.float64) / SAMPLE_RATE + anchor, np.stack(values).astype(np.float32))


class SpeechDetector:
    """Silero VAD (faster-whisper's copy, ONNX Runtime, one thread): which 32 ms chunks of a span are speech."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._model = get_vad_model()

    def speech_chunks(self, span: np.ndarray) -> np.ndarray:
        """One flag per whole chunk of the span, counted back from its end (the oldest partial chunk is
        left out), True where the chunk is speech. The span is judged on its own (fresh model state), so
        a pass gives the same flags from a file and from the microphone."""
        usable = len(span) - len(span) % VAD_CHUNK
        if usable == 0:
            return np.zeros(0, bool)
        probabilities = np.asarray(self._model(np.ascontiguousarray(span[len(span) - usable :]))).reshape(-1)
        return probabilities >= SPEECH_PROBABILITY


def speech_share(speech: np.ndarray, before_end: int, length: int) -> float:
    """The share of the `length` samples ending `before_end` samples before a pass's end that the pass's
    speech flags (`SpeechDetector.speech_chunks`) call speech; audio before the flags counts as no speech."""
    last = len(speech) - before_end // VAD_CHUNK  # chunks are whole: a row's end falls inside its last one
    first = last - max(1, round(length / VAD_CHUNK))
    return float(speech[max(0, first) : max(0, last)].sum()) / max(1, last - first)


class VoiceStream:
    """Feed audio blocks as they arrive; get each pass's rows as soon as the audio up to its end is in.

    The grid is anchored at the first sample fed (and again after a gap: lost samples restart the
    stream), so a recording fed in blocks gives the same rows as `VoiceExtractor.extract` on the whole.
    """

    def __init__(self, extractor: VoiceExtractor) -> None:
        self.extractor = extractor
        self._anchor: float | None = None  # time of the stream's first sample
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # index (from the anchor) of the buffer's first sample
        self._passes_done = 0
        self._last_passes_had_rows = True  # nothing heard yet: no reason to say "no speech"

    @property
    def hearing_speech(self) -> bool:
        """Whether the latest passes gave voice rows; False once passes ran and the speech gate (or
        silence) kept none, so the voice is absent and the dashboard can say "no speech"."""
        return self._last_passes_had_rows

    def feed(self, samples: np.ndarray, first_sample_time: float) -> TimedRows:
        samples = check_audio(samples)
        if self._anchor is not None:
            expected = self._anchor + (self._buffer_start + len(self._buffer)) / SAMPLE_RATE
            if float(first_sample_time) - expected > 0.05:  # samples were lost: restart after the hole
                self._anchor = None
        if self._anchor is None:
            self._anchor, self._buffer, self._buffer_start = float(first_sample_time), samples, 0
            self._passes_done = 0
        else:
            self._buffer = np.concatenate([self._buffer, samples])
        ends = pass_ends(self._buffer_start + len(self._buffer))[self._passes_done :]
        if not ends:
            return TimedRows.empty(self.extractor.dim)
        rows = self.extractor.rows(self._buffer, ends, self._buffer_start, self._anchor)
        self._last_passes_had_rows = len(rows) > 0
        self._passes_done += len(ends)
        keep_from = max(0, ends[-1] + _HOP - _PASS - self._buffer_start)  # what the next pass needs
        self._buffer, self._buffer_start = self._buffer[keep_from:], self._buffer_start + keep_from
        return rows
