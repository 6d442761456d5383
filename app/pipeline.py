"""The engine: sources -> extractor workers -> a window every hop -> predictor -> EmotionEvents.

Threads (each one's job, and the invariant it keeps):
- one per source (sources.py): capture and stamp packets; never waits on the model.
- face worker: takes the *newest* frame (live) and counts the frames it had no time for, so visual
  latency stays bounded; in exact replay it takes every frame in order.
- voice worker: every audio packet -> voice rows, 20 a second (a Whisper encoder pass every 0.25 s,
  feature_extractors/voice.py). Audio is never dropped.
- speech worker: every audio packet -> words, at each short pause and, during a long utterance, the
  words two recognition passes agree on (feature_extractors/speech.py).
- window loop: every hop, cuts the last `window_s` of face and voice into one CARAT input with the words
  of the current utterance, whole (feature_extractors/utterances.py, the policy prepare uses too),
  encoded together as one sentence; predicts, and emits an EmotionEvent (to the callbacks and the
  session writer) whose words are the ones it scored.
Queues between them are bounded; `stop()` joins every thread and closes every device.

Every feature row remembers when it became available. Live, a window at time t uses what is available
at t. In exact replay the window loop waits until every worker has processed the media up to t, then
uses only rows that became available by media time t, so the same file and checkpoint always give the
same events, however the threads were scheduled.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feature_extractors.utterances import UTTERANCE_PAUSE_S

from .control import EngineCallbacks, EngineSettings, PreviewFrame
from .events import EmotionEvent, StreamHealth, TimedWord
from .predictor import Predictor, PredictorError
from .session import MEDIA_NAME, SessionWriter, is_session_folder
from .sources import (
    AudioPacket,
    CameraSource,
    MediaFileSource,
    MicrophoneSource,
    SessionClock,
    Source,
    VideoPacket,
)
from .supervisor import Supervisor


@dataclass
class EngineOptions:
    window_s: float = 3.0  # how much of each stream one prediction sees
    # The words stream scores the current utterance (a sentence, or the words since a pause this long),
    # whole, as text models are trained: never a fragment, never two sentences mixed. It stays in view
    # until `text_window_s` after its last word. utterance_pause_s 0: every word of the last text_window_s.
    text_window_s: float = 8.0
    utterance_pause_s: float = UTTERANCE_PAUSE_S
    hop_s: float = 0.25  # a prediction every hop (4 a second)
    video_size: tuple[int, int] = (640, 480)
    fps: float = 30.0
    smoothing_s: float = 1.0  # see predictor.py for the smoothing rule
    audio_queue_s: float = 60.0  # bound on audio waiting for one worker (the producer waits beyond it)
    # Live, nothing waits behind speech recognition: audio waiting for it beyond this is skipped (oldest
    # first, counted in the asr health), so capture, recording, voice and face keep real time.
    asr_backlog_s: float = 4.0
    exact_video_queue: int = 16
    asr_threads: int = 2
    asr_pause_s: float = 0.3  # silence after which the words heard so far are given out

    def __post_init__(self) -> None:
        """Refuse settings that would hang or mean nothing (a hop of 0 never ends), naming a sane value."""
        for label, value, low, high, example in (
            ("window", self.window_s, 0.1, 600.0, 3.0),
            ("hop", self.hop_s, 0.01, 60.0, 0.25),
            ("text window", self.text_window_s, 0.1, 600.0, 8.0),
            ("utterance pause", self.utterance_pause_s, 0.0, 600.0, 1.0),
            ("smoothing", self.smoothing_s, 0.0, 600.0, 1.0),
        ):
            if not (isinstance(value, (int, float)) and low <= value <= high):
                raise ValueError(f"{label} must be from {low:g} to {high:g} seconds (e.g. {example:g}), got {value!r}")


@dataclass
class Extractors:
    """The expensive, stateless-between-sessions extractor models, loaded once and shared."""

    recognizer: Any  # feature_extractors.speech.SpeechRecognizer
    text_encoder: Any  # feature_extractors.text.TextEncoder
    voice: Any  # feature_extractors.voice.VoiceExtractor

    @classmethod
    def load(cls, asr_threads: int = 2) -> Extractors:
        from feature_extractors.speech import SpeechRecognizer
        from feature_extractors.text import TextEncoder
        from feature_extractors.voice import VoiceExtractor

        return cls(SpeechRecognizer(threads=asr_threads), TextEncoder(), VoiceExtractor())


@dataclass
class EngineStats:
    """Counters and recent timings, for the health panel, tests and benchmarks."""

    frames_captured: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    faces_found: int = 0
    audio_packets: int = 0
    events: int = 0
    windows_skipped: int = 0
    words: int = 0
    visual_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    preview_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    word_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    # The last word of each batch of words -> the batch published (benchmarks/pipeline_bench.py measures
    # end of speech -> its words in an event from the events themselves).
    utterance_latency_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))
    predict_s: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20000))


_END = object()  # end of a stream, never dropped


@dataclass(frozen=True)
class _Restart:
    """In-band marker (never dropped): the media jumped to `at` (a seek). Everything after it in an
    inbox comes from the new point, so a worker resets its stream state exactly between the two."""

    at: float


class Inbox:
    """A bounded hand-over between two threads. `keep_newest` drops the oldest item when full (live
    video); otherwise `put` waits for room (audio, exact replay), giving up only when stopping."""

    def __init__(self, capacity: int, *, keep_newest: bool, stop: threading.Event) -> None:
        self._items: collections.deque = collections.deque()
        self._capacity, self._keep_newest, self._stop = capacity, keep_newest, stop
        self._condition = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: object) -> None:
        with self._condition:
            if self._closed:
                return
            if self._keep_newest:
                while len(self._items) >= self._capacity:
                    oldest = next((i for i, x in enumerate(self._items) if not isinstance(x, _Restart)), None)
                    if oldest is None:
                        break
                    del self._items[oldest]
                    self.dropped += 1
            else:
                while len(self._items) >= self._capacity and not self._stop.is_set() and not self._closed:
                    self._condition.wait(0.1)
                if self._closed:  # its reader is gone (ended or failed): waiting would hang the producer
                    return
            self._items.append(item)
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def clear(self) -> None:
        with self._condition:
            self._items.clear()
            self._condition.notify_all()

    def get(self, timeout: float = 0.1) -> object | None:
        """The next item, _END once closed and empty, or None on timeout."""
        with self._condition:
            if not self._items and not self._closed:
                self._condition.wait(timeout)
            if self._items:
                item = self._items.popleft()
                self._condition.notify_all()
                return item
            return _END if self._closed else None


class StreamBuffer:
    """Feature rows of one modality in time, each chunk with the time it became available."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._chunks: collections.deque = collections.deque()  # (times [N,2], values [N,D], available_at)
        self._lock = threading.Lock()

    def add(self, times: np.ndarray, values: np.ndarray, available_at: float) -> None:
        if len(values):
            with self._lock:
                self._chunks.append(
                    (np.asarray(times, np.float64), np.asarray(values, np.float32), available_at)
                )

    def rows(self, start: float, end: float, available_by: float) -> tuple[np.ndarray, np.ndarray]:
        times, values = [np.zeros((0, 2))], [np.zeros((0, self.dim), np.float32)]
        with self._lock:
            for chunk_times, chunk_values, available_at in self._chunks:
                if available_at > available_by:
                    continue
                keep = (chunk_times[:, 1] > start) & (chunk_times[:, 0] < end)
                keep |= (
                    (chunk_times[:, 0] == chunk_times[:, 1])
                    & (chunk_times[:, 0] >= start)
                    & (chunk_times[:, 0] < end)
                )
                if keep.any():
                    times.append(chunk_times[keep])
                    values.append(chunk_values[keep])
        return np.concatenate(times), np.concatenate(values)

    def prune(self, before: float) -> None:
        with self._lock:
            while self._chunks and self._chunks[0][0][:, 1].max() < before:
                self._chunks.popleft()

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()


