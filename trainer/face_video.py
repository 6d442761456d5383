"""Still FER+ faces as a webcam video, and how a replay of that video is read back face by face.

Used by `benchmarks/face_accuracy.py` (the face stream's figures on the user's path) and by
`tests/app/test_face_replay.py` (per-class floors), so both render and decide the same way.

Rendering (`write_face_video`), each choice and why:
- 640x480 at 30 fps (`FaceVideoSettings`): the engine's default camera size and rate (EngineOptions), so
  replay scales nothing and sees the frame rate live users give it.
- Each face is shown for a whole number of frames (4.0 s = 120 by default), faces back to back: segment
  boundaries then fall exactly on frame times, and a window can be said to lie wholly inside one face.
  A duration that is not a whole number of frames is refused rather than rounded.
- Face widths cycle over 160, 200, 250 and 300 px, one per segment in order (the width of the 48x48 crop in
  the frame; FER crops are tight, about brow to chin). With a laptop webcam's 70 degree horizontal view at
  640x480, a 15 cm wide face is about 160 px at 45 cm, 220 px at 30 cm and 300 px at 25 cm (leaning in).
  Not smaller: a tight crop floating on a wall has no head outline or hair, and MediaPipe's detector (video
  mode, the live extractor) finds it in 17% of frames at 100 px, 43% at 130 px, 80% at 160 px and all at
  190 px (3 faces a class of the validation half, one run), while a real face 80 px wide, with its head
  around it, is found in every frame (skimage's astronaut): below 160 px the rendering, not the expression
  model, would be measured. The crop is upscaled (bicubic, like a camera's scaler) straight into place
  by one affine warp per frame, so each frame is interpolated once from the original pixels.
- Background: a soft grey gradient (a wall lit from the upper left) plus sensor-like noise (Gaussian,
  2 grey levels, from a seeded bank of 16 fields cycled frame by frame). Grey, since the FER+ faces are
  grey; nothing natural behind them, since a picture could hold face-like patterns that give a detector a
  second face, which is another test. The crop's square edge is feathered over 2 of its 48 pixels, so the
  face's own photo background blends in instead of standing as a hard frame.
- Head motion, per frame, smooth and small, its phases drawn per segment from the seed: translation of
  up to 4 px (plus a fixed offset per segment of up to 60 px across and 30 px up or down: people do not sit
  in the middle), roll of up to 3 degrees, scale of up to 3 per cent, as slow sines (0.15-0.45 Hz). A
  webcam never shows a perfectly still face, and a tracker that only works on identical frames would
  pass a still video.
- H.264 (libx264, CRF 26, yuv420p, preset veryfast): what a webcam recording or video call delivers,
  with its blocking and chroma subsampling, rather than lossless frames no camera gives.

Reading a replay back (`segment_classes`): per segment, the windows that lie wholly inside it (window
start >= segment start and window end <= segment end; 3 s windows every 0.25 s in 4 s segments: the five
ending in its last second) whose face was present; their *raw* scores (no smoothing, so no carry-over from
the face before) are averaged, then `seven_class`: the highest-scoring label above its threshold, neutral
when none passes. A segment with no such window reads NO_FACE (wrong, whatever the truth). The frames of
that last stretch (`decision_frames`) are where a per-frame baseline is averaged, to compare at the same
moment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .face_images import SEVEN_CLASSES

NO_FACE = -1  # a segment (or face) where no face was found: counts as wrong
EDGE = 1e-6  # seconds: window ends are sums of hops, segment ends quotients of frames


@dataclass(frozen=True)
class FaceVideoSettings:
    fps: int = 30
    seconds_each: float = 4.0
    size: tuple[int, int] = (640, 480)  # width, height
    face_widths: tuple[int, ...] = (160, 200, 250, 300)  # px, cycled segment by segment
    crf: int = 26
    shift_px: float = 4.0  # head motion: translation amplitude
    roll_degrees: float = 3.0
    scale_change: float = 0.03
    place_px: tuple[float, float] = (60.0, 30.0)  # fixed offset per segment from the centre, at most
    noise: float = 2.0  # grey levels (standard deviation)
    seed: int = 0

    def __post_init__(self) -> None:
        frames = self.seconds_each * self.fps
        if self.seconds_each <= 0 or abs(frames - round(frames)) > 1e-9:
            raise ValueError(
                f"{self.seconds_each} s at {self.fps} fps is {frames:g} frames; pick a duration that is a whole "
                f"number of frames (e.g. {max(round(frames), 1) / self.fps:g} s)"
            )

    @property
    def frames_each(self) -> int:
        return round(self.seconds_each * self.fps)


@dataclass(frozen=True)
class Segment:
    """One face's stretch of the video."""

    start_frame: int
    frames: int
    face_width: int  # px in the frame, before head motion
    face_index: int  # into the list of faces rendered

    def start_s(self, fps: float) -> float:
        return self.start_frame / fps

    def end_s(self, fps: float) -> float:
        return (self.start_frame + self.frames) / fps


