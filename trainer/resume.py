"""The training state `--resume` continues from: weights, optimiser, schedule, every RNG, epoch, history;
refused when the run's settings or model sizes have changed."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from carat_model import Carat, CaratConfig
from carat_model.atomic import write_atomically

from .settings import TrainSettings

STATE_FILE = "training_state.pt"
STATE_VERSION = 1


def _settings_fingerprint(config: CaratConfig, settings: TrainSettings) -> str:
    """What must not change between a run and its resumption (progress display and the stop point may)."""
    relevant = {
        k: v for k, v in asdict(settings).items() if k not in ("progress", "stop_after_epoch", "device")
    }
    return json.dumps({"config": config.to_dict(), "settings": relevant}, sort_keys=True, default=list)


def save_training_state(
    path: Path,
    model: Carat,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    shuffle_generator: torch.Generator,
    dropout_generator: torch.Generator,
    *,
    scaler: torch.amp.GradScaler | None,
    epoch: int,
    best_epoch: int,
    best_f1: float,
    history: list[dict[str, Any]],
    config: CaratConfig,
    settings: TrainSettings,
) -> None:
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    state = {
        "version": STATE_VERSION,
        "epoch": epoch,
        "best_epoch": best_epoch,
        "best_f1": best_f1,
        "history": json.dumps(history),
        "fingerprint": _settings_fingerprint(config, settings),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {
                "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
                "position": int(numpy_state[2]),
                "has_gauss": int(numpy_state[3]),
                "gauss": float(numpy_state[4]),
            },
            "python": {"version": python_state[0], "state": list(python_state[1]), "gauss": python_state[2]},
            "shuffle": shuffle_generator.get_state(),
            "modality_dropout": dropout_generator.get_state(),
        },
    }
    write_atomically(path, lambda temporary: torch.save(state, temporary))


def load_training_state(path: Path, config: CaratConfig, settings: TrainSettings) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"cannot read {path} ({error}); it is damaged: start the run again without --resume"
        ) from error
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{path} was written by another version of the trainer; start the run again")
    if state["fingerprint"] != _settings_fingerprint(config, settings):
        raise ValueError(
            f"{path} belongs to a run with other settings or model sizes; resume with the same arguments "
            "(only --stop-after, --device and progress may change) or use a new --out folder"
        )
    return state


def restore_rng(
    rng: dict[str, Any], shuffle_generator: torch.Generator, dropout_generator: torch.Generator
) -> None:
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    numpy_state = rng["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["gauss"],
        )
    )
    python_state = rng["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss"]))
    shuffle_generator.set_state(rng["shuffle"])
    dropout_generator.set_state(rng["modality_dropout"])
