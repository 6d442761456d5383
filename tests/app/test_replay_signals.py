"""Replay results are never lost: `main.py replay` in a real process, stopped by SIGINT, SIGTERM and
SIGKILL part-way, keeps every event made until then in parseable files; bad arguments are refused
before anything loads.

Bounds: each process is given a generous limit to load its models on a loaded 2-core machine; the
issue's behaviour bounds (exit within 2 s of the signal; at most one second lost to SIGKILL) are
asserted as such, the SIGKILL one with half a second more for scheduling on a loaded machine.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import main
from trainer.spoken_media import write_clip

ROOT = Path(__file__).resolve().parents[2]
LOAD_LIMIT_S = 180.0  # models load and the first events come (a loaded machine is slow to start)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 s: a face, and a sentence every 10 s."""
    path = tmp_path_factory.mktemp("long") / "long.mkv"
    sentences = ["I am so happy today", "this is very sad", "I am angry now", "what a surprise"]
    write_clip(path, duration_s=45.0, speech=[(1.0 + 10 * i, text) for i, text in enumerate(sentences)])
    return path


def start_replay(clip: Path, checkpoint: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "main.py", "replay", str(clip), "--realtime", "--checkpoint", str(checkpoint)]
    return subprocess.Popen(
        [*command, "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def wait_for_events(process: subprocess.Popen, partial: Path, count: int) -> list[str]:
    deadline = time.monotonic() + LOAD_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"replay ended early (rc {process.returncode}): {process.stderr.read()[-2000:]}")
        lines = lines_of(partial)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no {count} events within {LOAD_LIMIT_S} s")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_replay_keeps_every_event_so_far_and_exits_within_2_s(
    long_clip: Path, checkpoint: Path, tmp_path: Path, number: signal.Signals
) -> None:
    out = tmp_path / "out"
    process = start_replay(long_clip, checkpoint, out)
    seen = wait_for_events(process, out / "events.partial.jsonl", 8)
    signalled = time.monotonic()
    process.send_signal(number)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the replay went on after the signal")
    took = time.monotonic() - signalled
    err = process.stderr.read()
    assert process.returncode == 128 + number, err[-2000:]
    assert took < 2.0, f"exited {took:.2f} s after {number.name}"
    kept = [json.loads(line) for line in lines_of(out / "events.jsonl")]
    assert len(kept) >= len(seen) and kept[: len(seen)] == [json.loads(line) for line in seen]
    with open(out / "events.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(kept) and float(rows[-1]["window_end"]) == pytest.approx(kept[-1]["window_end"])
    assert f"interrupted by {number.name}" in err.strip().splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "events.jsonl"], "no partial files left"


def test_sigkill_after_30_s_of_replay_leaves_every_line_parseable_and_at_most_a_second_missing(
    long_clip: Path, checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    old = out / "events.jsonl"
    out.mkdir()
    old.write_text('{"an old result": true}\n')  # a previous run's results stay whole until replaced
    process = start_replay(long_clip, checkpoint, out)
    partial = out / "events.partial.jsonl"
    wait_for_events(process, partial, 1)
    first_seen = time.monotonic()  # media time 0.25 s (the first window) was just written
    time.sleep(30.0)
    killed = time.monotonic()
    process.kill()
    process.wait(timeout=10)
    lines = lines_of(partial)
    events = [json.loads(line) for line in lines]  # every line parses: none was cut off
    media_time_at_kill = 0.25 + (killed - first_seen)
    assert events[-1]["window_end"] >= media_time_at_kill - 1.5, (events[-1]["window_end"], media_time_at_kill)
    ends = [e["window_end"] for e in events]
    assert ends == sorted(ends) and ends[0] == pytest.approx(0.25)
    assert old.read_text() == '{"an old result": true}\n', "the old result was not half overwritten"
    with open(out / "events.partial.csv", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) >= len(events) - 1


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--hop", "0"], "hop must be from 0.01"),
        (["--hop", "nan"], "hop must be from 0.01"),
        (["--window", "-3"], "window must be from 0.1"),
        (["--utterance-pause", "inf"], "utterance pause must be"),
        (["--asr-pause", "8"], "speech pause must be from 0.05 to 4 seconds"),
        (["--asr-pause", "0.3", "--asr-early-pass", "0.5"], "early speech pass must be from 0 to 0.3 seconds"),
    ],
)
def test_bad_replay_arguments_are_refused_up_front_with_one_line(
    short_clip: Path, tmp_path: Path, capsys, arguments: list[str], says: str
) -> None:
    began = time.monotonic()
    assert main.main(["replay", str(short_clip), "--out", str(tmp_path / "out"), *arguments]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and says in err[0]
    assert time.monotonic() - began < 5, "refused before any model loads"
    assert not (tmp_path / "out").exists()


def test_replay_out_naming_a_file_is_refused_before_the_replay_runs(short_clip: Path, tmp_path: Path, capsys) -> None:
    taken = tmp_path / "results.txt"
    taken.write_text("keep me")
    assert main.main(["replay", str(short_clip), "--out", str(taken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file; give a folder" in err[0]
    assert taken.read_text() == "keep me"


def test_a_replay_that_cannot_start_leaves_old_results_untouched(tmp_path: Path, checkpoint: Path, capsys) -> None:
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00garbage" * 4000)
    out = tmp_path / "out"
    out.mkdir()
    (out / "events.jsonl").write_text("old\n")
    assert main.main(["replay", str(broken), "--checkpoint", str(checkpoint), "--out", str(out)]) == 1
    assert "not a readable media file" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["events.jsonl"] and (out / "events.jsonl").read_text() == "old\n"
