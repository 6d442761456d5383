"""The face's 17 geometry features from MediaPipe's 478 landmarks, and the face stream's whole vector.

Geometry: interpretable and independent of the face's size and place in the frame. Distances are
measured in 3-D (MediaPipe's depth has the scale of x), so they change little when the head turns, and are
divided by the *interocular distance* (between the two eye centres) unless said otherwise. "Up" and "across" are the face's own axes (chin to
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
"""

from __future__ import annotations

import numpy as np

from .spec import FACE_BLENDSHAPE_NAMES, FACE_CNN_NAMES, FACE_GEOMETRY_NAMES

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


def face_vector(points: np.ndarray, blendshapes: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """The face stream's vector (FeatureSpec order): geometry, blendshapes, CNN embedding. Also for many
    frames at once: [F, 478, 3], [F, 52], [F, 64] -> [F, 133]."""
    parts = (face_features(points), np.asarray(blendshapes, np.float32), np.asarray(embedding, np.float32))
    for part, names in zip(parts, (FACE_GEOMETRY_NAMES, FACE_BLENDSHAPE_NAMES, FACE_CNN_NAMES)):
        if part.shape[-1:] != (len(names),) or part.shape[:-1] != parts[0].shape[:-1]:
            raise ValueError(f"a face vector part has shape {part.shape}, expected (..., {len(names)})")
    vector = np.concatenate(parts, axis=-1)
    return np.nan_to_num(vector, nan=0.0, posinf=0.0, neginf=0.0)


def face_features(points: np.ndarray) -> np.ndarray:
    """[478, 3] landmarks (pixels; depth on the x scale) -> the 17 geometry features, in FeatureSpec order.
    Also [F, 478, 3] -> [F, 17] (many frames at once: training windows jitter a face over a window's frames)."""
    points = np.asarray(points, np.float64)
    if points.shape[-2:] != (NUM_LANDMARKS, 3) or points.ndim not in (2, 3):
        raise ValueError(f"expected [{NUM_LANDMARKS}, 3] or [frames, {NUM_LANDMARKS}, 3] landmarks, got {points.shape}")
    frames = points if points.ndim == 3 else points[None]

    def p(index: int) -> np.ndarray:
        return frames[:, index]  # [F, 3]

    def norm(v: np.ndarray) -> np.ndarray:
        return np.sqrt((v * v).sum(-1))

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b).sum(-1)

    def dist(a: int, b: int) -> np.ndarray:
        return norm(p(a) - p(b))

    right_eye_centre = (p(RIGHT_EYE_OUTER) + p(RIGHT_EYE_INNER)) / 2
    left_eye_centre = (p(LEFT_EYE_OUTER) + p(LEFT_EYE_INNER)) / 2
    interocular = np.maximum(norm(left_eye_centre - right_eye_centre), 1e-6)
    right_eye_width = np.maximum(dist(RIGHT_EYE_OUTER, RIGHT_EYE_INNER), 1e-6)
    left_eye_width = np.maximum(dist(LEFT_EYE_OUTER, LEFT_EYE_INNER), 1e-6)

    # The face's own axes: across (right eye to left eye), up (chin to forehead), normal (towards camera).
    across = _unit(p(LEFT_EYE_OUTER) - p(RIGHT_EYE_OUTER))
    up = p(FOREHEAD) - p(CHIN)
    up = _unit(up - dot(up, across)[:, None] * across)
    normal = np.cross(across, up)  # image axes x right, y down, depth away: a frontal face gives (0, 0, -1)

    mouth_centre = (p(INNER_LIP_TOP) + p(INNER_LIP_BOTTOM)) / 2

    def corner_raise(corner: int) -> np.ndarray:
        return dot(p(corner) - mouth_centre, up) / interocular

    def gaze(iris: int, centre: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offset = p(iris) - centre
        return dot(offset, across) / width, dot(offset, up) / width

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
        "head_yaw": np.arctan2(normal[:, 0], -normal[:, 2]),
        "head_pitch": np.arctan2(-normal[:, 1], -normal[:, 2]),
        "head_roll": np.arctan2(across[:, 1], across[:, 0]),
        "gaze_x": (right_gaze[0] + left_gaze[0]) / 2,
        "gaze_y": (right_gaze[1] + left_gaze[1]) / 2,
    }
    vectors = np.stack([features[name] for name in FACE_GEOMETRY_NAMES], axis=-1).astype(np.float32)
    vectors = np.nan_to_num(vectors, nan=0.0, posinf=0.0, neginf=0.0)  # degenerate meshes must not give NaN
    return vectors if points.ndim == 3 else vectors[0]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.sqrt((v * v).sum(-1, keepdims=True)), 1e-9)
