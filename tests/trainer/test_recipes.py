"""The training recipes (trainer/recipes/) run on small real data from the data folder: a few hundred XED and
GoEmotions lines, 240 FER+ faces, 40 EmoDB clips, one or two epochs. Each checks what the recipe decides (the
settings it is given reach the trainer, the candidate or threshold it keeps is the one its objective ranks
first, its figures are those a direct computation gives) and the cards' wording against the committed ones.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from carat_model import load_checkpoint
from carat_model.config import MOSEI_LABELS
from feature_extractors.spec import default_feature_spec
from trainer.data_folders import corpus
from trainer.datasets import FeatureDataset
from trainer.emodb import class_of_letter, clip_letters
from trainer.face_images import cache_face_observations, read_face_set
from trainer.loop import fit, predict_scores
from trainer.metrics import THRESHOLD_GRID, compute_metrics
from trainer.recipes.cards import render_card
from trainer.recipes.cards.default_card import comparison_rows, validation_objective
from trainer.recipes.default import choose_thresholds, objective
from trainer.recipes.default_sources import EMODB_TEST, EMODB_VALID, face_source, voice_source, words_source
from trainer.recipes.face import FaceSettings, train_face
from trainer.recipes.face_validation import accuracy_and_uar, seven_class
from trainer.recipes.stream_figures import merits, valid_merits
from trainer.recipes.voice import chosen_tasks, epochs_and_threshold
from trainer.recipes.voice_folds import RECORD, FoldSettings, recorded_or_run
from trainer.recipes.words import (
    CORPORA,
    WordsSettings,
    baseline_metrics,
    held_out_metrics,
    prepare_corpus,
    ship_words,
    train_settings,
    training_dataset,
    words_config,
    words_splits,
)
from trainer.voice_corpora import best_threshold, clip_scores_of, decide, uar
from trainer.voice_training import emodb_voice_splits, voice_config, voice_settings, with_enough_voice
from trainer.words_corpora import XED_CORPUS_NAME, XED_SEED, goemotions_split, write_corpus, xed_lines

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
EMODB_SPEAKERS = ("08", "09", "10", "11", "12")  # two to train on; the default's validation and test speakers


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recipes")


@pytest.fixture(scope="module")
def words(work: Path) -> dict[str, Path]:
    """300 XED lines (split by the recipe's seed) and 30 GoEmotions lines of each split, prepared by the words
    recipe into work/words/prepared, where the default recipe's words source finds them."""
    corpora, prepared = work / "words" / "corpora", work / "words" / "prepared"
    folders = {"xed": prepare_corpus(write_corpus(xed_lines()[:300], corpora / XED_CORPUS_NAME), prepared / "xed")}
    for split in ("train", "valid", "test"):
        lines = write_corpus(goemotions_split(split)[:30], corpora / f"goemotions_{split}.tsv")
        folders[f"goemotions_{split}"] = prepare_corpus(lines, prepared / f"goemotions_{split}", split)
    return folders


@pytest.fixture(scope="module")
def ferplus(work: Path) -> Path:
    """160 FER+ train faces and 80 of its valid faces as a face set of their own."""
    faces = read_face_set(corpus("ferplus") / "ferplus48.npz")
    picked = np.concatenate([np.flatnonzero(faces["split"] == 0)[:160], np.flatnonzero(faces["split"] == 1)[:80]])
    path = work / "ferplus_small.npz"
    np.savez(path, images=faces["images"][picked], votes=faces["votes"][picked], split=faces["split"][picked])
    return path


@pytest.fixture(scope="module")
def face_run(work: Path, ferplus: Path) -> tuple[FaceSettings, dict]:
    """The face recipe trained for two epochs, after the extractor's observations of the faces are cached
    (scripts/cache_ferplus_faces.py's step)."""
    cache_face_observations(ferplus, work / "face" / "ferplus_faces.npz")
    settings = FaceSettings(work=work / "face", ferplus=ferplus, epochs=2, lr=1e-3, average=2,
                            save=work / "carat_face.safetensors")  # fmt: skip
    return settings, train_face(settings)


@pytest.fixture(scope="module")
def emodb(work: Path) -> Path:
    """8 clips of each of EMODB_SPEAKERS (one of each emotion letter first), in the shared layout."""
    source = corpus("emodb")
    with (source / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["file"])
    chosen = []
    for speaker in EMODB_SPEAKERS:
        own = [r for r in rows if r["speaker"] == speaker]
        first = list({r["emodb_letter"]: r for r in own}.values())
        chosen += (first + [r for r in own if r not in first])[:8]
    root = work / "emodb"
    (root / "wav").mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    for row in chosen:
        shutil.copy(source / "wav" / row["file"], root / "wav" / row["file"])
    return root


# -- cards ---------------------------------------------------------------------------------------------------


def test_the_voice_card_is_rendered_from_its_figures_as_committed() -> None:
    figures = json.loads((MODELS / "voice_metrics.json").read_text(encoding="utf-8"))
    assert render_card("voice", figures) == (MODELS / "VOICE_MODEL_CARD.md").read_text(encoding="utf-8")


def test_the_words_card_is_rendered_from_its_figures_as_committed() -> None:
    """The committed card holds every rendered line in order (sections written by hand sit between them)."""
    figures = json.loads((MODELS / "words_metrics.json").read_text(encoding="utf-8"))
    committed = iter((MODELS / "WORDS_MODEL_CARD.md").read_text(encoding="utf-8").splitlines())
    rendered = render_card("words", figures).splitlines()
    assert all(any(line == kept for kept in committed) for line in rendered), "a rendered line is not in the card"
    xed = figures["xed"]
    assert f"| macro F1 | {xed['carat']['macro_f1']:.3f} | {xed['baseline']['macro_f1']:.3f} |" in rendered


def test_the_default_card_lists_each_stream_s_figures_beside_its_single_stream_checkpoint() -> None:
    figures = json.loads((MODELS / "default_metrics.json").read_text(encoding="utf-8"))
    words = json.loads((MODELS / "words_metrics.json").read_text(encoding="utf-8"))
    peers = {"words": {c: words[c]["baseline"] for c in CORPORA}, "voice": {"uar": 0.5, "name": "a peer"}}
    text = render_card("default", figures, peers)
    committed = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8")
    rows = comparison_rows(figures, peers)
    assert rows[0][:3] == ("words: GoEmotions test macro-f1", figures["default"]["words"]["goemotions"]["macro_f1"],
                           figures["single_stream"]["words"]["goemotions"]["macro_f1"])  # fmt: skip
    assert rows[-1][1:3] == (figures["default"]["voice"]["uar"], figures["single_stream"]["voice"]["uar"])
    for what, default, single, *_ in rows:
        row = f"| {what} | **{default:.3f}** | {single:.3f} | {default - single:+.3f} |"
        assert row in text and row in committed, row
    merit = figures["valid_merit"]
    assert validation_objective(figures) == pytest.approx(objective(merit["default"], merit["single_stream"]))



def test_the_default_card_is_rewritten_from_the_records_in_models_as_committed(tmp_path: Path) -> None:
    """`train_default.py --card-only`: the peers come from the stream records and the default's own record (the
    voice record no longer holds the EmoDB-only peer; the default's record kept it), so the committed card's rows
    come back, peers included."""
    figures = json.loads((MODELS / "default_metrics.json").read_text(encoding="utf-8"))
    text = render_card("default", figures)
    committed = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in text.splitlines() if line.startswith(("| words:", "| face:", "| voice:"))]
    assert len(table) >= 7 and all(line in committed for line in table)
    assert any(line.startswith("| voice:") and "0.538 (eGeMAPSv02" in line for line in table)

