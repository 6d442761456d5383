"""The engine's window loop: every hop, the last `window_s` of face and voice and the current
utterance's words -> one CARAT input -> one prediction -> one EmotionEvent (live: by the clock; exact
replay: once every worker has processed the media up to the window's end)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .events import EmotionEvent, StreamHealth, TimedWord
from .media_source import MediaFileSource
from .predictor import PredictorError


class WindowLoop:
    """The window-loop half of Engine (a mixin: it reads the engine's state; see Engine)."""

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
            if not self.clock.wait_until(due, self._stop, wake=self._fresh_words):
                return
            with self._windows_lock:  # a seek (restart_at) happens wholly before or after this window
                now = self.clock.now()
                fresh_words = self._fresh_words.is_set()
                self._fresh_words.clear()
                waiting = self._paused.is_set() or self._seek_pending
                if self._restarted:  # a seek: a fresh smoother, windows from the new point on
                    self._restarted = False
                    self.predictor.smoother.reset()
                    due = math.floor(now / hop) * hop
                elif now < due - 2 * hop or now > due + 2 * hop:  # we fell behind (or a jump): catch up
                    self.stats.windows_skipped += 1 if now > due else 0
                    due = math.floor(now / hop) * hop
                elif now < due:  # woken early, by a clock jump or by words just out of speech recognition
                    if fresh_words and not waiting and not self._past_the_end(now):
                        # The words are scored now, off the hop grid, rather than up to a hop later
                        # (issue 14: end of speech -> its words in an event).
                        self._emit(now, available_by=math.inf)
                    continue
                if not waiting and not self._past_the_end(due):  # replay: no windows beyond the media
                    self._emit(due, available_by=math.inf)
            for source in self.sources:
                if isinstance(source, MediaFileSource):
                    self.callbacks.on_position(source.position)
            due += hop

    def _past_the_end(self, end: float) -> bool:
        """Replay: a window ending here would be beyond the media."""
        media_end = self.duration if self.replay else None
        return media_end is not None and end > media_end + self.options.hop_s / 2

    def _media_finished(self) -> bool:
        return self.replay and bool(self._workers) and all(w.finished for w in self._workers)

    def _exact_windows(self) -> None:
        hop = self.options.hop_s
        step = 1
        while not self._stop.is_set():
            due = step * hop
            # A worker is past a window once it has processed media beyond the window's end (or finished):
            # at a watermark equal to the end, speech recognition may still flush words available then
            # (at the end of the media), and the window would take them or not by thread timing.
            with self._progress:
                while not self._stop.is_set() and (
                    self._paused.is_set() or not all(w.finished or w.watermark > due for w in self._workers)
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
        from feature_extractors.windows import TimedRows, build_window

        predictor = self.predictor
        start = end - self.options.window_s
        with self._words_lock:
            heard = [(w, available) for w, available in self._words if available <= available_by]
            in_view = self.sentence_turns.choose(heard, end, max_words=predictor.lengths[0])
        words = in_view.words
        text_start = words[0].start if words else start
        oldest = min(start, text_start)  # the earliest time any stream still needs
        # Aligned inputs average face and voice over each word's span, so they follow the words' window.
        stream_start = text_start if predictor.aligned else start
        rows = {m: TimedRows(*self.buffers[m].rows(stream_start, end, available_by)) for m in ("visual", "audio")}
        rows["text"] = self._utterance_rows(words)
        baseline = self._baseline_for(end)  # the person's rest, once calibrated (app/lab_outputs.py)
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
            without_words = None
            if words and in_view.weight < 1.0:  # a fading utterance: also the window as if unsaid
                without_words = {**window, "text": np.zeros_like(window["text"]),
                                 "text_mask": np.zeros_like(window["text_mask"])}  # fmt: skip
            prediction = predictor.predict(
                window, end, words_weight=in_view.weight, without_words=without_words, baseline=baseline
            )
        except (PredictorError, ValueError) as error:
            self._model_failing = True
            message = f"no prediction for the window ending at {end:.2f} s: {error}"
            self.report_health(StreamHealth("model", "retrying", message=message))
            return
        self.stats.predict_s.append(time.perf_counter() - began)
        self._observe_rest(end, prediction)
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
            # Words leave once heard and long out of view; words still in recognition are kept however old.
            while self._words and self._words[0][1] <= available_by and self._words[0][0].end < oldest - self.options.window_s:
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
            rest=prediction.rest,
        )
        self.stats.events += 1
        if self.writer is not None:
            self.writer.write_event(event)
        self._publish(event)  # to LSL: hands over, never waits
        self.callbacks.on_event(event)
        for buffer in self.buffers.values():
            buffer.prune(oldest - self.options.window_s)

    def _utterance_rows(self, words: tuple[TimedWord, ...]) -> Any:
        """The words' vectors, encoded together as one sentence, as prepare encodes a sample's words
        (kept: most windows score the same utterance as the window before)."""
        if self._encoded is None or self._encoded[0] != words:
            self._encoded = (words, self.extractors.text_encoder.encode(list(words)))
        return self._encoded[1]
