"""The data folders a test reads, found only through trainer/data_folders.py (CARAT_DATA, CARAT_REFERENCE).

A test that reads a corpus or the authors' reference tensors says so with the marker
`@pytest.mark.needs_data("emodb", ...)` (a module: `pytestmark = pytest.mark.needs_data(...)`); a fixture
that loads data calls `needs_data(...)` itself. Each name is a corpus folder (trainer.data_folders.CORPORA)
or "reference". When a folder is missing the test is skipped with a reason naming the folder and the
environment variable that points elsewhere, so a checkout without the data still runs every other test;
under CI (CI=true) the test fails instead, since a CI run that skipped its data tests would prove nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainer.data_folders import DATA_ENV, REFERENCE_ENV, corpus, reference_root

REFERENCE = "reference"


def data_folder(name: str) -> Path:
    """Where the named corpus (or "reference") is, as the settings say."""
    return reference_root() if name == REFERENCE else corpus(name)


def needs_data(*names: str) -> None:
    """Skip (fail, under CI=true) the running test unless every named data folder exists."""
    missing = [(name, data_folder(name)) for name in names if not data_folder(name).is_dir()]
    if not missing:
        return
    settings = sorted({REFERENCE_ENV if name == REFERENCE else DATA_ENV for name, _ in missing})
    message = f"missing data folder {', '.join(str(folder) for _, folder in missing)} (set {' / '.join(settings)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true, so missing data fails the test", pytrace=False)
    pytest.skip(message)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_data(*names): reads these data folders (corpus names or 'reference'); "
        "skipped when one is missing, failed instead under CI=true",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture is set up, so a session fixture that loads the data never meets a missing folder.
    for mark in item.iter_markers("needs_data"):
        needs_data(*mark.args)


@pytest.fixture(scope="session", name="needs_data")
def needs_data_fixture():
    """`needs_data` for fixtures that load data (a conftest's fixture cannot import this module)."""
    return needs_data
