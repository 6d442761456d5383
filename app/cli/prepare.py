"""Prepare labelled media or text into a training set, with the same extractors as the live app.

Examples:
    main.py prepare clips.csv --out data/mine          (CSV columns: path,start,end,labels)
    main.py prepare sentences.tsv --out data/text      (one sample a line: sentence<TAB>happy,sad)
    main.py prepare labelled_folders/ --out data/dirs  (sub-folders named happy/, sad/, ..., neutral/)
    main.py prepare clips.csv --out data/mine --shard 0/4   (one machine's share; rerun to resume)

Windows take the shape of the checkpoint the data will train from or be scored by (--checkpoint; the
shipped default unless named), read from its config, so `main.py train --from` and `main.py evaluate` take
the data as it is; --aligned/--unaligned, --text-steps and --media-steps override it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from carat_model import CheckpointError, read_checkpoint_info
from trainer.datasets import DatasetError
from trainer.prepare import PrepareError, WindowShape, prepare_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", type=Path, help="a .csv (path,start,end,labels), a text corpus, or a folder of label folders"
    )
    parser.add_argument("--out", type=Path, required=True, help="the prepared dataset folder (resumed if it exists)")
    parser.add_argument("--shard", default="0/1", help="i/n: prepare only chunks i, i+n, ... (default 0/1: all)")
    parser.add_argument("--workers", type=int, default=1, help="processes working in parallel (default 1)")
    parser.add_argument("--chunk-size", type=int, default=256, help="samples per resumable chunk")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/valid/test assignment")
    parser.add_argument("--valid-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--split", choices=("train", "valid", "test"), help="put every sample in this split")
    window = parser.add_argument_group(
        "window shape (must match the model that will use the data; default: --checkpoint's)"
    )
    window.add_argument(
        "--checkpoint",
        type=Path,
        help="the checkpoint the data will train from (main.py train --from) or be scored by: its window shape "
        "is used (default: the shipped default, models/carat_default.safetensors)",
    )
    alignment = window.add_mutually_exclusive_group()
    alignment.add_argument(
        "--aligned", action="store_true", help="aligned windows: one step per word, face and voice averaged over it"
    )
    alignment.add_argument("--unaligned", action="store_true", help="unaligned windows: each stream its own rows")
    window.add_argument("--text-steps", type=int, help="words per window")
    window.add_argument("--media-steps", type=int, help="unaligned: face/voice rows per window")
    parser.add_argument("--whisper-model", default=None, help="Whisper folder (default: bundled tiny.en)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise PrepareError(f"--shard takes i/n, e.g. 0/4, got '{text}'") from None
    return index, count


def window_shape(args: argparse.Namespace) -> tuple[WindowShape, str]:
    """The windows to prepare, and where their shape comes from: the checkpoint's (the shipped default's
    unless --checkpoint names one), with --aligned/--unaligned and the step counts given overriding it."""
    from app.defaults import default_checkpoint

    checkpoint = args.checkpoint or default_checkpoint()
    shape = WindowShape.for_model(read_checkpoint_info(checkpoint).config)
    given = {"text_steps": args.text_steps, "media_steps": args.media_steps}
    if args.aligned or args.unaligned:
        given["aligned"] = args.aligned
    given = {name: value for name, value in given.items() if value is not None}
    source = f"the shape of {checkpoint}" + (", changed by the options given" if given else "")
    return dataclasses.replace(shape, **given), source


def run(args: argparse.Namespace) -> int:
    try:
        shape, source = window_shape(args)
        lengths = "one step per word" if shape.aligned else f"{shape.media_steps} face/voice rows"
        print(
            f"prepare: {'aligned' if shape.aligned else 'unaligned'} windows of {shape.text_steps} words, "
            f"{lengths} ({source})"
        )
        summary = prepare_dataset(
            args.input,
            args.out,
            shape=shape,
            seed=args.seed,
            valid_fraction=args.valid_fraction,
            test_fraction=args.test_fraction,
            only_split=args.split,
            chunk_size=args.chunk_size,
            shard=parse_shard(args.shard),
            workers=args.workers,
            whisper_model=args.whisper_model,
            progress=not args.quiet,
        )
    except (PrepareError, DatasetError, CheckpointError, OSError) as error:
        print(f"prepare: {error}", file=sys.stderr)
        return 2
    print(
        f"prepare: {summary.chunks_done_now} chunks done now, {summary.chunks_skipped} were done before, "
        f"of {summary.chunks_total}; {len(summary.failures)} samples skipped"
    )
    for failure in summary.failures:
        print(f"  skipped {failure['key']}: {failure['error']}")
    if summary.merged:
        print(f"prepare: dataset written to {summary.out} ({summary.samples})")
    else:
        print(f"prepare: not every chunk is done yet; run the other shards into {summary.out}, then any shard again")
    return 0
