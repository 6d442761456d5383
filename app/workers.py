"""The extractor stages of the engine: face (newest frame live, every frame in exact replay), voice
(every audio packet -> voice rows) and speech (audio -> words). Each is given its inbox, the buffer it
writes and a StageContext (clock, health reporter, stop), never the engine; app/stage.py says how
they fit together."""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.utterances import UTTERANCE_PAUSE_S

from .control import EngineOptions, PreviewFrame
from .events import StreamHealth, TimedWord
from .inbox import END, Inbox, Restart, StreamBuffer
from .packets import AudioPacket, VideoPacket
from .stage import StageContext
from .stream_stats import EngineStats
from .words_in_view import HeardWords


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


class Worker:
    """One extractor stage and its thread: takes packets from its inbox, processes each, keeps a
    watermark (the media time up to which it has processed) and reports its health. A failure on one
    packet is reported and the worker goes on with the next. A seek restarts it (Stage.restart)."""

    def __init__(self, name: str, inbox: Inbox, context: StageContext) -> None:
        self.name, self.inbox, self.context = name, inbox, context
        self.clock, self.exact = context.clock, context.exact
        self.watermark = -math.inf
        self.finished = False
        self.failures = 0
        self.health = StreamHealth(name=name, state="starting")
        self._dropped_seen, self.skipped_s = 0, 0.0  # live audio skipped by a full inbox
        self._last_report = 0.0
        self._rate_times: collections.deque = collections.deque()
        self.thread = context.new_thread(name, self._run)

    def process(self, packet: Any) -> None:
        raise NotImplementedError

    def forget_output(self) -> None:
        """Forget what this stage wrote (rows or words) from packets before a seek."""

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

    def restart(self, at: float) -> None:
        """A seek (on the source's thread, before any packet from `at`): drop what waits in the inbox and
        what was written; the stream state is reset on this worker's thread, in order with its packets."""
        self.inbox.clear()
        self.inbox.put(Restart(at))
        self.forget_output()

    def _restart_stream(self) -> None:
        """The Restart marker reached this worker: forget the stream so far, state and rows."""
        self.recover()
        self.forget_output()

    def _run(self) -> None:
        stop, progress_made = self.context.stop, self.context.progress_made
        while not stop.is_set():
            packet = self.inbox.get()
            if packet is None:
                continue
            if packet is END:
                self._guarded(self.finish)
                break
            if isinstance(packet, Restart):  # a seek: this stream starts afresh at the new point
                self.watermark = -math.inf
                self._guarded(self._restart_stream)
                continue
            if isinstance(packet, AudioPacket) and self.inbox.dropped != self._dropped_seen:
                self._after_skipped_audio()
            ok = self._guarded(self.process, packet)
            end = packet.time + (len(packet.samples) / SAMPLE_RATE if isinstance(packet, AudioPacket) else 0.0)
            self.watermark = max(self.watermark, end)
            if ok and self.health.state != "running":
                self.report("running", self._standing_message())  # e.g. the voice's "no speech" stays
            self._count(ok)
            progress_made()
        self.finished = True
        progress_made()
        self.report("stopped")

    def _guarded(self, action: Any, *args: Any) -> bool:
        try:
            action(*args)
            return True
        except Exception as error:  # noqa: BLE001 - reported; the stream goes on
            self.failures += 1
            self.report("retrying", f"{self.name} failed ({error}); skipping and going on", failures=self.failures)
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
            if not self.exact and self.watermark > -math.inf:
                self.health.lag_s = max(0.0, self.clock.now() - self.watermark)
            self.report(self.health.state, self.health.message if not ok else self._standing_message())

    def report(self, state: str, message: str = "", **details: Any) -> None:
        self.health.state, self.health.message = state, message
        self.health.details.update(details)
        self.context.report(StreamHealth(**{**self.health.to_json(), "details": dict(self.health.details)}))


