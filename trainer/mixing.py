"""One CARAT trained on several single-stream sources at once (faces, voices, sentences).

No labelled data holds face, voice and words together, so the default model learns from sources that
each carry one stream: a face-only FER+ window, a voice-only EmoDB window, a words-only sentence.
CARAT's missing-modality rule lets such windows train one model: each sample's absent streams are
rebuilt from prototypes and never vote.

`MixedSplit` keeps each source's samples apart in memory, so a source stores only its own stream (a
words source's absent face is one step, not 64 rows of zeros, see `compact_absent_modalities`), and
builds a batch by padding each modality to the longest among the batch's sources.

Sampling (`SourceShareSampler`): every training batch takes a fixed share of its samples from each
source, drawn without replacement within the source and reshuffled when that source runs out (a small
source cycles more often). Why not one shuffled pool: in a pool, a few hundred voice clips beside
60,000 sentences would put a voice sample in one batch out of three; the voice encoder and classifier
would get a gradient rarely while the shared parts (aggregator, reconstructions, prototypes) keep moving
with the words, and the voice stream would drift away from what it learnt. With fixed shares every
stream's encoder gets a gradient at every step. An epoch is a fixed number of steps; the order is a
function of (seed, epoch), so a resumed run draws the same batches.

Co-present windows (`SourceSampling.pairs`): single-stream sources alone never show the model two streams
at once, and then a second stream is out of what it learnt: a neutral face beside an angry voice kept
angry at 0.02. A pair "voice+face" puts a voice sample beside a face sample that carries no
emotion (all labels 0) in one window, with the voice's labels: a stream that carries nothing must not veto
one that does. The pair is built from the two sources' stored samples, so it costs no memory.
A joint window "words&face" puts a sentence beside any face, emotional or not, with the labels of both
(each emotion at the higher of its two targets): emotions are independent labels, so a stream that shows
one raises it whatever the other shows (a smiling face with sad words is happy and sad), where pairs alone
would let the model learn that a second stream may only ever agree or say nothing.
Live, most windows hold all three streams (words always come with a voice, and a face is on screen), so
a window may chain more partners, one stream each: "words+face+calm_voice" is a sentence beside a neutral
face and a calm voice, with the sentence's labels (two-stream pairs alone never show the model the
three-stream windows the live path gives it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from carat_model import MODALITIES, CaratInputs
from carat_model.model import SoftAlignment

from .batching import Batch, make_batch
from .datasets import DatasetError, FeatureDataset, FeatureSplit


@dataclass
class SourceSampling:
    """How training batches mix the sources: each source's share of a batch, and steps per epoch."""

    shares: dict[str, float]
    steps_per_epoch: int
    # "primary+partner" -> share: a primary sample with a neutral partner sample, the primary's labels;
    # "primary&partner" -> share: a primary sample with any partner sample, the labels of both;
    # chained for more streams: "words+face+calm_voice" (pair_sources)
    pairs: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}")
        if not self.shares or any(share <= 0 for share in self.shares.values()):
            raise ValueError(f"every source needs a share > 0, got {self.shares}")
        if any(share <= 0 for share in self.pairs.values()):
            raise ValueError(f"every pair needs a share > 0, got {self.pairs}")
        for pair in self.pairs:
            pair_sources(pair)

    @property
    def all_shares(self) -> dict[str, float]:
        return {**self.shares, **self.pairs}


def pair_sources(pair: str) -> tuple[str, tuple[tuple[str, bool], ...]]:
    """(primary, ((partner, joint), ...)) of a co-present window's name: "primary+partner" (a neutral
    partner, the primary's labels) or "primary&partner" (any partner, the labels of both), chained for a
    window of three streams ("words+face+calm_voice")."""
    parts = re.split(r"([+&])", pair)
    names, joins = parts[0::2], parts[1::2]
    if len(names) < 2 or not all(names) or len(set(names)) != len(names):
        raise ValueError(
            "a co-present window is named 'primary+partner' or 'primary&partner' of distinct sources (chained "
            f"for more streams: 'words+face+calm_voice'), got {pair!r}"
        )
    return names[0], tuple((name, join == "&") for name, join in zip(names[1:], joins))


