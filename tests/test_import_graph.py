"""The arrows between the packages, over the whole import graph (a path of any length, not only direct
imports), read from the source with `ast`: every import statement counts, at module level or inside a
function, relative ones resolved, and `importlib.import_module("a.b")` with the name written out;
importing `a.b.c` also runs `a` and `a.b`.

- carat_model and feature_extractors import no other project package;
- the engine (app, less app/dashboard and app/cli) never imports the dashboard or a command module;
- only the dashboard (and app/cli, which launches it, and main.py) reaches Qt (PyQt6, pyqtgraph);
- trainer never imports app;
- no import cycle inside a package (an arrow to the importer's own parent package aside).

A failure names the path of modules, importer first.
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "carat_model", "feature_extractors", "trainer")
QT = ("PyQt6", "pyqtgraph")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> dict[str, Path]:
    """Every module of the four packages, and main.py: dotted name -> file."""
    files = [ROOT / "main.py"] + [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return {_module_name(p): p for p in files if "__pycache__" not in p.parts}


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _is_dynamic_import(node: ast.AST) -> bool:
    """`importlib.import_module("a.b")` or `__import__("a.b")` with the name written out."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    first = node.args[0]
    return name in ("import_module", "__import__") and isinstance(first, ast.Constant) and isinstance(first.value, str)


def _imported(module: str, path: Path) -> set[str]:
    """What `module` imports: project modules by dotted name (with the packages they run), and other
    libraries by their top-level name."""
    modules = project_modules()
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, up level - 1 more
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
        elif _is_dynamic_import(node):
            targets = [node.args[0].value]
        else:
            continue
        for target in targets:
            top = target.split(".")[0]
            if top in PACKAGES or target == "main":
                names.update(m for m in _with_parents(target) if m in modules)
            elif target:
                names.add(top)
    names.discard(module)
    return names


@cache
def import_graph() -> dict[str, frozenset[str]]:
    return {module: frozenset(_imported(module, path)) for module, path in project_modules().items()}


def path_to(start: str, forbidden) -> list[str] | None:
    """The shortest import path from `start` to a module for which `forbidden(name)` holds, or None."""
    graph = import_graph()
    before: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current != start and forbidden(current):
            path = [current]
            while before[path[-1]] is not None:
                path.append(before[path[-1]])
            return path[::-1]
        for following in sorted(graph.get(current, ())):
            if following not in before:
                before[following] = current
                queue.append(following)
    return None


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _broken_arrows(sources, forbidden) -> list[str]:
    found = []
    for module in sources:
        path = path_to(module, forbidden)
        if path is not None:
            found.append(" -> ".join(path))
    return found


def test_the_graph_reads_every_module_and_its_imports() -> None:
    graph = import_graph()
    assert {"main", "app.predictor", "carat_model.model", "feature_extractors.windows", "trainer.loop"} <= set(graph)
    assert {"carat_model", "carat_model.atomic"} <= graph["trainer.resume"], "a module and its packages"
    assert path_to("trainer.loop", lambda m: m == "carat_model.atomic")[0] == "trainer.loop", "paths of any length"
    assert "app.inbox" in graph["app.workers"], "relative imports are resolved"
    assert "torch" in graph["carat_model.model"], "other libraries appear by their top-level name"
    assert path_to("app.cli.live", lambda m: m in QT), "a command module launches the dashboard by name"


@pytest.mark.parametrize("package", ["carat_model", "feature_extractors"])
def test_the_model_and_the_extractors_import_no_other_project_package(package: str) -> None:
    others = [p for p in PACKAGES if p != package]
    modules = [m for m in project_modules() if _within(m, package)]
    broken = _broken_arrows(modules, lambda name: _within(name, *others) or name == "main")
    assert not broken, f"{package} must import no other project package:\n" + "\n".join(broken)


def test_the_engine_never_imports_the_dashboard_or_a_command_module() -> None:
    engine = [m for m in project_modules() if _within(m, "app") and not _within(m, "app.dashboard", "app.cli")]
    broken = _broken_arrows(engine, lambda name: _within(name, "app.dashboard", "app.cli") or name == "main")
    assert not broken, "the engine imports the dashboard or a command module:\n" + "\n".join(broken)


def test_only_the_dashboard_imports_qt() -> None:
    allowed = ("app.dashboard", "app.cli", "main")
    others = [m for m in project_modules() if not _within(m, *allowed)]
    broken = _broken_arrows(others, lambda name: name in QT)
    assert not broken, "only app/dashboard (and app/cli, main.py) may import Qt:\n" + "\n".join(broken)


def test_the_trainer_never_imports_the_app() -> None:
    trainer = [m for m in project_modules() if _within(m, "trainer")]
    broken = _broken_arrows(trainer, lambda name: _within(name, "app") or name == "main")
    assert not broken, "trainer must not import app:\n" + "\n".join(broken)



def import_cycle(package: str, graph: dict[str, frozenset[str]] | None = None) -> list[str] | None:
    """One cycle among the modules of `package` (importer first, ending where it began), or None. An arrow to
    a module's own parent package does not count: the parent is already being imported when its module runs."""
    graph = import_graph() if graph is None else graph
    inside = {m for m in graph if _within(m, package)}
    arrows = {m: sorted(t for t in graph[m] if t in inside and not m.startswith(t + ".")) for m in sorted(inside)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for following in arrows[module]:
            if state.get(following) == 1:
                return path[path.index(following) :] + [following]
            if following not in state:
                found = visit(following)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(inside):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    cycle = import_cycle(package)
    assert cycle is None, f"an import cycle inside {package}: " + " -> ".join(cycle)


def test_a_cycle_through_a_function_level_import_is_found_and_named() -> None:
    graph = import_graph()
    assert "feature_extractors.visual" in graph["app.workers"], "an import inside a function is an arrow"
    with_cycle = {**graph, "app.events": graph["app.events"] | {"app.engine"}}  # as `def f(): from . import engine`
    cycle = import_cycle("app", with_cycle)
    assert cycle is not None and cycle[0] == cycle[-1] and {"app.engine", "app.events"} <= set(cycle)
