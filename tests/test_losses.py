"""one_hot, cross_entropy, predictions, accuracy, confusion matrix, mistakes."""
import numpy as np
import pytest

from nnlib import (confusion_matrix, cross_entropy, get_accuracy, get_predictions,
                   most_confident_mistakes, one_hot, softmax)


def test_one_hot_places_a_one_per_column():
    Y = one_hot(np.array([2, 0]), 3)
    np.testing.assert_array_equal(Y, [[0, 1], [0, 0], [1, 0]])
    assert Y.dtype == np.float32


def test_one_hot_keeps_ten_rows_when_the_batch_has_no_nine():
    assert one_hot(np.array([0, 1, 2]), 10).shape == (10, 3)


@pytest.mark.parametrize("y, message", [
    (np.array([0, 10]), "label 10, outside 0..9"),
    (np.array([-1, 3]), "label -1, outside 0..9"),
    (np.array([0.0, 1.0]), "integer labels, got dtype float64"),
    (np.zeros((10, 2), dtype=np.int64), "not the one-hot matrix Y"),
])
def test_one_hot_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        one_hot(y, 10)


def test_cross_entropy_hand_computed():
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    AL = np.array([[0.5, 0.2], [0.5, 0.8]])
    assert cross_entropy(Y, AL) == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)


def test_cross_entropy_is_finite_for_extreme_logits():
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    Y = one_hot(np.array([1, 0]), 2)
    loss = cross_entropy(Y, softmax(Z))
    assert np.isfinite(loss) and loss > 80


def test_cross_entropy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Y has shape \(10, 3\) but AL has shape \(10, 4\)"):
        cross_entropy(np.zeros((10, 3)), np.full((10, 4), 0.1))


def test_predictions_and_accuracy():
    AL = np.array([[0.9, 0.1, 0.3], [0.1, 0.9, 0.7]])
    predictions = get_predictions(AL)
    np.testing.assert_array_equal(predictions, [0, 1, 1])
    assert get_accuracy(predictions, np.array([0, 1, 0])) == pytest.approx(2 / 3)


def test_confusion_matrix_counts_label_rows_and_prediction_columns():
    C = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    np.testing.assert_array_equal(C, [[1, 1, 0], [0, 1, 0], [0, 1, 0]])


def test_most_confident_mistakes_orders_wrong_columns_by_confidence():
    AL = np.array([[0.9, 0.6, 0.2, 0.99], [0.1, 0.4, 0.8, 0.01]])
    y = np.array([1, 1, 1, 0])
    np.testing.assert_array_equal(most_confident_mistakes(AL, y, k=5), [0, 1])
