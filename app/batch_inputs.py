"""Batch analysis's inputs: files, folders (searched for video and audio files and session folders) and
CSVs with a `path` column -> `Recording`s, each with its own results folder name (app/batch.py runs them)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma"}
MEDIA_SUFFIXES = VIDEO_SUFFIXES | AUDIO_SUFFIXES
SUMMARY_COLUMNS = ("path", "name", "status", "error", "warnings", "duration_s", "windows", "words", "wall_s")  # a CSV column must not take one of these names


class BatchError(ValueError):
    """The batch cannot start: an input, the output folder or the cluster is not usable."""


@dataclass(frozen=True)
class Recording:
    path: str  # absolute: a media file or a session folder
    name: str  # its results folder under the output folder
    columns: dict[str, str] = field(default_factory=dict)  # carried from the input CSV into the summary


def find_recordings(inputs: Sequence[str | os.PathLike], *, skip: Path | None = None) -> list[Recording]:
    """Every recording the inputs name, in input order, each once. `skip`: a folder not to search (the
    output folder, when it lies inside an input folder)."""
    from .session import is_session_folder

    found: dict[str, Recording] = {}
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise BatchError(f"input {path} does not exist; give media files, folders or a CSV with a path column")
        if path.is_file() and path.suffix.lower() == ".csv":
            rows = _csv_rows(path)
        elif path.is_dir() and not is_session_folder(path):
            rows = [(media, {}) for media in _media_in(path, skip)]
            if not rows:
                raise BatchError(f"folder {path} holds no video or audio files ({', '.join(sorted(MEDIA_SUFFIXES))})")
        else:
            rows = [(path, {})]
        for media, columns in rows:
            key = str(media.resolve())
            found.setdefault(key, Recording(key, "", columns))
    return _named(list(found.values()))


def _csv_rows(path: Path) -> list[tuple[Path, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "path" not in fields:
            raise BatchError(f"{path} has no 'path' column (its columns: {', '.join(fields) or 'none'}); add one")
        clashing = sorted(set(fields) & set(SUMMARY_COLUMNS) - {"path"})
        if clashing:
            raise BatchError(f"{path}: columns {clashing} are the summary's own; rename them in the CSV")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not (row.get("path") or "").strip():
                raise BatchError(f"{path} line {number}: the path is empty")
            media = Path(row["path"].strip())
            media = media if media.is_absolute() else path.parent / media  # relative to the CSV, as prepare reads
            rows.append((media, {k: v or "" for k, v in row.items() if k != "path" and k is not None}))
    return rows


def _media_in(folder: Path, skip: Path | None) -> list[Path]:
    from .session import is_session_folder

    found = []
    for root, folders, files in os.walk(folder):
        here = Path(root)
        keep = []
        for name in sorted(folders):
            sub = here / name
            if skip is not None and sub.resolve() == skip.resolve():
                continue
            if is_session_folder(sub):
                found.append(sub)  # a recorded session is one recording; its own files are not searched
            else:
                keep.append(name)
        folders[:] = keep
        found += [here / name for name in sorted(files) if Path(name).suffix.lower() in MEDIA_SUFFIXES]
    return sorted(found)


def _named(recordings: list[Recording]) -> list[Recording]:
    """Results folders named by the file's stem; stems that clash get a hash of the full path, so a name
    never depends on which other inputs a run was given."""
    stems = [Path(r.path).stem if Path(r.path).suffix else Path(r.path).name for r in recordings]
    named = []
    for recording, stem in zip(recordings, stems):
        if stems.count(stem) > 1:
            stem = f"{stem}-{hashlib.sha256(recording.path.encode()).hexdigest()[:8]}"
        named.append(dataclasses.replace(recording, name=stem))
    return named