def write_face_video(path: Path, faces: Sequence[np.ndarray], settings: FaceVideoSettings) -> list[Segment]:
    """Grey 48x48 (any size) faces -> an H.264 mp4 at `path` showing each in turn (module docstring);
    returns the segments, in order."""
    import av

    frames_each = settings.frames_each
    rng = np.random.default_rng(settings.seed)
    scene = Scene.draw(rng, settings)
    segments = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = add_video_stream(container, settings)
        for index, face in enumerate(faces):
            segment = Segment(index * frames_each, frames_each, settings.face_widths[index % len(settings.face_widths)],
                              index)  # fmt: skip
            for video_frame in scene.face_frames(face, segment.start_frame, segment.face_width, rng):
                container.mux(stream.encode(video_frame))
            segments.append(segment)
        container.mux(stream.encode())
    return segments


def add_video_stream(container, settings: FaceVideoSettings):
    """The H.264 stream of the module docstring (CRF, yuv420p, one tick a frame) added to an open container."""
    stream = container.add_stream("libx264", rate=settings.fps)
    stream.width, stream.height = settings.size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, settings.fps)
    stream.options = {"crf": str(settings.crf), "preset": "veryfast"}
    return stream


@dataclass(frozen=True)
class Scene:
    """The wall and the sensor noise every face is shown on (module docstring)."""

    settings: FaceVideoSettings
    background: np.ndarray
    noise_bank: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, settings: FaceVideoSettings) -> Scene:
        width, height = settings.size
        noise_bank = rng.normal(0.0, settings.noise, (16, height, width)).astype(np.float32)
        return cls(settings, _wall(width, height), noise_bank)

    def face_frames(self, face: np.ndarray, start_frame: int, face_width: int, rng: np.random.Generator):
        """One segment's video frames (grey, pts = frame number): `face` at `face_width` px with its head
        motion, drawn from `rng` now, before the first frame."""
        import av

        settings = self.settings
        motion = _HeadMotion.draw(rng, settings)
        image = np.asarray(face, np.float32)
        mask = _feathered_mask(image.shape)
        return (self._frame(motion, image, mask, start_frame, k, face_width, av) for k in range(settings.frames_each))

    def _frame(self, motion, image, mask, start_frame: int, k: int, face_width: int, av):
        settings = self.settings
        affine = motion.affine(k / settings.fps, image.shape, face_width, settings.size)
        frame = self.background + self.noise_bank[(start_frame + k) % len(self.noise_bank)]
        _paste(frame, image, mask, affine)
        video_frame = av.VideoFrame.from_ndarray(np.clip(frame, 0, 255).astype(np.uint8), format="gray")
        video_frame.pts = start_frame + k
        return video_frame


@dataclass(frozen=True)
class _HeadMotion:
    """One segment's placement and smooth head motion (amplitudes from the settings, phases drawn)."""

    centre: tuple[float, float]  # offset from the frame's centre, px
    shift: tuple[float, float]  # amplitudes, px
    roll: float  # degrees
    scale: float  # fraction
    rates: np.ndarray  # Hz: x, y, roll, scale
    phases: np.ndarray  # radians

    @classmethod
    def draw(cls, rng: np.random.Generator, settings: FaceVideoSettings) -> _HeadMotion:
        across, up = settings.place_px
        return cls(
            centre=(float(rng.uniform(-across, across)), float(rng.uniform(-up, up))),
            shift=(settings.shift_px, settings.shift_px / 2),  # heads sway across more than they bob
            roll=settings.roll_degrees,
            scale=settings.scale_change,
            rates=rng.uniform(0.15, 0.45, 4),
            phases=rng.uniform(0.0, 2 * math.pi, 4),
        )

    def affine(self, t: float, source: tuple[int, ...], face_width: int, size: tuple[int, int]) -> np.ndarray:
        """2x3 matrix taking the source face's pixels to the frame at time t."""
        x, y, roll, scale = np.sin(2 * math.pi * self.rates * t + self.phases)
        zoom = face_width / source[1] * (1.0 + self.scale * scale)
        angle = math.radians(self.roll * roll)
        cos, sin = zoom * math.cos(angle), zoom * math.sin(angle)
        cx = size[0] / 2 + self.centre[0] + self.shift[0] * x
        cy = size[1] / 2 + self.centre[1] + self.shift[1] * y
        sx, sy = (source[1] - 1) / 2, (source[0] - 1) / 2  # source centre
        return np.array([[cos, -sin, cx - cos * sx + sin * sy], [sin, cos, cy - sin * sx - cos * sy]])