class _Worker:
    """One extractor thread: takes packets from its inbox, processes each, keeps a watermark (the
    media time up to which it has processed) and reports its health. A failure on one packet is
    reported and the worker goes on with the next."""

    def __init__(self, name: str, engine: Engine, inbox: Inbox) -> None:
        self.name, self.engine, self.inbox = name, engine, inbox
        self.watermark = -math.inf
        self.finished = False
        self.failures = 0
        self.health = StreamHealth(name=name, state="starting")
        self.modality = {"face": "visual", "voice": "audio"}.get(name)  # the buffer it fills, if any
        self._dropped_seen, self.skipped_s = 0, 0.0  # live audio skipped by a full inbox
        self._last_report = 0.0
        self._rate_times: collections.deque = collections.deque()
        self.thread = engine.supervisor.thread(name, self._run)

    def process(self, packet: Any) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """End of the stream: emit what is still held."""

    def recover(self) -> None:
        """After a failure: reset state that may be half-updated."""

    def _after_skipped_audio(self) -> None:
        """Live audio this worker fell too far behind for was skipped: count it, and start the stream
        afresh after the gap (no utterance joins the audio on both sides of it)."""
        self._dropped_seen = self.inbox.dropped
        self.skipped_s = self._dropped_seen * 0.02  # each audio packet is 20 ms
        self._guarded(self.recover)
        self.report(self.health.state, self._standing_message(), skipped_s=round(self.skipped_s, 2))

    def _standing_message(self) -> str:
        if not self.skipped_s:
            return ""
        return (
            f"behind real time: {self.skipped_s:.1f} s of audio skipped so far "
            f"({self.name} is slower than real time on this machine)"
        )

    def restart(self) -> None:
        """After a seek: forget the stream so far (state, and rows made from packets before the seek)."""
        self.recover()
        if self.modality is not None:
            self.engine.buffers[self.modality].clear()

    def _run(self) -> None:
        engine = self.engine
        while not engine.stopping:
            packet = self.inbox.get()
            if packet is None:
                continue
            if packet is _END:
                self._guarded(self.finish)
                break
            if isinstance(packet, _Restart):  # a seek: this stream starts afresh at the new point
                self.watermark = -math.inf
                self._guarded(self.restart)
                continue
            if isinstance(packet, AudioPacket) and self.inbox.dropped != self._dropped_seen:
                self._after_skipped_audio()
            ok = self._guarded(self.process, packet)
            end = packet.time + (len(packet.samples) / 16000 if isinstance(packet, AudioPacket) else 0.0)
            self.watermark = max(self.watermark, end)
            if ok and self.health.state != "running":
                self.report("running")
            self._count(ok)
            engine.progress_made()
        self.finished = True
        engine.progress_made()
        self.report("stopped")

    def _guarded(self, action: Any, *args: Any) -> bool:
        try:
            action(*args)
            return True
        except Exception as error:  # noqa: BLE001 - reported; the stream goes on
            self.failures += 1
            self.report(
                "retrying", f"{self.name} failed ({error}); skipping and going on", failures=self.failures
            )
            self._guarded_recover()
            return False

    def _guarded_recover(self) -> None:
        try:
            self.recover()
        except Exception as error:  # noqa: BLE001
            self.report("failed", f"{self.name} could not restart: {error}")

    def _count(self, ok: bool) -> None:
        now = time.monotonic()
        self._rate_times.append(now)
        while self._rate_times and self._rate_times[0] < now - 1.0:
            self._rate_times.popleft()
        if now - self._last_report > 1.0:
            self._last_report = now
            self.health.fps = float(len(self._rate_times))
            self.health.dropped = self.inbox.dropped
            if not self.engine.exact and self.watermark > -math.inf:
                self.health.lag_s = max(0.0, self.engine.clock.now() - self.watermark)
            self.report(self.health.state, self.health.message if not ok else self._standing_message())

    def report(self, state: str, message: str = "", **details: Any) -> None:
        self.health.state, self.health.message = state, message
        self.health.details.update(details)
        self.engine.report_health(
            StreamHealth(**{**self.health.to_json(), "details": dict(self.health.details)})
        )


