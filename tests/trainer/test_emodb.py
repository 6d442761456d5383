"""EmoDB as live-shaped voice windows (trainer/emodb.py, live_clips.py, voice_windows.py), on real clips from
../shared.

A live 3 s window holds a clip and the room around it, and only the rows the engine has heard by the
window's end; the prepared training windows must look the same, and the split function the combined
model uses must keep speakers apart.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from feature_extractors.voice import VoiceExtractor
from trainer.data_folders import corpus
from trainer.emodb import read_labels
from trainer.live_clips import LIVE_ENDS, SAMPLE_RATE, WINDOW_S, live_clip
from trainer.presets import STREAMS_WINDOW
from trainer.voice_scoring import clip_scores
from trainer.voice_training import emodb_voice_splits
from trainer.voice_windows import live_windows

EMODB = corpus("emodb")
# Clips of four speakers: enough to prepare in seconds and to split by speaker. 08a01Wa's room is silent
# (drawn from its name), 12a01Fb's is low noise.
CLIPS = ("08a01Wa.wav", "09a01Wb.wav", "10a01Nb.wav", "10a01Wa.wav", "12a01Fb.wav")


@pytest.fixture(scope="module")
def small_emodb(tmp_path_factory) -> Path:
    """A copy of the shared EmoDB holding only CLIPS (labels.csv and wav/), in the shared layout."""
    if not (EMODB / "labels.csv").is_file():
        pytest.fail(f"EmoDB is missing at {EMODB} (the shared data beside the checkout)")
    root = tmp_path_factory.mktemp("emodb")
    (root / "wav").mkdir()
    with (EMODB / "labels.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["file"] in CLIPS]
        fields = reader.fieldnames
    assert len(rows) == len(CLIPS), "the clips this test names are in the shared copy"
    with (root / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for name in CLIPS:
        shutil.copy(EMODB / "wav" / name, root / "wav" / name)
    return root


def test_a_live_clip_sits_in_a_quiet_room_drawn_from_its_name_and_half_pass_a_webcam() -> None:
    from trainer.room_sounds import rms_dbfs

    clip = (0.25 * np.sin(2 * np.pi * 220 * np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    recording, start = live_clip(clip, "08a01Wa.wav")
    again, same_start = live_clip(clip, "08a01Wa.wav")
    assert np.array_equal(recording, again) and start == same_start
    assert start >= WINDOW_S - LIVE_ENDS[0]  # every window starts inside the recording
    rooms, webcams = [], 0
    for k in range(24):
        recording, start = live_clip(clip, f"{k:02d}.wav")
        first = round(start * SAMPLE_RATE)
        inside = recording[first + 1600 : first + len(clip) - 1600]  # clear of the band filter's edges
        room = recording[: first - 1600]
        # the room stays far below the speech (a room sound at most -40 dBFS, a webcam's noise 20 dB under it)
        assert rms_dbfs(room) < rms_dbfs(inside) - 18
        rooms.append(room.any())
        webcams += not np.allclose(inside, clip[1600:-1600], atol=0.02)  # the webcam's band limit and codec
    assert 0 < sum(rooms) < 24, "some rooms are digital silence, some carry a room sound"
    assert 4 < webcams < 20, "about half the clips pass through a webcam's channel"
    starts = {live_clip(clip, f"{k:02d}.wav")[1] for k in range(20)}
    assert len(starts) == 20, "the clip's offset (so the row grid's phase) differs from clip to clip"


@pytest.mark.needs_data("emodb")
def test_a_live_window_holds_the_rows_a_live_engine_has_heard_by_its_end(small_emodb: Path, tmp_path: Path) -> None:
    windows = live_windows(small_emodb, tmp_path)
    assert len(windows) == len(CLIPS) * len(LIVE_ENDS)
    voice = VoiceExtractor()
    counts = {}
    for window in windows:
        if window["file"] != "08a01Wa.wav":
            continue
        samples, rate = soundfile.read(window["path"], dtype="float32")
        assert rate == SAMPLE_RATE
        start, end = float(window["start"]), float(window["end"])
        assert end - start == pytest.approx(WINDOW_S) and end == pytest.approx(len(samples) / SAMPLE_RATE, abs=1e-4)
        rows = voice.extract(samples).between(start, end)
        assert (rows.times[:, 1] <= end + 1e-4).all(), "no row summarises audio after the window's end"
        after = float(window["window_end"]) - float(window["clip_start"])
        counts[round(after, 1)] = len(rows)
    # Half a second into the clip a window holds few rows; once the clip is heard, enough to vote (20), and
    # none from the room after it (the speech gate): a window after the clip holds what the one at its end did.
    assert counts[0.5] < 20 and max(counts.values()) >= 20, counts
    assert counts[3.5] == counts[2.5], counts
    assert max(counts.values()) <= STREAMS_WINDOW.media_steps


@pytest.mark.needs_data("emodb")
def test_the_split_function_keeps_speakers_apart_and_prepares_every_window(small_emodb: Path, tmp_path: Path) -> None:
    splits, rows = emodb_voice_splits(("10", "12"), ("09",), emodb=small_emodb, work=tmp_path)
    assert {r["speaker"] for r in rows["test"]} == {"10", "12"}
    assert {r["speaker"] for r in rows["valid"]} == {"09"}
    assert {r["speaker"] for r in rows["train"]} == {"08"}
    for name in ("train", "valid", "test"):
        assert len(splits[name]) == len(rows[name])
        assert splits[name].audio_mask.any(axis=1).all(), "every window holds voice rows"
        assert not splits[name].text_mask.any() and not splits[name].visual_mask.any(), "voice only"
    angry = splits["test"].labels[[r["file"] == "10a01Wa.wav" for r in rows["test"]]]
    assert angry.any() and (angry == angry[0]).all(), "every window of a clip carries the clip's labels"
    neutral = splits["test"].labels[[r["file"] == "10a01Nb.wav" for r in rows["test"]]]
    # a window without speech in it (the first, half a second into the clip) holds no voice row: not prepared
    assert 0 < len(neutral) <= len(LIVE_ENDS) and not neutral.any(), "a neutral clip's windows carry no label"
    with pytest.raises(ValueError, match="both test and valid"):
        emodb_voice_splits(("10",), ("10",), emodb=small_emodb, work=tmp_path)
    with pytest.raises(ValueError, match="no speakers"):
        emodb_voice_splits(("99",), ("09",), emodb=small_emodb, work=tmp_path)
    assert [r["file"] for r in read_labels(small_emodb)] == sorted(CLIPS)


def test_a_clip_is_scored_by_the_windows_that_voted() -> None:
    # The second window of clip a held too little voice to vote (scores all 0): it does not pull the
    # clip's mean down; clip b, where nothing voted, scores 0.
    windows = [{"file": "a.wav"}, {"file": "a.wav"}, {"file": "b.wav"}, {"file": "a.wav"}]
    scores = np.array([[0.8, 0.2], [0.0, 0.0], [0.0, 0.0], [0.4, 0.6]], np.float32)
    clips, files = clip_scores(scores, windows)
    assert files == ["a.wav", "b.wav"]
    np.testing.assert_allclose(clips, [[0.6, 0.4], [0.0, 0.0]])
