"""The aligned face crop our expression CNN reads: the face cut from a grey frame, eyes level, at FER2013's framing.

The same code cuts live frames (visual.FaceExtractor) and the training faces, so the CNN sees one framing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face_geometry import LEFT_EYE_INNER, LEFT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE_OUTER

CROP_SIZE = 48  # the aligned face crop's side in pixels: the expression CNN's input, FER2013's size
# Aligned crop: where the eyes sit, as FER2013's crops frame them (medians measured on FER+ faces).
CROP_INTEROCULAR = 0.36  # eye-centre distance / crop width
CROP_EYES_Y = 0.39  # eye line height / crop height (eyes centred across)


def aligned_face_crop(grey: np.ndarray, points: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The face cut from a grey frame with the eye line level and the eyes CROP_INTEROCULAR of the width
    apart, at CROP_EYES_Y of the height: [size, size] uint8. Large faces are first cut at their own scale
    and then shrunk by area averaging, so a big face in a 640x480 frame is not aliased."""
    right_eye = (points[RIGHT_EYE_OUTER, :2] + points[RIGHT_EYE_INNER, :2]) / 2
    left_eye = (points[LEFT_EYE_OUTER, :2] + points[LEFT_EYE_INNER, :2]) / 2
    eye_line = left_eye - right_eye  # the person's right eye is on the image's left
    interocular = max(float(np.hypot(*eye_line)), 1e-3)
    native = int(np.clip(round(interocular / CROP_INTEROCULAR), size, 4 * size))  # crop side at face scale
    scale = CROP_INTEROCULAR * native / interocular
    angle = np.degrees(np.arctan2(eye_line[1], eye_line[0]))
    centre = (right_eye + left_eye) / 2
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    matrix[:, 2] += np.array([native / 2, CROP_EYES_Y * native]) - centre
    crop = cv2.warpAffine(grey, matrix, (native, native), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if native != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop
