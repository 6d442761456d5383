"""The one atomic-write helper: a real file, fsync'ed, then its folder; the old file whole on failure."""

import json
import os

import pytest

from carat_model import atomic
from carat_model.atomic import write_atomically, write_json_atomically, write_text_atomically


def _record_fsyncs(monkeypatch) -> list[tuple[int, int]]:
    """(device, inode) of everything fsync'ed, in order."""
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        status = os.fstat(descriptor)
        synced.append((status.st_dev, status.st_ino))
        real_fsync(descriptor)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    return synced


def _identity(path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino


def test_writes_a_real_file_and_fsyncs_it_then_its_folder(tmp_path, monkeypatch):
    synced = _record_fsyncs(monkeypatch)
    target = tmp_path / "result.json"
    write_json_atomically(target, {"a": [1, 2]})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": [1, 2]}
    assert target.read_text(encoding="utf-8") == json.dumps({"a": [1, 2]}, indent=2)
    if os.name != "nt":
        # the renamed file keeps the temporary one's inode: the file first, then the folder
        assert synced == [_identity(target), _identity(tmp_path)]
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"], "no temporary file left"


def test_replaces_an_old_file_whole(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old", encoding="utf-8")
    write_text_atomically(target, "new text")
    assert target.read_text(encoding="utf-8") == "new text"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failing_write_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_bytes(b"old weights")

    def half_then_fail(temporary: str) -> None:
        with open(temporary, "wb") as handle:
            handle.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old weights"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"], "the temporary file is removed"


def test_a_failing_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "index.json"
    target.write_text("{}", encoding="utf-8")

    def refuse(source, destination):
        raise OSError("rename refused")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        write_json_atomically(target, {"new": True})
    assert target.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_the_suffix_ends_the_temporary_name(tmp_path):
    seen: list[str] = []

    def write(temporary: str) -> None:
        seen.append(temporary)
        open(temporary, "wb").close()

    write_atomically(tmp_path / "timeline.png", write, suffix=".tmp.png")
    assert seen[0].endswith(".tmp.png") and os.path.dirname(seen[0]) == str(tmp_path)
    assert (tmp_path / "timeline.png").is_file()
