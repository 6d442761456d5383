"""The engine's lab half: per-person calibration (app/calibration.py) and the LSL outlets (app/lsl_output.py).

Given what it reads (settings, options, predictor, clock) and where it reports, by the engine. What it keeps:
- the run's calibration is settled before any model work starts where it can be refused (a missing or
  damaged profile is an error at construction, naming the file);
- a calibration that cannot be made, or saved, and LSL that cannot start are told once as a `stopped`
  stream with a one-line message, and the run goes on without them;
- the window loop only ever asks `baseline_for`, `observe_rest` and `publish`: none of them waits.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path

from . import calibration
from .calibration import CalibrationError, RunCalibration
from .clock import SessionClock
from .control import EngineOptions, EngineSettings, LslSettings
from .events import EmotionEvent, StreamHealth
from .lsl_output import LslPublisher, LslUnavailable, StreamDescription
from .predictor import Prediction, Predictor
from .session import file_sha256, is_session_folder
from .stage import HealthReporter


class LabOutputs:
    """Calibration and LSL for Engine (see the module docstring)."""

    def __init__(
        self,
        settings: EngineSettings,
        options: EngineOptions,
        predictor: Predictor,
        *,
        replay: bool,
        clock: SessionClock,
        report: HealthReporter,
        new_thread: Callable[[str, Callable[[], object]], threading.Thread],
        stop: threading.Event,
    ) -> None:
        """At the engine's construction, after the predictor is loaded: a calibration that cannot be had is
        refused here (CalibrationError, ValueError)."""
        self.settings, self.options, self.predictor, self.replay = settings, options, predictor, replay
        self.clock, self.report_health, self._new_thread, self._stop = clock, report, new_thread, stop
        self.lsl: LslPublisher | None = None
        self.lsl_thread: threading.Thread | None = None
        self._lsl_lock = threading.Lock()
        self._lsl_tried: LslSettings | None = None  # the settings the outlets were last opened (or tried) for
        self._session_started = False  # session time 0 has come: LSL opens at once when switched on
        self._checkpoint_sha256: str | None = None
        self._calibration_source = ""  # where the baseline in force at start comes from, for the user
        self.calibration = self._initial_calibration()

    # -- calibration ----------------------------------------------------------------------------------
    def checkpoint_sha256(self) -> str:
        """The checkpoint's hash (a baseline names it), computed once."""
        if self._checkpoint_sha256 is None:
            self._checkpoint_sha256 = file_sha256(self.predictor.checkpoint)
        return self._checkpoint_sha256

    def _initial_calibration(self) -> RunCalibration:
        """A named profile (from the start), else a replayed session's own calibration (from where it
        began there), else none yet. --calibrate makes a new one instead."""
        chosen = self.settings.calibration
        if chosen is not None and chosen.seconds > 0:
            self._check_calibration(chosen.seconds, chosen.profile)  # refused now, not after the models load
            return RunCalibration()
        check = {"labels": self.predictor.labels}
        if chosen is not None and chosen.profile:
            path = calibration.profile_path(chosen.profile)
            self._calibration_source = f"profile {chosen.profile} ({path})"
            return RunCalibration(calibration.load(path, **check, checkpoint_sha256=self.checkpoint_sha256()))
        media = self.settings.media
        own = Path(media or ".") / calibration.SESSION_NAME
        if media and is_session_folder(media) and own.is_file():
            baseline, applies_after = calibration.load_session_copy(
                own, **check, checkpoint_sha256=self.checkpoint_sha256()
            )
            start = "" if math.isinf(applies_after) else f", after {applies_after:g} s as recorded"
            self._calibration_source = f"the session's own calibration ({own}{start})"
            return RunCalibration(baseline, applies_after)
        return RunCalibration()

    def _calibration_folder(self) -> Path | None:
        chosen = self.settings.calibration
        folder = (chosen.keep_in if chosen is not None else None) or self.settings.record_to
        return Path(folder) if folder else None

    def start_calibration(self) -> None:
        """At start-up: keep a copy of the baseline already in force, or begin recording the rest."""
        chosen = self.settings.calibration
        if chosen is not None and chosen.seconds > 0:
            self.calibrate(chosen.seconds, chosen.profile, at=0.0)
        elif self.calibration.baseline is not None:
            message = f"scores are relative to the person's rest: {self._calibration_source}"
            self.report_health(StreamHealth("calibration", "running", message=message))
            try:
                self._keep_copy(self.calibration.baseline, self.calibration.applies_after)
            except OSError as error:
                message = f"the baseline in use could not be copied to the results ({error}); it still applies"
                self.report_health(StreamHealth("calibration", "stopped", message=message))

    def calibrate(self, seconds: float, profile: str | None = None, *, at: float | None = None) -> None:
        """Record the person at rest for `seconds` from the next window (or from session time `at`), then
        read scores relative to it, saved under `profile` when named (EngineControl)."""
        self._check_calibration(seconds, profile)
        self.calibration.record(seconds, profile, start=at)
        message = f"recording your rest for {seconds:g} s: {calibration.REST_INSTRUCTIONS}"
        self.report_health(StreamHealth("calibration", "starting", message=message))

    def _check_calibration(self, seconds: float, profile: str | None) -> None:
        """ValueError for a recording that could not give a baseline, or a profile name that is no name."""
        shortest = self.options.window_s + self.options.hop_s
        if not (isinstance(seconds, (int, float)) and shortest <= seconds <= 600):
            raise ValueError(
                f"calibration takes from {shortest:g} to 600 seconds (10 is good), got {seconds!r}: only windows "
                f"wholly at rest count, and each window sees {self.options.window_s:g} s"
            )
        if profile:
            calibration.profile_path(profile)
        self.checkpoint_sha256()  # hashed now, not in the window loop when the recording ends

    def baseline_for(self, end: float):
        """The window loop, before predicting the window ending at `end`: finish a recording that is due,
        and say which baseline applies (restarting the smoother at its first window)."""
        recording = self.calibration.due(end)
        if recording is not None:
            self._finish_calibration(recording)
        baseline, first = self.calibration.rest_at(end)
        if first:
            self.predictor.smoother.reset()
        return baseline

    def observe_rest(self, end: float, prediction: Prediction) -> None:
        start = end - self.options.window_s
        self.calibration.observe(start, end, prediction.raw_scores, prediction.deciding_modality)

    def _finish_calibration(self, recording: calibration.Recording) -> None:
        try:
            baseline = calibration.measure(
                self.predictor.labels,
                recording.windows,
                checkpoint=Path(self.predictor.checkpoint).name,
                checkpoint_sha256=self.checkpoint_sha256(),
            )
        except CalibrationError as error:
            self.report_health(StreamHealth("calibration", "stopped", message=str(error)))
            return
        self.calibration.use(baseline, recording.until)
        saved = []
        try:
            if recording.profile:
                saved.append(str(calibration.save(baseline, calibration.profile_path(recording.profile))))
            saved += self._keep_copy(baseline, recording.until)
        except (OSError, CalibrationError) as error:
            message = f"calibrated, but the baseline could not be saved ({error}); it applies to this run only"
            self.report_health(StreamHealth("calibration", "stopped", message=message))
            return
        where = f"; saved to {', '.join(saved)}" if saved else ""
        message = f"calibrated on {baseline.windows} windows at rest: scores are now relative to your rest{where}"
        self.report_health(StreamHealth("calibration", "running", message=message))

    def _keep_copy(self, baseline: calibration.Baseline, applies_after: float) -> list[str]:
        folder = self._calibration_folder()
        if folder is None:
            return []
        start = None if math.isinf(applies_after) else applies_after
        return [str(calibration.save(baseline, folder / calibration.SESSION_NAME, applies_after=start))]

    def end(self) -> None:
        """At stop, once no window comes any more: close LSL; say so if the rest was still being recorded."""
        self.close_lsl()
        recording = self.calibration.due(math.inf)
        if recording is not None:
            message = (
                f"calibration did not finish: the run ended before {recording.until:g} s "
                f"({len(recording.windows)} windows at rest recorded); nothing was saved"
            )
            self.report_health(StreamHealth("calibration", "stopped", message=message))

    # -- LSL ----------------------------------------------------------------------------------------------
    def _open_lsl(self, settings: LslSettings, session_now: float) -> bool:
        self._lsl_tried = settings
        description = StreamDescription(
            labels=self.predictor.labels,
            thresholds=self.predictor.thresholds,
            checkpoint=Path(self.predictor.checkpoint).name,
            hop_s=self.options.hop_s,
            utterance_pause_s=self.options.utterance_pause_s,
            replay=self.replay,
        )
        try:
            publisher = LslPublisher(settings, description, session_now=session_now, on_dropped=self._lsl_dropped)
        except LslUnavailable as error:
            message = f"the LSL streams are off: {error}; the run goes on without them (reinstall pylsl to fix)"
            self.report_health(StreamHealth("lsl", "stopped", message=message))
            return False
        with self._lsl_lock:
            self.lsl = publisher
        details = {"streams": [publisher.name, publisher.marker_name], "clock_offset": publisher.offset}
        message = f"publishing '{publisher.name}' and '{publisher.marker_name}' (clock offset {publisher.offset:.6f} s)"
        self.report_health(StreamHealth("lsl", "running", message=message, details=details))
        return True

    def open_lsl_at_start(self) -> None:
        """At start-up, before session time 0: open the outlets and wait for a consumer where asked."""
        lsl = self.settings.lsl
        if lsl is None or not self._open_lsl(lsl, session_now=0.0) or not lsl.wait_s > 0:
            return
        message = f"waiting up to {lsl.wait_s:g} s for a consumer of both streams (LabRecorder: Update, tick, Start)"
        self.report_health(StreamHealth("lsl", "starting", message=message))
        found = self.lsl.wait_for_consumers(lsl.wait_s, self._stop)
        message = "a consumer is connected" if found else f"no consumer after {lsl.wait_s:g} s: starting anyway"
        self.report_health(StreamHealth("lsl", "running", message=message))

    def start_lsl(self) -> None:
        """Under the engine's lifecycle lock, at session time 0 (start-up) or later (set_lsl): the outlets
        the settings ask for, pushing. A switch while the models loaded wins over what start-up opened."""
        self._session_started = True
        wanted = self.settings.lsl
        if wanted != self._lsl_tried or wanted is None:
            self.close_lsl()
            if wanted is not None:
                self._open_lsl(wanted, self.clock.now())
        if self.lsl is not None and self.lsl_thread is None:
            self.lsl_thread = self._new_thread("lsl", self.lsl.run)
            self.lsl_thread.start()

    def set_lsl(self, settings: LslSettings | None) -> None:
        """Under the engine's lifecycle lock: switch LSL publishing on or off; once running, the new
        outlets' offset maps the session clock's now to LSL's now."""
        self.settings.lsl = settings
        self._lsl_tried = None  # opened anew, even with the same settings
        if self._session_started and not self._stop.is_set():
            self.start_lsl()

    def publish(self, event: EmotionEvent) -> None:
        publisher = self.lsl
        if publisher is not None:
            publisher.put(event)

    def _lsl_dropped(self, count: int) -> None:
        if count == 1:
            message = "LSL publishing fell behind: events are being left out of the LSL stream (not the files)"
            self.report_health(StreamHealth("lsl", "retrying", message=message))

    def close_lsl(self) -> None:
        with self._lsl_lock:
            publisher, thread = self.lsl, self.lsl_thread
            self.lsl, self.lsl_thread = None, None
        if publisher is not None:
            publisher.close(thread)
