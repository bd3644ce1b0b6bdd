"""Inverted dropout and L2 weight decay (nnlib.regularization, chapter "Faster training")."""
import numpy as np
import pytest

from nnlib import dropout_backward, dropout_forward, l2_gradient
from nnlib.gradcheck import numerical_gradient

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])
RATES = pytest.mark.parametrize("p", [0.1, 0.5, 0.8])


def activations(shape=(5, 8), dtype=np.float64, seed=0):
    """Hidden activations A: (n_l, m), all above 0 (after ReLU, a 0 would hide the mask)."""
    return (np.random.default_rng(seed).random(shape) + 0.5).astype(dtype)


# ---------------------------------------------------------------------------------------
# dropout_forward

@DTYPES
def test_dropout_forward_keeps_the_dtype(dtype):
    A = activations(dtype=dtype)
    dropped, D = dropout_forward(A, 0.5, np.random.default_rng(0))
    assert dropped.dtype == D.dtype == dtype
    assert dropped.shape == D.shape == A.shape


@DTYPES
@RATES
def test_dropout_mask_holds_only_0_and_1_over_1_minus_p(dtype, p):
    _, D = dropout_forward(activations((20, 50), dtype), p, np.random.default_rng(1))
    assert set(np.unique(D).tolist()) == {0.0, float(dtype(1 / (1 - p)))}


@RATES
def test_dropout_forward_returns_A_times_its_mask(p):
    A = activations()
    dropped, D = dropout_forward(A, p, np.random.default_rng(2))
    np.testing.assert_array_equal(dropped, A * D)


@DTYPES
@RATES
def test_dropout_mask_keeps_the_units_whose_uniform_draw_is_at_least_p(dtype, p):
    """D = 1[u >= p] / (1 - p) with u = rng.random(A.shape, dtype=A.dtype): one draw per entry,
    in A's dtype, so that both engines can draw the same masks from the same generator."""
    A = activations((7, 9), dtype)
    _, D = dropout_forward(A, p, np.random.default_rng(3))
    u = np.random.default_rng(3).random(A.shape, dtype=dtype)
    np.testing.assert_array_equal(D, (u >= p) * dtype(1 / (1 - p)))


@RATES
def test_dropout_drops_a_fraction_p_of_the_units(p):
    n = 100_000
    _, D = dropout_forward(activations((100, n // 100)), p, np.random.default_rng(4))
    dropped = np.count_nonzero(D == 0) / n
    # The count of dropped units is binomial(n, p): 5 standard deviations either side.
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)


@RATES
def test_dropout_keeps_the_expected_activation(p):
    """E[A ⊙ D] = A: a unit is kept with probability 1 - p and then scaled by 1 / (1 - p)."""
    A, draws = activations((3, 4)), 20_000
    dropped, _ = dropout_forward(np.tile(A, draws), p, np.random.default_rng(5))  # (3, 4 draws)
    mean = dropped.reshape(3, draws, 4).mean(axis=1)
    # Each entry of A ⊙ D has standard deviation A sqrt(p / (1 - p)): 5 of them over sqrt(draws).
    np.testing.assert_array_less(np.abs(mean - A), 5 * A * np.sqrt(p / (1 - p) / draws))


def test_dropout_with_p_0_keeps_every_unit_unscaled():
    A = activations()
    dropped, D = dropout_forward(A, 0.0, np.random.default_rng(6))
    np.testing.assert_array_equal(D, 1.0)
    np.testing.assert_array_equal(dropped, A)


def test_the_same_seed_draws_the_same_mask():
    A = activations()
    _, D = dropout_forward(A, 0.5, np.random.default_rng(7))
    _, again = dropout_forward(A, 0.5, np.random.default_rng(7))
    _, other = dropout_forward(A, 0.5, np.random.default_rng(8))
    np.testing.assert_array_equal(D, again)
    assert not np.array_equal(D, other)


def test_successive_calls_draw_new_masks_from_the_generator():
    A, rng = activations(), np.random.default_rng(9)
    _, first = dropout_forward(A, 0.5, rng)
    _, second = dropout_forward(A, 0.5, rng)
    assert not np.array_equal(first, second)


# ---------------------------------------------------------------------------------------
# dropout_backward

def test_dropout_backward_is_dA_times_the_mask():
    dA = np.random.default_rng(10).standard_normal((5, 8))
    _, D = dropout_forward(activations(), 0.5, np.random.default_rng(11))
    np.testing.assert_array_equal(dropout_backward(dA, D), dA * D)


def test_dropout_backward_is_the_gradient_of_dropout_forward_at_a_fixed_mask():
    """For any upstream gradient G, d/dA sum(G ⊙ (A ⊙ D)) = G ⊙ D, by central differences."""
    A = activations()
    G = np.random.default_rng(12).standard_normal(A.shape)
    _, D = dropout_forward(A, 0.3, np.random.default_rng(13))
    numerical = numerical_gradient(lambda: float(np.sum(G * (A * D))), A)
    np.testing.assert_allclose(dropout_backward(G, D), numerical, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------------------
# l2_gradient

@DTYPES
def test_l2_gradient_is_lambda_W(dtype):
    W = np.array([[1.0, -2.0, 0.0], [0.5, 4.0, -0.25]], dtype=dtype)
    grad = l2_gradient(W, 0.1)
    assert grad.dtype == dtype and grad.shape == W.shape
    np.testing.assert_array_equal(grad, dtype(0.1) * W)


def test_l2_gradient_is_the_gradient_of_half_lambda_times_the_squared_norm():
    W, weight_decay = np.random.default_rng(14).standard_normal((4, 3)), 0.01
    numerical = numerical_gradient(lambda: weight_decay / 2 * float(np.sum(W ** 2)), W)
    np.testing.assert_allclose(l2_gradient(W, weight_decay), numerical, rtol=1e-6, atol=1e-12)


def test_l2_gradient_without_weight_decay_is_0():
    np.testing.assert_array_equal(l2_gradient(np.ones((2, 3)), 0.0), 0.0)
