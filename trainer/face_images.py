"""Face-image sets (still faces with vote counts) -> the live face extractor's observations, and targets.

The FER+ npz format (the README.md of the ferplus corpus folder, trainer/data_folders.py): `images` uint8
[N, H, W] grey (or [N, H, W, 3]), `votes` [N, 10] counts over VOTE_NAMES, optional `split` (0 train, 1 valid)
and `names`. Targets are vote shares for our six labels (neutral and contempt carry none); faces whose top vote is unknown or not-a-face
are dropped. `cache_face_observations` runs every image through `FaceExtractor.observe` once (still mode)
and keeps what the windows are later made from: landmarks, blendshapes and the aligned crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from carat_model.config import MOSEI_LABELS

VOTE_NAMES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# Our labels (MOSEI order: happy, sad, angry, surprise, disgust, fear) -> FER+'s vote columns.
LABEL_VOTE = {"happy": "happiness", "sad": "sadness", "angry": "anger", "surprise": "surprise",
              "disgust": "disgust", "fear": "fear"}  # fmt: skip
# The seven classes of the face benchmark: neutral (no label) and our six.
SEVEN_CLASSES = ("neutral",) + MOSEI_LABELS


class FaceSetError(ValueError):
    """A face-image file that cannot be read as a face set, with what is wrong."""


def read_face_set(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a face-set npz, checked (no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise FaceSetError(f"{path} is not a readable numpy .npz face set ({error})") from error
    for key in ("images", "votes"):
        if key not in arrays:
            raise FaceSetError(f"{path} lacks '{key}'; a face set holds images [N, H, W] and votes [N, 10]")
    images, votes = arrays["images"], arrays["votes"]
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise FaceSetError(f"{path}: images must be uint8 [N, H, W] or [N, H, W, 3], got {images.dtype} {images.shape}")
    if votes.shape != (len(images), len(VOTE_NAMES)):
        raise FaceSetError(f"{path}: votes must be [{len(images)}, {len(VOTE_NAMES)}] {VOTE_NAMES}, got {votes.shape}")
    arrays.setdefault("split", np.zeros(len(images), np.uint8))
    return arrays


def vote_targets(votes: np.ndarray, labels: tuple[str, ...] = MOSEI_LABELS) -> np.ndarray:
    """Vote shares [N, len(labels)] for our labels (shares of all emotion votes, unknown/NF left out)."""
    votes = np.asarray(votes, np.float32)
    emotion_votes = votes[:, : VOTE_NAMES.index("unknown")].sum(axis=1, keepdims=True)
    columns = [VOTE_NAMES.index(LABEL_VOTE[label]) for label in labels]
    return votes[:, columns] / np.maximum(emotion_votes, 1.0)


def usable_faces(votes: np.ndarray) -> np.ndarray:
    """Faces whose top vote is an emotion or neutral (not unknown, not 'not a face'): bool [N]."""
    return np.argmax(votes, axis=1) < VOTE_NAMES.index("unknown")


def majority_class(votes: np.ndarray) -> np.ndarray:
    """Each face's majority class among SEVEN_CLASSES (index), or -1 for contempt, unknown and NF majorities
    (contempt is none of our labels and not neutral either: the benchmark leaves those faces out)."""
    top = np.argmax(votes, axis=1)
    to_seven = {VOTE_NAMES.index("neutral"): 0}
    to_seven |= {VOTE_NAMES.index(LABEL_VOTE[label]): 1 + i for i, label in enumerate(MOSEI_LABELS)}
    return np.array([to_seven.get(int(t), -1) for t in top], np.int64)


def held_out_halves(split: np.ndarray, seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """FER+'s valid split cut in two halves by a fixed seed: (validation indices, test indices). The
    validation half chooses epochs and thresholds; the test half is used only for the final figures."""
    valid = np.flatnonzero(split == 1)
    order = np.random.default_rng(seed).permutation(len(valid))
    half = len(valid) // 2
    return np.sort(valid[order[:half]]), np.sort(valid[order[half:]])


def cache_face_observations(data: Path, out: Path, *, progress: bool = False) -> dict[str, np.ndarray]:
    """Every image of a face set through the still face extractor's `observe` once; saved to `out` (npz)
    and returned: found [N] bool, points [N, 478, 3] float32, blendshapes [N, 52], crops [N, 48, 48]
    uint8, votes, split. Faces not found keep zeros."""
    from feature_extractors.expression_cnn import CROP_SIZE
    from feature_extractors.visual import NUM_LANDMARKS, FaceExtractor

    arrays = read_face_set(data)
    images = arrays["images"]
    count = len(images)
    cache = {
        "found": np.zeros(count, bool),
        "points": np.zeros((count, NUM_LANDMARKS, 3), np.float32),
        "blendshapes": np.zeros((count, 52), np.float32),
        "crops": np.zeros((count, CROP_SIZE, CROP_SIZE), np.uint8),
        "votes": arrays["votes"],
        "split": arrays["split"],
    }
    with FaceExtractor(static_image=True, max_faces=1) as faces:
        for i in tqdm(range(count), desc="faces", unit="face", disable=not progress, mininterval=10):
            observation = faces.observe(images[i])
            if observation is None:
                continue
            cache["found"][i] = True
            cache["points"][i] = observation.points
            cache["blendshapes"][i] = observation.blendshapes
            cache["crops"][i] = observation.crop
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **cache)
    return cache


# -- still faces -> jittered face-only windows ----------------------------------------------------------

BLINKS_PER_S = 0.3  # people blink about every 3 s
BLINK_S = 0.15
LANDMARK_NOISE = 0.008  # landmark jitter per frame, as a fraction of the interocular distance
HEAD_SWAY_DEGREES = 3.0  # slow head motion: yaw, pitch and roll each up to this
CROP_VARIANTS = 3  # CNN embeddings per window (crops moved slightly); frames cycle through them
FPS_RANGE = (15.0, 30.0)  # the live camera's rate, after frames the extractor had no time for


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    about_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def _moved_crops(crop: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """The aligned crop as the tracker would cut it in slightly different frames: up to 3 degrees, 1 px,
    3 % of scale and 10 % of brightness apart. The first is the crop itself."""
    import cv2

    size = crop.shape[0]
    crops = [crop]
    for _ in range(count - 1):
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-3, 3), rng.uniform(0.97, 1.03))
        matrix[:, 2] += rng.uniform(-1, 1, 2)
        moved = cv2.warpAffine(crop, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crops.append(np.clip(moved.astype(np.float32) * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8))
    return np.stack(crops)


def still_face_rows(
    points: np.ndarray,
    blendshapes: np.ndarray,
    crop: np.ndarray,
    embed_crops,
    rng: np.random.Generator,
    *,
    window_s: float,
    keep_rows: int,
):
    """A still face seen for `window_s` by the live face stream: TimedRows of face vectors at a camera
    rate drawn from FPS_RANGE, each frame with landmark jitter, slow head sway and the odd blink. Only
    the last `keep_rows` rows are computed (a window keeps the most recent rows; earlier ones are dropped).
    `embed_crops` is FaceExtractor.embed_crops."""
    from feature_extractors.spec import FACE_BLENDSHAPE_NAMES
    from feature_extractors.visual import (
        LEFT_EYE_BOTTOM,
        LEFT_EYE_INNER,
        LEFT_EYE_OUTER,
        LEFT_EYE_TOP,
        RIGHT_EYE_BOTTOM,
        RIGHT_EYE_INNER,
        RIGHT_EYE_OUTER,
        RIGHT_EYE_TOP,
        face_vector,
    )
    from feature_extractors.windows import TimedRows

    fps = rng.uniform(*FPS_RANGE)
    frames = max(1, int(window_s * fps))
    times = np.arange(frames)[-keep_rows:] / fps
    points = np.asarray(points, np.float64)
    centre = points.mean(axis=0)
    interocular = np.linalg.norm(
        (points[LEFT_EYE_OUTER] + points[LEFT_EYE_INNER]) / 2 - (points[RIGHT_EYE_OUTER] + points[RIGHT_EYE_INNER]) / 2
    )
    sway = rng.uniform(0, np.radians(HEAD_SWAY_DEGREES), 3)
    sway_hz, sway_phase = rng.uniform(0.1, 0.5, 3), rng.uniform(0, 2 * np.pi, 3)
    blink_starts = rng.uniform(0, window_s, rng.poisson(BLINKS_PER_S * window_s))
    blink_columns = [FACE_BLENDSHAPE_NAMES.index(f"blendshape_eyeBlink{side}") for side in ("Left", "Right")]
    embeddings = embed_crops(_moved_crops(crop, rng, CROP_VARIANTS))
    # All frames at once: [F, 478, 3] landmarks swayed about the face centre, then jittered.
    angles = sway * np.sin(2 * np.pi * sway_hz * times[:, None] + sway_phase)  # [F, 3]
    rotations = np.stack([_rotation(*a) for a in angles])  # [F, 3, 3]
    moved = (points - centre)[None] @ rotations.transpose(0, 2, 1) + centre
    moved += rng.normal(0, LANDMARK_NOISE * interocular, moved.shape)
    scores = np.clip(blendshapes[None] + rng.normal(0, 0.02, (len(times), len(blendshapes))), 0, 1)
    blinking = ((times[:, None] >= blink_starts) & (times[:, None] < blink_starts + BLINK_S)).any(axis=1)
    for top, bottom in ((RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM), (LEFT_EYE_TOP, LEFT_EYE_BOTTOM)):
        moved[blinking, top] = moved[blinking, bottom] + 0.1 * (moved[blinking, top] - moved[blinking, bottom])
    scores[np.ix_(blinking, blink_columns)] = rng.uniform(0.6, 0.95, (int(blinking.sum()), 2))
    variant = np.minimum((times / window_s * CROP_VARIANTS).astype(int), CROP_VARIANTS - 1)
    rows = face_vector(moved, scores.astype(np.float32), embeddings[variant])
    return TimedRows(np.stack([times, times + 1 / fps], axis=1), rows)


def key_rng(key: str, seed: int) -> np.random.Generator:
    """A generator fixed by a sample's key and the seed: the same face always gets the same jitter."""
    import hashlib

    return np.random.default_rng(int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big"))


def still_face_window(observation, embed_crops, rng: np.random.Generator, shape, window_s: float) -> dict:
    """A face-only CARAT window (no words, no voice) of one still face's jittered rows, by `build_window`."""
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.windows import TimedRows, build_window

    points, blendshapes, crop = observation
    visual = still_face_rows(
        points, blendshapes, crop, embed_crops, rng, window_s=window_s, keep_rows=shape.lengths[1]
    )
    dims = default_feature_spec().dims
    text, audio = TimedRows.empty(dims["text"]), TimedRows.empty(dims["audio"])
    return build_window(text, visual, audio, 0.0, window_s, aligned=shape.aligned, lengths=shape.lengths)


def prepare_face_set(
    source: Path,
    out: Path,
    *,
    shape,
    labels: tuple[str, ...] = MOSEI_LABELS,
    window_s: float = 3.0,
    seed: int = 0,
    observations: Path | None = None,
    progress: bool = True,
    splits: tuple[str, ...] = ("train", "valid", "test"),
) -> dict[str, int]:
    """A face set (npz, see the module docstring) -> a prepared dataset of face-only windows with vote-share
    targets. Splits: FER+ `train` -> train; FER+ `valid` -> halves valid / test (held_out_halves). The
    extractor's observations are cached in `observations` (default out/face_observations.npz) and reused.
    Words and voice are missing (mask 0) and stored as a single padding step: batches cut padding anyway
    (trainer.batching.make_batch) and padded datasets join with others (concatenate_padded). `splits` keeps
    only those (e.g. ("train",) for another jitter of the training faces, another `seed`)."""
    from feature_extractors.spec import default_feature_spec
    from feature_extractors.visual import FaceExtractor

    from .datasets import FeatureSplit, write_prepared_dataset

    arrays = read_face_set(source)
    cache_path = observations or out / "face_observations.npz"
    if cache_path.is_file():
        cache = dict(np.load(cache_path))
        if len(cache["found"]) != len(arrays["images"]) or not np.array_equal(cache["votes"], arrays["votes"]):
            raise FaceSetError(f"{cache_path} holds another face set's observations; delete it or pass another")
    else:
        cache = cache_face_observations(source, cache_path, progress=progress)
    votes, split = arrays["votes"], arrays["split"]
    targets = vote_targets(votes, labels)
    validation, test = held_out_halves(split)
    names = np.full(len(votes), "train", dtype=object)
    names[validation], names[test] = "valid", "test"
    chosen = np.flatnonzero(cache["found"] & usable_faces(votes) & np.isin(names, splits))
    per_split: dict[str, dict[str, list[np.ndarray]]] = {}
    with FaceExtractor(static_image=True, max_faces=1) as faces:
        for i in tqdm(chosen, desc="face windows", unit="face", disable=not progress, mininterval=10):
            observation = (cache["points"][i], cache["blendshapes"][i], cache["crops"][i])
            window = still_face_window(observation, faces.embed_crops, key_rng(f"face{i}", seed), shape, window_s)
            window["labels"] = targets[i]
            for missing in ("text", "audio"):  # one padding step, not a window of zeros (27k faces: 5 GB)
                window[missing], window[f"{missing}_mask"] = window[missing][:1], window[f"{missing}_mask"][:1]
            for name, value in window.items():
                per_split.setdefault(names[i], {}).setdefault(name, []).append(value)
    prepared = {name: FeatureSplit(**{k: np.stack(v) for k, v in rows.items()}) for name, rows in per_split.items()}
    write_prepared_dataset(
        out, prepared, labels=labels, aligned=shape.aligned, feature_spec=default_feature_spec().to_dict()
    )
    return {name: len(value) for name, value in prepared.items()}
