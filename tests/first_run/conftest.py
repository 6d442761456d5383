"""Shared things for the first-run tests: real XED lines, a small media corpus (espeak-ng speech over a
face clip, and an audio-only file), and the bundled default checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.defaults import default_checkpoint


@pytest.fixture
def cli(capsys):
    """Run `main.py ARGS` in this process: (exit code, stdout, stderr)."""
    import main

    def run(args: list[str]) -> tuple[int, str, str]:
        code = main.main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def xed_lines() -> list[str]:
    """48 real, human-labelled XED lines (from the default model's held-out test lines, rebuilt from
    ../shared/data/xed by the split's seed), as `sentence<TAB>labels`."""
    from trainer.words_corpora import xed_split

    return [f"{line.text}\t{','.join(line.labels)}" for line in xed_split("test")[:48]]


@pytest.fixture(scope="session")
def media_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV over two files: a face clip where espeak-ng says a happy then a sad sentence, and an
    audio-only recording of an angry one. Splits are given so training has train and valid samples."""
    from app.synthetic_media import write_clip

    folder = tmp_path_factory.mktemp("media")
    write_clip(
        folder / "face_and_voice.mkv",
        duration_s=8.0,
        speech=[(0.3, "I am so happy today"), (4.3, "I feel sad and lonely")],
        fps=15,
        size=(320, 240),
    )
    write_clip(folder / "voice_only.wav", duration_s=3.0, speech=[(0.3, "I am angry with you")], video=False)
    (folder / "clips.csv").write_text(
        "path,start,end,labels,split\n"
        "face_and_voice.mkv,0,4,happy,train\n"
        "face_and_voice.mkv,4,8,sad,train\n"
        "voice_only.wav,,,angry,valid\n"
        "face_and_voice.mkv,0,8,happy;sad,test\n",
        encoding="utf-8",
    )
    return folder / "clips.csv"


@pytest.fixture(scope="session")
def default_predictor():
    from app.predictor import Predictor

    return Predictor(default_checkpoint(), smoothing_s=0)