class _FaceWorker(_Worker):
    def __init__(self, engine: Engine, inbox: Inbox) -> None:
        super().__init__("face", engine, inbox)
        self.face = None

    def _ensure_face(self) -> Any:
        if self.face is None:
            from feature_extractors.visual import FaceExtractor

            self.face = FaceExtractor(static_image=False)
        return self.face

    def process(self, packet: VideoPacket) -> None:
        engine = self.engine
        observation = self._ensure_face().extract(packet.image)
        available = packet.time if engine.exact else engine.clock.now()
        engine.stats.frames_processed += 1
        if observation is not None:
            engine.stats.faces_found += 1
            period = 1.0 / engine.options.fps
            engine.buffers["visual"].add(
                [[packet.time, packet.time + period]], observation.vector[None], available
            )
        engine.callbacks.on_frame(
            PreviewFrame(
                image=packet.image,
                time=packet.time,
                face_box=tuple(observation.box) if observation is not None else None,
                landmarks=observation.landmarks if observation is not None else None,
            )
        )
        if not engine.exact:
            engine.stats.preview_latency_s.append(engine.clock.now() - packet.time)

    def recover(self) -> None:
        self.close()  # a fresh tracker next frame

    def close(self) -> None:
        if self.face is not None:
            self.face.close()
            self.face = None


