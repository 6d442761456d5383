"""Modules and functions stay small enough to read: no module over 400 lines outside tests (the dashboard's
main window excepted, one screen's worth of widgets), no function over 80 lines in the libraries. A failure
names each offender and its length, so the fix (split it by job) starts from the message."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_LINES = 400
FUNCTION_LINES = 80
CODE = ("app", "carat_model", "feature_extractors", "trainer", "scripts", "benchmarks")
LIBRARIES = ("app", "trainer", "feature_extractors")
EXEMPT_MODULES = {Path("app/dashboard/main_window.py")}


def _python_files(folders) -> list[Path]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(p.relative_to(ROOT) for p in files)


def long_modules() -> list[str]:
    found = []
    for path in [*_python_files(CODE), Path("main.py")]:
        lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
        if lines > MODULE_LINES and path not in EXEMPT_MODULES:
            found.append(f"{path}: {lines} lines")
    return found


def long_functions(folders=LIBRARIES) -> list[str]:
    found = []
    for path in _python_files(folders):
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    found.append(f"{path}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_the_scan_sees_the_code() -> None:
    assert Path("app/engine.py") in _python_files(LIBRARIES) and Path("trainer/loop.py") in _python_files(LIBRARIES)
    assert Path("scripts/train_default.py") in _python_files(CODE)


def test_no_module_is_over_400_lines() -> None:
    found = long_modules()
    assert not found, f"modules over {MODULE_LINES} lines (split them by job):\n" + "\n".join(found)


def test_no_library_function_is_over_80_lines() -> None:
    found = long_functions()
    assert not found, f"functions over {FUNCTION_LINES} lines (split them into named steps):\n" + "\n".join(found)
