"""Two processes on the CPU (gloo) under torchrun train data-parallel and keep identical replicas."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")
REPO = Path(__file__).resolve().parents[2]
TORCHRUN_TWO = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


@pytest.fixture(scope="module")
def ddp_run(tiny_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        *TORCHRUN_TWO,
        str(WORKER),
        str(tiny_file),
        str(out),
    ]
    finished = subprocess.run(command, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return out


def test_replicas_hold_identical_weights_and_buffers_after_training(ddp_run):
    first = torch.load(ddp_run / "replica0.pt", weights_only=True)
    second = torch.load(ddp_run / "replica1.pt", weights_only=True)
    assert first.keys() == second.keys()
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name
    # The buffers moved: prototypes left zero and the queue holds real classes.
    assert first["pos_prototypes"].abs().sum() > 0
    assert (first["queue_labels"] >= 0).all()


def test_main_train_under_torchrun_trains_with_two_processes(tiny_file, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = tmp_path / "run"
    command = [
        *TORCHRUN_TWO,
        str(REPO / "main.py"),
        "train",
        "--data",
        str(tiny_file),
        "--preset",
        "small",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(run),
        "--quiet",
        "--keep-degenerate",  # one epoch of plumbing predicts every label: kept, not refused
    ]
    finished = subprocess.run(command, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr[-3000:]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["processes"] for row in rows] == [2]
    assert finished.stdout.count("best epoch") == 1  # only rank 0 reports
    assert (run / "model.safetensors").is_file()


def test_rank_zero_alone_logs_and_checkpoints(ddp_run):
    run = ddp_run / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]  # one row per epoch, not one per process
    assert rows[0]["processes"] == 2
    assert (run / "model.safetensors").is_file()
    assert sorted(p.name for p in run.glob("*.safetensors")) == ["best.safetensors", "model.safetensors"]