class _VoiceWorker(_Worker):
    def __init__(self, engine: Engine, inbox: Inbox) -> None:
        super().__init__("voice", engine, inbox)
        self.recover()

    def recover(self) -> None:
        from feature_extractors.voice import VoiceStream

        self.stream = VoiceStream(self.engine.extractors.voice)

    def process(self, packet: AudioPacket) -> None:
        rows = self.stream.feed(packet.samples, packet.time)
        end = packet.time + len(packet.samples) / 16000
        available = end if self.engine.exact else self.engine.clock.now()
        self.engine.buffers["audio"].add(rows.times, rows.values, available)


class _SpeechWorker(_Worker):
    BEHIND_S = 0.5  # live: audio older than this when it reaches the worker means recognition is behind

    def __init__(self, engine: Engine, inbox: Inbox) -> None:
        super().__init__("asr", engine, inbox)
        self.recover()

    def recover(self) -> None:
        from feature_extractors.speech import StreamingTranscriber

        options = self.engine.options
        # Audio is kept as context across pauses shorter than an utterance pause, so a sentence the
        # speaker breathes in is heard whole (and punctuated as one).
        self.transcriber = StreamingTranscriber(
            self.engine.extractors.recognizer,
            pause_s=options.asr_pause_s,
            context_pause_s=max(options.utterance_pause_s, UTTERANCE_PAUSE_S),
        )

    def process(self, packet: AudioPacket) -> None:
        engine = self.engine
        # Live, recognition that falls behind real time sheds its partial passes (words wait for a pause)
        # rather than fall further behind; exact replay always makes them, so its events never vary.
        keeping_up = engine.exact or engine.clock.now() - packet.time < self.BEHIND_S
        words = self.transcriber.feed(packet.samples, packet.time, partial=keeping_up)
        end = packet.time + len(packet.samples) / 16000
        self._publish(words, end if self.engine.exact else None)

    def finish(self) -> None:
        self._publish(self.transcriber.flush(), self.watermark if self.engine.exact else None)

    def restart(self) -> None:
        self.recover()  # no utterance spans a seek
        self.engine.forget_words()

    def _publish(self, words: list[Any], available: float | None) -> None:
        if not words:
            return
        engine = self.engine
        available = engine.clock.now() if available is None else available
        timed = [TimedWord(w.text, float(w.start), float(w.end), float(w.probability)) for w in words]
        engine.add_words(timed, available)
        if not engine.exact:
            now = engine.clock.now()
            engine.stats.word_latency_s.extend(now - w.end for w in timed)
            engine.stats.utterance_latency_s.append(now - timed[-1].end)