# -- the stream recipes ------------------------------------------------------------------------------------


@pytest.mark.needs_data("xed", "goemotions")
def test_the_words_recipe_trains_as_its_settings_say_and_measures_as_a_direct_computation(words, work) -> None:
    splits = words_splits(words)
    dataset = training_dataset(splits, default_feature_spec().to_dict())
    assert len(dataset.split("train")) == sum(len(splits[c]["train"]) for c in CORPORA)
    assert "test" not in dataset.splits, "fit never sees a held-out line"
    settings = train_settings(WordsSettings(epochs=1, batch_size=16, lr=2e-3, progress=False))
    assert (settings.epochs, settings.batch_size, settings.lr, settings.seed) == (1, 16, 2e-3, XED_SEED)
    assert settings.absent_modalities == ("visual", "audio")
    result = fit(dataset, words_config(), settings, work / "words" / "run")
    assert len(result.history) == 1 and result.history[0]["processes"] == 1
    model, _ = load_checkpoint(result.checkpoint)
    thresholds = np.asarray(model.config.thresholds())
    carat = held_out_metrics(model, splits)
    scores = {c: predict_scores(model, splits[c]["test"]) for c in CORPORA}
    for name in CORPORA:
        direct = compute_metrics(splits[name]["test"].labels, scores[name] > thresholds)
        assert carat[name] == direct.as_dict()
    baseline = baseline_metrics((list(thresholds), scores), splits)
    assert baseline["xed"]["micro_f1"] == carat["xed"]["micro_f1"], "the same scores give the same figures"
    assert baseline["xed"]["thresholds"] == list(thresholds)


