"""The face recipe: the shipped face checkpoint (models/carat_face.safetensors), the face stream alone, on
FER+; scripts/train_face.py is its command line.

Steps (the expression CNN, feature_extractors/models/expression_cnn.safetensors, comes first from
scripts/train_face_cnn.py; the extractor's observations of every FER+ face from
scripts/cache_ferplus_faces.py):
1. `main.py prepare`'s face-set route (`trainer.face_images.prepare_face_set`) on FER+ (trainer/data_folders.py): one
   face-only window per face (the still face over a live window's frames, jittered), vote shares of our six
   labels as soft targets, in the stream window (`trainer.presets.STREAMS_WINDOW`) -> build/face/prepared.
   FER+ train -> train; FER+ valid halved by seed 12 -> valid (epochs, thresholds) and test (figures only).
   `jitter_sets` names more prepared folders of the same faces with other jitter (prepare's seed): epoch e
   trains on set (e - 1) mod n, the first being `prepared`, so a face is not seen with one jitter only.
2. `main.py train`'s `fit` with the face branch only (words and voice absent) and `streams_config`, one
   epoch at a time (fit's resume), each epoch's weights kept (RUN/epoch-E.safetensors).
3. Validation as the benchmark scores (benchmarks/face_accuracy.py, on the validation half): each validation
   face as a still face filling a live window (the extractor's cached observation, the same vector every
   frame), a face the extractor missed counting as wrong; contempt-majority faces left out. For every epoch,
   and for the weight average of the last 2..`average` epochs ending at each epoch, thresholds for the 7-class
   decision (neutral when no label passes) are tuned for accuracy + w * UAR (`uar_weight`) one label at a
   time over a grid; the best candidate by that objective is saved (`save`, default the shipped checkpoint)
   as float16 with trained_modalities ["visual"]. With `from_checkpoint`, steps 1 and 2 are skipped (its
   thresholds alone are retuned); `evaluate_checkpoint` gives a checkpoint's validation figures at its own
   thresholds and retuned ones.
The held-out figures come from benchmarks/face_accuracy.py (through the live extractor, beside fer's CNN).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..data_folders import corpus
from .face_validation import Validation

ROOT = Path(__file__).resolve().parents[2]
FERPLUS = corpus("ferplus") / "ferplus48.npz"
TARGET = ROOT / "models" / "carat_face.safetensors"


@dataclass(frozen=True)
class FaceSettings:
    """What a face run is asked (scripts/train_face.py's options, with its defaults)."""

    work: Path = ROOT / "build" / "face"
    prepared: Path | None = None  # the prepared face windows (default work/prepared)
    jitter_sets: tuple[Path, ...] = ()  # more prepared folders of the same faces, other jitter
    epochs: int = 8
    lr: float = 6e-4
    weight_decay: float = 0.01
    dropout: float = 0.1  # CARAT's dropout (streams_config: 0.1)
    contrastive_weight: float | None = None  # CARAT's contrastive loss weight (default the config's, 1.0)
    stop_after: int | None = None  # train no further than this epoch (the schedule stays `epochs` long)
    average: int = 3  # also try weight averages of up to this many epochs
    uar_weight: float = 0.25  # thresholds maximise accuracy + this * UAR
    seed: int = 0
    run: Path | None = None  # the run folder (default work/run-EPOCHS-LR)
    save: Path = TARGET  # where the chosen checkpoint goes
    from_checkpoint: Path | None = None  # skip training: tune thresholds for and save this checkpoint
    init: Path | None = None  # fine-tune: start from this checkpoint's weights
    ferplus: Path = FERPLUS

    def run_dir(self) -> Path:
        return self.run or self.work / f"run-{self.epochs}-{self.lr:g}"

    def train_settings(self):
        from ..settings import TrainSettings

        return TrainSettings(
            epochs=self.epochs, batch_size=64, lr=self.lr, weight_decay=self.weight_decay, warmup=0.1, seed=self.seed,
            absent_modalities=("text", "audio"), progress=False,
        )  # fmt: skip


def validation_of(settings: FaceSettings) -> Validation:
    from ..face_images import majority_class, read_face_set

    faces = read_face_set(settings.ferplus)
    return Validation(settings.work, faces, majority_class(faces["votes"]), settings.uar_weight)


def evaluate_checkpoint(settings: FaceSettings, path: Path) -> dict:
    """A checkpoint's validation figures at its own thresholds and at thresholds retuned on validation."""
    import torch

    from carat_model import load_checkpoint

    torch.set_num_threads(1)
    validation = validation_of(settings)
    model, _ = load_checkpoint(path)
    thresholds = list(model.config.thresholds())
    accuracy, uar = validation.figures(validation.scores(model), thresholds)
    retuned, retuned_accuracy, retuned_uar = validation.tune(validation.scores(model))
    return {
        "checkpoint": str(path),
        "faces": len(validation.truth),
        "missed": int(len(validation.truth) - len(validation.found)),
        "at_its_thresholds": {"thresholds": thresholds, "accuracy": accuracy, "uar": uar},
        "thresholds_retuned_on_still_validation": {
            "thresholds": retuned,
            "accuracy": retuned_accuracy,
            "uar": retuned_uar,
        },
    }


class Candidates:
    """The models considered (an epoch's file, a list of files to average, or a given checkpoint) and their
    validation figures at thresholds tuned for each; the best by accuracy + uar_weight x UAR is shipped."""

    def __init__(self, validation: Validation, uar_weight: float) -> None:
        self.validation, self.uar_weight = validation, uar_weight
        self.figures: list[dict] = []
        self.sources: dict[str, Path | list[Path]] = {}

    def consider(self, name: str, model, source: Path | list[Path]) -> None:
        thresholds, accuracy, uar = self.validation.tune(self.validation.scores(model))
        self.figures.append({"name": name, "thresholds": thresholds, "accuracy": accuracy, "uar": uar,
                             "objective": accuracy + self.uar_weight * uar})  # fmt: skip
        self.sources[name] = source
        print(f"  {name}: validation accuracy {accuracy:.4f}, UAR {uar:.4f} at {thresholds}", flush=True)

    def best(self) -> dict:
        return max(self.figures, key=lambda c: c["objective"])

    def load(self, name: str):
        """(model, its CheckpointInfo) of a candidate: an average takes the last epoch's info."""
        from carat_model import load_checkpoint

        chosen = self.sources[name]
        if isinstance(chosen, list):
            return average_weights(chosen), load_checkpoint(chosen[-1])[1]
        return load_checkpoint(chosen)


def train_face(settings: FaceSettings = FaceSettings()) -> dict:
    """Train (or take `from_checkpoint`), choose the best candidate on validation and save it as float16
    to settings.save; returns the run's record (also written as RUN/train_face.json)."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    validation = validation_of(settings)
    print(f"validation: {len(validation.truth)} faces, {len(validation.found)} found", flush=True)
    candidates = Candidates(validation, settings.uar_weight)
    history: list[dict] = []
    feature_spec = None
    if settings.from_checkpoint:
        from carat_model import load_checkpoint

        model, info = load_checkpoint(settings.from_checkpoint)
        candidates.consider("given", model, settings.from_checkpoint)
        feature_spec = info.feature_spec
    else:
        dataset = prepare_face_windows(settings, start)
        epoch_files, history = train_epochs(settings, dataset)
        consider_epochs(candidates, epoch_files, settings.average)
        feature_spec = dataset.feature_spec
        print(f"trained and scored: {time.perf_counter() - start:.0f} s", flush=True)
    return ship_face(settings, candidates, feature_spec, history, start)


def prepare_face_windows(settings: FaceSettings, start: float):
    """The prepared face windows (prepared first where missing), and the jitter sets beside them."""
    from ..datasets import load_prepared_dataset
    from ..face_images import prepare_face_set
    from ..presets import STREAMS_WINDOW

    prepared = settings.prepared or settings.work / "prepared"
    observations = settings.work / "ferplus_faces.npz"
    if not (prepared / "index.json").is_file():
        samples = prepare_face_set(settings.ferplus, prepared, shape=STREAMS_WINDOW, seed=settings.seed,
                                   observations=observations)  # fmt: skip
        print(f"prepared {samples} in {time.perf_counter() - start:.0f} s", flush=True)
    for number, path in enumerate(settings.jitter_sets, 1):
        if not (path / "index.json").is_file():  # the training faces again, jittered with another seed
            began = time.perf_counter()
            samples = prepare_face_set(
                settings.ferplus, path, shape=STREAMS_WINDOW, seed=settings.seed + number,
                observations=observations, splits=("train",),
            )  # fmt: skip
            print(f"prepared jitter set {path} {samples} in {time.perf_counter() - began:.0f} s", flush=True)
    return load_prepared_dataset(prepared)


def face_config(settings: FaceSettings):
    from feature_extractors.spec import default_feature_spec

    from ..presets import streams_config

    overrides = {} if settings.contrastive_weight is None else {"contrastive_weight": settings.contrastive_weight}
    return streams_config(default_feature_spec().dims, dropout=settings.dropout, **overrides)


def initial_weights(settings: FaceSettings, config, dataset):
    """The `init` checkpoint's weights (refused if another shape or another face extractor), or None."""
    if not settings.init:
        return None
    from carat_model import load_checkpoint
    from feature_extractors.spec import FeatureSpec

    start_model, start_info = load_checkpoint(settings.init, expected=config)  # refused if another shape
    FeatureSpec.from_dict(dataset.feature_spec).check_matches(
        FeatureSpec.from_dict(start_info.feature_spec), f"--init {settings.init}", ("visual",)
    )
    return start_model.state_dict()


def train_epochs(settings: FaceSettings, dataset) -> tuple[list[Path], list[dict]]:
    """`fit` one epoch at a time (its resume), each epoch's weights kept as RUN/epoch-E.safetensors; an
    interrupted run's epochs already written are kept. Returns (the epochs' files, fit's history)."""
    from carat_model import save_checkpoint

    from ..datasets import load_prepared_dataset
    from ..loop import fit

    run_dir, train = settings.run_dir(), settings.train_settings()
    config = face_config(settings)
    weights = initial_weights(settings, config, dataset)
    sets = [dataset] + [load_prepared_dataset(path) for path in settings.jitter_sets]
    epoch_files, history = [], []
    resume = (run_dir / "training_state.pt").is_file()
    for epoch in range(1, min(settings.epochs, settings.stop_after or settings.epochs) + 1):
        epoch_file = run_dir / f"epoch-{epoch}.safetensors"
        if resume and epoch_file.is_file():  # done by an earlier, interrupted call
            epoch_files.append(epoch_file)
            continue
        began = time.perf_counter()
        # The train split cycles through the jitter sets; valid (fit's own figures) stays the first set's.
        train_set = sets[(epoch - 1) % len(sets)]
        this = dataclasses.replace(dataset, splits={**dataset.splits, "train": train_set.split("train")})
        result = fit(this, config, dataclasses.replace(train, stop_after_epoch=epoch), run_dir,
                     resume=epoch > 1 or resume, initial_weights=weights)  # fmt: skip
        history = result.history
        save_checkpoint(epoch_file, result.model, feature_spec=dataset.feature_spec, extra={"epoch": epoch})
        epoch_files.append(epoch_file)
        loss = history[-1].get("train_total") if history else None
        print(f"epoch {epoch}: {time.perf_counter() - began:.0f} s, train loss {loss}", flush=True)
    return epoch_files, history


def consider_epochs(candidates: Candidates, epoch_files: list[Path], average: int) -> None:
    """Every epoch, and the weight average of the last 2..`average` epochs ending at each."""
    from carat_model import load_checkpoint

    for epoch, path in enumerate(epoch_files, 1):
        candidates.consider(f"epoch {epoch}", load_checkpoint(path)[0], path)
        for count in range(2, average + 1):
            if epoch >= count:
                chosen = epoch_files[epoch - count : epoch]
                candidates.consider(f"mean of epochs {epoch - count + 1}-{epoch}", average_weights(chosen), chosen)


def ship_face(settings: FaceSettings, candidates: Candidates, feature_spec, history: list[dict], start: float) -> dict:
    """The best candidate at its tuned thresholds, saved as float16 to settings.save with its header; the
    run's record written beside the run."""
    import torch

    from carat_model import save_checkpoint

    best = candidates.best()
    model, info = candidates.load(best["name"])
    print(f"chosen: {best['name']}", flush=True)
    model.set_label_thresholds(best["thresholds"])
    extra = {k: v for k, v in dict(info.extra).items() if k != "epoch"}
    extra.update(
        dataset="FER+ (FER2013 faces, ten votes each) as face-only windows",
        trained_modalities=["visual"],
        chosen=best["name"],
        training_settings={
            "lr": settings.lr,
            "epochs": settings.epochs,
            "stopped_after": settings.stop_after,
            "weight_decay": settings.weight_decay,
            "dropout": settings.dropout,
            "contrastive_weight": settings.contrastive_weight,
            "jitter_sets": 1 + len(settings.jitter_sets),
            "seed": settings.seed,
            "init": str(settings.init or ""),
        },
        thresholds_chosen_for=f"7-class accuracy + {settings.uar_weight:g} x UAR on the FER+ validation faces as still "
        "faces in a live window (neutral when none passes; missed faces wrong)",
        valid_seven_class_accuracy=best["accuracy"],
        valid_seven_class_uar=best["uar"],
        training_seconds=round(time.perf_counter() - start),
    )
    save_checkpoint(
        settings.save, model, feature_spec=feature_spec or info.feature_spec, extra=extra, dtype=torch.float16
    )
    run_dir = settings.run_dir()
    record = {
        "chosen": best, "candidates": candidates.figures, "history": history, "run": str(run_dir),
        "settings": extra["training_settings"], "seconds": round(time.perf_counter() - start),
    }  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_face.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"saved {settings.save}", flush=True)
    return record


def average_weights(paths: list[Path]):
    """The element-wise mean of checkpoints' floating-point weights and buffers (others from the last)."""
    from carat_model import load_checkpoint

    models = [load_checkpoint(path)[0] for path in paths]
    states = [m.state_dict() for m in models]
    average = {}
    for name, value in states[-1].items():
        if value.is_floating_point():
            average[name] = sum(state[name] for state in states) / len(states)
        else:
            average[name] = value
    models[-1].load_state_dict(average)
    return models[-1]
