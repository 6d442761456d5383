"""Shared things for the first-run tests: real XED lines, a small media corpus (espeak-ng speech over a
face clip, and an audio-only file), and the bundled default checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.defaults import default_checkpoint
from carat_model import MODALITIES
from trainer.words_corpora import write_corpus, xed_split

WORDS_WINDOW = ["--unaligned", "--text-steps", "32", "--media-steps", "64"]  # trainer.presets.STREAMS_WINDOW


@pytest.fixture
def cli(capsys):
    """Run `main.py ARGS` in this process: (exit code, stdout, stderr)."""
    import main

    def run(args: list[str]) -> tuple[int, str, str]:
        code = main.main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def prepare_words(cli):
    """`main.py prepare SOURCE --split test` in the words window (the shipped checkpoints'), into OUT:
    what it printed."""

    def run(source: Path, out: Path) -> str:
        code, printed, err = cli(["prepare", source, "--split", "test", *WORDS_WINDOW, "--out", out, "--quiet"])
        assert code == 0, err
        return printed

    return run


@pytest.fixture
def evaluate_on_held_out_xed(tmp_path: Path, cli, prepare_words, needs_data):
    """`main.py evaluate --json` of a checkpoint on the held-out XED lines (rebuilt from the xed corpus by
    the split's seed, prepared as above): (the lines, what prepare printed, evaluate's JSON)."""
    needs_data("xed")

    def run(checkpoint: Path) -> tuple[list[str], str, dict]:
        corpus = write_corpus(xed_split("test"), tmp_path / "xed_test.tsv")
        data = tmp_path / "xed_test"
        prepared = prepare_words(corpus, data)
        code, out, err = cli(["evaluate", "--checkpoint", checkpoint, "--data", data, "--split", "test", "--json"])
        assert code == 0, err
        return corpus.read_text("utf-8").splitlines(), prepared, json.loads(out.strip().splitlines()[-1])

    return run


@pytest.fixture
def model_window():
    """A window of a predictor's shape with the shipped extractors' feature sizes: each modality named
    (`visual=np.ones`) real at every step, its features made by that function of their shape; the
    others missing (zeros, mask 0)."""
    from feature_extractors.spec import default_feature_spec

    dims = default_feature_spec().dims

    def build(predictor, **present: Callable[[tuple[int, int]], np.ndarray]) -> dict[str, np.ndarray]:
        window = {}
        for modality, steps in zip(MODALITIES, predictor.lengths):
            make = present.get(modality)
            shape = (steps, dims[modality])
            window[modality] = (make(shape) if make else np.zeros(shape)).astype(np.float32)
            window[f"{modality}_mask"] = np.full(steps, 1.0 if make else 0.0, np.float32)
        return window

    return build


@pytest.fixture(scope="session")
def xed_lines(needs_data) -> list[str]:
    """48 real, human-labelled XED lines (from the default model's held-out test lines, rebuilt from the
    xed corpus by the split's seed), as `sentence<TAB>labels`."""
    needs_data("xed")
    return [f"{line.text}\t{','.join(line.labels)}" for line in xed_split("test")[:48]]


@pytest.fixture(scope="session")
def media_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV over two files: a face clip where espeak-ng says a happy then a sad sentence, and an
    audio-only recording of an angry one. Splits are given so training has train and valid samples."""
    from trainer.spoken_media import write_clip

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
