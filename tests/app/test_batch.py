"""Batch analysis (`main.py batch`): a LocalCluster of 2 worker processes on loopback replays 6 short clips
(5 cut from the bundled sample, 1 corrupt). The finished recordings' events equal `main.py replay --exact`
of each clip byte for byte, the corrupt one fails with a clear error and the batch goes on, the summary's
rows are those the events give, a run killed with SIGKILL is finished by a rerun that redoes nothing
finished, a rerun of a finished batch does nothing new, Ctrl-C exits 130 keeping what is done, and a
scheduler that does not answer is one line and exit code 2. The task alone: a file cut off part-way is done
with a warning.

Everything runs as real processes (`main.py` in its own process group, as a user or a cluster job starts
it). Bounds are generous for a loaded 2-core machine; the only time asserted is "quickly" for the
scheduler that does not answer.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from app.batch import BatchError, find_recordings
from app.replay import read_events_jsonl

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample_clip.mp4"
CLIP_S = 3.0
# Where each clip starts in the sample (speech at 0.5-5.1, 7.0-12.3 and 13.5-17.4 s; samples/README.md): every
# clip holds words; two end mid-sentence (their last words come from the flush at the end of the stream:
# the case where exact replay once differed from run to run), three end in silence.
STARTS = (0.0, 3.0, 6.0, 10.0, 15.0)
CLIPS = len(STARTS)
RUN_LIMIT_S = 240.0  # one batch run, cluster start included, on a loaded 2-core machine


def cut_clip(source: Path, target: Path, start: float, length: float) -> None:
    """[start, start + length) of `source`, re-encoded (H.264 + AAC) with timestamps from 0."""
    import av

    with av.open(str(source)) as reading, av.open(str(target), "w") as writing:
        video_in, audio_in = reading.streams.video[0], reading.streams.audio[0]
        fps, rate = round(video_in.average_rate), audio_in.codec_context.sample_rate
        video = writing.add_stream("libx264", rate=fps)
        video.width, video.height = video_in.codec_context.width, video_in.codec_context.height
        video.pix_fmt = "yuv420p"
        audio = writing.add_stream("aac", rate=rate)
        frames = samples = 0
        for frame in reading.decode(video_in, audio_in):
            if not start <= float(frame.pts * frame.time_base) < start + length:
                continue
            if isinstance(frame, av.VideoFrame):
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base, stream = frames, Fraction(1, fps), video
                frames += 1
            else:
                frame.pts, frame.time_base, stream = samples, Fraction(1, rate), audio
                samples += frame.samples
            for packet in stream.encode(frame):
                writing.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                writing.mux(packet)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """5 clips and a truncated one, listed in a CSV with a participant and a condition column; a checkpoint
    made for today's extractors (as the other engine tests use: its scores mean nothing, but are exact)."""
    folder = tmp_path_factory.mktemp("study")
    clips = []
    for index in range(CLIPS):
        clip = folder / "media" / f"p{index}.mp4"
        clip.parent.mkdir(exist_ok=True)
        cut_clip(SAMPLE, clip, STARTS[index], CLIP_S)
        clips.append(clip)
    corrupt = folder / "media" / "p9_corrupt.mp4"
    corrupt.write_bytes(clips[0].read_bytes()[:25_000])  # cut off before its index: unreadable
    table = folder / "study.csv"
    with open(table, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["participant", "path", "condition"])
        for index, clip in enumerate([*clips, corrupt]):
            writer.writerow([f"P{index}", f"media/{clip.name}", "calm" if index % 2 else "stress"])
    from trainer.untrained import build_untrained_checkpoint

    checkpoint = build_untrained_checkpoint(folder / "model.safetensors")
    return SimpleNamespace(folder=folder, clips=clips, corrupt=corrupt, table=table, checkpoint=checkpoint)


def start_batch(study: SimpleNamespace, out: Path, *extra: str, inputs: list[Path] | None = None) -> subprocess.Popen:
    command = [sys.executable, "main.py", "batch", *map(str, inputs or [study.table]), "--out", str(out)]
    command += ["--workers", "2", "--threads-per-worker", "1", "--checkpoint", str(study.checkpoint), *extra]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )  # its own process group: the signal reaches its worker processes too, as a terminal's Ctrl-C does


