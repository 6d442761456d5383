"""Names and rates the packages share, each defined once.

`carat_model` and `feature_extractors` may not import each other, so each holds the modality order it
works in (the model's inputs, the extractors' streams); this test is what keeps the two the same. Every
other package imports one of them rather than writing the names again.
"""

from app.events import MODALITY_NAMES as ENGINE_MODALITIES
from carat_model import MODALITIES
from feature_extractors import windows
from feature_extractors.acoustic import SAMPLE_RATE
from feature_extractors.spec import MODALITY_NAMES
from trainer import live_clips, sample_windows
from trainer.official_files import MOSEI_LABELS
from trainer.spoken_media import SAMPLE_RATE as SYNTHETIC_RATE


def test_the_model_and_the_extractors_name_the_modalities_in_one_order():
    assert MODALITY_NAMES == MODALITIES == ("text", "visual", "audio")


def test_the_other_packages_take_the_names_and_rates_from_their_owner():
    from carat_model.config import MOSEI_LABELS as MODEL_LABELS

    assert ENGINE_MODALITIES is MODALITIES
    assert MOSEI_LABELS is MODEL_LABELS
    assert SYNTHETIC_RATE == live_clips.SAMPLE_RATE == SAMPLE_RATE == 16000
    assert live_clips.WINDOW_S == sample_windows.STILL_FACE_SECONDS == windows.LIVE_WINDOW_S
