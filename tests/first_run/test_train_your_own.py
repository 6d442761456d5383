"""Train your own (issue 40): a lab's labelled face photos, voice clips and sentences, none of which the shipped
default trained on, go `main.py prepare` (no shape option) -> `main.py train --from` (the default, fine-tuned) ->
a checkpoint that scores the lab's held-out test split at least as well as the default, far above a model
trained from scratch, with its card beside it; and the guard rails: a model that tells nothing apart is
refused, a NaN loss names its cause, and data the checkpoint cannot read is refused before training."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import main
from app.defaults import default_checkpoint
from carat_model import MODALITIES, read_checkpoint_info
from trainer.data_folders import corpus
from trainer.datasets import load_prepared_dataset, write_prepared_dataset
from trainer.sample_windows import WindowShape

FACE_CLASSES = ("neutral", "happy", "sad", "angry", "surprise")  # the folders
FACES_PER_CLASS = 20
# A hundred samples: a quarter to tune thresholds on, nearly a third held out for the figures.
SPLIT_OPTIONS = ["--valid-fraction", "0.25", "--test-fraction", "0.3"]
# Training from fresh weights, 2 epochs, at a size that trains in seconds (the unaligned preset, the authors'
# CMU-MOSEI size, takes minutes here and is refused the same way).
SCRATCH = ["--epochs", 2, "--batch-size", 16, "--preset", "small"]


def run_main(*args: object) -> tuple[int, str, str]:
    """`main.py ARGS` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def prepare(source: Path, out: Path, *options: object) -> Path:
    code, printed, err = run_main("prepare", source, "--out", out, *SPLIT_OPTIONS, *options, "--quiet")
    assert code == 0, err
    assert "the shape of" in printed and str(default_checkpoint()) in printed
    return out


def fine_tune(data: Path, run: Path, *options: object) -> dict:
    """`main.py train --from` (the shipped default), with `options`: its card."""
    code, out, err = run_main("train", "--data", data, "--out", run, "--from", *options, "--quiet")
    assert code == 0, err
    assert "fine-tuning" in out and f"card: {run / 'model_card.md'}" in out
    return json.loads((run / "model_card.json").read_text(encoding="utf-8"))


def scratch_figures(run: Path, data: Path) -> dict:
    """A refused run's last best epoch (best.safetensors, at its config's thresholds) on the test split, in
    the card's figures (trainer.model_card.figures): what training from scratch gave."""
    from carat_model import load_checkpoint
    from trainer.data_checks import labels_with_samples
    from trainer.loop import predict_scores
    from trainer.model_card import figures

    dataset = load_prepared_dataset(data)
    test = dataset.split("test")
    model, _ = load_checkpoint(run / "best.safetensors")
    scored = labels_with_samples(test.labels, dataset.labels)
    return figures(test.labels, predict_scores(model, test), dataset.labels, model.config.thresholds(), scored)


# -- faces: a folder of photos per label ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_folders(tmp_path_factory: pytest.TempPathFactory, needs_data) -> Path:
    """100 faces from the test half of FER+ valid (which the default never trained on), 20 a class by their
    majority vote, as PNG files in folders named by label."""
    import cv2

    from trainer.face_images import SEVEN_CLASSES, held_out_halves, majority_class, read_face_set

    needs_data("ferplus")
    faces = read_face_set(corpus("ferplus") / "ferplus48.npz")
    _, test_half = held_out_halves(faces["split"], seed=12)
    truth = majority_class(faces["votes"])
    root = tmp_path_factory.mktemp("faces") / "photos"
    for name in FACE_CLASSES:
        (root / name).mkdir(parents=True)
        for index in test_half[truth[test_half] == SEVEN_CLASSES.index(name)][:FACES_PER_CLASS]:
            cv2.imwrite(str(root / name / f"face{index}.png"), faces["images"][index])
    return root


