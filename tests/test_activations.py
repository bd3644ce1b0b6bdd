"""relu, relu_backward and softmax: hand-computed numbers, properties, dtype, stability."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnlib import relu, relu_backward, softmax

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])
shapes = st.tuples(st.integers(1, 10), st.integers(1, 8))


def floats(dtype, bound):
    """Finite numbers of ``dtype`` in [-bound, bound] (bound rounded to that width)."""
    bound = float(np.asarray(bound, dtype=dtype))
    return st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8)


# ---------------------------------------------------------------------------------------
# relu and relu_backward

def test_relu_zeroes_negative_entries():
    Z = np.array([[-2.0, 0.0], [3.0, -0.5]], dtype=np.float32)
    np.testing.assert_array_equal(relu(Z), [[0, 0], [3, 0]])


@DTYPES
def test_activations_keep_the_dtype(dtype):
    Z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert relu(Z).dtype == dtype
    assert relu_backward(Z, Z).dtype == dtype
    assert softmax(Z).dtype == dtype


@DTYPES
def test_relu_backward_passes_gradient_where_z_is_positive_and_zero_at_the_kink(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    Z = np.array([[-1.0, 0.0, -0.0, tiny, -tiny, 2.0]], dtype=dtype)
    dA = np.array([[5.0, 6.0, -6.0, 7.0, 8.0, 9.0]], dtype=dtype)
    np.testing.assert_array_equal(relu_backward(dA, Z), [[0.0, 0.0, 0.0, 7.0, 0.0, 9.0]])


@DTYPES
@given(data=st.data(), shape=shapes)
def test_relu_backward_is_dA_where_Z_is_above_0_and_0_elsewhere(dtype, data, shape):
    # Z == 0 is drawn often: the derivative there is taken as 0
    Z = data.draw(arrays(dtype, shape, elements=st.one_of(st.just(0.0), floats(dtype, 1e6))))
    dA = data.draw(arrays(dtype, shape, elements=floats(dtype, 1e6)))
    dZ = relu_backward(dA, Z)
    assert dZ.dtype == dtype and dZ.shape == Z.shape
    np.testing.assert_array_equal(dZ, np.where(Z > 0, dA, 0))


# ---------------------------------------------------------------------------------------
# softmax

def test_softmax_hand_computed_column():
    Z = np.array([[0.0], [np.log(3.0)]])
    np.testing.assert_allclose(softmax(Z), [[0.25], [0.75]])


def test_softmax_columns_are_independent():
    Z = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
    A = softmax(Z)
    np.testing.assert_allclose(A[:, 1], [1 / 3] * 3)
    np.testing.assert_allclose(A[:, 0], softmax(Z[:, :1])[:, 0])


def test_softmax_is_finite_for_huge_logits():
    Z = np.array([[1000.0, -1000.0], [0.0, -1e4]], dtype=np.float32)
    A = softmax(Z)
    assert np.all(np.isfinite(A))
    np.testing.assert_allclose(A, [[1.0, 1.0], [0.0, 0.0]])


@DTYPES
@given(data=st.data(), shape=shapes)
def test_softmax_columns_sum_to_1_huge_logits_included(dtype, data, shape):
    Z = data.draw(arrays(dtype, shape, elements=floats(dtype, 1e30)))
    A = softmax(Z)
    assert A.dtype == dtype
    assert np.all((A >= 0) & (A <= 1))
    # each of the n_L terms is rounded once, the division once more
    np.testing.assert_allclose(A.sum(axis=0), 1, rtol=0, atol=(shape[0] + 1) * np.finfo(dtype).eps)


@DTYPES
@given(data=st.data(), shape=shapes)
def test_softmax_is_shift_invariant(dtype, data, shape):
    """softmax(Z + c) = softmax(Z) for any constant c per column, to rounding."""
    Z = data.draw(arrays(dtype, shape, elements=floats(dtype, 30)))
    c = data.draw(arrays(dtype, (1, shape[1]), elements=floats(dtype, 30)))
    # Z + c is rounded to half an ulp of 60, which moves each softmax value by that much
    # relative, twice (the value and its column's sum)
    atol = 4 * np.spacing(dtype(60))
    np.testing.assert_allclose(softmax(Z + c), softmax(Z), rtol=0, atol=atol)


@DTYPES
@given(data=st.data(), shape=shapes, scale=st.integers(-20, 80))
def test_softmax_is_shift_invariant_for_huge_logits(dtype, data, shape, scale):
    """Logits k 2^scale with |k| < 2^20 and shifts j 2^scale with |j| < 2^22, up to about 2^122
    = 5e36: every Z + c is exact in float32, so softmax(Z + c) equals softmax(Z) exactly."""
    k = data.draw(arrays(np.int64, shape, elements=st.integers(-2**20, 2**20)))
    j = data.draw(arrays(np.int64, (1, shape[1]), elements=st.integers(-2**22, 2**22)))
    Z = np.ldexp(k.astype(dtype), scale)
    c = np.ldexp(j.astype(dtype), scale)
    assert Z.dtype == c.dtype == dtype
    assert np.array_equal((Z + c) - c, Z)  # the shift itself is exact
    np.testing.assert_array_equal(softmax(Z + c), softmax(Z))
