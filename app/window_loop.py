"""The engine's window loop: every hop, the last `window_s` of face and voice and the current
utterance's words -> one CARAT input -> one prediction -> one EmotionEvent (live: by the clock; exact
replay: once every worker has processed the media up to the window's end)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feature_extractors.windows import TimedRows, build_window

from .clock import SessionClock
from .control import EngineOptions
from .events import EmotionEvent, StreamHealth, TimedWord
from .inbox import StreamBuffer
from .predictor import Prediction, Predictor, PredictorError
from .stage import HealthReporter
from .stream_stats import EngineStats
from .words_in_view import HeardWords, WordsInView
from .workers import Worker


@dataclass
class WindowInputs:
    """What the window loop reads, and where its events go."""

    options: EngineOptions
    predictor: Predictor
    encode_words: Callable[[list[TimedWord]], Any]  # an utterance -> its word vectors (TextEncoder.encode)
    clock: SessionClock
    replay: bool  # a media file is replayed: the run finishes at its end
    exact: bool  # exact replay: a window waits for every worker to pass its end
    rows: dict[str, StreamBuffer]  # the face and voice rows, by modality ("visual", "audio")
    words: HeardWords
    workers: Sequence[Worker]  # their watermarks say how far the media has been processed
    positions: Callable[[], list[float]]  # each media file source's position, for on_position
    duration: float | None  # replay: no window beyond the media's end (None: not known, or live)
    stats: EngineStats
    stop: threading.Event
    paused: threading.Event
    lock: threading.Lock  # a window, or a seek's restart: never both at once
    progress: threading.Condition  # notified as workers make progress (exact replay waits on it)
    report: HealthReporter
    baseline_for: Callable[[float], Any]  # the person's rest, once calibrated (app/lab_outputs.py)
    observe_rest: Callable[[float, Prediction], None]
    on_event: Callable[[EmotionEvent], None]  # the recording, LSL and the front end
    on_position: Callable[[float], None]
    on_finished: Callable[[], None]


class WindowLoop:
    """One thread that cuts windows and emits events (see the module docstring). A Stage: a seek restarts
    its smoother and hop schedule."""

    name = "windows"

    def __init__(self, inputs: WindowInputs) -> None:
        self.inputs = inputs
        self._fresh_words = threading.Event()  # live: words just out of speech recognition, not yet scored
        self._encoded: tuple[tuple[TimedWord, ...], Any] | None = None  # (utterance, its word vectors)
        self._model_failing = False
        self._restarted = False  # set by restart (a seek), taken by the live loop
        self._restart_pending = False  # set by hold_until_restart: no window from before the jump

    # -- what other threads call (the lock held where a window must see all or nothing of it) ---------------
    def words_heard(self) -> None:
        """Live: words just came out of speech recognition; score them now, not at the next hop."""
        self._fresh_words.set()
        self.inputs.clock.nudge()

    def hold_until_restart(self) -> None:
        """A seek was asked for (the lock held): no window until the source has jumped."""
        self._restart_pending = True

    def restart(self, at: float) -> None:
        """The media jumped to `at` (the lock held): a fresh smoother, windows from the new point on."""
        self._restarted = True
        self._restart_pending = False

    # -- the thread ------------------------------------------------------------------------------------------
    def run(self) -> None:
        inputs = self.inputs
        try:
            if inputs.exact:
                self._exact_windows()
            else:
                self._live_windows()
        finally:
            if inputs.replay and not inputs.stop.is_set():
                inputs.on_finished()

    def _live_windows(self) -> None:
        inputs = self.inputs
        hop = inputs.options.hop_s
        due = math.floor(inputs.clock.now() / hop) * hop + hop
        while not inputs.stop.is_set():
            if self._media_finished():
                return
            if not inputs.clock.wait_until(due, inputs.stop, wake=self._fresh_words):
                return
            with inputs.lock:  # a seek (restart) happens wholly before or after this window
                due, next_hop = self._live_window(due)
            if not next_hop:
                continue
            for position in inputs.positions():
                inputs.on_position(position)
            due += hop

    def _live_window(self, due: float) -> tuple[float, bool]:
        """The window due now, if any: (the hop it was due at, whether the schedule moves on a hop)."""
        inputs = self.inputs
        hop = inputs.options.hop_s
        now = inputs.clock.now()
        fresh_words = self._fresh_words.is_set()
        self._fresh_words.clear()
        waiting = inputs.paused.is_set() or self._restart_pending
        if self._restarted:  # a seek: a fresh smoother, windows from the new point on
            self._restarted = False
            inputs.predictor.smoother.reset()
            due = math.floor(now / hop) * hop
        elif now < due - 2 * hop or now > due + 2 * hop:  # we fell behind (or a jump): catch up
            inputs.stats.windows_skipped += 1 if now > due else 0
            due = math.floor(now / hop) * hop
        elif now < due:  # woken early, by a clock jump or by words just out of speech recognition
            if fresh_words and not waiting and not self._past_the_end(now):
                # The words are scored now, off the hop grid, rather than up to a hop later: the time
                # from the end of speech to its words in an event is what the user waits for.
                self._emit(now, available_by=math.inf)
            return due, False
        if not waiting and not self._past_the_end(due):  # replay: no windows beyond the media
            self._emit(due, available_by=math.inf)
        return due, True

    def _past_the_end(self, end: float) -> bool:
        """Replay: a window ending here would be beyond the media."""
        media_end = self.inputs.duration
        return media_end is not None and end > media_end + self.inputs.options.hop_s / 2

    def _media_finished(self) -> bool:
        workers = self.inputs.workers
        return self.inputs.replay and bool(workers) and all(w.finished for w in workers)

    def _exact_windows(self) -> None:
        inputs = self.inputs
        hop = inputs.options.hop_s
        step = 1
        while not inputs.stop.is_set():
            due = step * hop
            # A worker is past a window once it has processed media beyond the window's end (or finished):
            # at a watermark equal to the end, speech recognition may still flush words available then
            # (at the end of the media), and the window would take them or not by thread timing.
            with inputs.progress:
                while not inputs.stop.is_set() and (
                    inputs.paused.is_set() or not all(w.finished or w.watermark > due for w in inputs.workers)
                ):
                    inputs.progress.wait(0.1)
            if inputs.stop.is_set():
                return
            if all(w.finished for w in inputs.workers):
                end = max((w.watermark for w in inputs.workers), default=0.0)
                if due - hop >= end:
                    return
            self._emit(due, available_by=due)
            inputs.on_position(due)
            step += 1

    # -- one window ----------------------------------------------------------------------------------------
    def _emit(self, end: float, available_by: float) -> None:
        inputs = self.inputs
        start = end - inputs.options.window_s
        in_view = inputs.words.in_view(end, available_by, max_words=inputs.predictor.lengths[0])
        words = in_view.words
        text_start = words[0].start if words else start
        oldest = min(start, text_start)  # the earliest time any stream still needs
        # Aligned inputs average face and voice over each word's span, so they follow the words' window.
        stream_start = text_start if inputs.predictor.aligned else start
        rows = {m: TimedRows(*inputs.rows[m].rows(stream_start, end, available_by)) for m in ("visual", "audio")}
        rows["text"] = self._utterance_rows(words)
        baseline = inputs.baseline_for(end)  # the person's rest, once calibrated
        began = time.perf_counter()
        try:
            prediction = self._predict(rows, in_view, stream_start, text_start, end, baseline)
        except (PredictorError, ValueError) as error:
            self._model_failing = True
            message = f"no prediction for the window ending at {end:.2f} s: {error}"
            inputs.report(StreamHealth("model", "retrying", message=message))
            return
        inputs.stats.predict_s.append(time.perf_counter() - began)
        inputs.observe_rest(end, prediction)
        if self._model_failing:
            self._model_failing = False
            inputs.report(StreamHealth("model", "running", details={"device": str(inputs.predictor.device)}))
        created = end if inputs.exact else inputs.clock.now()
        latency = self._latency(rows, created)
        inputs.words.prune(available_by, before=oldest - inputs.options.window_s)
        event = self._event(start, end, prediction, words, latency, created)
        inputs.stats.events += 1
        inputs.on_event(event)
        for buffer in inputs.rows.values():
            buffer.prune(oldest - inputs.options.window_s)

    def _predict(
        self, rows: dict[str, Any], in_view: WordsInView, stream_start: float, text_start: float, end: float,
        baseline: Any,
    ) -> Prediction:  # fmt: skip
        predictor = self.inputs.predictor
        window = build_window(
            rows["text"], rows["visual"], rows["audio"], stream_start, end,
            aligned=predictor.aligned, lengths=predictor.lengths,
        )  # fmt: skip
        if stream_start > text_start:
            words_only = build_window(
                rows["text"], TimedRows.empty(rows["visual"].values.shape[1]),
                TimedRows.empty(rows["audio"].values.shape[1]), text_start, end,
                aligned=False, lengths=predictor.lengths,
            )  # fmt: skip
            window["text"], window["text_mask"] = words_only["text"], words_only["text_mask"]
        without_words = None
        if in_view.words and in_view.weight < 1.0:  # a fading utterance: also the window as if unsaid
            without_words = {**window, "text": np.zeros_like(window["text"]),
                             "text_mask": np.zeros_like(window["text_mask"])}  # fmt: skip
        return predictor.predict(
            window, end, words_weight=in_view.weight, without_words=without_words, baseline=baseline
        )

    def _latency(self, rows: dict[str, Any], created: float) -> float | None:
        """Live: the event's age behind the newest face or voice row it used (None in exact replay)."""
        newest_visual = rows["visual"].times[:, 0].max() if len(rows["visual"]) else None
        newest_audio = rows["audio"].times[:, 1].max() if len(rows["audio"]) else None
        if self.inputs.exact:
            return None
        newest = max((t for t in (newest_visual, newest_audio) if t is not None), default=None)
        if newest_visual is not None:
            self.inputs.stats.visual_latency_s.append(created - float(newest_visual))
        return None if newest is None else created - float(newest)

    def _event(
        self, start: float, end: float, prediction: Prediction, words: tuple[TimedWord, ...],
        latency: float | None, created: float,
    ) -> EmotionEvent:  # fmt: skip
        predictor = self.inputs.predictor
        return EmotionEvent(
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
            rest=prediction.rest,
        )

    def _utterance_rows(self, words: tuple[TimedWord, ...]) -> Any:
        """The words' vectors, encoded together as one sentence, as prepare encodes a sample's words
        (kept: most windows score the same utterance as the window before)."""
        if self._encoded is None or self._encoded[0] != words:
            self._encoded = (words, self.inputs.encode_words(list(words)))
        return self._encoded[1]
