"""Convolution and max pooling: against loop definitions and central differences."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlib.conv import (conv2d_backward, conv2d_forward, conv_output_size,
                        maxpool_backward, maxpool_forward)


def conv_by_loops(A_prev, W, b, stride, padding):
    """The definition, one output entry at a time."""
    m, _, H, Wd = A_prev.shape
    C, _, k, _ = W.shape
    A = np.pad(A_prev, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    n_H = (H + 2 * padding - k) // stride + 1
    n_W = (Wd + 2 * padding - k) // stride + 1
    Z = np.zeros((m, C, n_H, n_W))
    for i in range(m):
        for c in range(C):
            for h in range(n_H):
                for w in range(n_W):
                    patch = A[i, :, h * stride:h * stride + k,
                              w * stride:w * stride + k]
                    Z[i, c, h, w] = np.sum(patch * W[c]) + b[c]
    return Z


def maxpool_by_loops(A_prev, pool, stride):
    m, C, H, W = A_prev.shape
    n_H, n_W = (H - pool) // stride + 1, (W - pool) // stride + 1
    out = np.zeros((m, C, n_H, n_W))
    grad_to = {}
    for i in range(m):
        for c in range(C):
            for h in range(n_H):
                for w in range(n_W):
                    win = A_prev[i, c, h * stride:h * stride + pool,
                                 w * stride:w * stride + pool]
                    out[i, c, h, w] = win.max()
                    p, q = np.unravel_index(np.argmax(win), win.shape)
                    grad_to[i, c, h, w] = (i, c, h * stride + p, w * stride + q)
    return out, grad_to


conv_cases = st.tuples(
    st.integers(1, 3),   # m
    st.integers(1, 3),   # C_prev
    st.integers(1, 3),   # C
    st.integers(1, 4),   # k
    st.integers(1, 3),   # stride
    st.integers(0, 2),   # padding
    st.integers(4, 8),   # n_H_prev
    st.integers(4, 8),   # n_W_prev
    st.integers(0, 2**31 - 1),
)


def make_case(case):
    m, C_prev, C, k, stride, padding, H, W, seed = case
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal((m, C_prev, H, W))
    kernels = rng.standard_normal((C, C_prev, k, k))
    b = rng.standard_normal(C)
    return A_prev, kernels, b, stride, padding


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_conv2d_forward_is_the_loop_definition(case):
    A_prev, W, b, stride, padding = make_case(case)
    Z = conv2d_forward(A_prev, W, b, stride, padding)
    np.testing.assert_allclose(Z, conv_by_loops(A_prev, W, b, stride, padding),
                               rtol=1e-12, atol=1e-12)
    assert Z.shape[2] == conv_output_size(A_prev.shape[2], W.shape[2],
                                          stride, padding)


@settings(max_examples=40, deadline=None)
@given(conv_cases)
def test_conv2d_backward_matches_central_differences(case):
    A_prev, W, b, stride, padding = make_case(case)
    rng = np.random.default_rng(case[-1] + 1)
    m = A_prev.shape[0]
    G = rng.standard_normal(conv2d_forward(A_prev, W, b, stride, padding).shape)

    def loss(A_prev, W, b):  # the mean over examples of sum(G * Z)
        return np.sum(G * conv2d_forward(A_prev, W, b, stride, padding)) / m

    dA_prev, dW, db = conv2d_backward(G, A_prev, W, stride, padding)
    h = 1e-6
    for array, grad, scale in ((A_prev, dA_prev, m), (W, dW, 1), (b, db, 1)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            old = array[index]
            array[index] = old + h
            up = loss(A_prev, W, b)
            array[index] = old - h
            down = loss(A_prev, W, b)
            array[index] = old
            numeric[index] = (up - down) / (2 * h)
        # dA_prev is the gradient of m times the mean (no 1/m), as for dense
        np.testing.assert_allclose(grad, scale * numeric, rtol=1e-6, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(3, 8), st.integers(0, 2**31 - 1),
       st.booleans())
def test_maxpool_against_loops_first_maximum(m, C, pool, stride, n, seed,
                                             ties):
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal((m, C, n, n + 1))
    if ties:  # after ReLU many entries are exactly 0
        A_prev = np.maximum(A_prev, 0.5)
    expected, grad_to = maxpool_by_loops(A_prev, pool, stride)
    A = maxpool_forward(A_prev, pool, stride)
    np.testing.assert_array_equal(A, expected)
    dA = rng.standard_normal(A.shape)
    dA_prev = maxpool_backward(dA, A_prev, pool, stride)
    reference = np.zeros_like(A_prev)
    for out, to in grad_to.items():
        reference[to] += dA[out]
    np.testing.assert_allclose(dA_prev, reference, rtol=1e-12, atol=1e-12)


def test_float32_kept():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    Z = conv2d_forward(A, W, b, padding=1)
    assert Z.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv2d_backward(Z, A, W, 1, 1))
    P = maxpool_forward(Z)
    assert P.dtype == np.float32
    assert maxpool_backward(P, Z).dtype == np.float32


@pytest.mark.parametrize("call, words", [
    (lambda A, W, b: conv2d_forward(A[0], W, b), "shape (m, C, n_H, n_W)"),
    (lambda A, W, b: conv2d_forward(A[:, :2], W, b),
     "A_prev has 2 channels (shape (2, 2, 5, 5)) but W expects 3"),
    (lambda A, W, b: conv2d_forward(A, W, b[:3]), "b has shape (3,)"),
    (lambda A, W, b: conv2d_forward(A, np.zeros((4, 3, 7, 7)), b),
     "kernel of 7 x 7 is larger than the padded image of 5 x 5"),
    (lambda A, W, b: conv2d_forward(A, W, b, stride=0), "stride must be"),
    (lambda A, W, b: maxpool_forward(A, pool=6), "pool window of 6 x 6"),
    (lambda A, W, b: conv2d_backward(np.zeros((2, 4, 9, 9)), A, W),
     "dZ has shape (2, 4, 9, 9)"),
])
def test_bad_shapes_are_named(call, words):
    A = np.zeros((2, 3, 5, 5))
    W = np.zeros((4, 3, 3, 3))
    b = np.zeros(4)
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(
            ")", r"\)")):
        call(A, W, b)


REFERENCE = np.load(Path(__file__).parent / "data" / "conv_reference.npz")
CONV_CASES = sorted({key.split("/")[0] for key in REFERENCE
                     if key.startswith("conv")})
POOL_CASES = sorted({key.split("/")[0] for key in REFERENCE
                     if key.startswith("pool")})


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_against_pytorch(case):
    """tests/data/conv_reference.npz: benchmarks/conv_references.py, PyTorch."""
    r = {key.split("/")[1]: REFERENCE[key] for key in REFERENCE
         if key.startswith(case + "/")}
    stride, padding = int(r["stride"]), int(r["padding"])
    Z = conv2d_forward(r["A_prev"], r["W"], r["b"], stride, padding)
    np.testing.assert_allclose(Z, r["Z"], rtol=1e-10, atol=1e-10)
    grads = conv2d_backward(r["G"], r["A_prev"], r["W"], stride, padding)
    for name, grad in zip(["dA_prev", "dW", "db"], grads):
        np.testing.assert_allclose(grad, r[name], rtol=1e-10, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool_against_pytorch(case):
    r = {key.split("/")[1]: REFERENCE[key] for key in REFERENCE
         if key.startswith(case + "/")}
    pool, stride = int(r["pool"]), int(r["stride"])
    np.testing.assert_array_equal(maxpool_forward(r["A_prev"], pool, stride),
                                  r["A"])
    np.testing.assert_allclose(
        maxpool_backward(r["dA"], r["A_prev"], pool, stride), r["dA_prev"],
        rtol=1e-12, atol=1e-12)