class Engine:
    """Implements EngineControl for live capture and replay. See the module docstring."""

    def __init__(
        self,
        settings: EngineSettings,
        callbacks: EngineCallbacks | None = None,
        *,
        options: EngineOptions | None = None,
        predictor: Predictor | None = None,
        extractors: Extractors | None = None,
        sources: list[Source] | None = None,
    ) -> None:
        self.settings = settings
        self.callbacks = callbacks or EngineCallbacks()
        self.options = options or EngineOptions()
        self.predictor = predictor or Predictor(settings.checkpoint, smoothing_s=self.options.smoothing_s)
        self.extractors = extractors
        self.sources = sources if sources is not None else build_sources(settings, self.options)
        self.exact = bool(settings.exact and settings.media)
        self.replay = settings.media is not None
        self.clock = SessionClock()
        self.stats = EngineStats()
        spec = self.predictor.feature_spec
        self.buffers = {m: StreamBuffer(spec.dims[m]) for m in ("visual", "audio")}  # words: self._words
        self.health: dict[str, StreamHealth] = {}
        self.writer: SessionWriter | None = None
        self._words: collections.deque = collections.deque()  # (TimedWord, available_at)
        self._words_lock = threading.Lock()
        self._encoded: tuple[tuple[TimedWord, ...], Any] | None = None  # (utterance, its word vectors)
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._progress = threading.Condition()
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        self._started = False
        self._finished_reported = False
        self._model_failing = False
        self._restarted = False  # set by restart_at (a seek), taken by the window loop
        self._seek_pending = False  # set by seek(), cleared by restart_at: no window from before the jump
        self._windows_lock = threading.Lock()  # a window, or a seek's reset: never both at once
        self._lifecycle = threading.Lock()  # start-up and stop never interleave
        self._stopping = threading.Lock()  # one stop() at a time; a second one waits for the first
        self.supervisor = Supervisor(self._stream_failed)  # every thread the engine starts runs under it
        self.error: str | None = None

    # -- EngineControl ------------------------------------------------------------------------------
    @property
    def duration(self) -> float | None:
        for source in self.sources:
            if isinstance(source, MediaFileSource):
                return source.duration
        return None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        if self._started:
            raise RuntimeError("an Engine starts once; make a new one to start again")
        self._started = True
        thread = self.supervisor.thread("start-up", self._start_up)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lifecycle:  # after this, start-up starts nothing more
            self._stop.set()
        with self._stopping:
            self._stop_threads(timeout)

    def _stop_threads(self, timeout: float) -> None:
        for source in self.sources:
            source.request_stop()
        for worker in self._workers:
            worker.inbox.close()
        with self._progress:
            self._progress.notify_all()
        deadline = time.monotonic() + timeout
        for source in self.sources:
            source.join(max(0.1, deadline - time.monotonic()))
        for thread in list(self._threads) + [w.thread for w in self._workers]:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(max(0.1, deadline - time.monotonic()))
        for worker in self._workers:
            if isinstance(worker, _FaceWorker) and not worker.thread.is_alive():
                worker.close()
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()
        self._report_finished()

    # Pause, resume, seek and speed take the lifecycle lock (as start-up and stop do): one change at a
    # time. A seek only asks the media source to jump; the source thread then resets every stream in
    # order with its packets (restart_at), and the window loop resets the smoother it alone uses.
    def pause(self) -> None:
        with self._lifecycle:
            self._paused.set()
            if self.replay and not self.exact:
                self.clock.pause()

    def resume(self) -> None:
        with self._lifecycle:
            self._paused.clear()
            if self.replay and not self.exact:
                self.clock.resume()

    def seek(self, seconds: float) -> None:
        media = [s for s in self.sources if isinstance(s, MediaFileSource)]
        if not media:
            return
        if self.exact:
            self.callbacks.on_error(
                "seek works in real-time replay; exact replay processes every frame from the start"
            )
            return
        # Under the windows lock: a window being made finishes (its event delivered) before seek returns,
        # and none is made from the old position until the source has jumped (restart_at).
        with self._lifecycle, self._windows_lock:
            if media[0].running:  # after the end of the file there is no source left to jump
                self._seek_pending = True
                media[0].seek(seconds)

    def restart_at(self, seconds: float) -> None:
        """The media source jumps to `seconds` (called on its thread, before any packet from there):
        every stream is reset and the clock moved, as one step no window sees half of."""
        with self._windows_lock:
            for worker in self._workers:
                worker.inbox.clear()
                worker.inbox.put(_Restart(seconds))
            for buffer in self.buffers.values():
                buffer.clear()
            self.forget_words()
            self._restarted = True  # the window loop resets the smoother and its hop schedule
            self._seek_pending = False
            self.clock.jump_to(seconds)

    def forget_words(self) -> None:
        with self._words_lock:
            self._words.clear()

    def set_speed(self, factor: float) -> None:
        with self._lifecycle:
            if self.replay and not self.exact:
                self.clock.set_speed(factor)

    # -- what threads call ----------------------------------------------------------------------------
    def alive_threads(self) -> list[threading.Thread]:
        threads = list(self._threads) + [w.thread for w in self._workers]
        threads += [s._thread for s in self.sources if s._thread is not None]
        return [t for t in threads if t.is_alive() and t is not threading.current_thread()]

    def report_health(self, health: StreamHealth) -> None:
        self.health[health.name] = health
        self.callbacks.on_health(health)
        if health.state == "failed" and health.message:
            self.error = health.message
            self.callbacks.on_error(health.message)

    def _stream_failed(self, stream: str, error: BaseException) -> None:
        """A thread died of an unexpected exception (the Supervisor calls this, on that thread): the stream
        is `failed`; whoever waits on it is told it ended; with no start-up or no window loop, the run ends."""
        message = self.supervisor.failed[stream]
        self.error = self.error or message  # before any callback, which may be what failed
        for worker in self._workers:
            if worker.name == stream:
                worker.finished = True  # the window loop waits for it no more
                worker.inbox.close()  # and the sources no longer feed it
        for source in self.sources:
            if source.name == stream:
                self.end_of_stream(source)
        self.progress_made()
        try:
            self.report_health(StreamHealth(stream, "failed", message=message))
        finally:
            if stream in ("start-up", "windows"):  # no event can come any more: the run is over
                self._stop.set()
                self._report_finished()

    def progress_made(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def add_words(self, words: list[TimedWord], available_at: float) -> None:
        with self._words_lock:
            self._words.extend((w, available_at) for w in words)
        self.stats.words += len(words)
        if self.writer is not None:
            self.writer.write_words(words)
        self.callbacks.on_words(words)

    # -- sinks (called by source threads) ------------------------------------------------------------
    def put_video(self, packet: VideoPacket) -> None:
        self.stats.frames_captured += 1
        if self.writer is not None:
            self.writer.write_video(packet)
        self._face_inbox.put(packet)
        self.stats.frames_dropped = self._face_inbox.dropped

    def put_audio(self, packet: AudioPacket) -> None:
        self.stats.audio_packets += 1
        if self.writer is not None:
            self.writer.write_audio(packet)
        self._voice_inbox.put(packet)
        self._speech_inbox.put(packet)

    def end_of_stream(self, source: Source) -> None:
        if source.has_video:
            self._face_inbox.close()
        if source.has_audio:
            self._voice_inbox.close()
            self._speech_inbox.close()

    # -- start-up and the window loop -------------------------------------------------------------------
    def _start_up(self) -> None:
        try:
            if self.extractors is None:
                self.report_health(
                    StreamHealth("extractors", "starting", message="loading speech and text models")
                )
                self.extractors = Extractors.load(self.options.asr_threads)
                self.report_health(StreamHealth("extractors", "running"))
            self.predictor.smoother.reset()  # each run starts afresh: same input, same events
            self._build_workers()
            if self.settings.record_to:
                self.writer = self._open_writer()
        except Exception as error:  # noqa: BLE001 - told to the front end, which decides
            self.error = f"the engine could not start: {error}"
            self.callbacks.on_error(self.error)
            self._stop.set()
            self._report_finished()
            return
        with self._lifecycle:
            if self._stop.is_set():  # stopped while the models loaded
                if self.writer is not None:
                    self.writer.close()
                    self.writer = None
                return
            self.clock.jump_to(0.0)  # session time 0: the moment capture (or replay) begins
            for worker in self._workers:
                worker.thread.start()
            window_thread = self.supervisor.thread("windows", self._window_loop)
            self._threads.append(window_thread)
            window_thread.start()
            for source in self.sources:
                source.start(self.clock, self, self.report_health, supervisor=self.supervisor)
        self.report_health(StreamHealth("model", "running", details={"device": str(self.predictor.device)}))

    def _build_workers(self) -> None:
        stop = self._stop
        video_capacity = self.options.exact_video_queue if self.exact else 1
        audio_capacity = int(self.options.audio_queue_s * 50)  # 50 packets a second
        self._face_inbox = Inbox(video_capacity, keep_newest=not self.exact, stop=stop)
        # Exact replay waits for every worker (every sample is used); live, capture never waits: a worker
        # that falls behind skips the oldest audio instead, counted (voice: 60 s of room; ASR: a few s).
        live = not self.exact
        asr_capacity = int(self.options.asr_backlog_s * 50) if live else audio_capacity
        self._voice_inbox = Inbox(audio_capacity, keep_newest=live, stop=stop)
        self._speech_inbox = Inbox(asr_capacity, keep_newest=live, stop=stop)
        if any(s.has_video for s in self.sources):
            self._workers.append(_FaceWorker(self, self._face_inbox))
        if any(s.has_audio for s in self.sources):
            self._workers.append(_VoiceWorker(self, self._voice_inbox))
            self._workers.append(_SpeechWorker(self, self._speech_inbox))

    def _open_writer(self) -> SessionWriter:
        video = any(s.has_video for s in self.sources)
        return SessionWriter(
            self.settings.record_to,
            devices={s.name: s.describe() for s in self.sources},
            feature_spec=self.predictor.feature_spec.to_dict(),
            checkpoint=self.predictor.checkpoint,
            video_size=self.options.video_size if video else None,
            video_fps=self.options.fps,
            audio=any(s.has_audio for s in self.sources),
            settings={
                "window_s": self.options.window_s,
                "hop_s": self.options.hop_s,
                "smoothing_s": self.options.smoothing_s,
            },
            on_error=lambda message: self.report_health(StreamHealth("recording", "failed", message=message)),
        )

    def _window_loop(self) -> None:
        try:
            if self.exact:
                self._exact_windows()
            else:
                self._live_windows()
        finally:
            if self.replay and not self._stop.is_set():
                self._report_finished()

    def _live_windows(self) -> None:
        hop = self.options.hop_s
        due = math.floor(self.clock.now() / hop) * hop + hop
        while not self._stop.is_set():
            if self._media_finished():
                return
            if not self.clock.wait_until(due, self._stop):
                return
            with self._windows_lock:  # a seek (restart_at) happens wholly before or after this window
                now = self.clock.now()
                if self._restarted:  # a seek: a fresh smoother, windows from the new point on
                    self._restarted = False
                    self.predictor.smoother.reset()
                    due = math.floor(now / hop) * hop
                elif now < due - 2 * hop or now > due + 2 * hop:  # we fell behind (or a jump): catch up
                    self.stats.windows_skipped += 1 if now > due else 0
                    due = math.floor(now / hop) * hop
                elif now < due:  # woken early by a clock jump: the window is not due yet
                    continue
                media_end = self.duration if self.replay else None
                past_the_end = media_end is not None and due > media_end + hop / 2
                waiting = self._paused.is_set() or self._seek_pending
                if not waiting and not past_the_end:  # replay: no windows beyond the media
                    self._emit(due, available_by=math.inf)
            for source in self.sources:
                if isinstance(source, MediaFileSource):
                    self.callbacks.on_position(source.position)
            due += hop

    def _media_finished(self) -> bool:
        return self.replay and bool(self._workers) and all(w.finished for w in self._workers)

    def _exact_windows(self) -> None:
        hop = self.options.hop_s
        step = 1
        while not self._stop.is_set():
            due = step * hop
            with self._progress:
                while not self._stop.is_set() and (
                    self._paused.is_set() or not all(w.finished or w.watermark >= due for w in self._workers)
                ):
                    self._progress.wait(0.1)
            if self._stop.is_set():
                return
            if all(w.finished for w in self._workers):
                end = max((w.watermark for w in self._workers), default=0.0)
                if due - hop >= end:
                    return
            self._emit(due, available_by=due)
            self.callbacks.on_position(due)
            step += 1

    def _emit(self, end: float, available_by: float) -> None:
        from feature_extractors.utterances import current_utterance
        from feature_extractors.windows import TimedRows, build_window

        predictor = self.predictor
        start = end - self.options.window_s
        with self._words_lock:
            heard = [w for w, available in self._words if available <= available_by]
        words = tuple(
            current_utterance(
                heard, end, pause_s=self.options.utterance_pause_s, max_words=predictor.lengths[0],
                view_s=self.options.text_window_s,
            )
        )  # fmt: skip
        text_start = words[0].start if words else end - self.options.text_window_s
        oldest = min(start, text_start)  # the earliest time any stream still needs
        # Aligned inputs average face and voice over each word's span, so they follow the words' window.
        stream_start = text_start if predictor.aligned else start
        rows = {m: TimedRows(*self.buffers[m].rows(stream_start, end, available_by)) for m in ("visual", "audio")}
        rows["text"] = self._utterance_rows(words)
        began = time.perf_counter()
        try:
            window = build_window(
                rows["text"], rows["visual"], rows["audio"], stream_start, end,
                aligned=predictor.aligned, lengths=predictor.lengths,
            )
            if stream_start > text_start:
                words_only = build_window(
                    rows["text"], TimedRows.empty(rows["visual"].values.shape[1]),
                    TimedRows.empty(rows["audio"].values.shape[1]), text_start, end,
                    aligned=False, lengths=predictor.lengths,
                )
                window["text"], window["text_mask"] = words_only["text"], words_only["text_mask"]
            prediction = predictor.predict(window, end)
        except (PredictorError, ValueError) as error:
            self._model_failing = True
            message = f"no prediction for the window ending at {end:.2f} s: {error}"
            self.report_health(StreamHealth("model", "retrying", message=message))
            return
        self.stats.predict_s.append(time.perf_counter() - began)
        if self._model_failing:
            self._model_failing = False
            self.report_health(StreamHealth("model", "running", details={"device": str(predictor.device)}))
        created = end if self.exact else self.clock.now()
        newest_visual = rows["visual"].times[:, 0].max() if len(rows["visual"]) else None
        newest_audio = rows["audio"].times[:, 1].max() if len(rows["audio"]) else None
        latency = None
        if not self.exact:
            newest = max((t for t in (newest_visual, newest_audio) if t is not None), default=None)
            latency = None if newest is None else created - float(newest)
            if newest_visual is not None:
                self.stats.visual_latency_s.append(created - float(newest_visual))
        with self._words_lock:
            while self._words and self._words[0][0].end < oldest - self.options.window_s:
                self._words.popleft()
        event = EmotionEvent(
            window_start=start,
            window_end=end,
            labels=predictor.labels,
            scores=prediction.scores,
            raw_scores=prediction.raw_scores,
            decided=prediction.decided,
            thresholds=predictor.thresholds,
            deciding_modality=prediction.deciding_modality,
            present=prediction.present,
            scored=prediction.scored,
            words=words,
            latency_s=latency,
            created_at=created,
        )
        self.stats.events += 1
        if self.writer is not None:
            self.writer.write_event(event)
        self.callbacks.on_event(event)
        for buffer in self.buffers.values():
            buffer.prune(oldest - self.options.window_s)

    def _utterance_rows(self, words: tuple[TimedWord, ...]) -> Any:
        """The words' vectors, encoded together as one sentence, as prepare encodes a sample's words
        (kept: most windows score the same utterance as the window before)."""
        if self._encoded is None or self._encoded[0] != words:
            self._encoded = (words, self.extractors.text_encoder.encode(list(words)))
        return self._encoded[1]

    def _report_finished(self) -> None:
        if not self._finished_reported:
            self._finished_reported = True
            self.callbacks.on_finished()


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