def finish(process: subprocess.Popen, limit: float = RUN_LIMIT_S) -> SimpleNamespace:
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"batch did not end within {limit} s: {err[-2000:]}")
    return SimpleNamespace(returncode=process.returncode, stdout=out, stderr=err)


def markers(out: Path) -> dict[str, int]:
    """Recording name -> its DONE.json's modification time (ns)."""
    return {marker.parent.name: marker.stat().st_mtime_ns for marker in out.glob("*/DONE.json")}


def wait_for_done(process: subprocess.Popen, out: Path, at_least: int) -> dict[str, int]:
    deadline = time.monotonic() + RUN_LIMIT_S
    while time.monotonic() < deadline:
        done = markers(out)
        if len(done) >= at_least:
            return done
        if process.poll() is not None:
            pytest.fail(f"batch ended early (rc {process.returncode}): {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"no {at_least} recordings done within {RUN_LIMIT_S} s")


def group_gone(pid: int, timeout: float = 30.0) -> bool:
    """No process is left in the process group `pid` (the batch's workers ended with it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def killed_and_rerun(study: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A batch SIGKILLed (with its workers) once a recording is done and before all are, then rerun to its
    end; and the reference replays, run meanwhile."""
    out = tmp_path_factory.mktemp("batch") / "results"
    process = start_batch(study, out)
    wait_for_done(process, out, at_least=1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert group_gone(process.pid), "every worker process died with the batch"
    before = markers(out)
    assert 1 <= len(before) < CLIPS, f"killed midway: {sorted(before)}"
    rerun = finish(start_batch(study, out))
    after = markers(out)
    return SimpleNamespace(out=out, before=before, rerun=rerun, after=after)


# `main.py replay --exact --out` of each clip, in one process that loads the extractor models once (as
# tests/app/test_replay.py does), so five references cost one model load instead of five.
REFERENCES = """
import sys
import main
from app.workers import Extractors
loaded = Extractors.load()
Extractors.load = classmethod(lambda cls, *args: loaded)
checkpoint, folder, *clips = sys.argv[1:]
for clip in clips:
    name = clip.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    code = main.main(["replay", clip, "--exact", "--checkpoint", checkpoint, "--out", f"{folder}/{name}"])
    if code != 0:
        sys.exit(f"replay of {clip} ended with {code}")
"""


@pytest.fixture(scope="module")
def references(study: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`main.py replay --exact --out` of each clip: name -> its results folder; and "fresh": the last clip
    replayed by a `main.py replay` process of its own, for the models a batch worker reuses from one
    recording to the next (the last clip ran after another on its worker) to be compared with none."""
    folder = tmp_path_factory.mktemp("references")
    command = [sys.executable, "-c", REFERENCES, str(study.checkpoint), str(folder), *map(str, study.clips)]
    last = study.clips[-1]
    fresh = [sys.executable, "main.py", "replay", str(last), "--exact", "--checkpoint", str(study.checkpoint)]
    running = [
        subprocess.Popen(arguments, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for arguments in (command, [*fresh, "--out", str(folder / "fresh")])
    ]
    for process in running:
        _, err = process.communicate(timeout=RUN_LIMIT_S)
        assert process.returncode == 0, err[-2000:]
    return {"fresh": folder / "fresh", **{clip.stem: folder / clip.stem for clip in study.clips}}


def summary_rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", encoding="utf-8", newline="") as handle:
        return {Path(row["path"]).stem: row for row in csv.DictReader(handle)}


def test_rerun_after_sigkill_finishes_without_redoing_finished_recordings(killed_and_rerun) -> None:
    run = killed_and_rerun
    assert run.rerun.returncode == 1, f"one recording failed: rc 1\n{run.rerun.stderr[-2000:]}"
    assert f"{len(run.before)} recordings already done" in run.rerun.stderr
    assert set(run.after) == {f"p{i}" for i in range(CLIPS)}, "every good clip ends done"
    assert {name: run.after[name] for name in run.before} == run.before, "a marker of the killed run was rewritten"


def test_finished_recordings_hold_the_events_of_replay_exact(killed_and_rerun, references) -> None:
    for name, reference in references.items():
        done = killed_and_rerun.out / (f"p{CLIPS - 1}" if name == "fresh" else name)
        assert (done / "events.jsonl").read_bytes() == (reference / "events.jsonl").read_bytes(), name
        assert (done / "events.csv").read_bytes() == (reference / "events.csv").read_bytes(), name
        assert (done / "events_timeline.png").stat().st_size > 10_000, "a timeline drawn"
        assert len((done / "events.jsonl").read_text().splitlines()) == 12, "3 s at a 0.25 s hop"


def test_the_workers_were_two_processes_on_loopback(killed_and_rerun) -> None:
    workers = {
        json.loads((killed_and_rerun.out / name / "DONE.json").read_text())["result"]["worker"]
        for name in killed_and_rerun.after
        if name not in killed_and_rerun.before
    }  # the rerun's recordings: one run, so one cluster
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers), workers
    if len(killed_and_rerun.after) - len(killed_and_rerun.before) >= 3:
        assert len(workers) == 2, f"both workers took recordings: {workers}"


def test_a_corrupt_recording_fails_with_a_clear_error_and_the_batch_goes_on(killed_and_rerun) -> None:
    row = summary_rows(killed_and_rerun.out)["p9_corrupt"]
    assert row["status"] == "failed"
    assert "not a readable media file" in row["error"] and "p9_corrupt.mp4" in row["error"], row["error"]
    folder = killed_and_rerun.out / "p9_corrupt"
    assert not (folder / "DONE.json").exists()
    assert json.loads((folder / "FAILED.json").read_text())["result"]["error"] == row["error"]
    assert "p9_corrupt.mp4" in killed_and_rerun.rerun.stderr, "the failure is shown as it happens"


def test_summary_rows_are_what_the_events_say(killed_and_rerun, study) -> None:
    rows = summary_rows(killed_and_rerun.out)
    assert list(rows) == [f"p{i}" for i in range(CLIPS)] + ["p9_corrupt"], "one row per recording, input order"
    for index in range(CLIPS):
        row = rows[f"p{index}"]
        events = read_events_jsonl(killed_and_rerun.out / f"p{index}" / "events.jsonl")
        assert row["participant"] == f"P{index}" and row["condition"] == ("calm" if index % 2 else "stress")
        assert row["status"] == "done" and row["error"] == ""
        assert int(row["windows"]) == len(events) == 12
        assert float(row["duration_s"]) == pytest.approx(CLIP_S, abs=0.1)
        for position, label in enumerate(events[0].labels):
            passed = sum(e.decided[position] for e in events) / len(events)
            assert float(row[f"{label}_passed"]) == pytest.approx(passed)
            mean = sum(e.scores[position] for e in events) / len(events)
            assert float(row[f"{label}_mean_score"]) == pytest.approx(mean)
        for stream in ("text", "visual", "audio"):
            present = sum(bool(e.present[stream]) for e in events) / len(events)
            assert float(row[f"{stream}_present"]) == pytest.approx(present)
    assert len({rows[f"p{i}"]["happy_mean_score"] for i in range(CLIPS)}) == CLIPS, "each clip's own scores"
    table = pd.read_parquet(killed_and_rerun.out / "summary.parquet")
    assert list(table["status"]) == ["done"] * CLIPS + ["failed"]
    assert table["happy_mean_score"].iloc[0] == pytest.approx(float(rows["p0"]["happy_mean_score"]))


def test_a_rerun_of_a_finished_batch_does_nothing_new(killed_and_rerun, study) -> None:
    out = killed_and_rerun.out
    files = {path: path.stat().st_mtime_ns for path in out.glob("p[0-9]/*")}
    summary = summary_rows(out)
    again = finish(start_batch(study, out))
    assert again.returncode == 1, again.stderr[-2000:]
    assert f"{CLIPS} recordings already done" in again.stderr
    assert f"{CLIPS} done ({CLIPS} of them before this run), 1 failed, 0 not run" in again.stdout
    assert {path: path.stat().st_mtime_ns for path in out.glob("p[0-9]/*")} == files, "nothing redone"
    assert summary_rows(out) == summary


def test_ctrl_c_cancels_the_rest_keeps_what_is_done_and_exits_130(study, tmp_path: Path) -> None:
    out = tmp_path / "results"
    # The whole 19 s sample beside two 3 s clips: it is still being replayed when the first clip is done, so
    # the signal always lands midway (three short clips alone once all finished before it came).
    process = start_batch(study, out, inputs=[study.clips[0], SAMPLE, study.clips[1]])
    wait_for_done(process, out, at_least=1)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    ended = finish(process, limit=60)
    assert ended.returncode == 130, ended.stderr[-2000:]
    assert "interrupted" in ended.stderr and "run the same command again" in ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr[-3000:]
    assert group_gone(process.pid), "the worker processes ended with the batch"
    rows = summary_rows(out)
    done = {name for name, row in rows.items() if row["status"] == "done"}
    assert done == set(markers(out)) and done, "the summary lists exactly the recordings done"
    assert {row["status"] for name, row in rows.items() if name not in done} <= {"pending", "failed"}
    for name in done:
        assert read_events_jsonl(out / name / "events.jsonl"), f"{name} kept its events"


def test_a_scheduler_that_does_not_answer_is_one_line_and_exit_code_2(study, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    command = [sys.executable, "main.py", "batch", str(study.clips[0]), "--out", str(tmp_path / "results")]
    started = time.monotonic()
    ended = subprocess.run(
        [*command, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "3"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ended.returncode == 2
    lines = [line for line in ended.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, ended.stderr
    assert lines[0].startswith(f"error: no Dask scheduler answers at tcp://127.0.0.1:{port} within 3 s"), lines
    assert "leave out --scheduler" in lines[0]
    assert time.monotonic() - started < 60, "refused quickly"
    assert not (tmp_path / "results" / "summary.csv").exists()


def test_a_file_cut_off_part_way_is_done_with_a_warning_in_its_summary_row(study, tmp_path: Path) -> None:
    from app.batch import Recording, batch_settings, read_marker, replay_recording
    from app.control import EngineOptions

    whole = tmp_path / "whole.mkv"
    cut_clip(SAMPLE, whole, 3.0, 6.0)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])  # a Matroska file just stops
    checkpoint, settings = batch_settings(study.checkpoint, EngineOptions())
    recording = Recording(str(cut), "cut")
    result = replay_recording(recording, str(tmp_path / "out"), checkpoint, EngineOptions(), settings)  # the task
    assert result.status == "done" and 0 < result.windows < 20, result
    assert "the file may be cut off" in result.warnings and "of 6.1 s" in result.warnings, result.warnings
    assert read_marker(tmp_path / "out" / "cut") == {"settings": settings, "result": result.to_json()}


# -- inputs (no replay) ------------------------------------------------------------------------------


def test_a_folder_is_searched_for_media_and_session_folders_skipping_the_output(tmp_path: Path) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/one.mp4", "a/deep/two.WAV", "a/notes.txt", "a/deep/plot.png"):
        (tmp_path / name).write_bytes(b"")
    session = tmp_path / "a" / "session1"
    session.mkdir()
    (session / "session.json").write_text("{}")
    (session / "media.mkv").write_bytes(b"")
    (tmp_path / "a" / "results").mkdir()
    (tmp_path / "a" / "results" / "old.mp4").write_bytes(b"")
    from app.session import is_session_folder

    assert is_session_folder(session), "the layout live --record writes"
    found = find_recordings([tmp_path / "a"], skip=tmp_path / "a" / "results")
    assert sorted(Path(r.path).relative_to(tmp_path).as_posix() for r in found) == [
        "a/deep/two.WAV",
        "a/one.mp4",
        "a/session1",
    ]


def test_a_csv_carries_its_columns_and_reads_paths_from_its_folder(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "x.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_text("path,participant\nclips/x.mp4,P7\n")
    [recording] = find_recordings([tmp_path / "list.csv"])
    assert recording.path == str((tmp_path / "clips" / "x.mp4").resolve())
    assert recording.columns == {"participant": "P7"} and recording.name == "x"


def test_recordings_with_the_same_name_get_folders_of_their_own(tmp_path: Path) -> None:
    for folder in ("day1", "day2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "interview.mp4").write_bytes(b"")
    names = [r.name for r in find_recordings([tmp_path / "day1", tmp_path / "day2"])]
    assert len(set(names)) == 2 and all(name.startswith("interview-") for name in names)
    assert names == [r.name for r in find_recordings([tmp_path / "day2", tmp_path / "day1"])][::-1], "stable"


@pytest.mark.parametrize(
    ("content", "message"),
    [("file,who\nx.mp4,P1\n", "no 'path' column"), ("path,status\nx.mp4,ok\n", "the summary's own")],
)
def test_a_csv_without_usable_columns_is_refused_with_what_to_change(tmp_path: Path, content, message) -> None:
    (tmp_path / "list.csv").write_text(content)
    with pytest.raises(BatchError, match=message):
        find_recordings([tmp_path / "list.csv"])
