"""FaceLandmarker's landmarks and blendshapes read from its graph's serialised outputs into numpy (FastDetect)."""

from __future__ import annotations

import numpy as np

# One NormalizedLandmark as FaceLandmarker serialises it: field 1 (x), 2 (y), 3 (z), each a float32.
_LANDMARK_RECORD = np.dtype([("tag", "u1"), ("size", "u1"), ("x_tag", "u1"), ("x", "<f4"), ("y_tag", "u1"),
                             ("y", "<f4"), ("z_tag", "u1"), ("z", "<f4")])  # fmt: skip
_LANDMARK_TAGS = {"tag": 0x0A, "size": _LANDMARK_RECORD.itemsize - 2, "x_tag": 0x0D, "y_tag": 0x15, "z_tag": 0x1D}


class FastDetect:
    """FaceLandmarker.detect without its result objects: `detect` turns each of the 478 landmarks of a face
    into a Python dataclass (about 1 ms a face on this machine, more than the rest of our feature code);
    this reads the graph's serialised outputs straight into numpy. Same values (the float32s the graph
    wrote). Uses mediapipe 0.10's private task-runner call; `for_landmarker` gives None (the public `detect`
    is used) where that is missing, and a record layout other than x, y, z floats is parsed as a proto."""

    def __init__(self, landmarker, module, packet_creator, proto_lists, landmark_list, classification_list) -> None:
        self._landmarker, self._module, self._create = landmarker, module, packet_creator
        self._serialised, self._landmark_list, self._classification_list = proto_lists, landmark_list, classification_list

    @classmethod
    def for_landmarker(cls, landmarker) -> FastDetect | None:
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
