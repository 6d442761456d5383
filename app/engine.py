"""The engine: sources -> extractor workers -> a window every hop -> predictor -> EmotionEvents, a
pipeline of stages (app/stage.py) that the engine builds, wires and stops.

Threads (each one's job, and the invariant it keeps):
- one per source (source_thread.py: camera.py, microphone.py, media_source.py): capture and stamp packets; never waits on the model.
- face worker (workers.py): takes the *newest* frame (live) and counts the frames it had no time for, so visual
  latency stays bounded; in exact replay it takes every frame in order.
- voice worker: every audio packet -> voice rows, 20 a second (a Whisper encoder pass every 0.25 s,
  feature_extractors/voice.py). Audio is never dropped.
- speech worker: every audio packet -> words, at each short pause and, during a long utterance, the
  words two recognition passes agree on (feature_extractors/speech.py).
- window loop (window_loop.py): every hop, cuts the last `window_s` of face and voice into one CARAT input with the words
  of the current utterance, whole (feature_extractors/utterances.py, the policy prepare uses too),
  encoded together as one sentence; predicts, and emits an EmotionEvent (to the callbacks and the
  session writer) whose words are the ones it scored.
Queues between them are bounded; `stop()` joins every thread and closes every device. A seek restarts
every stage, in pipeline order (app/stage.py).

Every feature row remembers when it became available. Live, a window at time t uses what is available
at t. In exact replay the window loop waits until every worker has processed the media up to t, then
uses only rows that became available by media time t, so the same file and checkpoint always give the
same events, however the threads were scheduled.
"""

from __future__ import annotations

import threading
import time

from .clock import SessionClock
from .control import EngineCallbacks, EngineOptions, EngineSettings, LslSettings
from .events import EmotionEvent, StreamHealth, TimedWord
from .inbox import Inbox, StreamBuffer
from .lab_outputs import LabOutputs
from .media_source import MediaFileSource
from .packets import AudioPacket, VideoPacket
from .predictor import Predictor
from .session import SessionWriter
from .source_thread import Source
from .sources import build_sources
from .stage import Stage, StageContext
from .stream_stats import EngineStats
from .supervisor import Supervisor
from .window_loop import WindowInputs, WindowLoop
from .words_in_view import HeardWords, SentenceTurns
from .workers import Extractors, FaceWorker, SpeechWorker, VoiceWorker, Worker


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
        self.buffers = {m: StreamBuffer(spec.dims[m]) for m in ("visual", "audio")}
        self.words = HeardWords(
            SentenceTurns(
                self.options.utterance_pause_s, hold_s=self.options.text_window_s, fade_s=self.options.text_fade_s
            )
        )
        self.health: dict[str, StreamHealth] = {}
        self.writer: SessionWriter | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._progress = threading.Condition()
        self._workers: list[Worker] = []
        self._windows: WindowLoop | None = None  # built at start-up, with the workers
        self._threads: list[threading.Thread] = []
        self._started = False
        self._finished_reported = False
        self._windows_lock = threading.Lock()  # a window, or a seek's restart: never both at once
        self._lifecycle = threading.Lock()  # start-up and stop never interleave
        self._stopping = threading.Lock()  # one stop() at a time; a second one waits for the first
        self.supervisor = Supervisor(self._stream_failed)  # every thread the engine starts runs under it
        self.error: str | None = None
        self.lab = LabOutputs(  # calibration (a bad profile is refused here) and LSL
            settings, self.options, self.predictor, replay=self.replay, clock=self.clock, report=self.report_health,
            new_thread=self.supervisor.thread, stop=self._stop,
        )  # fmt: skip

    # -- EngineControl ------------------------------------------------------------------------------
    @property
    def duration(self) -> float | None:
        for source in self._media_files():
            return source.duration
        return None

    def _media_files(self) -> list[MediaFileSource]:
        return [s for s in self.sources if isinstance(s, MediaFileSource)]

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
            if isinstance(worker, FaceWorker) and not worker.thread.is_alive():
                worker.close()
        self.lab.end()  # after the window loop: every event it made is pushed
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()
        self._report_finished()

    # Pause, resume, seek and speed take the lifecycle lock (as start-up and stop do): one change at a
    # time. A seek restarts the media source, which jumps on its own thread and then restarts every stage
    # downstream, in order with its packets (restart).
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
        media = self._media_files()
        if not media:
            return
        if self.exact:
            self.callbacks.on_error(
                "seek works in real-time replay; exact replay processes every frame from the start"
            )
            return
        # Under the windows lock: a window being made finishes (its event delivered) before seek returns,
        # and none is made from the old position until the source has jumped (restart).
        with self._lifecycle, self._windows_lock:
            if media[0].running and self._windows is not None:  # after the end there is no source to jump
                self._windows.hold_until_restart()
                media[0].restart(seconds)

    def restart(self, at: float) -> None:
        """The media source jumped to `at` (PacketSink; on its thread, before any packet from there): every
        stage downstream restarts and the clock moves, as one step no window sees half of."""
        downstream: list[Stage] = [*self._workers, *([self._windows] if self._windows is not None else [])]
        with self._windows_lock:
            for stage in downstream:
                stage.restart(at)
            self.clock.jump_to(at)

    def set_speed(self, factor: float) -> None:
        with self._lifecycle:
            if self.replay and not self.exact:
                self.clock.set_speed(factor)

    def calibrate(self, seconds: float, profile: str | None = None) -> None:
        self.lab.calibrate(seconds, profile)

    def set_lsl(self, settings: LslSettings | None) -> None:
        with self._lifecycle:
            self.lab.set_lsl(settings)

    # -- what threads call ----------------------------------------------------------------------------
    def alive_threads(self) -> list[threading.Thread]:
        threads = list(self._threads) + [w.thread for w in self._workers]
        threads += [s._thread for s in self.sources if s._thread is not None]
        threads += [self.lab.lsl_thread] if self.lab.lsl_thread is not None else []
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

    # -- where the stages' outputs go --------------------------------------------------------------------
    def _words_out(self, words: list[TimedWord]) -> None:
        """Words from speech recognition (already in self.words): to the window loop, recording and front end."""
        if not self.exact and words and self._windows is not None:  # live: scored now, not at the next hop
            self._windows.words_heard()
        self.stats.words += len(words)
        if self.writer is not None:
            self.writer.write_words(words)
        self.callbacks.on_words(words)

    def _event_out(self, event: EmotionEvent) -> None:
        if self.writer is not None:
            self.writer.write_event(event)
        self.lab.publish(event)  # to LSL: hands over, never waits
        self.callbacks.on_event(event)

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
            self.lab.start_calibration()
        except Exception as error:  # noqa: BLE001 - told to the front end, which decides
            self.error = f"the engine could not start: {error}"
            self.callbacks.on_error(self.error)
            self._stop.set()
            self._report_finished()
            return
        self.lab.open_lsl_at_start()  # session time 0 follows at once
        with self._lifecycle:
            if self._stop.is_set():  # stopped while the models loaded
                if self.writer is not None:
                    self.writer.close()
                    self.writer = None
                self.lab.close_lsl()
                return
            self.clock.jump_to(0.0)  # session time 0: the moment capture (or replay) begins
            self.lab.start_lsl()
            for worker in self._workers:
                worker.thread.start()
            window_thread = self.supervisor.thread("windows", self._windows.run)
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
        context = StageContext(
            clock=self.clock,
            exact=self.exact,
            stop=stop,
            report=self.report_health,
            progress_made=self.progress_made,
            new_thread=self.supervisor.thread,
        )
        extractors = self.extractors
        if any(s.has_video for s in self.sources):
            face = FaceWorker(
                self._face_inbox, context, rows=self.buffers["visual"], on_frame=self.callbacks.on_frame,
                stats=self.stats, fps=self.options.fps,
            )  # fmt: skip
            self._workers.append(face)
        if any(s.has_audio for s in self.sources):
            self._workers.append(
                VoiceWorker(self._voice_inbox, context, rows=self.buffers["audio"], extractor=extractors.voice)
            )
            speech = SpeechWorker(
                self._speech_inbox, context, words=self.words, on_words=self._words_out, stats=self.stats,
                recognizer=extractors.recognizer, options=self.options,
            )  # fmt: skip
            self._workers.append(speech)
        self._windows = self._build_window_loop()

    def _build_window_loop(self) -> WindowLoop:
        replay = self.replay
        return WindowLoop(
            WindowInputs(
                options=self.options,
                predictor=self.predictor,
                encode_words=self.extractors.text_encoder.encode,
                clock=self.clock,
                replay=replay,
                exact=self.exact,
                rows=self.buffers,
                words=self.words,
                workers=self._workers,
                positions=lambda: [source.position for source in self._media_files()],
                duration=self.duration if replay else None,
                stats=self.stats,
                stop=self._stop,
                paused=self._paused,
                lock=self._windows_lock,
                progress=self._progress,
                report=self.report_health,
                baseline_for=self.lab.baseline_for,
                observe_rest=self.lab.observe_rest,
                on_event=self._event_out,
                on_position=self.callbacks.on_position,
                on_finished=self._report_finished,
            )
        )

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

    def _report_finished(self) -> None:
        if not self._finished_reported:
            self._finished_reported = True
            self.callbacks.on_finished()
