"""relu, relu_backward and softmax: hand-computed numbers, dtype, stability."""
import numpy as np
import pytest

from nnlib import relu, relu_backward, softmax


def test_relu_zeroes_negative_entries():
    Z = np.array([[-2.0, 0.0], [3.0, -0.5]], dtype=np.float32)
    np.testing.assert_array_equal(relu(Z), [[0, 0], [3, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_the_dtype(dtype):
    Z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert relu(Z).dtype == dtype
    assert relu_backward(Z, Z).dtype == dtype
    assert softmax(Z).dtype == dtype


def test_relu_backward_passes_gradient_where_z_is_positive_and_zero_at_the_kink():
    Z = np.array([[-1.0, 0.0, 2.0]])
    dA = np.array([[5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(relu_backward(dA, Z), [[0.0, 0.0, 7.0]])


def test_softmax_hand_computed_column():
    Z = np.array([[0.0], [np.log(3.0)]])
    np.testing.assert_allclose(softmax(Z), [[0.25], [0.75]])


def test_softmax_columns_sum_to_one_and_are_independent():
    Z = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
    A = softmax(Z)
    np.testing.assert_allclose(A.sum(axis=0), [1.0, 1.0])
    np.testing.assert_allclose(A[:, 1], [1 / 3] * 3)
    np.testing.assert_allclose(A[:, 0], softmax(Z[:, :1])[:, 0])


def test_softmax_is_finite_for_huge_logits():
    Z = np.array([[1000.0, -1000.0], [0.0, -1e4]], dtype=np.float32)
    A = softmax(Z)
    assert np.all(np.isfinite(A))
    np.testing.assert_allclose(A, [[1.0, 1.0], [0.0, 0.0]])
