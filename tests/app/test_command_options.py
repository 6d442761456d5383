"""The commands' options come from the settings dataclasses: every field is an option, with the field's
default, and a field the command line cannot express is refused when the parser is built."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from app.cli import live, replay, train
from app.cli.common import Flag, add_settings_arguments, settings_from_arguments
from app.control import EngineOptions, EngineSettings
from trainer.loop import TrainSettings


def parser_of(command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser


@pytest.mark.parametrize(
    ("command", "settings_class", "required", "skipped"),
    [
        # train: frozen_modalities follows --from; its options are left unset (None) so that a fine-tune's
        # defaults or a fresh run's fill what the user did not give
        (train, TrainSettings, ["--data", "d.pt", "--out", "run"], {"frozen_modalities"}),
        (replay, EngineOptions, ["clip.mp4"], set()),
        (live, EngineSettings, [], {"media", "exact", "extra", "lsl", "calibration"}),  # lsl, calibration: lab options
    ],
)
def test_every_settings_field_is_an_option_with_its_default(command, settings_class, required, skipped):
    args = parser_of(command).parse_args(required)
    for field in dataclasses.fields(settings_class):
        if field.name in skipped or (command is live and field.name == "camera"):  # live: None = find one
            continue
        assert hasattr(args, field.name), f"{settings_class.__name__}.{field.name} is not on the command line"
        expected = None if command is train else getattr(settings_class(), field.name)
        assert getattr(args, field.name) == expected
    if command is train:
        assert settings_from_arguments(settings_class, args, base=settings_class()) == settings_class()
    elif command is not live:
        assert settings_from_arguments(settings_class, args) == settings_class()


def test_the_existing_option_names_still_fill_the_settings():
    args = parser_of(train).parse_args(
        ["--data", "d.pt", "--out", "run", "--clip", "0.5", "--no-amp", "--quiet", "--stop-after", "3",
         "--absent", "audio", "--batch-size", "8", "--empty-match", "1.0"]
    )  # fmt: skip
    settings = settings_from_arguments(TrainSettings, args)
    assert (settings.clip_norm, settings.amp, settings.progress, settings.stop_after_epoch) == (0.5, False, False, 3)
    assert settings.absent_modalities == ("audio",) and settings.batch_size == 8 and settings.empty_match == 1.0
    options = settings_from_arguments(
        EngineOptions,
        parser_of(replay).parse_args(["c.mp4", "--window", "2", "--hop", "0.5", "--video-size", "320", "240"]),
    )
    assert (options.window_s, options.hop_s, options.video_size) == (2.0, 0.5, (320, 240))


def test_a_field_with_no_command_line_form_is_refused_not_forgotten():
    @dataclasses.dataclass
    class Settings:
        rate: float = 1.0
        table: dict = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match="Settings.table"):
        add_settings_arguments(argparse.ArgumentParser(), Settings)
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, Settings, skip=("table",))
    assert settings_from_arguments(Settings, parser.parse_args(["--rate", "2"])) == Settings(rate=2.0)
    with pytest.raises(TypeError, match="no fields"):
        add_settings_arguments(argparse.ArgumentParser(), Settings, {"speed": Flag()}, skip=("table",))
