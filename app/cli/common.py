"""Command-line pieces several commands share: reading a dataset from arguments, printing a table,
and options generated from a settings dataclass (`add_settings_arguments`)."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass

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
    return load_dataset(args.data, args.dataset, labels_from=args.labels_from, authors_masks=args.authors_masks)


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


# -- options generated from a settings dataclass ------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """How one field of a settings dataclass appears on the command line, where the field alone does not
    say: its option name, help, choices, or (a bool True by default) the flag that turns it off."""

    name: str | None = None  # default: --field-name, a trailing _s (seconds) dropped
    help: str | None = None
    choices: Sequence[object] | None = None
    negate: str | None = None  # for a bool field True by default: this store_false option ("--no-amp")
    default: object = None  # with has_default: this instead of the dataclass's own
    has_default: bool = False
    metavar: str | tuple[str, ...] | None = None


def option_name(field_name: str) -> str:
    return "--" + field_name.removesuffix("_s").replace("_", "-")


def add_settings_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    settings_class: type,
    flags: dict[str, Flag] | None = None,
    *,
    skip: Sequence[str] = (),
    unset: bool = False,
) -> None:
    """One option per field of `settings_class` (its dest is the field's name; its type and default come
    from the field), so that a field added to the settings is on the command line too. A field whose
    type has no obvious option (a dict, a nested class) must be given in `flags` or named in `skip`.
    `unset`: every option defaults to None (not given), for settings whose base is chosen at run time
    (`settings_from_arguments(..., base=...)`); the help still names the field's own default."""
    flags = flags or {}
    unknown = set(flags) | set(skip)
    unknown -= {f.name for f in dataclasses.fields(settings_class)}
    if unknown:
        raise TypeError(f"{settings_class.__name__} has no fields {sorted(unknown)}")
    hints = typing.get_type_hints(settings_class)
    for field in dataclasses.fields(settings_class):
        if field.name in skip:
            continue
        flag = flags.get(field.name, Flag())
        default = flag.default if flag.has_default else _field_default(field)
        kind, count = _option_type(settings_class, field.name, hints[field.name])
        seconds = field.name.endswith("_s") and kind is float
        help_text = flag.help or field.name.replace("_", " ") + (" (seconds)" if seconds else "")
        options: dict[str, object] = {"dest": field.name, "help": help_text, "default": None if unset else default}
        if flag.metavar is not None:
            options["metavar"] = flag.metavar
        if kind is bool:
            if default and not flag.negate:
                raise TypeError(f"{settings_class.__name__}.{field.name} is True by default: give Flag(negate=...)")
            name = flag.negate if default else flag.name or option_name(field.name)
            parser.add_argument(name, action="store_false" if default else "store_true", **options)
            continue
        options["type"] = kind
        name = flag.name or option_name(field.name)
        if flag.choices is not None:
            options["choices"] = flag.choices
        elif flag.metavar is None:
            options["metavar"] = name.removeprefix("--").replace("-", "_").upper()
        if count is not None:
            options["nargs"] = count
        if seconds or default not in (None, (), ""):
            shown = default if unset else "%(default)s"
            options["help"] = f"{help_text} (default: {shown})" if "default" not in help_text else help_text
        parser.add_argument(name, **options)


def settings_from_arguments(
    settings_class: type, args: argparse.Namespace, *, base: object = None, **overrides: object
):
    """The settings the options of `add_settings_arguments` gave (fields not on the command line keep
    their defaults; `overrides` win). With `base` (an instance), options left unset (None) keep its
    values."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(settings_class) if hasattr(args, f.name)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    if base is not None:
        values = {name: value for name, value in values.items() if value is not None}
        return dataclasses.replace(base, **{**values, **overrides})
    return settings_class(**{**values, **overrides})


def _field_default(field: dataclasses.Field) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"{field.name} has no default: give Flag(default=..., has_default=True)")


def _option_type(settings_class: type, name: str, hint: object) -> tuple[type, int | str | None]:
    """(the type one value is read as, nargs or None) for a field's type hint."""
    arguments = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(arguments) == 1:
        hint, arguments = arguments[0], list(typing.get_args(arguments[0]))
    if typing.get_origin(hint) is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return arguments[0], "+"
        if arguments and all(a is arguments[0] for a in arguments):
            return arguments[0], len(arguments)
    if hint in (bool, int, float, str):
        return hint, None
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and str in arguments:
        return str, None  # a device: an index or a name, read as text and parsed by the command
    raise TypeError(f"{settings_class.__name__}.{name} ({hint}) has no command-line form: add a Flag or skip it")


# -- lab options: LSL outlets and per-person calibration (live and replay) -----------------------------------


def add_lab_arguments(parser: argparse.ArgumentParser, *, replay: bool) -> None:
    from app.control import LslSettings

    lab = parser.add_argument_group("lab")
    lab.add_argument(
        "--lsl",
        action="store_true",
        help="publish events as Lab Streaming Layer streams (scores, and markers; see README 'Lab integration')",
    )
    lab.add_argument(
        "--lsl-name",
        metavar="NAME",
        help=f"name of the LSL event stream (implies --lsl; default: {LslSettings.name!r}, "
        "its markers stream: NAME Markers)",
    )
    if replay:
        lab.add_argument(
            "--lsl-wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="wait up to this long for a consumer (e.g. LabRecorder) of both streams before the replay "
            "starts, so that it receives the first event too (default: 0)",
        )
    lab.add_argument(
        "--calibrate",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first record the person at rest for this long (a relaxed face towards the camera, a neutral "
        "sentence), then report scores relative to that rest (README 'Calibration')",
    )
    lab.add_argument(
        "--profile",
        metavar="NAME",
        help="calibration profile kept in your data folder: with --calibrate, the new baseline is saved under "
        "NAME; without, NAME's baseline is used from the start (a path to a calibration.json works too)",
    )


def lab_settings(args: argparse.Namespace):
    """(LslSettings or None, CalibrationSettings or None) from `add_lab_arguments`' options; ValueError
    for a value that means nothing."""
    from app.calibration import load, profile_path
    from app.control import CalibrationSettings, LslSettings

    lsl = None
    if args.lsl or args.lsl_name:
        wait = getattr(args, "lsl_wait", 0.0)
        if not 0 <= wait <= 3600:
            raise ValueError(f"--lsl-wait takes from 0 to 3600 seconds, got {wait:g}")
        lsl = LslSettings(name=args.lsl_name or LslSettings.name, wait_s=wait)
    if not 0 <= args.calibrate <= 600:
        raise ValueError(f"--calibrate takes from 0 to 600 seconds (e.g. 10), got {args.calibrate:g}")
    calibration = None
    if args.calibrate or args.profile:
        if args.profile and not args.calibrate:
            load(profile_path(args.profile))  # a missing or damaged profile is refused before any model loads
        elif args.profile:
            profile_path(args.profile)  # so is a name that is no name
        calibration = CalibrationSettings(seconds=args.calibrate, profile=args.profile)
    return lsl, calibration