@pytest.fixture(scope="module")
def face_data(face_folders: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare(face_folders, tmp_path_factory.mktemp("face_data") / "data")


@pytest.fixture(scope="module")
def fine_tuned_faces(face_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("face_runs") / "fine_tuned"
    return run, fine_tune(face_data, run, "--epochs", 2)


@pytest.fixture(scope="module")
def scratch_faces(face_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """The same data trained from fresh weights, as the issue's user did: (run folder, exit code, stderr)."""
    run = tmp_path_factory.mktemp("face_runs") / "scratch"
    code, _, err = run_main("train", "--data", face_data, "--out", run, *SCRATCH, "--quiet")
    return run, code, err


def test_prepare_writes_the_windows_of_the_default_checkpoint(face_data: Path) -> None:
    dataset = load_prepared_dataset(face_data)
    shape = WindowShape.for_model(read_checkpoint_info(default_checkpoint()).config)
    assert not dataset.aligned and shape == WindowShape(aligned=False, text_steps=32, media_steps=64)
    train = dataset.split("train")
    assert train.visual.shape[1] == shape.media_steps and (train.visual_mask.sum(1) >= 45).all()
    assert sum(len(s) for s in dataset.splits.values()) >= 95, "nearly every photo has a face found"


def test_a_fine_tuned_default_scores_held_out_faces_as_well_as_the_default_and_far_above_scratch(
    face_data: Path, fine_tuned_faces, scratch_faces
) -> None:
    _run, card = fine_tuned_faces
    assert card["compared_with"] == {"path": str(default_checkpoint()), "role": "started from"}
    assert card["split"] == "test" and card["samples"] >= 20
    assert card["labels_scored"] == ["happy", "sad", "angry", "surprise"]
    new, default = card["new"]["macro_f1"], card["other"]["macro_f1"]
    assert new >= default >= 0.7, card["verdict"]
    scratch = scratch_figures(scratch_faces[0], face_data)["macro_f1"]
    assert new >= scratch + 0.3, f"fine-tuned {new:.3f}, from scratch {scratch:.3f}"
    seven = card["new"]["seven_class"]
    assert seven is not None and seven["accuracy"] >= card["other"]["seven_class"]["accuracy"] - 0.05


def test_the_card_is_saved_beside_the_checkpoint_and_in_its_header(fine_tuned_faces) -> None:
    run, card = fine_tuned_faces
    markdown = (run / "model_card.md").read_text(encoding="utf-8")
    assert card["verdict"] in markdown and "| macro-F1 |" in markdown and "started from" in markdown
    assert "NOT better" in card["verdict"] or card["better"] is True
    info = read_checkpoint_info(run / "model.safetensors")
    assert info.extra["card"] == card
    assert info.extra["started_from"]["name"] == default_checkpoint().name
    assert info.extra["trained_modalities"] == list(MODALITIES), "the frozen streams keep their training"


def test_streams_the_data_lacks_keep_the_defaults_weights_while_the_face_learns(
    face_data: Path, fine_tuned_faces, tmp_path: Path
) -> None:
    from trainer.finetune import load_start
    from trainer.loop import TrainSettings, fit

    _, card = fine_tuned_faces
    assert card["frozen_streams"] == "words, voice", "train --from froze the streams the photos lack"
    start = load_start(default_checkpoint())
    settings = TrainSettings(epochs=1, batch_size=16, lr=1e-4, frozen_modalities=("text", "audio"), progress=False)
    dataset = load_prepared_dataset(face_data)
    result = fit(dataset, start.model.config, settings, tmp_path / "run", initial_weights=start.model.state_dict())
    ours, theirs = result.model.state_dict(), start.model.state_dict()  # after the epoch trained
    for name in ("encoders.text.layers.0.qkv.weight", "aligners.audio.lstm.weight_ih_l0", "reconstruct.audio.weight"):
        assert np.array_equal(ours[name].numpy(), theirs[name].numpy()), name
    assert np.array_equal(ours["classifier"][[0, 2]].numpy(), theirs["classifier"][[0, 2]].numpy())
    assert not np.array_equal(
        ours["encoders.visual.embed.weight"].numpy(), theirs["encoders.visual.embed.weight"].numpy()
    )
    assert not np.array_equal(ours["classifier"][1].numpy(), theirs["classifier"][1].numpy())
    assert not np.array_equal(ours["aggregator.0.weight"].numpy(), theirs["aggregator.0.weight"].numpy())


def test_the_model_picker_shows_the_card(fine_tuned_faces) -> None:
    from app.dashboard.checkpoints import summarize_checkpoint

    run, card = fine_tuned_faces
    summary = summarize_checkpoint(run / "model.safetensors")
    assert summary.card == card
    assert f"Card: {card['verdict']}" in summary.text
    assert f"Started from: {default_checkpoint()}" in summary.text
    assert f"macro-F1 {card['new']['macro_f1']:.3f}" in summary.text and "streams: face" in summary.text


def test_a_model_that_predicts_every_label_is_refused_saying_why(scratch_faces) -> None:
    run, code, err = scratch_faces
    assert code == 2
    assert "refused" in err and "predicts every label of the data" in err
    assert "fewer than 20 to learn it from" in err, "the likely reason, with the counts"
    assert "main.py train --from" in err
    assert not (run / "model.safetensors").exists(), "not saved as the result"


def test_a_nan_loss_names_a_stream_that_is_padding_in_every_sample(face_data: Path, tmp_path: Path) -> None:
    """Face-only windows whose face is padding too (what an aligned window of a photo holds): nothing to read."""
    dataset = load_prepared_dataset(face_data)
    for split in dataset.splits.values():
        split.visual_mask[:] = 0
    empty = write_prepared_dataset(
        tmp_path / "empty", dataset.splits, labels=dataset.labels, aligned=False, feature_spec=dataset.feature_spec
    )
    code, _, err = run_main("train", "--data", empty, "--out", tmp_path / "run", "--batch-size", 16, "--quiet")
    assert code == 2 and "the training loss became nan" in err
    assert "have no stream at all" in err and "words, face and voice are padding in every sample" in err
    assert "lower --lr" not in err, "the learning rate is not what is wrong"


def test_data_of_another_face_extractor_is_refused_before_training_naming_both(face_data: Path, tmp_path: Path) -> None:
    dataset = load_prepared_dataset(face_data)
    spec = json.loads(json.dumps(dataset.feature_spec))
    spec["visual"]["version"] = "99"
    other = write_prepared_dataset(
        tmp_path / "other", dataset.splits, labels=dataset.labels, aligned=False, feature_spec=spec
    )
    code, _, err = run_main("train", "--data", other, "--out", tmp_path / "run", "--from", "--quiet")
    assert code == 2 and "(version 99)" in err and str(default_checkpoint()) in err
    default_version = read_checkpoint_info(default_checkpoint()).feature_spec["visual"]["version"]
    assert f"(version {default_version})" in err
    assert not (tmp_path / "run").exists(), "refused before training"


def test_data_of_other_feature_sizes_is_refused_before_training_naming_both(tmp_path: Path) -> None:
    synthetic = tmp_path / "synthetic.pt"
    sizes = ["--text-dim", 10, "--visual-dim", 6, "--audio-dim", 8]
    assert run_main("make-synthetic", "--out", synthetic, "--train", 8, "--valid", 4, "--test", 4, *sizes)[0] == 0
    code, _, err = run_main("train", "--data", synthetic, "--out", tmp_path / "run", "--from", "default", "--quiet")
    assert code == 2 and "features of size 10" in err and "reads 384" in err
    assert not (tmp_path / "run").exists(), "refused before training"


# -- voices: a CSV of clips --------------------------------------------------------------------------------


VOICE_ACTORS = ("13", "14", "15", "16")  # RAVDESS: the default heard none of its actors
VOICE_CLIPS_PER_CLASS = 20  # our six labels, and neutral (RAVDESS's neutral and calm)


@pytest.fixture(scope="module")
def voice_list(tmp_path_factory: pytest.TempPathFactory, needs_data) -> Path:
    """A CSV of RAVDESS clips (path, labels, modalities): voice only, since both sentences are neutral."""
    from trainer.voice_corpora import ravdess_clips

    needs_data("ravdess")
    clips = [c for c in ravdess_clips(corpus("ravdess")) if c["speaker"].split(":")[1] in VOICE_ACTORS]
    order = np.random.default_rng(40).permutation(len(clips))
    taken: dict[str, int] = {}
    listing = tmp_path_factory.mktemp("voices") / "clips.csv"
    with listing.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels", "modalities"])
        for index in order:
            clip = clips[index]
            taken[clip["class"]] = taken.get(clip["class"], 0) + 1
            if taken[clip["class"]] <= VOICE_CLIPS_PER_CLASS:
                writer.writerow([Path(clip["path"]).resolve(), clip["labels"].replace(",", ";") or "neutral", "audio"])
    return listing


def test_a_fine_tuned_default_hears_new_voices_better_than_the_default_and_far_above_scratch(
    voice_list: Path, tmp_path: Path
) -> None:
    """Voices are where the default is weakest (acted German voices are all it heard), and where a lab's
    clips help most. A model trained from scratch predicts every label: its macro-F1 is that of raising
    everything, its seven-class UAR chance; the seven-class UAR tells them apart."""
    data = prepare(voice_list, tmp_path / "data")
    assert not load_prepared_dataset(data).split("train").text_mask.any(), "the words are left out"
    card = fine_tune(data, tmp_path / "fine_tuned")  # main.py train --from's own settings
    assert card["data"]["streams"] == "voice" and card["frozen_streams"] == "words, face"
    new, default = card["new"], card["other"]
    assert new["macro_f1"] >= default["macro_f1"] and new["seven_class"]["uar"] >= default["seven_class"]["uar"]
    code, _, err = run_main("train", "--data", data, "--out", tmp_path / "scratch", *SCRATCH, "--quiet")
    assert code == 2 and "refused" in err
    scratch = scratch_figures(tmp_path / "scratch", data)
    assert new["seven_class"]["uar"] >= scratch["seven_class"]["uar"] + 0.1, (new, scratch)
    assert new["macro_f1"] >= scratch["macro_f1"]


# -- words: a text TSV ---------------------------------------------------------------------------------------


@pytest.mark.needs_data("xed")
def test_a_fine_tuned_default_reads_held_out_sentences_at_least_as_well_and_far_above_scratch(tmp_path: Path) -> None:
    """XED lines the default never trained on (its test split). Words are what the default reads best, so
    the lab's lines add little: 600 of them, so that the test split's few hundred lines measure that."""
    from trainer.words_corpora import write_corpus, xed_split

    lines = xed_split("test")
    picked = np.random.default_rng(40).permutation(len(lines))[:600]
    corpus = write_corpus([lines[i] for i in sorted(picked)], tmp_path / "sentences.tsv")
    data = prepare(corpus, tmp_path / "data")
    card = fine_tune(data, tmp_path / "fine_tuned")
    assert card["data"]["streams"] == "words" and card["frozen_streams"] == "face, voice"
    new, default = card["new"]["macro_f1"], card["other"]["macro_f1"]
    assert new >= default, card["verdict"]
    assert card["new"]["seven_class"] is None, "XED lines may carry several labels: no seven-class view"
    _code, _, err = run_main("train", "--data", data, "--out", tmp_path / "scratch", *SCRATCH, "--quiet")
    scratch = scratch_figures(tmp_path / "scratch", data)["macro_f1"]
    assert new >= scratch + 0.2, f"fine-tuned {new:.3f}, from scratch {scratch:.3f} ({err[-300:]})"