@dataclass
class MixedSplit:
    """One split of several sources, each a FeatureSplit of its own (same labels and feature sizes)."""

    names: tuple[str, ...]
    parts: tuple[FeatureSplit, ...]
    sampling: SourceSampling | None = None  # training splits only
    offsets: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)
    carried: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = np.cumsum([0] + [len(part) for part in self.parts])
        self.labels = np.concatenate([part.labels for part in self.parts])
        # once here, not per pair batch: each source's streams (a scan of all its masks)
        self.carried = {n: [m for m in MODALITIES if p.mask(m).any()] for n, p in zip(self.names, self.parts)}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def part(self, name: str) -> FeatureSplit:
        return self.parts[self.names.index(name)]

    def source_indices(self, name: str) -> np.ndarray:
        number = self.names.index(name)
        return np.arange(self.offsets[number], self.offsets[number + 1])

    def stream(self, name: str) -> str:
        """The one stream that source `name` carries."""
        carried = self.carried[name]
        if len(carried) != 1:
            raise DatasetError(f"source {name} carries {carried}; a pair needs sources of one stream each")
        return carried[0]

    def neutral_indices(self, name: str) -> np.ndarray:
        """Source `name`'s samples that carry no emotion (every label 0): the partners of a pair."""
        indices = self.source_indices(name)
        return indices[~self.labels[indices].any(axis=1)]

    def pieces(self, indices: list, alignment: SoftAlignment | None = None) -> list[Batch]:
        """The samples at `indices` as one batch per source (in source order), each only as long as its
        own streams: a training step runs them one after the other and adds their gradients (`train_step`),
        which costs what the sources cost alone, where one padded batch costs every stream for every sample.
        A tuple (name, primary, partner, ...) is a co-present window of `SourceSampling.pairs`' kind `name`;
        each kind is one more batch, in the order of its sources."""
        singles = np.asarray([i for i in indices if not isinstance(i, tuple)], np.int64)
        source = np.searchsorted(self.offsets, singles, side="right") - 1
        batches = [
            make_batch(self.parts[number], singles[source == number] - self.offsets[number], alignment)
            for number in np.unique(source)
        ]
        windows: dict[str, list[tuple[int, ...]]] = {}
        for index in indices:
            if isinstance(index, tuple):
                windows.setdefault(index[0], []).append(index[1:])
        for name in sorted(windows, key=self._kind_order):
            batches.append(self._co_present_batch(name, np.asarray(windows[name], np.int64), alignment))
        return batches

    def _kind_order(self, name: str) -> tuple[int, ...]:
        """Co-present kinds ordered by their primary's source, then each partner's and whether it is joint."""
        primary, partners = pair_sources(name)
        return (self.names.index(primary),) + sum(((self.names.index(p), int(j)) for p, j in partners), ())

    def _co_present_batch(self, name: str, windows: np.ndarray, alignment: SoftAlignment | None) -> Batch:
        """Rows of (primary, partner, ...) sample indices -> one batch: the primary's sample with each
        partner's stream in place, the primary's labels raised by each joint partner's."""
        primary, partners = pair_sources(name)
        number = self.names.index(primary)
        own = make_batch(self.parts[number], windows[:, 0] - self.offsets[number], alignment)
        tensors = {key: getattr(own.inputs, key) for key in list(MODALITIES) + [f"{m}_mask" for m in MODALITIES]}
        labels = own.labels
        for column, (partner, joint) in enumerate(partners, 1):
            number = self.names.index(partner)
            beside = make_batch(self.parts[number], windows[:, column] - self.offsets[number], alignment)
            stream = self.stream(partner)
            tensors[stream], tensors[f"{stream}_mask"] = beside.inputs.features(stream), beside.inputs.mask(stream)
            labels = torch.maximum(labels, beside.labels) if joint else labels
        return Batch(CaratInputs(**tensors), labels)

    def batch(self, indices: list[int] | np.ndarray, alignment: SoftAlignment | None = None) -> Batch:
        """The samples at `indices` (in that order) as one batch, padded to the longest source."""
        indices = np.asarray(indices)
        source = np.searchsorted(self.offsets, indices, side="right") - 1
        order = np.argsort(source, kind="stable")
        pieces = self.pieces(indices[order], alignment)
        restore = torch.from_numpy(np.argsort(order, kind="stable"))
        tensors = {}
        for key in list(MODALITIES) + [f"{m}_mask" for m in MODALITIES]:
            values = [getattr(piece.inputs, key) for piece in pieces]
            steps = max(v.shape[1] for v in values)
            padded = [torch.nn.functional.pad(v, _pad_steps(v, steps)) for v in values]
            tensors[key] = torch.cat(padded)[restore]
        labels = torch.cat([piece.labels for piece in pieces])[restore]
        return Batch(CaratInputs(**tensors), labels)


