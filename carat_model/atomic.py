"""Write files so that a crash or a power cut leaves the old file or the new one, never half of one.

The project's one way to write a file atomically (checkpoints, prepared datasets, run logs, session
info, replay results): the new content goes to a temporary file beside the target, the file is
fsync'ed, renamed over the target, and the folder is fsync'ed so that the rename itself is on disk.

It lives here because `carat_model` is the lowest package: `carat_model` (checkpoints), `trainer` and
`app` all write atomically, and `carat_model` imports no other project package.
`feature_extractors` writes no file in place, so it needs none.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fsync_file(path: str | os.PathLike) -> None:
    """Push a written file's content to the disk."""
    # Windows' fsync (_commit) wants a descriptor open for writing; POSIX accepts a read-only one.
    descriptor = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(folder: str | os.PathLike) -> None:
    """Push a folder's entries (a rename into it) to the disk. Windows cannot open a folder for this and
    journals renames itself, so there it does nothing."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_atomically(temporary: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move a finished file `temporary` (in the same folder as `path`) over `path`: fsync the file,
    rename it, fsync the folder."""
    fsync_file(temporary)
    os.replace(temporary, path)
    fsync_folder(Path(path).parent)


def write_atomically(path: str | os.PathLike, write: Callable[[str], None], *, suffix: str = ".tmp") -> None:
    """Call `write(temporary_path)` beside `path`, then put the result in place with
    `replace_atomically`. When `write` or the rename fails, the old file stays as it was and the
    temporary one is removed. `suffix` ends the temporary name (a writer that infers the format from
    the name, like matplotlib, wants `.tmp.png`)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(descriptor)
    try:
        write(temporary)
        replace_atomically(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))


def write_json_atomically(path: str | os.PathLike, value: Any) -> None:
    """`value` as indented JSON (the format of every JSON file the project writes)."""
    write_text_atomically(path, json.dumps(value, indent=2))
