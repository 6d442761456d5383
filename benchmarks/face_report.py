"""The face benchmark's scores (accuracy, UAR, recall, confusion), its table (stdout) and its confusion PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trainer.face_images import SEVEN_CLASSES
from trainer.face_video import NO_FACE, Segment

PATHS = {
    "ours_replay": "ours, replay",
    "ours_still": "ours, still",
    "fer_video": "fer, video",
    "fer_48px": "fer, 48-px",
}


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
