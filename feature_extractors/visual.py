"""Video frame (BGR or RGB, any size) -> one face's feature vector, or None for "no face".

MediaPipe's face mesh (the model inside the mediapipe 0.10.21 wheel, nothing downloaded) gives 478
landmarks with iris. The features are geometry of those landmarks, interpretable and independent of
the face's size and place in the frame. Distances are measured in 3-D (MediaPipe's depth has the scale
of x), so they change little when the head turns, and are divided by the *interocular distance*
(between the two eye centres) unless said otherwise. "Up" and "across" are the face's own axes (chin to
forehead, right eye to left eye), so head roll does not leak into the expression features. Right/left are
the person's own.

Feature (in FeatureSpec order): what it measures, and how it is normalised
- right_eye_open, left_eye_open: eyelid gap (upper to lower lid at the middle) / that eye's width
  (corner to corner); about 0.25-0.35 open, near 0.05 closed (AU43/AU5).
- right_brow_raise, left_brow_raise: middle of the brow to the upper eyelid / interocular; grows when
  the brow is raised (AU1/AU2), shrinks when it is lowered (AU4).
- brow_inner_gap: between the two inner brow ends / interocular; frowning (AU4) pulls them together.
- mouth_open: inner upper lip to inner lower lip / interocular (lips parting, AU25).
- mouth_width: lip corner to lip corner / interocular (smiling or stretching widens it, AU12/AU20).
- right_lip_corner_raise, left_lip_corner_raise: height of the lip corner above the middle of the mouth
  along the face's up axis / interocular; positive when pulled up (AU12), negative when depressed (AU15).
- jaw_drop: below the nose (subnasale) to the chin / interocular (AU26/AU27).
- nose_eye_gap: nostril wings to inner eye corners / interocular, both sides averaged; wrinkling the
  nose (AU9) shortens it.
- nose_lip_gap: subnasale to the top of the upper lip / interocular; raising the upper lip (AU10, disgust)
  shortens it.
- head_yaw, head_pitch, head_roll: radians, 0 facing the camera upright. Yaw > 0 when the face turns
  towards the image's right, pitch > 0 when it tilts up, roll > 0 when the eye line turns clockwise in
  the image. From the face's 3-D axes (eye line and chin-to-forehead line) and their normal.
- gaze_x, gaze_y: iris centre offset from the eye's centre along the face's across (x, > 0 towards the
  image's right for a frontal face) and up (y, > 0 looking up) axes / eye width, both eyes averaged.

Several faces: in still mode the largest face (landmark box area) is chosen. In tracking mode the face
that overlaps the one chosen in the previous frame most (box IoU >= 0.3) is kept, so the analysed
person does not switch when someone else walks in; otherwise the largest face is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from .spec import VISUAL_FEATURE_NAMES

# Landmark indices of MediaPipe's 478-point face mesh (right/left = the person's own).
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM = 33, 133, 159, 145
LEFT_EYE_OUTER, LEFT_EYE_INNER, LEFT_EYE_TOP, LEFT_EYE_BOTTOM = 263, 362, 386, 374
RIGHT_IRIS, LEFT_IRIS = 468, 473
RIGHT_BROW_MIDDLE, LEFT_BROW_MIDDLE = 105, 334
RIGHT_BROW_INNER, LEFT_BROW_INNER = 107, 336
INNER_LIP_TOP, INNER_LIP_BOTTOM, OUTER_LIP_TOP = 13, 14, 0
RIGHT_LIP_CORNER, LEFT_LIP_CORNER = 61, 291
SUBNASALE, CHIN, FOREHEAD = 2, 152, 10
RIGHT_NOSTRIL_WING, LEFT_NOSTRIL_WING = 98, 327

NUM_LANDMARKS = 478
TRACKING_MIN_IOU = 0.3


@dataclass
class FaceObservation:
    vector: np.ndarray  # [len(VISUAL_FEATURE_NAMES)] float32, see the module docstring
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels (landmarks' extent, inside the frame)
    landmarks: np.ndarray  # [478, 2] float32 pixels (x, y)


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


class FaceExtractor:
    """MediaPipe face mesh -> FaceObservation. Tracking mode (default) for streams, still mode for images."""

    dim = len(VISUAL_FEATURE_NAMES)

    def __init__(
        self, static_image: bool = False, *, max_faces: int = 2, min_confidence: float = 0.5
    ) -> None:
        import mediapipe as mp

        self.static_image = static_image
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image,
            max_num_faces=max_faces,
            refine_landmarks=True,  # adds the iris points (478 in all), needed for gaze
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._last_box: tuple[float, float, float, float] | None = None

    def extract(self, frame: np.ndarray, *, rgb: bool = False) -> FaceObservation | None:
        """The chosen face's features in this frame, or None when there is no face."""
        frame = check_frame(frame)
        if not rgb:
            frame = np.ascontiguousarray(frame[:, :, ::-1])  # MediaPipe wants RGB
        height, width = frame.shape[:2]
        result = self._mesh.process(frame)
        if not result.multi_face_landmarks:
            self._last_box = None
            return None
        faces = [
            np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark], np.float64)
            for face in result.multi_face_landmarks
        ]
        boxes = [_box(points, width, height) for points in faces]
        chosen = self._choose(boxes)
        self._last_box = boxes[chosen]
        points = faces[chosen]
        vector = face_features(points)
        return FaceObservation(vector=vector, box=boxes[chosen], landmarks=points[:, :2].astype(np.float32))

    def _choose(self, boxes: list[tuple[float, float, float, float]]) -> int:
        if not self.static_image and self._last_box is not None:
            overlaps = [_iou(box, self._last_box) for box in boxes]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= TRACKING_MIN_IOU:
                return best
        return int(np.argmax([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes]))

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def face_features(points: np.ndarray) -> np.ndarray:
    """[478, 3] landmarks (pixels; depth on the x scale) -> the feature vector, in FeatureSpec order."""
    if points.shape != (NUM_LANDMARKS, 3):
        raise ValueError(f"expected [{NUM_LANDMARKS}, 3] landmarks, got {points.shape}")

    def p(index: int) -> np.ndarray:
        return points[index]

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(points[a] - points[b]))

    right_eye_centre = (p(RIGHT_EYE_OUTER) + p(RIGHT_EYE_INNER)) / 2
    left_eye_centre = (p(LEFT_EYE_OUTER) + p(LEFT_EYE_INNER)) / 2
    interocular = max(float(np.linalg.norm(left_eye_centre - right_eye_centre)), 1e-6)
    right_eye_width = max(dist(RIGHT_EYE_OUTER, RIGHT_EYE_INNER), 1e-6)
    left_eye_width = max(dist(LEFT_EYE_OUTER, LEFT_EYE_INNER), 1e-6)

    # The face's own axes: across (right eye to left eye), up (chin to forehead), normal (towards camera).
    across = _unit(p(LEFT_EYE_OUTER) - p(RIGHT_EYE_OUTER))
    up = p(FOREHEAD) - p(CHIN)
    up = _unit(up - np.dot(up, across) * across)
    normal = np.cross(across, up)  # image axes x right, y down, depth away: a frontal face gives (0, 0, -1)

    mouth_centre = (p(INNER_LIP_TOP) + p(INNER_LIP_BOTTOM)) / 2

    def corner_raise(corner: int) -> float:
        return float(np.dot(p(corner) - mouth_centre, up)) / interocular

    def gaze(iris: int, centre: np.ndarray, width: float) -> tuple[float, float]:
        offset = p(iris) - centre
        return float(np.dot(offset, across)) / width, float(np.dot(offset, up)) / width

    right_gaze = gaze(RIGHT_IRIS, right_eye_centre, right_eye_width)
    left_gaze = gaze(LEFT_IRIS, left_eye_centre, left_eye_width)

    features = {
        "right_eye_open": dist(RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM) / right_eye_width,
        "left_eye_open": dist(LEFT_EYE_TOP, LEFT_EYE_BOTTOM) / left_eye_width,
        "right_brow_raise": dist(RIGHT_BROW_MIDDLE, RIGHT_EYE_TOP) / interocular,
        "left_brow_raise": dist(LEFT_BROW_MIDDLE, LEFT_EYE_TOP) / interocular,
        "brow_inner_gap": dist(RIGHT_BROW_INNER, LEFT_BROW_INNER) / interocular,
        "mouth_open": dist(INNER_LIP_TOP, INNER_LIP_BOTTOM) / interocular,
        "mouth_width": dist(RIGHT_LIP_CORNER, LEFT_LIP_CORNER) / interocular,
        "right_lip_corner_raise": corner_raise(RIGHT_LIP_CORNER),
        "left_lip_corner_raise": corner_raise(LEFT_LIP_CORNER),
        "jaw_drop": dist(SUBNASALE, CHIN) / interocular,
        "nose_eye_gap": (dist(RIGHT_NOSTRIL_WING, RIGHT_EYE_INNER) + dist(LEFT_NOSTRIL_WING, LEFT_EYE_INNER))
        / (2 * interocular),
        "nose_lip_gap": dist(SUBNASALE, OUTER_LIP_TOP) / interocular,
        "head_yaw": float(np.arctan2(normal[0], -normal[2])),
        "head_pitch": float(np.arctan2(-normal[1], -normal[2])),
        "head_roll": float(np.arctan2(across[1], across[0])),
        "gaze_x": (right_gaze[0] + left_gaze[0]) / 2,
        "gaze_y": (right_gaze[1] + left_gaze[1]) / 2,
    }
    vector = np.array([features[name] for name in VISUAL_FEATURE_NAMES], np.float32)
    return np.nan_to_num(vector, nan=0.0, posinf=0.0, neginf=0.0)  # degenerate meshes must not give NaN


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


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
