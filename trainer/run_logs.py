"""A run's logs: metrics.jsonl and metrics.csv (rewritten whole each epoch), TensorBoard scalars when
tensorboard is installed, and the learning-curve plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from carat_model.atomic import write_atomically, write_text_atomically


class MetricsLogger:
    """metrics.jsonl and metrics.csv (rewritten whole each epoch, so a resumed run's logs stay whole),
    and TensorBoard scalars when the tensorboard package is installed."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.tensorboard = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"))
        except ImportError:
            pass  # optional
        self.written = 0

    def write(self, history: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(row) + "\n" for row in history)
        write_text_atomically(self.run_dir / "metrics.jsonl", lines)
        columns = list(dict.fromkeys(key for row in history for key in row))

        def write_csv(temporary: str) -> None:
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(history)

        write_atomically(self.run_dir / "metrics.csv", write_csv)
        if self.tensorboard is not None:
            for row in history[self.written :]:
                for key, value in row.items():
                    if key != "epoch" and isinstance(value, (int, float)):
                        self.tensorboard.add_scalar(key, value, row["epoch"])
            self.tensorboard.flush()
        self.written = len(history)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


def plot_learning_curves(history: list[dict[str, Any]], path: Path) -> None:
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, f1_axis) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axis.plot(epochs, [row["train_total"] for row in history], marker="o", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("CARAT objective")
    loss_axis.legend()
    for key, label in (
        ("valid_micro_f1", "validation micro-F1"),
        ("valid_macro_f1", "validation macro-F1"),
        ("valid_accuracy", "validation Acc"),
    ):
        f1_axis.plot(epochs, [row.get(key, float("nan")) for row in history], marker="o", label=label)
    f1_axis.set_xlabel("epoch")
    f1_axis.set_ylim(0, 1)
    f1_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
