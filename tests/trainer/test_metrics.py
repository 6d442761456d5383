"""The paper's metrics against examples worked by hand."""

import numpy as np
import pytest

from trainer.metrics import compute_metrics, tune_thresholds

# 4 samples, 3 labels.
TARGETS = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
PREDICTED = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]])


def test_example_based_accuracy_counts_empty_samples_as_zero_by_default():
    # |y∩ŷ|/|y∪ŷ| per sample: 1/3, 1/1, empty (0 as the authors), 1/2
    metrics = compute_metrics(TARGETS, PREDICTED)
    assert metrics.accuracy == pytest.approx((1 / 3 + 1 + 0 + 1 / 2) / 4)


def test_example_based_accuracy_can_count_empty_samples_as_a_match():
    metrics = compute_metrics(TARGETS, PREDICTED, empty_match=1.0)
    assert metrics.accuracy == pytest.approx((1 / 3 + 1 + 1 + 1 / 2) / 4)


def test_hamming_loss_is_the_share_of_wrong_label_decisions():
    # wrong: sample 0 labels 1 and 2, sample 3 label 1 -> 3 of 12
    assert compute_metrics(TARGETS, PREDICTED).hamming_loss == pytest.approx(3 / 12)


def test_micro_scores_pool_all_labels():
    # TP = 1+1+0+1 = 3 (s0 l0, s1 l1, s3 l0); FP = 1 (s0 l1); FN = 2 (s0 l2, s3 l1)
    metrics = compute_metrics(TARGETS, PREDICTED)
    assert metrics.micro_precision == pytest.approx(3 / 4)
    assert metrics.micro_recall == pytest.approx(3 / 5)
    assert metrics.micro_f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))


def test_macro_scores_average_per_label_scores_with_zero_for_undefined():
    # label 0: TP 2 -> P 1, R 1, F1 1; label 1: TP 1, FP 1, FN 1 -> P .5, R .5, F1 .5;
    # label 2: TP 0, FN 1, no prediction -> P 0 (undefined), R 0, F1 0
    metrics = compute_metrics(TARGETS, PREDICTED)
    assert metrics.per_label_f1 == pytest.approx((1.0, 0.5, 0.0))
    assert metrics.macro_f1 == pytest.approx(0.5)
    assert metrics.macro_precision == pytest.approx(0.5)
    assert metrics.macro_recall == pytest.approx(0.5)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="must both be"):
        compute_metrics(TARGETS, PREDICTED[:, :2])


def test_tuned_thresholds_pick_the_best_f1_per_label():
    targets = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    scores = np.array([[0.9, 0.2], [0.6, 0.3], [0.4, 0.35], [0.1, 0.1]])
    # label 0 separates between 0.4 and 0.6; label 1's positive (0.35) is the highest score
    thresholds = tune_thresholds(targets, scores, grid=np.array([0.05, 0.25, 0.5, 0.7]))
    assert thresholds == [0.5, 0.25]


def test_a_fine_tunes_thresholds_move_only_with_enough_samples_and_ties_stay_near_its_start():
    from trainer.metrics import MIN_POSITIVES_TO_TUNE

    rng = np.random.default_rng(0)
    targets = np.zeros((40, 2))
    targets[:MIN_POSITIVES_TO_TUNE, 0] = 1  # label 0: enough positives to tune; label 1: three
    targets[:3, 1] = 1
    scores = np.where(targets == 1, 0.8, 0.2) + rng.uniform(-0.05, 0.05, targets.shape)
    # Every threshold between the two score groups separates label 0 perfectly: the tie goes to the start's.
    assert tune_thresholds(targets, scores) == [0.25, 0.25]
    assert tune_thresholds(targets, scores, start=[0.6, 0.9]) == [0.6, 0.9]
    assert tune_thresholds(targets, scores, start=[0.1, 0.9])[0] == 0.25, "0.1 misses: the nearest that ties"