class FaceWorker(Worker):
    """Frames -> face rows in the visual buffer, and each processed frame to the preview."""

    def __init__(
        self,
        inbox: Inbox,
        context: StageContext,
        *,
        rows: StreamBuffer,
        on_frame: Callable[[PreviewFrame], None],
        stats: EngineStats,
        fps: float,
    ) -> None:
        super().__init__("face", inbox, context)
        self.rows, self.on_frame, self.stats, self.fps = rows, on_frame, stats, fps
        self.face = None

    def _ensure_face(self) -> Any:
        if self.face is None:
            from feature_extractors.visual import FaceExtractor

            self.face = FaceExtractor(static_image=False)
        return self.face

    def process(self, packet: VideoPacket) -> None:
        observation = self._ensure_face().extract(packet.image)
        available = packet.time if self.exact else self.clock.now()
        self.stats.frames_processed += 1
        if observation is not None:
            self.stats.faces_found += 1
            period = 1.0 / self.fps
            self.rows.add([[packet.time, packet.time + period]], observation.vector[None], available)
        self.on_frame(
            PreviewFrame(
                image=packet.image,
                time=packet.time,
                face_box=tuple(observation.box) if observation is not None else None,
                landmarks=observation.landmarks if observation is not None else None,
            )
        )
        if not self.exact:
            self.stats.preview_latency_s.append(self.clock.now() - packet.time)

    def forget_output(self) -> None:
        self.rows.clear()

    def recover(self) -> None:
        self.close()  # a fresh tracker next frame

    def close(self) -> None:
        if self.face is not None:
            self.face.close()
            self.face = None


class VoiceWorker(Worker):
    """Audio -> voice rows in the audio buffer."""

    NO_SPEECH = "no speech"  # the health message while the speech gate finds none (the voice is absent)

    def __init__(self, inbox: Inbox, context: StageContext, *, rows: StreamBuffer, extractor: Any) -> None:
        super().__init__("voice", inbox, context)
        self.rows, self.extractor = rows, extractor  # extractor: feature_extractors.voice.VoiceExtractor
        self.recover()

    def forget_output(self) -> None:
        self.rows.clear()

    def recover(self) -> None:
        from feature_extractors.voice import VoiceStream

        self.stream = VoiceStream(self.extractor)

    def process(self, packet: AudioPacket) -> None:
        rows = self.stream.feed(packet.samples, packet.time)
        end = packet.time + len(packet.samples) / SAMPLE_RATE
        available = end if self.exact else self.clock.now()
        self.rows.add(rows.times, rows.values, available)
        # Say "no speech" (or stop saying it) as soon as the gate's verdict changes, not at the next
        # once-a-second report, so the dashboard tells the user at once why the voice does not vote.
        if self.health.state == "running" and self.health.message != self._standing_message():
            self.report("running", self._standing_message())

    def _standing_message(self) -> str:
        heard = "" if self.stream.hearing_speech else self.NO_SPEECH
        return "; ".join(message for message in (heard, super()._standing_message()) if message)


class SpeechWorker(Worker):
    """Audio -> words, kept in HeardWords and told to `on_words` (the window loop's wake-up, the
    recording, the front end)."""

    BEHIND_S = 0.5  # live: audio older than this when it reaches the worker means recognition is behind

    def __init__(
        self,
        inbox: Inbox,
        context: StageContext,
        *,
        words: HeardWords,
        on_words: Callable[[list[TimedWord]], None],
        stats: EngineStats,
        recognizer: Any,
        options: EngineOptions,
    ) -> None:
        super().__init__("asr", inbox, context)
        self.words, self.on_words, self.stats = words, on_words, stats
        self.recognizer, self.options = recognizer, options  # recognizer: feature_extractors.speech.SpeechRecognizer
        self.recover()

    def forget_output(self) -> None:
        self.words.clear()  # no utterance spans a seek

    def recover(self) -> None:
        from feature_extractors.speech import StreamingTranscriber

        options = self.options
        # Audio is kept as context across pauses shorter than an utterance pause, so a sentence the
        # speaker breathes in is heard whole (and punctuated as one).
        self.transcriber = StreamingTranscriber(
            self.recognizer,
            pause_s=options.asr_pause_s,
            early_pass_s=options.asr_early_pass_s or None,
            context_pause_s=max(options.utterance_pause_s, UTTERANCE_PAUSE_S),
        )

    def process(self, packet: AudioPacket) -> None:
        # Live, recognition that falls behind real time sheds its partial passes (words wait for a pause)
        # rather than fall further behind; exact replay always makes them, so its events never vary.
        keeping_up = self.exact or self.clock.now() - packet.time < self.BEHIND_S
        words = self.transcriber.feed(packet.samples, packet.time, partial=keeping_up)
        end = packet.time + len(packet.samples) / SAMPLE_RATE
        self._publish(words, end if self.exact else None)

    def finish(self) -> None:
        self._publish(self.transcriber.flush(), self.watermark if self.exact else None)

    def _publish(self, words: list[Any], available: float | None) -> None:
        if not words:
            return
        available = self.clock.now() if available is None else available
        timed = [TimedWord(w.text, float(w.start), float(w.end), float(w.probability)) for w in words]
        self.words.add(timed, available)
        self.on_words(timed)
        if not self.exact:
            now = self.clock.now()
            self.stats.word_latency_s.extend(now - w.end for w in timed)
            self.stats.utterance_latency_s.append(now - timed[-1].end)
