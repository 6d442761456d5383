"""Video frame -> one face feature vector, or None for "no face" (MediaPipe face mesh, 478 landmarks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import VISUAL_FEATURE_NAMES


@dataclass
class FaceObservation:
    vector: np.ndarray  # [len(VISUAL_FEATURE_NAMES)] float32
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    landmarks: np.ndarray  # [478, 2] float32 pixels


class FaceExtractor:
    dim = len(VISUAL_FEATURE_NAMES)

    def __init__(self, static_image: bool = False, *, max_faces: int = 2) -> None:
        raise NotImplementedError("work in progress")

    def extract(self, frame: np.ndarray, *, rgb: bool = False) -> FaceObservation | None:
        raise NotImplementedError("work in progress")

    def close(self) -> None:
        pass

    def __enter__(self) -> FaceExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