def _paste(frame: np.ndarray, image: np.ndarray, mask: np.ndarray, affine: np.ndarray) -> None:
    """Blend the face, warped by `affine` (bicubic), into `frame`; only the box it covers is computed."""
    import cv2

    height, width = image.shape
    corners = affine @ np.array([[-1, -1, 1], [width, -1, 1], [-1, height, 1], [width, height, 1]], np.float64).T
    x0, y0 = np.floor(corners.min(1)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(1)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    local = affine - np.array([[0, 0, x0], [0, 0, y0]])
    box = (x1 - x0, y1 - y0)
    placed = cv2.warpAffine(image, local, box, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = cv2.warpAffine(mask, local, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    region = frame[y0:y1, x0:x1]
    region += alpha * (placed - region)


def _feathered_mask(shape: tuple[int, ...], feather: float = 2.0) -> np.ndarray:
    """1 inside the crop, falling linearly to 0 over its outer `feather` source pixels."""
    rows = np.minimum(np.arange(shape[0]) + 0.5, shape[0] - np.arange(shape[0]) - 0.5)
    cols = np.minimum(np.arange(shape[1]) + 0.5, shape[1] - np.arange(shape[1]) - 0.5)
    return np.clip(np.minimum.outer(rows, cols) / feather, 0.0, 1.0).astype(np.float32)


def _wall(width: int, height: int) -> np.ndarray:
    """A soft grey gradient: brighter at the upper left (the light), darker at the lower right."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot(xs / width, ys / height) / math.sqrt(2)
    return (150.0 - 60.0 * distance).astype(np.float32)


# -- choosing faces ---------------------------------------------------------------------------------


def balanced_faces(truth: np.ndarray, candidates: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """`per_class` faces of each of SEVEN_CLASSES from `candidates` (indices into `truth`), drawn by `seed`
    (all of a class that has fewer), interleaved class by class: neutral, happy, ..., fear, neutral, ...
    With 7 classes and 4 face widths cycled, each class then meets every width equally often (per_class a
    multiple of 4), and no two faces of one class follow each other."""
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(len(SEVEN_CLASSES)):
        of_class = candidates[truth[candidates] == k]
        chosen.append(of_class[rng.permutation(len(of_class))[:per_class]])
    order = []
    for rank in range(max(len(c) for c in chosen)):
        order.extend(int(c[rank]) for c in chosen if rank < len(c))
    return np.array(order, np.int64)


# -- reading a replay back ---------------------------------------------------------------------------


def seven_class(scores: Sequence[float], thresholds: Sequence[float], labels: Sequence[str]) -> int:
    """Index into SEVEN_CLASSES: the highest-scoring label above its threshold, neutral (0) when none passes."""
    passing = [(s, label) for s, t, label in zip(scores, thresholds, labels) if s > t]
    return SEVEN_CLASSES.index(max(passing)[1]) if passing else 0


def windows_inside(events: Iterable[dict], segment: Segment, fps: float) -> list[dict]:
    """The events (as in events.jsonl) whose window lies wholly inside the segment."""
    start, end = segment.start_s(fps), segment.end_s(fps)
    return [e for e in events if e["window_start"] >= start - EDGE and e["window_end"] <= end + EDGE]


def replay_events(video: Path, checkpoint: Path, out: Path, *options: str) -> list[dict]:
    """`main.py replay VIDEO --exact` in its own process, as a user runs it (its progress on our stderr);
    the events it wrote (events.jsonl records). A failed replay ends the caller with its exit code."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(root / "main.py"), "replay", str(video), "--exact", "--checkpoint",
               str(checkpoint), "--out", str(out), *options]  # fmt: skip
    done = subprocess.run(command, cwd=root, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise SystemExit(f"replay of {video} with {checkpoint} failed with exit code {done.returncode} (see above)")
    return [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def segment_classes(events: Sequence[dict], segments: Sequence[Segment], fps: float) -> np.ndarray:
    """Each segment's class (module docstring's rule), or NO_FACE. Events are replay's JSONL records."""
    classes = []
    for segment in segments:
        inside = windows_inside(events, segment, fps)
        if not inside:
            raise ValueError(
                f"no window lies wholly inside the face shown from {segment.start_s(fps):.2f} to "
                f"{segment.end_s(fps):.2f} s; show each face for longer than one window (--seconds)"
            )
        with_face = [e for e in inside if e["present"]["visual"]]
        if not with_face:
            classes.append(NO_FACE)
            continue
        scores = np.mean([e["raw_scores"] for e in with_face], axis=0)
        classes.append(seven_class(scores, with_face[0]["thresholds"], with_face[0]["labels"]))
    return np.array(classes, np.int64)


def decision_frames(segment: Segment, fps: float, window_s: float) -> range:
    """The frames of the stretch in which the segment's inside windows end (its last second with 4 s faces
    and 3 s windows): where a per-frame baseline is averaged."""
    first = segment.start_frame + math.ceil(window_s * fps - EDGE)
    if first >= segment.start_frame + segment.frames:
        raise ValueError(f"a face shown for {segment.frames / fps:g} s holds no whole {window_s:g} s window")
    return range(first, segment.start_frame + segment.frames)
