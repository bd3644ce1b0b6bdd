"""numerical_gradient, relative_error, gradient_check."""
import numpy as np
import pytest

from nnlib import gradient_check, gradient_errors, init_params, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored after probing


def test_relative_error_is_zero_for_equal_and_for_two_zeros():
    assert relative_error(np.ones(3), np.ones(3)) == 0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)


def small_problem():
    params = init_params([5, 4, 3], seed=0)
    rng = np.random.default_rng(0)
    return params, rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 6)


def test_gradient_check_passes_for_nnlib_even_from_float32_params():
    params, X, y = small_problem()
    assert gradient_check(params, X, y) < 1e-7


def test_gradient_check_catches_a_wrong_back_prop_and_names_the_array():
    from nnlib import back_prop

    def scalar_last_bias(activations, params, y):
        grads = back_prop(activations, params, y)
        grads["db2"] = np.mean(grads["db2"])  # one scalar for all units
        return grads

    params, X, y = small_problem()
    errors = gradient_errors(params, X, y, back_prop=scalar_last_bias)
    assert errors["b2"] > 0.1
    assert max(v for k, v in errors.items() if k != "b2") < 1e-7
    assert gradient_check(params, X, y, back_prop=scalar_last_bias) == errors["b2"]


def test_gradient_check_rejects_bad_inputs():
    params, X, y = small_problem()
    with pytest.raises(ValueError, match="X has 4 rows but layer 1 expects 5"):
        gradient_check(params, X[:4], y)
