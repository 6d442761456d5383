"""FeatureSpec: what each modality's features hold, so a checkpoint or dataset can refuse the wrong ones.

A FeatureSpec goes into every checkpoint header and prepared dataset index (as `to_dict()`); whoever loads
one compares it with `default_feature_spec()` (what the shipped extractors produce) through
`check_matches`, which names both sides when they differ.

This module imports no model or media library, so reading a spec is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODALITY_NAMES = ("text", "visual", "audio")

# Face features (see visual.py for what each measures and how it is normalised): landmark geometry,
# MediaPipe's face blendshapes, and the embedding of our expression CNN (expression_cnn.py) on the aligned
# face crop. Which of them the face stream feeds was chosen by measured accuracy
# (scripts/compare_face_features.py prints the figures, on FER+ validation faces).
FACE_GEOMETRY_NAMES: tuple[str, ...] = (
    "right_eye_open",
    "left_eye_open",
    "right_brow_raise",
    "left_brow_raise",
    "brow_inner_gap",
    "mouth_open",
    "mouth_width",
    "right_lip_corner_raise",
    "left_lip_corner_raise",
    "jaw_drop",
    "nose_eye_gap",
    "nose_lip_gap",
    "head_yaw",
    "head_pitch",
    "head_roll",
    "gaze_x",
    "gaze_y",
)
# FaceLandmarker's 52 blendshape scores (0-1), in the model's output order.
FACE_BLENDSHAPE_NAMES: tuple[str, ...] = tuple(
    f"blendshape_{name}"
    for name in (
        "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
        "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
        "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
        "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
        "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
        "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
        "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
        "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
        "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
        "noseSneerLeft", "noseSneerRight",
    )
)  # fmt: skip
FACE_CNN_DIM = 64
FACE_CNN_NAMES: tuple[str, ...] = tuple(f"expression_cnn_{i}" for i in range(FACE_CNN_DIM))
VISUAL_FEATURE_NAMES: tuple[str, ...] = FACE_GEOMETRY_NAMES + FACE_BLENDSHAPE_NAMES + FACE_CNN_NAMES

# openSMILE eGeMAPSv02 low-level descriptors (10 ms hop), in openSMILE's order, plus our voicing flag.
EGEMAPS_LLD_NAMES: tuple[str, ...] = (
    "Loudness_sma3",
    "alphaRatio_sma3",
    "hammarbergIndex_sma3",
    "slope0-500_sma3",
    "slope500-1500_sma3",
    "spectralFlux_sma3",
    "mfcc1_sma3",
    "mfcc2_sma3",
    "mfcc3_sma3",
    "mfcc4_sma3",
    "F0semitoneFrom27.5Hz_sma3nz",
    "jitterLocal_sma3nz",
    "shimmerLocaldB_sma3nz",
    "HNRdBACF_sma3nz",
    "logRelF0-H1-H2_sma3nz",
    "logRelF0-H1-A3_sma3nz",
    "F1frequency_sma3nz",
    "F1bandwidth_sma3nz",
    "F1amplitudeLogRelF0_sma3nz",
    "F2frequency_sma3nz",
    "F2bandwidth_sma3nz",
    "F2amplitudeLogRelF0_sma3nz",
    "F3frequency_sma3nz",
    "F3bandwidth_sma3nz",
    "F3amplitudeLogRelF0_sma3nz",
)
AUDIO_FEATURE_NAMES: tuple[str, ...] = EGEMAPS_LLD_NAMES + ("voiced",)
AUDIO_FRAME_RATE_HZ = 100.0

# The voice stream the model hears (voice.py): each row is the mean and the standard deviation over time of
# Whisper tiny.en's encoder states (384 wide) over the last second of audio, 20 rows a second (one encoder
# pass every 0.25 s). Chosen over the eGeMAPS descriptors above by measured speaker-independent accuracy
# (benchmarks/voice_features.py).
VOICE_FEATURE_NAMES: tuple[str, ...] = tuple(f"whisper_mean_{i}" for i in range(384)) + tuple(
    f"whisper_std_{i}" for i in range(384)
)
VOICE_ROW_RATE_HZ = 20.0

TEXT_DIM = 384
TEXT_FEATURE_NAMES: tuple[str, ...] = tuple(f"minilm_{i}" for i in range(TEXT_DIM))


class FeatureSpecMismatch(ValueError):
    """Features from one source do not match what another expects."""


@dataclass(frozen=True)
class ModalitySpec:
    name: str
    feature_names: tuple[str, ...]
    rate_hz: float | None  # rows per second; None when rows follow events (words, video frames)
    extractor: str
    version: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_names", tuple(self.feature_names))  # JSON gives lists

    @property
    def dim(self) -> int:
        return len(self.feature_names)

    def describe(self) -> str:
        return f"{self.dim} features from {self.extractor} (version {self.version})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "feature_names": list(self.feature_names),
            "rate_hz": self.rate_hz,
            "extractor": self.extractor,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModalitySpec:
        return cls(
            name=data["name"],
            feature_names=tuple(data["feature_names"]),
            rate_hz=None if data.get("rate_hz") is None else float(data["rate_hz"]),
            extractor=data["extractor"],
            version=str(data["version"]),
        )


@dataclass(frozen=True)
class FeatureSpec:
    text: ModalitySpec
    visual: ModalitySpec
    audio: ModalitySpec

    @property
    def dims(self) -> dict[str, int]:
        return {name: self.modality(name).dim for name in MODALITY_NAMES}

    def modality(self, name: str) -> ModalitySpec:
        if name not in MODALITY_NAMES:
            raise KeyError(f"unknown modality {name!r}; expected one of {MODALITY_NAMES}")
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        return {name: self.modality(name).to_dict() for name in MODALITY_NAMES}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        missing = [name for name in MODALITY_NAMES if name not in data]
        if missing:
            raise ValueError(f"feature spec lacks the modalities {missing}; it holds {sorted(data)}")
        return cls(**{name: ModalitySpec.from_dict(data[name]) for name in MODALITY_NAMES})

    def check_matches(
        self, other: FeatureSpec, source: str, modalities: tuple[str, ...] | list[str] = MODALITY_NAMES
    ) -> None:
        """Raise FeatureSpecMismatch unless `other` (described by `source`, e.g. "checkpoint runs/a")
        holds the same features as this spec (the extractors in use) for each of `modalities` (a
        checkpoint need only match the streams it was trained on: the others never vote)."""
        problems = []
        for name in modalities:
            ours, theirs = self.modality(name), other.modality(name)
            if ours.feature_names != theirs.feature_names or ours.version != theirs.version:
                problems.append(
                    f"{name}: {source} expects {theirs.describe()} but the extractors in use give "
                    f"{ours.describe()}"
                )
        if problems:
            raise FeatureSpecMismatch(
                "; ".join(problems)
                + f". Use a {source.split()[0] if source else 'source'} made with the current extractors, "
                "or prepare the data and train again (main.py prepare, main.py train)."
            )


def default_feature_spec() -> FeatureSpec:
    """What the shipped extractors produce."""
    return FeatureSpec(
        text=ModalitySpec(
            name="text",
            feature_names=TEXT_FEATURE_NAMES,
            rate_hz=None,
            extractor=(
                "all-MiniLM-L6-v2 with emotion-fine-tuned layers (models/words_encoder.safetensors), "
                "lower-cased words without punctuation, word pieces averaged per word"
            ),
            version="2",
        ),
        visual=ModalitySpec(
            name="visual",
            feature_names=VISUAL_FEATURE_NAMES,
            rate_hz=None,
            extractor="MediaPipe 0.10.21 FaceLandmarker (face_landmarker.task) geometry + 52 blendshapes "
            "+ expression CNN embedding (expression_cnn.safetensors, 16 epochs)",
            version="3",  # 3: the CNN trained 8 epochs more; its embedding is not version 2's
        ),
        audio=ModalitySpec(
            name="audio",
            feature_names=VOICE_FEATURE_NAMES,
            rate_hz=VOICE_ROW_RATE_HZ,
            extractor=(
                "Whisper tiny.en encoder (CTranslate2 int8), a pass every 0.25 s over 1.2 s scaled to a fixed "
                "peak; each row the mean and std of the states of the last 1 s, 20 rows a second; rows only where "
                "Silero VAD (faster-whisper's silero_vad_v6) finds speech in at least 40% of the second"
            ),
            version="2",
        ),
    )
