"""The predictor: one CARAT checkpoint, kept resident, turning input windows into smoothed scores.

- Loading refuses a checkpoint whose FeatureSpec differs from the extractors' (`default_feature_spec`).
- The model, its buffers and one pre-allocated input batch stay on the GPU when there is one (the CPU
  otherwise); each window goes in with one copy (non-blocking from pinned memory on a GPU).
- A warm-up forward pass runs at load, so the first real window is not the slow one.
- Modalities the checkpoint was not trained on (`extra["trained_modalities"]`) never vote: their
  features and mask are zeroed before the model, and `scored` says so.
- A window whose model input equals the previous one's (words unchanged, and face and voice not scored
  or unchanged: most windows between two utterances with a words-only checkpoint) reuses its output
  instead of running the model again; the model is deterministic in eval mode, so nothing changes.

Smoothing rule (documented for users in the event's `scores` versus `raw_scores`): scores rise at once
and fall smoothly. score <- max(raw, score + a * (raw - score)) with a = 1 - exp(-dt / tau), where dt is
the time between the two windows' ends and tau = `smoothing_s` (1 s by default; 0 turns smoothing off):
a raw score above the shown one is shown as it is, a lower one is approached exponentially. So the
shown score is never below the raw one, and when a sentence's raw score passes its threshold the decision
shows it in that same window, and holds while the sentence (and so its raw score) stays in the window;
smoothing only keeps a decision a moment after its cause has gone. The first window, or one after a gap
longer than 5 tau (a pause or seek), starts afresh from its raw scores. Decisions (`decided`) compare the
smoothed score with each label's threshold.

With a person's baseline (app/calibration.py), each raw score is first read relative to the person's rest
(that module's rule), and the calibrated scores are what is smoothed and decided; `raw_scores` stay the
model's own.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from carat_model import (
    NO_MODALITY,
    CaratConfig,
    CaratInputs,
    CheckpointError,
    load_checkpoint,
    read_checkpoint_info,
)
from carat_model.config import MODALITIES, SOFT_ALIGNED, feature_dim_fields
from carat_model.model import SoftAlignment

from .calibration import Baseline
from .defaults import default_checkpoint

DEFAULT_CHECKPOINT = default_checkpoint()


class PredictorError(RuntimeError):
    """The model could not score a window (bad input or a failure inside the model)."""


@dataclass(frozen=True)
class Prediction:
    raw_scores: tuple[float, ...]  # the model's, this window alone
    scores: tuple[float, ...]  # smoothed (calibrated first, with a baseline)
    decided: tuple[bool, ...]
    deciding_modality: tuple[str | None, ...]
    present: dict[str, bool]
    scored: dict[str, bool]
    rest: tuple[float, ...] | None = None  # with a baseline: the resting level applied to each label


class ScoreSmoother:
    """Rises at once, falls as an exponential moving average over time (the module docstring's rule)."""

    def __init__(self, time_constant_s: float) -> None:
        self.time_constant_s = time_constant_s
        self._scores: np.ndarray | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._scores, self._time = None, None

    def update(self, raw: np.ndarray, time: float) -> np.ndarray:
        tau = self.time_constant_s
        fresh = self._scores is None or tau <= 0 or time <= self._time or time - self._time > 5 * tau
        if fresh:
            self._scores = raw.astype(np.float64).copy()
        else:
            weight = 1.0 - math.exp(-(time - self._time) / tau)
            self._scores = np.maximum(raw, self._scores + weight * (raw - self._scores))
        self._time = time
        return self._scores.copy()


def choose_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_checkpoint(path: str | os.PathLike | None) -> Path:
    if path is not None:
        return Path(path)
    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT
    raise CheckpointError(
        f"no checkpoint given and no bundled default at {DEFAULT_CHECKPOINT}; pass --checkpoint PATH "
        "(train one with main.py train)"
    )


class Predictor:
    """Scores windows from `feature_extractors.windows.build_window` with one checkpoint."""

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        *,
        device: str | None = None,
        smoothing_s: float = 1.0,
        threads: int | None = None,
        warm_up: bool = True,
    ) -> None:
        from feature_extractors.spec import FeatureSpec, default_feature_spec

        self.checkpoint = resolve_checkpoint(checkpoint)
        info = read_checkpoint_info(self.checkpoint)
        if info.feature_spec is None:
            raise CheckpointError(
                f"{self.checkpoint} records no FeatureSpec, so nothing says what it was trained on; "
                "use a checkpoint written by main.py train"
            )
        trained = info.extra.get("trained_modalities") or list(MODALITIES)
        unknown = sorted(set(trained) - set(MODALITIES))
        if unknown:
            raise CheckpointError(f"{self.checkpoint} names unknown trained modalities {unknown}")
        self.trained = {m: m in trained for m in MODALITIES}
        self.feature_spec = default_feature_spec()
        # Only the streams the checkpoint learnt must match today's extractors; an untrained stream keeps
        # the checkpoint's own size and is fed zeros (no vote), so a new face or voice extractor does not
        # retire a words-only checkpoint.
        self.feature_spec.check_matches(
            FeatureSpec.from_dict(info.feature_spec), f"checkpoint {self.checkpoint}", trained
        )
        dims = self.feature_spec.dims
        expected = info.config.replace(**feature_dim_fields(dims, [m for m in MODALITIES if self.trained[m]]))
        self.device = choose_device(device)
        if self.device.type == "cpu":
            # Two cores are shared with capture and the extractors: one intra-op thread by default.
            torch.set_num_threads(threads or max(1, (os.cpu_count() or 2) // 2))
        self.model, self.info = load_checkpoint(self.checkpoint, expected=expected, device=self.device)
        self.model.eval()
        self.config: CaratConfig = self.info.config
        self.labels = tuple(self.config.labels)
        self.thresholds = tuple(float(t) for t in self.config.thresholds())
        self._alignment = SoftAlignment.of(self.config)  # None for an aligned model
        self.smoother = ScoreSmoother(smoothing_s)
        self.forward_passes = 0
        self._previous: tuple[dict[str, np.ndarray], object] | None = None  # (model input, its output)
        self._batch = self._allocate_batch()
        self._staging = (
            {k: v.cpu().pin_memory() for k, v in vars(self._batch).items()}
            if self.device.type == "cuda"
            else None
        )
        if warm_up:
            self._warm_up()

    @property
    def aligned(self) -> bool:
        return self.config.aligned

    @property
    def lengths(self) -> tuple[int, int, int]:
        """Steps per modality in one window: aligned models take one step per word for all three;
        unaligned ones feed their soft aligner `unaligned_steps` visual and acoustic rows."""
        if self.config.aligned:
            return (self.config.text_max_len,) * 3
        steps = self.config.unaligned_steps
        return (self.config.text_max_len, steps, steps)

    def _allocate_batch(self) -> CaratInputs:
        tensors = {}
        for modality, steps in zip(MODALITIES, self.lengths):
            tensors[modality] = torch.zeros(1, steps, self.config.feature_dim(modality), device=self.device)
            tensors[f"{modality}_mask"] = torch.zeros(1, steps, device=self.device)
        return CaratInputs(**tensors)

    def _warm_up(self) -> None:
        window = {}
        for modality, steps in zip(MODALITIES, self.lengths):
            window[modality] = np.zeros((steps, self.config.feature_dim(modality)), np.float32)
            window[f"{modality}_mask"] = np.ones(steps, np.float32)
        for _ in range(2):
            self._forward(window)
            self._previous = None  # run the model both times, and keep nothing for the first real window

    def _model_input(self, window: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The window checked against the model's sizes, with untrained modalities blanked (no vote)."""
        model_input = {}
        for key, target in vars(self._batch).items():
            if not self.trained[key.removesuffix("_mask")]:
                # Not trained on: no vote, whatever the live extractor's size for it.
                model_input[key] = np.zeros(tuple(target.shape[1:]), np.float32)
                continue
            values = window[key]
            if values.shape != tuple(target.shape[1:]):
                raise PredictorError(
                    f"window {key} has shape {values.shape} but the model takes {tuple(target.shape[1:])}"
                )
            if key in MODALITIES and not np.isfinite(values).all():
                raise PredictorError(
                    f"{key} features hold NaN or infinite values; the {key} extractor is broken"
                )
            model_input[key] = np.array(values, dtype=np.float32)  # a copy: the caller may reuse its arrays
        if self._alignment is not None:  # the rule training batches follow too
            for m in SOFT_ALIGNED:
                if self.trained[m]:
                    mask = model_input[f"{m}_mask"]
                    model_input[f"{m}_mask"] = self._alignment.mask(m, mask, mask.shape[-1])
        return model_input

    def _forward(self, window: dict[str, np.ndarray]):
        model_input = self._model_input(window)
        if self._previous is not None and all(
            np.array_equal(values, self._previous[0][key]) for key, values in model_input.items()
        ):
            return self._previous[1]
        for key, target in vars(self._batch).items():
            source = torch.from_numpy(model_input[key])[None]
            if self._staging is not None:
                self._staging[key].copy_(source)
                target.copy_(self._staging[key], non_blocking=True)
            else:
                target.copy_(source)
        with torch.inference_mode():
            output = self.model(self._batch)
        self.forward_passes += 1
        self._previous = (model_input, output)
        return output

    def predict(
        self,
        window: dict[str, np.ndarray],
        time: float,
        *,
        words_weight: float = 1.0,
        without_words: dict[str, np.ndarray] | None = None,
        baseline: Baseline | None = None,
    ) -> Prediction:
        """Score one window ending at `time` (session seconds) and smooth it with the ones before. A fading
        utterance (app/words_in_view.py) passes `words_weight` < 1 and the same window without its words:
        the raw scores are then the two windows' scores mixed by that weight, each label decided by the
        stream of the side that gives it more. With a person's `baseline`, the raw scores are read relative
        to the person's rest before smoothing (app/calibration.py)."""
        try:
            output = self._forward(window)
            raw = output.scores[0].float().cpu().numpy().astype(np.float64)
            deciding = output.deciding_modality[0].cpu().tolist()
            if without_words is not None and words_weight < 1.0:
                other = self._forward(without_words)
                other_raw = other.scores[0].float().cpu().numpy().astype(np.float64)
                other_deciding = other.deciding_modality[0].cpu().tolist()
                with_words, rest = words_weight * raw, (1.0 - words_weight) * other_raw
                deciding = [d if w >= r else o for d, o, w, r in zip(deciding, other_deciding, with_words, rest)]
                raw = with_words + rest
        except PredictorError:
            raise
        except Exception as error:
            raise PredictorError(f"the model failed on the window ending at {time:.2f} s: {error}") from error
        deciding_names = tuple(None if d == NO_MODALITY else MODALITIES[d] for d in deciding)
        levels = baseline.levels(deciding_names) if baseline is not None else None
        smoothed = self.smoother.update(raw if baseline is None else baseline.apply(raw, levels), time)
        present = output.present[0].cpu().tolist()
        real_present = {m: bool(window[f"{m}_mask"].any()) for m in MODALITIES}
        return Prediction(
            raw_scores=tuple(float(s) for s in raw),
            scores=tuple(float(s) for s in smoothed),
            decided=tuple(bool(s > t) for s, t in zip(smoothed, self.thresholds)),
            deciding_modality=deciding_names,
            present=real_present,
            scored={m: bool(present[i]) for i, m in enumerate(MODALITIES)},
            rest=levels,
        )
