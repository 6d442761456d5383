"""Command-line pieces shared by train and evaluate: reading a dataset from arguments."""

from __future__ import annotations

import argparse

from trainer.datasets import DATASET_KINDS, FeatureDataset, load_dataset


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="feature file (.pt/.pkl) or prepared dataset folder")
    parser.add_argument(
        "--dataset",
        choices=DATASET_KINDS,
        default="auto",
        help="kind of data: auto (folder = prepared, .pkl = unaligned, else aligned), aligned/unaligned (the official "
        "layouts, any feature sizes), mosei-aligned/mosei-unaligned (also check MOSEI's sizes), m3ed, prepared",
    )
    parser.add_argument(
        "--labels-from", help="mosei-unaligned: the aligned file (train_valid_test.pt) holding the labels"
    )
    parser.add_argument(
        "--authors-masks",
        action="store_true",
        help="official files: mark zero padding as real steps, as the authors' loader does (to reproduce their numbers)",
    )


def read_dataset(args: argparse.Namespace) -> FeatureDataset:
    return load_dataset(
        args.data, args.dataset, labels_from=args.labels_from, authors_masks=args.authors_masks
    )


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
