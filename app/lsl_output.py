"""Lab Streaming Layer outlets: the engine's events, live, for a lab's other instruments (LabRecorder, EEG).

Two streams (README "Lab integration" shows a reader):
- `CARAT Live` (LslSettings.name), type `Emotion`, float32, one sample per EmotionEvent, nominal rate
  1 / hop: the six smoothed scores in label order, the six raw scores, and three presence flags (face,
  voice, words: 1.0 / 0.0). Its XML description names the channels and holds the thresholds, the
  checkpoint's name, the hop and the clock offset.
- `CARAT Live Markers`, type `Markers`, one string a sample: `<label> on` / `<label> off` when a label's
  decision changes, `words: <text>` once per utterance (when it is complete: it ends a sentence, a pause
  follows it, or the next one starts), and `calibrated` when scores become relative to the person's rest.

Timestamps are on LSL's clock at the *capture* time the sample describes, not when it was made: an event's
window end, an utterance's last word's end. Session time maps to LSL time by one offset read when the
outlets open (live: the session clock runs on the same monotonic time as `pylsl.local_clock()`; replay:
media time 0 is the replay's start, or the moment a dashboard switched LSL on), stated in the description.

The engine never waits on LSL: `put` hands an event to a bounded queue (full: the event is counted as not
published, never waited for) and one thread, started under the engine's supervisor, pushes. pylsl's push
does not block either; an error in it ends that thread through the supervisor, which tells the user.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from feature_extractors.utterances import ends_sentence

from .control import LslSettings
from .events import EmotionEvent, TimedWord

PRESENCE = (("visual", "face"), ("audio", "voice"), ("text", "words"))  # event modality -> channel word
QUEUE_EVENTS = 4096  # ~17 minutes of events at 4 a second waiting for the pushing thread
LINGER_S = 0.25  # at close, with consumers connected: time for the last samples to leave the send buffers


class LslUnavailable(RuntimeError):
    """liblsl could not be loaded or an outlet not made; the message is one line."""


@dataclass(frozen=True)
class StreamDescription:
    """What the event stream says about itself in its XML description."""

    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    checkpoint: str  # the file's name
    hop_s: float
    utterance_pause_s: float  # a silence this long ends an utterance (for `words:` markers)
    replay: bool


def channel_names(labels: Sequence[str]) -> list[str]:
    return list(labels) + [f"{label}_raw" for label in labels] + [f"{word}_present" for _, word in PRESENCE]


def event_sample(event: EmotionEvent) -> list[float]:
    """The event's 15 channel values, in `channel_names` order."""
    presence = [1.0 if event.present.get(modality) else 0.0 for modality, _ in PRESENCE]
    return [float(s) for s in event.scores] + [float(s) for s in event.raw_scores] + presence


class MarkerTracker:
    """Events (in window order) -> the markers they give: [(text, session time of what it marks)]."""

    def __init__(self, utterance_pause_s: float) -> None:
        self.pause_s = utterance_pause_s
        self._decided: tuple[bool, ...] | None = None
        self._calibrated = False
        self._utterance: tuple[TimedWord, ...] = ()
        self._told: tuple[TimedWord, ...] = ()  # the last utterance given as a marker

    def markers(self, event: EmotionEvent) -> list[tuple[str, float]]:
        out = []
        if event.rest is not None and not self._calibrated:
            out.append(("calibrated", event.window_end))
        self._calibrated = event.rest is not None
        previous = self._decided or (False,) * len(event.labels)
        for label, was, now in zip(event.labels, previous, event.decided):
            if was != now:
                out.append((f"{label} {'on' if now else 'off'}", event.window_end))
        self._decided = tuple(event.decided)
        words = tuple(event.words)
        if self._utterance and words[:1] != self._utterance[:1]:
            out += self._tell(self._utterance)  # the next utterance started (or the words left the view)
        self._utterance = words
        if words and (ends_sentence(words[-1].text) or event.window_end - words[-1].end >= self.pause_s):
            out += self._tell(words)
        return out

    def finish(self) -> list[tuple[str, float]]:
        """At the end of the run: the utterance still open, if not told yet."""
        return self._tell(self._utterance)

    def _tell(self, words: tuple[TimedWord, ...]) -> list[tuple[str, float]]:
        if not words or words == self._told:
            return []
        self._told = words
        return [("words: " + " ".join(w.text.strip() for w in words), words[-1].end)]


