"""What a user's data holds, checked before training: the streams it has, how many samples each label has
in each split (`sample_warnings`), and whether a checkpoint can read it (`check_readable`, which refuses
data a fine-tune or a comparison cannot use, naming both sides)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from carat_model import MODALITIES, CheckpointInfo

from .feature_data import SPLITS, DatasetError, FeatureDataset, FeatureSplit
from .metrics import MIN_POSITIVES_TO_TUNE, hard_targets

STREAM_NAMES = {"text": "words", "visual": "face", "audio": "voice"}
# A label with fewer training samples than this is learnt poorly: the user is warned, with the count.
MIN_TRAIN_SAMPLES = 20


def stream_names(modalities: Sequence[str]) -> str:
    """Modalities in the user's words: "face, voice"."""
    return ", ".join(STREAM_NAMES[m] for m in modalities) or "none"


def streams_in(split: FeatureSplit) -> tuple[str, ...]:
    """The modalities at least one sample of the split has (a real step in its mask); a MixedSplit's
    (mixing.py) over its sources."""
    parts = getattr(split, "parts", (split,))
    return tuple(m for m in MODALITIES if any(len(part) and part.mask(m).any() for part in parts))


def label_counts(dataset: FeatureDataset) -> dict[str, dict[str, int]]:
    """{label: {split: samples carrying it}} (a soft target counts from half the votes), and "none" for
    samples with no label (neutral)."""
    counts: dict[str, dict[str, int]] = {label: {} for label in (*dataset.labels, "none")}
    for split in SPLITS:
        if split not in dataset.splits:
            continue
        present = hard_targets(dataset.split(split).labels)
        for column, label in enumerate(dataset.labels):
            counts[label][split] = int(present[:, column].sum())
        counts["none"][split] = int((~present.any(axis=1)).sum())
    return counts


def sample_warnings(dataset: FeatureDataset, *, from_checkpoint: bool) -> list[str]:
    """One line per thing about the data's labels that will weaken the model or its report, with counts.
    `from_checkpoint`: a fine-tune, where a label the data lacks keeps what the checkpoint knew of it."""
    counts = label_counts(dataset)
    warnings = []
    missing = [label for label in dataset.labels if not sum(counts[label].values())]
    if missing:
        outcome = (
            "the model keeps what the starting checkpoint learnt of them"
            if from_checkpoint
            else "the model cannot learn them"
        )
        warnings.append(f"no sample of {', '.join(missing)} in the data: {outcome}")
    for label in dataset.labels:
        if label in missing:
            continue
        train, valid, test = (counts[label].get(split, 0) for split in SPLITS)
        short = []
        if train < MIN_TRAIN_SAMPLES:
            short.append(f"fewer than {MIN_TRAIN_SAMPLES} to learn it from")
        if valid < MIN_POSITIVES_TO_TUNE:
            kept = "keeps the starting checkpoint's" if from_checkpoint else "is a guess"
            short.append(f"fewer than {MIN_POSITIVES_TO_TUNE} validation samples to tune its threshold on (it {kept})")
        if "test" in dataset.splits and test == 0:
            short.append("no test sample to score it on")
        if short:
            warnings.append(f"{label}: {train} train / {valid} valid / {test} test samples: {'; '.join(short)}")
    if "test" not in dataset.splits:
        warnings.append(
            "the data has no test split: the report falls back on the validation split, which also chose the "
            "epoch and thresholds (prepare with --test-fraction 0.2 for a fair one)"
        )
    return warnings


def check_readable(dataset: FeatureDataset, info: CheckpointInfo, checkpoint: str) -> None:
    """Refuse data the checkpoint cannot read as its own windows: other labels, alignment, feature sizes,
    features of another extractor version (for the streams the data has), or longer windows. The message
    names what the data holds and what the checkpoint reads."""
    config, data = info.config, dataset.source or dataset.name
    remedy = f"prepare the data again for it (main.py prepare --checkpoint {checkpoint})"
    if tuple(dataset.labels) != tuple(config.labels):
        raise DatasetError(f"{data} has labels {list(dataset.labels)} but {checkpoint} predicts {list(config.labels)}")
    have = dataset.feature_dims()
    for m in MODALITIES:
        if have[m] != config.feature_dim(m):
            raise DatasetError(
                f"{data} has {STREAM_NAMES[m]} ({m}) features of size {have[m]} but {checkpoint} reads "
                f"{config.feature_dim(m)}; use data made with the extractors it was trained with, or train "
                "without --from"
            )
    if dataset.aligned != config.aligned:
        mode = {True: "aligned (one step per word)", False: "unaligned"}
        raise DatasetError(
            f"{data} holds {mode[dataset.aligned]} windows but {checkpoint} reads {mode[config.aligned]} ones; "
            + remedy
        )
    present = streams_in(dataset.split("train"))
    _check_features(dataset, info, checkpoint, present)
    steps = dataset.max_steps()
    if steps["text"] > config.text_max_len:
        raise DatasetError(
            f"{data} has windows of {steps['text']} words but {checkpoint} reads at most {config.text_max_len}; "
            + remedy
        )
    for m in ("visual", "audio"):
        if m not in present:
            continue
        most = getattr(config, f"{m}_max_len")
        if config.aligned and steps[m] > most:
            raise DatasetError(
                f"{data} has windows of {steps[m]} {STREAM_NAMES[m]} steps but {checkpoint} reads at most {most}; "
                + remedy
            )
        if not config.aligned and steps[m] != config.unaligned_steps:
            raise DatasetError(
                f"{data} has windows of {steps[m]} {STREAM_NAMES[m]} rows but {checkpoint} reads "
                f"{config.unaligned_steps} (as live use feeds it); {remedy}"
            )


def _check_features(dataset: FeatureDataset, info: CheckpointInfo, checkpoint: str, streams: tuple[str, ...]) -> None:
    """The data's FeatureSpec against the checkpoint's, for the streams the data has: a stream's feature
    names and version decide (its extractor's wording may change without changing a row)."""
    from feature_extractors.spec import FeatureSpec

    if not info.feature_spec or not dataset.feature_spec:
        return  # made before FeatureSpecs (e.g. the authors' files): the sizes above are all there is
    ours, theirs = FeatureSpec.from_dict(dataset.feature_spec), FeatureSpec.from_dict(info.feature_spec)
    for m in streams:
        data_spec, model_spec = ours.modality(m), theirs.modality(m)
        if (data_spec.feature_names, data_spec.version) != (model_spec.feature_names, model_spec.version):
            raise DatasetError(
                f"{dataset.source or dataset.name} holds {STREAM_NAMES[m]} features as {data_spec.describe()}, but "
                f"{checkpoint} reads {model_spec.describe()}; prepare the data with the extractors the checkpoint "
                "was trained with, or train without --from"
            )


def held_out_split(dataset: FeatureDataset) -> tuple[str, FeatureSplit]:
    """The split a report scores: test, or validation when the data has no test split."""
    name = "test" if "test" in dataset.splits else "valid"
    return name, dataset.split(name)


def labels_with_samples(targets: np.ndarray, labels: Sequence[str]) -> tuple[str, ...]:
    """The labels at least one of these samples carries."""
    present = hard_targets(targets).any(axis=0)
    return tuple(label for label, has in zip(labels, present) if has)
