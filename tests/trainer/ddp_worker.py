"""Run under torchrun by test_ddp.py: train a tiny CARAT data-parallel, save this replica's state."""

import sys
from pathlib import Path

import torch

from trainer.datasets import load_dataset
from trainer.loop import TrainSettings, config_for_dataset, default_small_config, fit


def main(data: str, out: str) -> None:
    torch.set_num_threads(1)
    dataset = load_dataset(data)
    config = config_for_dataset(dataset, default_small_config())
    settings = TrainSettings(epochs=2, batch_size=8, lr=3e-3, seed=5, modality_dropout=0.3, progress=False)
    result = fit(dataset, config, settings, Path(out) / "run")
    rank = (
        torch.distributed.get_rank()
        if torch.distributed.is_initialized()
        else int(__import__("os").environ["RANK"])
    )
    torch.save(result.model.state_dict(), Path(out) / f"replica{rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