def _pad_steps(values: torch.Tensor, steps: int) -> tuple[int, ...]:
    # F.pad counts from the last dimension: features [B, L, D] pad L (the middle), masks [B, L] pad L.
    missing = steps - values.shape[1]
    return (0, 0, 0, missing) if values.ndim == 3 else (0, missing)


class SourceShareSampler:
    """Batches of indices into a MixedSplit with each source's fixed share (see the module docstring)."""

    def __init__(self, split: MixedSplit, batch_size: int, seed: int) -> None:
        if split.sampling is None:
            raise ValueError("this split has no SourceSampling; only a mixed training split can be sampled")
        unknown = sorted(set(split.sampling.shares) - set(split.names))
        if unknown:
            raise ValueError(f"shares name unknown sources {unknown}; the sources are {list(split.names)}")
        self.split, self.seed, self.epoch = split, seed, 0
        pairs = tuple(split.sampling.pairs)
        self.pair_sources = {pair: pair_sources(pair) for pair in pairs}
        named = {n for primary, partners in self.pair_sources.values() for n in [primary, *(p for p, _ in partners)]}
        unknown = sorted(named - set(split.names))
        if unknown:
            raise ValueError(f"pairs name unknown sources {unknown}; the sources are {list(split.names)}")
        self.counts = share_counts(split.sampling.all_shares, split.names + pairs, batch_size)
        self.pools = {name: split.source_indices(name) for name in split.names}
        for pair, (primary, partners) in self.pair_sources.items():
            streams = [split.stream(name) for name in [primary, *(p for p, _ in partners)]]  # one stream each
            if len(set(streams)) != len(streams):
                raise ValueError(f"{pair} puts two samples of one stream in a window ({streams})")
            for column, (partner, joint) in enumerate(partners):
                pool = split.source_indices(partner) if joint else split.neutral_indices(partner)
                self.pools[_partner_queue(pair, column)] = pool
        empty = [name for name in split.names if self.counts[name] and not len(self.pools[name])]
        for pair, (primary, partners) in self.pair_sources.items():
            queues = [primary] + [_partner_queue(pair, column) for column in range(len(partners))]
            if self.counts[pair] and not all(len(self.pools[queue]) for queue in queues):
                empty.append(pair)
        if empty:
            raise DatasetError(
                f"{empty} have a share of each batch but no training samples (a pair's partner needs samples "
                "with every label 0)"
            )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.split.sampling.steps_per_epoch

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        queues: dict[str, np.ndarray] = {}

        def take(queue: str, pool: np.ndarray, count: int) -> list[int]:
            drawn = queues.get(queue, np.zeros(0, np.int64))
            while len(drawn) < count:  # refill with a fresh shuffle of the whole pool
                drawn = np.concatenate([drawn, rng.permutation(pool)])
            queues[queue] = drawn[count:]
            return drawn[:count].tolist()

        for _ in range(len(self)):
            batch: list = []
            for name, count in self.counts.items():
                if name in self.pair_sources:  # the primary's own queue, then each partner's pool
                    primary, partners = self.pair_sources[name]
                    columns = [take(f"{name}:own", self.pools[primary], count)]
                    for column in range(len(partners)):
                        queue = _partner_queue(name, column)
                        columns.append(take(queue, self.pools[queue], count))
                    batch.extend((name, *window) for window in zip(*columns))
                else:
                    batch.extend(take(name, self.pools[name], count))
            yield batch


def _partner_queue(pair: str, column: int) -> str:
    """The sampler's queue of a co-present window's partner (the first keeps the pair's own name, so a
    two-stream pair draws what it drew before chains existed)."""
    return pair if column == 0 else f"{pair}:{column}"