class LslPublisher:
    """The two outlets and the queue in front of them. `put` from the window loop, `run` on one thread,
    `close` once the window loop has stopped."""

    def __init__(
        self,
        settings: LslSettings,
        description: StreamDescription,
        *,
        session_now: float,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        """Opens both outlets (raises LslUnavailable); `session_now` is the session time at this moment,
        which fixes the offset from session to LSL time."""
        pylsl = _load_pylsl()
        self.name = settings.name
        self.marker_name = f"{settings.name} Markers"
        try:
            self.offset = pylsl.local_clock() - session_now
            self._outlet = pylsl.StreamOutlet(self._event_info(pylsl, description))
            markers = pylsl.StreamInfo(self.marker_name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                       f"carat-live:{settings.name}:markers")  # fmt: skip
            markers.desc().append_child_value("clock_offset", repr(self.offset))
            self._markers = pylsl.StreamOutlet(markers)
        except Exception as error:  # whatever liblsl raised, the user gets one line
            raise LslUnavailable(f"liblsl could not open the streams ({_one_line(error)})") from error
        self._queue: queue.Queue[EmotionEvent | None] = queue.Queue(QUEUE_EVENTS)
        self._tracker = MarkerTracker(description.utterance_pause_s)
        self._on_dropped = on_dropped or (lambda _count: None)
        self._ended = threading.Event()  # run() returned (closed, or failed)
        self.dropped = 0
        self.published = 0

    def _event_info(self, pylsl: Any, description: StreamDescription) -> Any:
        names = channel_names(description.labels)
        rate = 1.0 / description.hop_s
        info = pylsl.StreamInfo(self.name, "Emotion", len(names), rate, pylsl.cf_float32, f"carat-live:{self.name}")
        desc = info.desc()
        channels = desc.append_child("channels")
        for index, name in enumerate(names):
            channel = channels.append_child("channel")
            channel.append_child_value("label", name)
            if index < 2 * len(description.labels):
                smoothed = index < len(description.labels)
                channel.append_child_value("type", "EmotionScore" if smoothed else "EmotionScoreRaw")
                channel.append_child_value("unit", "probability")
                label = description.labels[index % len(description.labels)]
                channel.append_child_value("threshold", repr(description.thresholds[index % len(description.labels)]))
                channel.append_child_value(
                    "meaning",
                    f"{label}, smoothed (relative to the person's rest once calibrated)"
                    if smoothed
                    else f"{label}, the model's score for this window alone",
                )
            else:
                channel.append_child_value("type", "Presence")
                channel.append_child_value("unit", "boolean")
        thresholds = desc.append_child("thresholds")
        for label, threshold in zip(description.labels, description.thresholds):
            thresholds.append_child_value(label, repr(threshold))
        desc.append_child_value("checkpoint", description.checkpoint)
        desc.append_child_value("hop_s", repr(description.hop_s))
        clock = desc.append_child("clock")
        clock.append_child_value("offset", repr(self.offset))
        clock.append_child_value(
            "rule",
            "timestamp = offset + media seconds (offset: LSL clock at media time 0, the replay's start)"
            if description.replay
            else "timestamp = offset + session seconds (the capture time of the window's end)",
        )
        acquisition = desc.append_child("acquisition")
        acquisition.append_child_value("manufacturer", "CARAT Live")
        acquisition.append_child_value("model", description.checkpoint)
        return info

    def wait_for_consumers(self, timeout_s: float, stop: threading.Event) -> bool:
        """Wait (up to `timeout_s`, or until `stop`) until both streams have a consumer."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set() and time.monotonic() < deadline:
            if self._outlet.have_consumers() and self._markers.have_consumers():
                return True
            stop.wait(0.05)
        return False

    def put(self, event: EmotionEvent) -> None:
        """Hand an event over; never waits."""
        if self._ended.is_set():
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self._on_dropped(self.dropped)

    def run(self) -> None:
        """The pushing thread's loop, until `close` (an exception ends it: the supervisor reports it)."""
        try:
            while (event := self._queue.get()) is not None:
                self._outlet.push_sample(event_sample(event), self.offset + event.window_end)
                self.published += 1
                self._push_markers(self._tracker.markers(event))
            self._push_markers(self._tracker.finish())
        finally:
            self._ended.set()

    def _push_markers(self, markers: list[tuple[str, float]]) -> None:
        for text, at in markers:
            self._markers.push_sample([text], self.offset + at)

    def close(self, thread: threading.Thread | None, timeout_s: float = 5.0) -> None:
        """Push what is queued, then close both outlets (after a moment for connected consumers)."""
        if thread is not None and thread.is_alive():
            while not self._ended.is_set():
                try:
                    self._queue.put(None, timeout=0.1)
                    break
                except queue.Full:
                    continue
            thread.join(timeout_s)
        if self._outlet.have_consumers() or self._markers.have_consumers():
            time.sleep(LINGER_S)
        self._outlet = self._markers = None  # liblsl closes an outlet when its last reference goes


def _load_pylsl() -> Any:
    try:
        import pylsl

        pylsl.local_clock()
    except Exception as error:  # ImportError, or pylsl's RuntimeError for a missing liblsl
        raise LslUnavailable(f"liblsl could not be loaded ({_one_line(error)})") from error
    return pylsl


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return f"{type(error).__name__}: {text}"
