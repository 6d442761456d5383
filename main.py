"""CARAT Live: one command line for live analysis, replay, training and the tools around them.

Each subcommand lives in its own module of app/cli/ with `add_arguments(parser)` and `run(args) -> int`
(its help is the module docstring's first line); it is imported only when chosen, so `--help` and quick
commands start fast. Only this file imports app/cli; no library module does.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module implementing it
COMMANDS: dict[str, str] = {
    "check-reference": "app.cli.check_reference",
    "train": "app.cli.train",
    "evaluate": "app.cli.evaluate",
    "make-synthetic": "app.cli.make_synthetic",
    "live": "app.cli.live",
    "replay": "app.cli.replay",
    "devices": "app.cli.devices",
    "extract": "app.cli.extract",
    "prepare": "app.cli.prepare",
    "batch": "app.cli.batch",
}

DESCRIPTION = (
    "CARAT Live: real-time, offline emotion recognition from face, voice and words "
    "(happy, sad, angry, fear, disgust, surprise)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carat-live", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        # Help text without importing the module: modules declare it on their first docstring line.
        spec = importlib.util.find_spec(module_name)
        summary = _first_docstring_line(spec.origin) if spec and spec.origin else ""
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _first_docstring_line(path: str) -> str:
    import ast

    with open(path, encoding="utf-8") as handle:
        docstring = ast.get_docstring(ast.parse(handle.read())) or ""
    return docstring.splitlines()[0] if docstring else ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        if not argv and "live" in COMMANDS:
            argv = ["live"]  # no arguments: open the app
        else:
            build_parser().parse_args(argv)
            build_parser().print_help()
            return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        build_parser().parse_args(argv)  # prints the usage error and exits 2
        return 2
    module = importlib.import_module(COMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"carat-live {name}", description=module.__doc__)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
