"""Convolution and max pooling: against loop definitions and central differences."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlib.conv import (col2im, conv2d_backward, conv2d_forward,
                        conv_output_size, im2col, maxpool_backward,
                        maxpool_forward)


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


def dA_prev_by_full_convolution(dZ, A_prev, W, stride, padding):
    """The derivation's form of dA_prev: dZ spread out by the stride (S - 1
    zeros between its entries), padded by k - 1, convolved with the kernels
    flipped and their channels swapped; then the padding P cut off."""
    m, C, n_H, n_W = dZ.shape
    k = W.shape[2]
    spread = np.zeros((m, C, (n_H - 1) * stride + 1, (n_W - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dZ
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_prev, C, k, k)
    dA_pad = conv_by_loops(spread, flipped, np.zeros(W.shape[1]), 1, k - 1)
    # rows and columns that no window reached (stride leftovers) get 0
    height, width = (n + 2 * padding for n in A_prev.shape[2:])
    dA_pad = np.pad(dA_pad, ((0, 0), (0, 0), (0, height - dA_pad.shape[2]),
                             (0, width - dA_pad.shape[3])))
    return dA_pad[:, :, padding:padding + A_prev.shape[2],
                  padding:padding + A_prev.shape[3]]


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


@settings(max_examples=40, deadline=None)
@given(conv_cases)
def test_dA_prev_is_the_full_convolution_with_the_flipped_kernels(case):
    A_prev, W, b, stride, padding = make_case(case)
    rng = np.random.default_rng(case[-1] + 2)
    dZ = rng.standard_normal(conv2d_forward(A_prev, W, b, stride,
                                            padding).shape)
    dA_prev, _, _ = conv2d_backward(dZ, A_prev, W, stride, padding)
    np.testing.assert_allclose(
        dA_prev, dA_prev_by_full_convolution(dZ, A_prev, W, stride, padding),
        rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(conv_cases)
def test_col2im_is_the_transpose_of_im2col(case):
    """<im2col(A), D> = <A, col2im(D)> for all A, D: col2im adds back."""
    A_prev, W, _, stride, padding = make_case(case)
    k = W.shape[2]
    cols = im2col(A_prev, k, stride, padding)
    D = np.random.default_rng(case[-1]).standard_normal(cols.shape)
    np.testing.assert_allclose(
        np.sum(cols * D),
        np.sum(A_prev * col2im(D, A_prev.shape, k, stride, padding)),
        rtol=1e-12)


def test_im2col_rows_are_kernel_entries_and_columns_are_windows():
    """Row (c', p, q), column (h, w, i): A_pad[i, c', hS + p, wS + q]."""
    rng = np.random.default_rng(3)
    A_prev = rng.standard_normal((2, 3, 5, 6))
    k, S, P = 3, 2, 1
    cols = im2col(A_prev, k, S, P)
    A_pad = np.pad(A_prev, ((0, 0), (0, 0), (P, P), (P, P)))
    n_H, n_W = conv_output_size(5, k, S, P), conv_output_size(6, k, S, P)
    assert cols.shape == (3 * k * k, n_H * n_W * 2)
    for (c, p, q), row in zip(np.ndindex(3, k, k), cols):
        for (h, w, i), value in zip(np.ndindex(n_H, n_W, 2), row):
            assert value == A_pad[i, c, h * S + p, w * S + q]


def test_the_first_layer_can_skip_dA_prev():
    A_prev, W, b, stride, padding = make_case((3, 2, 4, 3, 1, 1, 6, 7, 5))
    dZ = conv2d_forward(A_prev, W, b, stride, padding)
    dA_prev, dW, db = conv2d_backward(dZ, A_prev, W, stride, padding)
    skipped = conv2d_backward(dZ, A_prev, W, stride, padding,
                              need_dA_prev=False)
    assert skipped[0] is None and dA_prev is not None
    np.testing.assert_array_equal(skipped[1], dW)
    np.testing.assert_array_equal(skipped[2], db)


def test_results_do_not_depend_on_the_memory_order_of_the_inputs():
    """The functions return views whose examples are last in memory; a
    C-ordered copy of the same values gives the same numbers."""
    rng = np.random.default_rng(4)
    A_prev = rng.standard_normal((3, 2, 8, 8))
    W, b = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    Z = conv2d_forward(A_prev, W, b, 1, 1)
    assert Z.shape == (3, 4, 8, 8) and not Z.flags.c_contiguous
    P = maxpool_forward(Z)
    np.testing.assert_array_equal(P, maxpool_forward(Z.copy()))
    dP = rng.standard_normal(P.shape)
    np.testing.assert_array_equal(maxpool_backward(dP, Z),
                                  maxpool_backward(dP.copy(), Z.copy()))
    for mine, plain in zip(conv2d_backward(Z, A_prev, W, 1, 1),
                           conv2d_backward(Z.copy(), A_prev, W, 1, 1)):
        np.testing.assert_allclose(mine, plain, rtol=1e-13, atol=1e-13)


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
