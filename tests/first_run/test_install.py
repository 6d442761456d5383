"""A non-editable install works on its own: the wheel built from this checkout (offline) carries the code,
the default checkpoint and the sample clip, and its `carat-live replay` runs on the installed sample from
another folder, with nothing of the checkout on the path."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.defaults import REPO_ROOT

SHIPPED = ("app", "carat_model", "feature_extractors", "trainer", "models", "samples", "main.py", "pyproject.toml",
           "README.md")  # fmt: skip


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_installed_wheel_replays_the_installed_sample_from_another_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info behind
    for name in SHIPPED:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(
                REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            )
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        env=offline, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("carat_live-*.whl")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)], env=offline)
    installed_sample = site / "samples" / "sample_clip.mp4"
    assert installed_sample.is_file() and (site / "models" / "carat_default.safetensors").is_file()
    assert (site / "feature_extractors" / "models" / "expression_cnn.safetensors").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Only the installed copy on the path: no checkout, no PYTHONPATH of the caller.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, "PYTHONPATH": str(site)}
    where = run(
        [sys.executable, "-c", "import app, main, app.defaults as d; print(app.__file__); print(d.default_checkpoint())"],
        env=env, cwd=elsewhere,
    ).stdout.split()  # fmt: skip
    assert all(Path(p).resolve().is_relative_to(site.resolve()) for p in where), where

    out = tmp_path / "results"
    done = run([str(site / "bin" / "carat-live"), "replay", str(installed_sample), "--out", str(out)], env=env,
               cwd=elsewhere, timeout=900)  # fmt: skip
    assert "events" in done.stdout
    with open(out / "events.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 50 and len((out / "events.jsonl").read_text().splitlines()) == len(rows)
    assert float(rows[-1]["window_end"]) > 15, "the whole 19 s sample was replayed"
    assert (out / "events_timeline.png").stat().st_size > 1000