@pytest.mark.needs_data("xed", "goemotions")
def test_the_words_recipe_ships_float16_weights_and_the_figures_of_those(words, work, monkeypatch) -> None:
    """ship_words on a one-epoch model, the baseline stood in for by fixed scores (its real run embeds every
    line of both corpora): the header names the data, and the figures are the shipped weights'."""
    import trainer.words_baseline

    splits = words_splits(words)
    dataset = training_dataset(splits, default_feature_spec().to_dict())
    result = fit(
        dataset, words_config(), train_settings(WordsSettings(epochs=1, progress=False)), work / "ship" / "run"
    )
    model, info = load_checkpoint(result.checkpoint)
    fixed = {c: np.full((len(splits[c]["test"]), len(MOSEI_LABELS)), 0.6, np.float32) for c in CORPORA}
    monkeypatch.setattr(trainer.words_baseline, "corpora_baseline", lambda corpora: ([0.5] * 6, fixed))
    out = work / "ship" / "models"
    out.mkdir()
    (out / "words_encoder.safetensors").symlink_to(MODELS / "words_encoder.safetensors")
    figures = ship_words(model, info, splits, out)
    shipped, header = load_checkpoint(out / "carat_words.safetensors")
    assert header.extra["trained_modalities"] == ["text"] and "dataset_source" not in header.extra
    assert figures["xed"]["carat"] == held_out_metrics(shipped, splits)["xed"] == header.extra["test_metrics_fp16"]
    assert (
        figures["xed"]["baseline"]["micro_f1"]
        == compute_metrics(splits["xed"]["test"].labels, fixed["xed"] > 0.5).micro_f1
    )
    assert figures["samples"]["goemotions"] == {"train": 30, "valid": 30, "test": 30}


@pytest.mark.needs_data("ferplus")
def test_the_face_recipe_ships_the_candidate_its_objective_ranks_first(face_run) -> None:
    settings, record = face_run
    names = [c["name"] for c in record["candidates"]]
    assert names == ["epoch 1", "epoch 2", "mean of epochs 1-2"], "each epoch and the average of the last two"
    for candidate in record["candidates"]:
        assert candidate["objective"] == pytest.approx(candidate["accuracy"] + 0.25 * candidate["uar"])
    assert record["chosen"] == max(record["candidates"], key=lambda c: c["objective"])
    assert len(record["history"]) == 2 and record["settings"]["epochs"] == 2 and record["settings"]["lr"] == 1e-3
    model, info = load_checkpoint(settings.save)
    assert info.extra["chosen"] == record["chosen"]["name"]
    assert info.extra["trained_modalities"] == ["visual"]
    assert model.config.thresholds() == pytest.approx(record["chosen"]["thresholds"])
    assert info.extra["valid_seven_class_uar"] == record["chosen"]["uar"]


def test_the_seven_class_figures_are_accuracy_and_the_mean_recall() -> None:
    scores = np.array([[0.9, 0.1, 0, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0], [0.1, 0.1, 0, 0, 0, 0], [0.6, 0.7, 0, 0, 0, 0]])
    predicted = seven_class(scores, np.full(6, 0.5))
    assert predicted.tolist() == [1, 2, 0, 2], "the best label over its threshold (1 + index), else neutral"
    accuracy, uar_ = accuracy_and_uar(predicted, np.array([1, 2, 0, 1]))
    assert accuracy == 0.75 and uar_ == pytest.approx((0.5 + 1 + 1) / 3)


