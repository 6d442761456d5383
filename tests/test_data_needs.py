"""A test that needs a data folder says so (tests/conftest.py): where the folder is missing it is skipped with
a reason naming the folder and the setting, and under CI (CI=true) it fails instead. Checked on a tiny module
run by pytest in a subprocess, with CARAT_DATA pointing at a folder that holds no corpus."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NEEDS_EMODB = """
import pytest


@pytest.mark.needs_data("emodb")
def test_marked():
    pass


@pytest.fixture(scope="session")
def clips(needs_data):
    needs_data("xed")
    return ["a loaded corpus"]


def test_fixture_that_loads_data(clips):
    assert clips
"""


def run_pytest(module: Path, data: Path, ci: str | None) -> subprocess.CompletedProcess:
    """pytest on `module` with this repository's settings and tests/conftest.py, CARAT_DATA = `data`."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CARAT_REFERENCE", "PYTEST_ADDOPTS")}
    env["CARAT_DATA"] = str(data)
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    command += ["-p", "tests.conftest", "-p", "no:cacheprovider", "-rs", "-q", str(module)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def write_module(tmp_path: Path) -> Path:
    module = tmp_path / "test_needs_emodb.py"
    module.write_text(NEEDS_EMODB, encoding="utf-8")
    return module


def test_a_missing_folder_skips_the_test_naming_the_folder_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "no_data_here"
    result = run_pytest(write_module(tmp_path), missing, ci=None)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"\b2 skipped\b", out) and "passed" not in out and "error" not in out, out
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert any(str(missing / "emodb") in line and "CARAT_DATA" in line for line in skipped), out
    assert any(str(missing / "xed") in line and "CARAT_DATA" in line for line in skipped), out


def test_under_ci_a_missing_folder_fails_the_test(tmp_path: Path) -> None:
    missing = tmp_path / "no_data_here"
    result = run_pytest(write_module(tmp_path), missing, ci="true")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"\b2 errors?\b", out) and "skipped" not in out and "passed" not in out, out
    assert str(missing / "emodb") in out and str(missing / "xed") in out and "CI=true" in out, out


def test_a_present_folder_runs_the_test(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("emodb", "xed"):
        (data / name).mkdir(parents=True)
    result = run_pytest(write_module(tmp_path), data, ci="true")
    assert result.returncode == 0 and re.search(r"\b2 passed\b", result.stdout), result.stdout + result.stderr
