"""The rooms of docs/design.md: app/dashboard is the only place that imports Qt, and it holds no model
or device-processing code (it shows and asks; the engine works)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
QT_MODULES = {"PyQt6", "pyqtgraph", "PySide6", "PyQt5"}
ENGINE_ONLY_MODULES = {"torch", "mediapipe", "faster_whisper", "ctranslate2", "opensmile", "librosa", "av"}


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def project_sources() -> list[Path]:
    roots = [REPO / name for name in ("app", "carat_model", "feature_extractors", "trainer")]
    return [REPO / "main.py"] + [p for root in roots if root.is_dir() for p in root.rglob("*.py")]


def test_only_the_dashboard_imports_qt():
    dashboard = REPO / "app" / "dashboard"
    offenders = [
        str(path.relative_to(REPO))
        for path in project_sources()
        if dashboard not in path.parents and imported_top_modules(path) & QT_MODULES
    ]
    assert offenders == []


def test_the_dashboard_runs_no_model_or_media_processing_code():
    for path in (REPO / "app" / "dashboard").rglob("*.py"):
        assert not imported_top_modules(path) & ENGINE_ONLY_MODULES, path
