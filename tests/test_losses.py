"""one_hot, the two forms of the cross-entropy, the squared error and its gradient, predictions,
accuracy, confusion matrix, mistakes."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnlib import (confusion_matrix, cross_entropy, cross_entropy_from_logits, get_accuracy,
                   get_predictions, most_confident_mistakes, numerical_gradient, one_hot,
                   relative_error, softmax)
from nnlib.losses import squared_error, squared_error_backward

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])


@st.composite
def logits_and_labels(draw, dtype, bound):
    """Z_L: (n_L, m) in ``dtype`` with entries in [-bound, bound], and labels y: (m,)."""
    n_L, m = draw(st.integers(2, 10)), draw(st.integers(1, 8))
    width = np.dtype(dtype).itemsize * 8
    bound = float(np.asarray(bound, dtype=dtype))  # the nearest number of that width
    Z = draw(arrays(dtype, (n_L, m), elements=st.floats(-bound, bound, width=width)))
    y = draw(arrays(np.int64, (m,), elements=st.integers(0, n_L - 1)))
    return Z, y


def reference_loss(ZL, y):
    """-(1/m) sum_i log softmax(Z_L)[y_i, i] in float64, written another way than nnlib's:
    -log softmax(z)_y = log sum_k exp(z_k - z_y), summed with math.fsum."""
    Z = ZL.astype(np.float64)
    per_example = [np.logaddexp.reduce(Z[:, i] - Z[y[i], i]) for i in range(Z.shape[1])]
    return math.fsum(per_example) / Z.shape[1]


# ---------------------------------------------------------------------------------------
# one_hot

def test_one_hot_places_a_one_per_column():
    Y = one_hot(np.array([2, 0]), 3)
    np.testing.assert_array_equal(Y, [[0, 1], [0, 0], [1, 0]])
    assert Y.dtype == np.float32


def test_one_hot_keeps_ten_rows_when_the_batch_has_no_nine():
    assert one_hot(np.array([0, 1, 2]), 10).shape == (10, 3)


@given(data=st.data(), num_classes=st.integers(1, 20), m=st.integers(1, 50))
def test_one_hot_round_trips_through_argmax(data, num_classes, m):
    y = data.draw(arrays(np.int64, (m,), elements=st.integers(0, num_classes - 1)))
    Y = one_hot(y, num_classes)
    assert Y.shape == (num_classes, m)
    np.testing.assert_array_equal(Y.sum(axis=0), 1)
    np.testing.assert_array_equal(np.argmax(Y, axis=0), y)


@pytest.mark.parametrize("y, message", [
    (np.array([0, 10]), "y holds label 10, outside 0..9"),
    (np.array([-1, 3]), "y holds label -1, outside 0..9"),
    (np.array([0.0, 1.0]), "y must hold integer labels, got dtype float64"),
    (np.zeros((10, 2), dtype=np.int64), "not the one-hot matrix Y"),
    ([0, 1], "y must be a NumPy array"),
])
def test_one_hot_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        one_hot(y, 10)


# ---------------------------------------------------------------------------------------
# cross_entropy(Y, AL), from the probabilities

def test_cross_entropy_hand_computed():
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    AL = np.array([[0.5, 0.2], [0.5, 0.8]])
    # -(log 0.5 + log 0.8) / 2 = (0.6931471806 + 0.2231435513) / 2
    assert cross_entropy(Y, AL) == pytest.approx(0.4581453659, abs=1e-10)


def test_cross_entropy_is_floored_not_infinite_for_extreme_logits():
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    Y = one_hot(np.array([1, 0]), 2)
    # softmax gives exactly 0 to the true class; log is applied to float32's tiny, 1.18e-38
    assert cross_entropy(Y, softmax(Z)) == pytest.approx(-math.log(np.finfo(np.float32).tiny))


def test_cross_entropy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Y has shape \(10, 3\) but AL has shape \(10, 4\)"):
        cross_entropy(np.zeros((10, 3)), np.full((10, 4), 0.1))


# ---------------------------------------------------------------------------------------
# cross_entropy_from_logits(ZL, y), the training loss

def test_cross_entropy_from_logits_hand_computed():
    ZL = np.array([[0.0, 2.0], [0.0, 0.0]])
    # column 1: log(e^0 + e^0) - 0 = log 2 = 0.6931471806; column 2 (label 1):
    # log(e^2 + e^0) - 0 = 2 + log(1 + e^-2) = 2 + 0.1269280110 = 2.1269280110
    assert cross_entropy_from_logits(ZL, np.array([0, 1])) == pytest.approx(1.4100375958, abs=1e-10)


@DTYPES
@given(data=st.data())
def test_cross_entropy_from_logits_equals_a_float64_log_sum_exp_reference(dtype, data):
    ZL, y = data.draw(logits_and_labels(dtype, bound=1e30))
    loss = cross_entropy_from_logits(ZL, y)
    assert isinstance(loss, float)
    # float32 computes Z - max and exp to about 1e-7 relative; float64 to about 1e-16
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(reference_loss(ZL, y), rel=tolerance, abs=tolerance)


@DTYPES
@given(data=st.data())
def test_cross_entropy_from_logits_equals_cross_entropy_where_that_is_not_floored(dtype, data):
    # |z| <= 40 in float32 (300 in float64): every softmax value is at least e^-80 / 10
    # (e^-600 / 10), above the smallest normal number, so cross_entropy is not floored.
    bound = 40 if dtype == np.float32 else 300
    ZL, y = data.draw(logits_and_labels(dtype, bound=bound))
    AL = softmax(ZL)
    assert AL[y, np.arange(y.size)].min() > np.finfo(dtype).tiny
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert cross_entropy_from_logits(ZL, y) == pytest.approx(
        cross_entropy(one_hot(y, ZL.shape[0], dtype=dtype), AL), rel=tolerance, abs=tolerance)


@DTYPES
@given(data=st.data())
def test_cross_entropy_from_logits_is_finite_for_logits_up_to_1e30(dtype, data):
    ZL, y = data.draw(logits_and_labels(dtype, bound=1e30))
    loss = cross_entropy_from_logits(ZL, y)
    assert math.isfinite(loss) and loss >= 0


@DTYPES
def test_cross_entropy_from_logits_is_not_floored_where_cross_entropy_is(dtype):
    ZL = np.array([[1e30, -1e30], [-1e30, 1e30]], dtype=dtype)
    y = np.array([1, 0])
    # -log softmax(z)_y = log(1 + e^(z_other - z_y)) - 0 = z_other - z_y = 2e30 for each column
    assert cross_entropy_from_logits(ZL, y) == pytest.approx(2e30, rel=1e-6)
    assert cross_entropy(one_hot(y, 2, dtype=dtype), softmax(ZL)) < 710  # floored at -log tiny


@pytest.mark.parametrize("y, message", [
    (np.array([0, 1]), r"y has 2 labels but \w+ has 3 columns"),
    (np.array([0, 1, 4]), "y holds label 4, outside 0..3"),
    (np.array([0, -1, 2]), "y holds label -1, outside 0..3"),
    (np.array([0.0, 1.0, 2.0]), "y must hold integer labels, got dtype float64"),
    (np.eye(4, 3, dtype=np.int64), "y must be 1-D .* not the one-hot matrix Y"),
])
def test_cross_entropy_from_logits_rejects_labels_that_do_not_fit(y, message):
    with pytest.raises(ValueError, match=message):
        cross_entropy_from_logits(np.zeros((4, 3)), y)


# ---------------------------------------------------------------------------------------
# squared_error(Y, AL) and its gradient through the softmax, squared_error_backward(Y, AL)

def test_squared_error_hand_computed():
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    AL = np.array([[0.5, 0.2], [0.5, 0.8]])
    # column 1: (0.5^2 + 0.5^2) / 2 = 0.25; column 2: (0.2^2 + 0.2^2) / 2 = 0.04; mean 0.145
    assert squared_error(Y, AL) == pytest.approx(0.145, abs=1e-12)


def test_squared_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"Y has shape \(10, 3\) but AL has shape \(10, 4\)"):
        squared_error(np.zeros((10, 3)), np.full((10, 4), 0.1))
    with pytest.raises(ValueError, match=r"Y has shape \(3, 2\) but AL has shape \(2, 3\)"):
        squared_error_backward(np.zeros((3, 2)), np.full((2, 3), 0.5))


def test_squared_error_backward_hand_computed():
    # two classes, a = (0.5, 0.5), true class 0: G = (-0.5, 0.5), sum_k a_k G_k = 0,
    # dZ = a * G = (-0.25, 0.25)
    dZ = squared_error_backward(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]))
    np.testing.assert_allclose(dZ, [[-0.25], [0.25]], atol=1e-15)


@given(data=st.data())
def test_squared_error_backward_matches_central_differences(data):
    # float64, as every gradient check: column i of dZ_L is the gradient of example i's own
    # loss, so it is compared with the gradient of m times the mean loss
    ZL, y = data.draw(logits_and_labels(np.float64, bound=10))
    n_L, m = ZL.shape
    Y = one_hot(y, n_L, dtype=np.float64)
    dZ = squared_error_backward(Y, softmax(ZL))
    assert dZ.shape == ZL.shape and dZ.dtype == np.float64
    Z = ZL.copy()
    numerical = numerical_gradient(lambda: m * squared_error(Y, softmax(Z)), Z)
    # an absolute bound too: where the gradient vanishes (a saturated softmax) the relative
    # error compares two rounding noises
    assert (relative_error(dZ, numerical) < 1e-6
            or np.abs(dZ - numerical).max() < 1e-9)


@given(data=st.data())
def test_squared_error_backward_columns_sum_to_zero(data):
    # adding one number to every logit of a column changes no softmax, so no loss: the
    # gradient has no component along (1, ..., 1)
    ZL, y = data.draw(logits_and_labels(np.float64, bound=30))
    dZ = squared_error_backward(one_hot(y, ZL.shape[0], dtype=np.float64), softmax(ZL))
    np.testing.assert_allclose(dZ.sum(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize("a", [1e-4, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_squared_error_gradient_on_the_true_logit_vanishes_as_a_goes_to_0(a):
    # true class 0 gets probability a, the other K - 1 share 1 - a evenly: the chapter's
    # closed form dz_y = -K / (K - 1) * a * (1 - a)^2, against the cross-entropy's a - 1
    K = 10
    AL = np.full((K, 1), (1 - a) / (K - 1))
    AL[0, 0] = a
    Y = one_hot(np.array([0]), K, dtype=np.float64)
    dz_true = squared_error_backward(Y, AL)[0, 0]
    assert dz_true == pytest.approx(-K / (K - 1) * a * (1 - a) ** 2, rel=1e-12)
    assert abs(dz_true) <= abs(a - 1)


# ---------------------------------------------------------------------------------------
# predictions, accuracy, confusion matrix, mistakes

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
