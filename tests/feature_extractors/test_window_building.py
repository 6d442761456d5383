"""One CARAT input window from timestamped rows: aligned averaging, padding, masks, missing streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from feature_extractors.spec import default_feature_spec
from feature_extractors.windows import TimedRows, build_window


def rows(spans, values) -> TimedRows:
    return TimedRows(np.array(spans, np.float64), np.array(values, np.float32))


WORDS = rows([(1.0, 1.4), (1.5, 2.0)], [[10.0, 11.0], [20.0, 21.0]])
# Video frames every 0.2 s from 0.8 s, value = frame number; audio frames every 0.25 s, value = 100 + k.
VISUAL = rows([(0.8 + 0.2 * k, 1.0 + 0.2 * k) for k in range(8)], [[k, -k] for k in range(8)])
AUDIO = rows([(0.75 + 0.25 * k, 1.0 + 0.25 * k) for k in range(6)], [[100.0 + k] for k in range(6)])


def test_aligned_window_averages_the_rows_overlapping_each_word():
    window = build_window(WORDS, VISUAL, AUDIO, 0.0, 3.0, aligned=True, lengths=(4, 99, 99))
    # Word 1 [1.0, 1.4): frames [1.0,1.2) and [1.2,1.4) are k=1, 2 (frame 0 ends at 1.0: no overlap).
    # Word 2 [1.5, 2.0): frames k=3 [1.4,1.6), 4 [1.6,1.8), 5 [1.8,2.0).
    np.testing.assert_allclose(window["visual"][:2], [[1.5, -1.5], [4.0, -4.0]])
    # Audio: word 1 overlaps k=1 [1.0,1.25), 2 [1.25,1.5); word 2 overlaps k=3 [1.5,1.75), 4 [1.75,2.0).
    np.testing.assert_allclose(window["audio"][:2], [[101.5], [103.5]])
    np.testing.assert_allclose(window["text"][:2], WORDS.values)
    for name in ("text", "visual", "audio"):
        assert window[name].shape[0] == 4
        np.testing.assert_array_equal(window[f"{name}_mask"], [1, 1, 0, 0])
        assert not window[name][2:].any()


def test_aligned_word_without_video_rows_gets_a_zero_masked_step():
    late_video = rows([(1.6, 1.8)], [[7.0, 7.0]])
    window = build_window(WORDS, late_video, AUDIO, 0.0, 3.0, aligned=True, lengths=(2, 2, 2))
    np.testing.assert_array_equal(window["visual_mask"], [0, 1])
    np.testing.assert_allclose(window["visual"], [[0, 0], [7, 7]])


def test_aligned_window_keeps_the_most_recent_words_when_there_are_too_many():
    window = build_window(WORDS, VISUAL, AUDIO, 0.0, 3.0, aligned=True, lengths=(1, 1, 1))
    np.testing.assert_allclose(window["text"], [[20.0, 21.0]])
    np.testing.assert_allclose(window["visual"], [[4.0, -4.0]])


def test_unaligned_window_pads_after_the_real_rows_and_masks_the_padding():
    window = build_window(WORDS, VISUAL, AUDIO, 1.1, 1.45, aligned=False, lengths=(3, 5, 4))
    # Rows overlapping [1.1, 1.45): word 1 (its span reaches into the window); frames k=1..3; audio k=1, 2.
    np.testing.assert_allclose(window["text"], [[10, 11], [0, 0], [0, 0]])
    np.testing.assert_array_equal(window["text_mask"], [1, 0, 0])
    np.testing.assert_allclose(window["visual"][:, 0], [1, 2, 3, 0, 0])
    np.testing.assert_array_equal(window["visual_mask"], [1, 1, 1, 0, 0])
    np.testing.assert_allclose(window["audio"][:, 0], [101, 102, 0, 0])
    np.testing.assert_array_equal(window["audio_mask"], [1, 1, 0, 0])


def test_unaligned_window_cuts_to_the_most_recent_rows():
    window = build_window(WORDS, VISUAL, AUDIO, 0.0, 10.0, aligned=False, lengths=(2, 3, 2))
    np.testing.assert_allclose(window["visual"][:, 0], [5, 6, 7])
    np.testing.assert_allclose(window["audio"][:, 0], [104, 105])
    assert window["visual_mask"].all() and window["audio_mask"].all()


def test_window_edges_exclude_rows_that_only_touch_them():
    window = build_window(WORDS, VISUAL, AUDIO, 1.0, 1.2, aligned=False, lengths=(2, 3, 2))
    np.testing.assert_allclose(
        window["visual"][:, 0], [1, 0, 0]
    )  # frame 0 ends at 1.0, frame 2 starts at 1.2


@pytest.mark.parametrize("aligned", [True, False])
def test_an_empty_stream_gives_zero_features_and_a_zero_mask(aligned):
    window = build_window(WORDS, TimedRows.empty(2), AUDIO, 0.0, 3.0, aligned=aligned, lengths=(3, 3, 3))
    assert window["visual"].shape == (3, 2) and not window["visual"].any()
    assert not window["visual_mask"].any()
    assert window["text_mask"].any() and window["audio_mask"].any()
    assert all(np.isfinite(array).all() and array.dtype == np.float32 for array in window.values())


def test_aligned_window_without_words_has_no_step_at_all():
    window = build_window(TimedRows.empty(2), VISUAL, AUDIO, 0.0, 3.0, aligned=True, lengths=(3, 3, 3))
    assert not any(window[f"{name}_mask"].any() for name in ("text", "visual", "audio"))


def test_rows_holding_nan_are_refused():
    broken = rows([(1.0, 1.2)], [[np.nan, 0.0]])
    with pytest.raises(ValueError, match="visual rows hold NaN"):
        build_window(WORDS, broken, AUDIO, 0.0, 3.0, aligned=False, lengths=(2, 2, 2))


def test_bad_window_arguments_are_refused():
    with pytest.raises(ValueError, match="end"):
        build_window(WORDS, VISUAL, AUDIO, 2.0, 2.0, aligned=False, lengths=(2, 2, 2))
    with pytest.raises(ValueError, match="lengths"):
        build_window(WORDS, VISUAL, AUDIO, 0.0, 2.0, aligned=False, lengths=(2, 0, 2))


def test_timed_rows_check_their_shapes():
    with pytest.raises(ValueError, match="2 time spans but 1 rows"):
        TimedRows(np.zeros((2, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="cannot join"):
        TimedRows.empty(2).concat(TimedRows.empty(3))
    joined = WORDS.concat(rows([(3.0, 3.5)], [[1.0, 2.0]]))
    assert len(joined) == 3 and len(joined.between(2.9, 4.0)) == 1


@pytest.mark.parametrize("aligned", [True, False])
def test_a_window_with_a_missing_modality_runs_through_carat_without_nan(aligned):
    from carat_model.config import CaratConfig, feature_dim_fields
    from carat_model.model import Carat, CaratInputs

    dims = default_feature_spec().dims
    config = CaratConfig(
        **feature_dim_fields(dims),
        aligned=aligned,
        text_max_len=8,
        visual_max_len=16,
        audio_max_len=16,
        unaligned_steps=8,
        queue_size=16,
    )
    generator = np.random.default_rng(0)
    words = TimedRows(np.array([(0.1, 0.4), (0.5, 0.9)]), generator.normal(size=(2, dims["text"])))
    audio_times = np.stack([np.arange(0, 1, 0.1), np.arange(0, 1, 0.1) + 0.1], axis=1)
    audio = TimedRows(audio_times, generator.normal(size=(10, dims["audio"])))
    # Unaligned checkpoints take visual and audio sequences of config.unaligned_steps steps.
    window = build_window(
        words, TimedRows.empty(dims["visual"]), audio, 0.0, 1.0, aligned=aligned, lengths=(8, 8, 8)
    )
    inputs = CaratInputs(**{key: torch.from_numpy(value)[None] for key, value in window.items()})
    model = Carat(config).eval()
    with torch.no_grad():
        output = model(inputs)
    assert torch.isfinite(output.scores).all()
    assert output.present[0].tolist() == [True, False, True]