def share_counts(shares: dict[str, float], names: tuple[str, ...], batch_size: int) -> dict[str, int]:
    """Samples per batch for each source: shares scaled to the batch (largest remainders round up), at
    least one for every source with a share, taken from the largest when the minimum overfills."""
    wanted = [name for name in names if shares.get(name, 0.0) > 0]
    if len(wanted) > batch_size:
        raise ValueError(f"a batch of {batch_size} cannot hold one sample of each of {len(wanted)} sources")
    total = sum(shares[name] for name in wanted)
    exact = {name: batch_size * shares[name] / total for name in wanted}
    counts = {name: max(int(value), 1) for name, value in exact.items()}
    for name in sorted(wanted, key=lambda n: exact[n] - int(exact[n]), reverse=True):
        if sum(counts.values()) >= batch_size:
            break
        counts[name] += 1
    while sum(counts.values()) > batch_size:
        counts[max(counts, key=counts.get)] -= 1
    return {name: counts.get(name, 0) for name in names}


def mix_datasets(sources: dict[str, FeatureDataset], sampling: SourceSampling) -> FeatureDataset:
    """One dataset whose splits are MixedSplits of `sources` (name -> prepared dataset). The sources
    must share labels and alignment, and the feature size of every stream that any of them carries; a
    stream a source never has is rebuilt at the common size (it is all padding anyway)."""
    first = next(iter(sources.values()))
    for name, dataset in sources.items():
        if dataset.labels != first.labels or dataset.aligned != first.aligned:
            raise DatasetError(
                f"source {name} has labels {dataset.labels} (aligned {dataset.aligned}), but "
                f"{next(iter(sources))} has {first.labels} (aligned {first.aligned}); prepare them alike"
            )
    dims = _common_dims(sources)
    splits = {}
    for split_name in ("train", "valid", "test"):
        names = tuple(name for name, dataset in sources.items() if split_name in dataset.splits)
        if not names:
            continue
        parts = tuple(_with_dims(sources[name].split(split_name), dims) for name in names)
        splits[split_name] = MixedSplit(names, parts, sampling if split_name == "train" else None)
    return FeatureDataset(
        name="+".join(sources),
        labels=first.labels,
        aligned=first.aligned,
        splits=splits,
        feature_spec=_carried_spec(sources),
        source=", ".join(dataset.source or name for name, dataset in sources.items()),
    )


def carried_modalities(dataset: FeatureDataset) -> set[str]:
    """The streams some training sample of the dataset has."""
    train = dataset.split("train")
    return {m for m in MODALITIES if train.mask(m).any()}


def _common_dims(sources: dict[str, FeatureDataset]) -> dict[str, int]:
    dims: dict[str, tuple[int, str]] = {}
    for name, dataset in sources.items():
        for m in carried_modalities(dataset):
            size = dataset.feature_dims()[m]
            if m in dims and dims[m][0] != size:
                raise DatasetError(
                    f"{m} features are {size} wide in source {name} but {dims[m][0]} in {dims[m][1]}; "
                    "prepare both with the same extractors"
                )
            dims[m] = (size, name)
    fallback = next(iter(sources.values())).feature_dims()  # for a stream no source carries
    return {m: dims[m][0] if m in dims else fallback[m] for m in MODALITIES}


def _with_dims(split: FeatureSplit, dims: dict[str, int]) -> FeatureSplit:
    arrays = dict(vars(split))
    for m in MODALITIES:
        if arrays[m].shape[2] != dims[m]:  # only possible for a stream this source never has
            arrays[m] = np.zeros((len(split), 1, dims[m]), np.float32)
            arrays[f"{m}_mask"] = np.zeros((len(split), 1), np.float32)
    return FeatureSplit(**arrays)


def _carried_spec(sources: dict[str, FeatureDataset]) -> dict | None:
    """The FeatureSpec of the mix: each stream's entry from a source that carries it."""
    spec = None
    for dataset in sources.values():
        if dataset.feature_spec is None:
            continue
        spec = dict(spec or dataset.feature_spec)
        for m in carried_modalities(dataset):
            spec[m] = dataset.feature_spec[m]
    return spec