@pytest.mark.needs_data("emodb")
def test_the_voice_recipe_keeps_the_threshold_with_the_best_validation_uar(emodb, work) -> None:
    splits, rows = emodb_voice_splits(EMODB_TEST, EMODB_VALID, emodb=emodb, work=work / "voice")
    dataset = FeatureDataset("voice", MOSEI_LABELS, False, {"train": splits["train"], "valid": splits["valid"]},
                             default_feature_spec().to_dict(), "EmoDB")  # fmt: skip
    settings = voice_settings(1)
    assert settings.balance_classes and settings.absent_modalities == ("text", "visual") and settings.epochs == 1
    result = fit(with_enough_voice(dataset), voice_config(dataset.feature_dims()), settings, work / "voice" / "run")
    model, _ = load_checkpoint(result.checkpoint)
    labels = model.config.labels
    scores, files = clip_scores_of(model, splits["valid"], rows["valid"])
    truth = np.array([class_of_letter(letter) for letter in clip_letters(rows["valid"])])
    assert len(files) == len(truth) == len({r["file"] for r in rows["valid"]})
    found = [uar(truth, decide(scores, labels, np.full(len(labels), t))) for t in THRESHOLD_GRID]
    assert best_threshold(scores, labels, truth) == THRESHOLD_GRID[int(np.argmax(found))]


def test_the_voice_recipe_takes_the_folds_median_epochs_and_threshold_from_what_they_wrote(work) -> None:
    folds = {"tasks": [{"name": "fold0", "epoch": 4, "threshold": 0.3}, {"name": "fold1", "epoch": 8, "threshold": 0.5},
                       {"name": "fold2", "epoch": 7, "threshold": 0.45},
                       {"name": "emodb_to_ravdess", "epoch": 2, "threshold": 0.9}]}  # fmt: skip
    assert epochs_and_threshold(chosen_tasks(folds, ravdess=True)) == (7, 0.45)
    assert epochs_and_threshold(chosen_tasks(folds, ravdess=False)) == (2, 0.9), "EmoDB alone: its own training"
    where = work / "folds"
    where.mkdir()
    (where / RECORD).write_text(json.dumps(folds), encoding="utf-8")
    assert recorded_or_run(FoldSettings(work=where)) == folds, "read back, nothing trained again"


# -- the default ----------------------------------------------------------------------------------------------


@pytest.mark.needs_data("xed", "goemotions", "ferplus", "emodb")
def test_the_default_s_thresholds_are_its_objective_s_best_on_small_sources(words, face_run, emodb, work) -> None:
    settings, _ = face_run
    words_set, _ = words_source(work)
    face, face_truths = face_source(work, ferplus=settings.ferplus)
    voice, voice_windows = voice_source(work, emodb=emodb)
    sources, truths = {"words": words_set, "face": face, "voice": voice}, {"face": face_truths, "voice": voice_windows}
    model, _ = load_checkpoint(MODELS / "carat_default.safetensors")
    model.eval()
    thresholds, found = choose_thresholds(model, sources, truths)
    assert found["default"] == valid_merits(model, thresholds, sources, truths), "the merits at those thresholds"
    references = found["single_stream"]
    single, _ = load_checkpoint(MODELS / "carat_voice_heldout.safetensors")
    assert references["voice"] == valid_merits(single.eval(), single.config.thresholds(), sources, truths)["voice"]
    scores = {name: predict_scores(model, source.split("valid")) for name, source in sources.items()}

    def judged(trial) -> float:
        return objective(merits(scores, np.asarray(trial), sources, truths, model.config.labels), references)

    best = judged(thresholds)
    assert best >= judged(np.full(len(thresholds), 0.5)), "no worse than where the ascent starts"
    last = len(thresholds) - 1
    assert best == pytest.approx(max(judged([*thresholds[:last], t]) for t in THRESHOLD_GRID)), "the last label's best"
