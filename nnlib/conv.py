"""Convolution and max pooling, forward and backward (chapter "Convolutions").

Images keep the layout of every CNN library, examples first:
A_prev: (m, C_prev, n_H_prev, n_W_prev); kernels W: (C, C_prev, k, k), one
k x k kernel per output and input channel; biases b: (C,), one per output
channel. With stride S and zero padding P the output is (m, C, n_H, n_W),
n_H = (n_H_prev + 2P - k) // S + 1 (the width alike).

As for the dense layers, dZ is the gradient of m times the mean loss (the
loss summed over the batch), so dW and db carry the 1/m and dA_prev does not.

Speed: the work is matrix products (W times im2col's columns) and loops
over the k x k offsets of the kernel, never over pixels or examples. In
memory, the arrays these functions return keep the examples last,
(C, n_H, n_W, m), as the dense layers' columns do: every copy and sum of
the offset loops then runs over m contiguous numbers, and Flatten's
(C n_H n_W, m) is the same memory. They are returned as transposed views
with the shape (m, C, n_H, n_W), which costs no copy. benchmarks/cnn_speed.py
measures the result against PyTorch.
"""
import numpy as np


def conv_output_size(n, k, stride=1, padding=0):
    """n_out = (n + 2P - k) // S + 1, the positions of a k-wide window."""
    return (n + 2 * padding - k) // stride + 1


def _check_images(A, name):
    if not isinstance(A, np.ndarray) or A.ndim != 4:
        shape = getattr(A, "shape", type(A).__name__)
        raise ValueError(f"{name} must be an array of shape (m, C, n_H, n_W),"
                         f" got {shape}")


def _check_conv(A_prev, W, b, stride, padding):
    """Shapes of a convolution: clear errors instead of NumPy's."""
    _check_images(A_prev, "A_prev")
    square = isinstance(W, np.ndarray) and W.ndim == 4 and (
        W.shape[2] == W.shape[3])
    if not square:
        shape = getattr(W, "shape", type(W).__name__)
        raise ValueError(f"W must be an array of shape (C, C_prev, k, k),"
                         f" got {shape}")
    if b is not None and np.shape(b) != (W.shape[0],):
        raise ValueError(f"b has shape {np.shape(b)} but W has {W.shape[0]}"
                         f" output channels: expected ({W.shape[0]},)")
    if A_prev.shape[1] != W.shape[1]:
        raise ValueError(f"A_prev has {A_prev.shape[1]} channels (shape"
                         f" {A_prev.shape}) but W expects {W.shape[1]}"
                         f" (shape {W.shape})")
    for value, name, least in ((stride, "stride", 1), (padding, "padding", 0)):
        if not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an integer >= {least},"
                             f" got {value!r}")
    k = W.shape[2]
    height, width = (n + 2 * padding for n in A_prev.shape[2:])
    if k > min(height, width):
        raise ValueError(f"kernel of {k} x {k} is larger than the padded image"
                         f" of {height} x {width} (A_prev {A_prev.shape},"
                         f" padding {padding})")


def _offset(A, p, q, n_H, n_W, stride):
    """Entry (p, q) of every window of A: A[..., hS + p, wS + q] for all
    window positions (h, w), a view of shape (..., n_H, n_W)."""
    return A[..., p:p + stride * n_H:stride, q:q + stride * n_W:stride]


def im2col(A_prev, k, stride=1, padding=0):
    """Every k x k window of the padded A_prev as one column of a matrix.

    A_prev: (m, C_prev, n_H_prev, n_W_prev) -> (C_prev k k, n_H n_W m):
    row (c', p, q), column (h, w, i) holds A_pad[i, c', hS + p, wS + q], so
    that a convolution becomes one matrix product with W reshaped to
    (C, C_prev k k). Built one row block (p, q) at a time: k² copies of
    whole images rather than m n_H n_W copies of small windows.
    """
    m, C_prev, H, W = A_prev.shape
    n_H = conv_output_size(H, k, stride, padding)
    n_W = conv_output_size(W, k, stride, padding)
    # examples last: (C_prev, H + 2P, W + 2P, m)
    A_pad = np.zeros((C_prev, H + 2 * padding, W + 2 * padding, m),
                     dtype=A_prev.dtype)
    A_pad[:, padding:padding + H, padding:padding + W] = (
        A_prev.transpose(1, 2, 3, 0))
    cols = np.empty((C_prev, k, k, n_H, n_W, m), dtype=A_prev.dtype)
    for p in range(k):
        for q in range(k):
            # entry (p, q) of every window, for every example
            cols[:, p, q] = A_pad[:, p:p + stride * n_H:stride,
                                  q:q + stride * n_W:stride]
    return cols.reshape(C_prev * k * k, n_H * n_W * m)


def col2im(dcols, shape, k, stride=1, padding=0):
    """The reverse of :func:`im2col`: each entry of each column is added
    back to the pixel it was copied from.

    dcols: (C_prev k k, n_H n_W m), laid out as im2col's columns; shape:
    (m, C_prev, n_H_prev, n_W_prev) -> an array of that shape. A pixel that
    lies in several windows collects the sum of their entries; entries that
    fell on the padding are dropped.
    """
    m, C_prev, H, W = shape
    n_H = conv_output_size(H, k, stride, padding)
    n_W = conv_output_size(W, k, stride, padding)
    dcols = dcols.reshape(C_prev, k, k, n_H, n_W, m)
    dA_pad = np.zeros((C_prev, H + 2 * padding, W + 2 * padding, m),
                      dtype=dcols.dtype)
    for p in range(k):
        for q in range(k):
            dA_pad[:, p:p + stride * n_H:stride,
                   q:q + stride * n_W:stride] += dcols[:, p, q]
    dA = dA_pad[:, padding:padding + H, padding:padding + W]
    return dA.transpose(3, 0, 1, 2)  # a view: (m, C_prev, H, W)


def conv2d_forward(A_prev, W, b, stride=1, padding=0):
    """Z[i, c] = sum over c', p, q of W[c, c', p, q] times the window of
    A_prev[i, c'] at (h, w), plus b[c]: a sliding dot product.

    A_prev: (m, C_prev, n_H_prev, n_W_prev), W: (C, C_prev, k, k), b: (C,)
    -> Z: (m, C, n_H, n_W). Like every CNN library, this is a correlation:
    the kernel is not flipped.
    """
    _check_conv(A_prev, W, b, stride, padding)
    C, k, m = W.shape[0], W.shape[2], A_prev.shape[0]
    n_H, n_W = (conv_output_size(n, k, stride, padding)
                for n in A_prev.shape[2:])
    cols = im2col(A_prev, k, stride, padding)  # (C_prev k k, n_H n_W m)
    Z = W.reshape(C, -1) @ cols  # (C, n_H n_W m): one row per channel
    Z += b[:, None]
    return Z.reshape(C, n_H, n_W, m).transpose(3, 0, 1, 2)


def conv2d_backward(dZ, A_prev, W, stride=1, padding=0, need_dA_prev=True):
    """Gradients of a convolution: (dA_prev, dW, db).

    dZ: (m, C, n_H, n_W), A_prev: (m, C_prev, n_H_prev, n_W_prev),
    W: (C, C_prev, k, k) -> dA_prev like A_prev, dW like W, db: (C,).
    dW is the correlation of the input with dZ. dA_prev is the full
    convolution of dZ (spread out by the stride) with the flipped kernels;
    computed here as col2im of W^T dZ, which adds the same products in
    another order (tests/test_conv.py checks both agree). The first layer
    passes ``need_dA_prev=False``: the gradient for the pixels is not
    needed, and None is returned in its place.
    """
    _check_conv(A_prev, W, None, stride, padding)
    m, C, k = A_prev.shape[0], W.shape[0], W.shape[2]
    n_H, n_W = (conv_output_size(n, k, stride, padding)
                for n in A_prev.shape[2:])
    if dZ.shape != (m, C, n_H, n_W):
        raise ValueError(f"dZ has shape {dZ.shape} but the convolution of"
                         f" A_prev {A_prev.shape} by W {W.shape} gives"
                         f" {(m, C, n_H, n_W)}")
    dZ_rows = dZ.transpose(1, 2, 3, 0).reshape(C, -1)  # (C, n_H n_W m)
    cols = im2col(A_prev, k, stride, padding)  # (C_prev k k, n_H n_W m)
    # dW[c, c', p, q] = (1/m) sum over i, h, w of dZ[i, c, h, w] times
    # A_pad[i, c', hS + p, wS + q]: the input correlated with dZ
    dW = (dZ_rows @ cols.T).reshape(W.shape) / m
    db = dZ_rows.sum(axis=1) / m
    if not need_dA_prev:
        return None, dW, db
    # each column's share of the loss gradient, sent back to its pixels
    dcols = W.reshape(C, -1).T @ dZ_rows  # (C_prev k k, n_H n_W m)
    return col2im(dcols, A_prev.shape, k, stride, padding), dW, db


def maxpool_forward(A_prev, pool=2, stride=None):
    """The largest value of each pool x pool window: (m, C, n_H, n_W).

    A_prev: (m, C, n_H_prev, n_W_prev); stride defaults to pool (windows
    side by side); n_H = (n_H_prev - pool) // stride + 1. A loop over the
    pool² offsets of the window: one np.maximum of whole images each.
    """
    stride = pool if stride is None else stride
    _check_pool(A_prev, pool, stride)
    n_H, n_W = (conv_output_size(n, pool, stride) for n in A_prev.shape[2:])
    # the first entry of each window, in A_prev's memory order
    A = _offset(A_prev, 0, 0, n_H, n_W, stride).copy(order="K")
    for p in range(pool):
        for q in range(pool):
            np.maximum(A, _offset(A_prev, p, q, n_H, n_W, stride), out=A)
    return A


def maxpool_backward(dA, A_prev, pool=2, stride=None):
    """dA_prev: each window's gradient goes to the FIRST position of its
    maximum (row by row), the rest of the window gets 0.

    dA: (m, C, n_H, n_W), A_prev: (m, C, n_H_prev, n_W_prev) -> dA_prev like
    A_prev. Ties are common after ReLU (several zeros): sending the gradient
    to one position keeps the sum of dA_prev equal to the sum of dA, as the
    maximum's derivative does. Overlapping windows add up.
    """
    stride = pool if stride is None else stride
    A = maxpool_forward(A_prev, pool, stride)
    if dA.shape != A.shape:
        raise ValueError(f"dA has shape {dA.shape} but pooling A_prev"
                         f" {A_prev.shape} gives {A.shape}")
    n_H, n_W = A.shape[2:]
    dA_prev = np.zeros_like(A_prev, dtype=dA.dtype)
    found = np.zeros(A.shape, dtype=bool)  # windows whose maximum was seen
    for p in range(pool):  # row by row: the first maximum is met first
        for q in range(pool):
            first = _offset(A_prev, p, q, n_H, n_W, stride) == A
            first &= ~found
            found |= first
            _offset(dA_prev, p, q, n_H, n_W, stride)[...] += dA * first
    return dA_prev


def _check_pool(A_prev, pool, stride):
    _check_images(A_prev, "A_prev")
    for value, name in ((pool, "pool"), (stride, "stride")):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if pool > min(A_prev.shape[2:]):
        raise ValueError(f"pool window of {pool} x {pool} is larger than the"
                         f" image of {A_prev.shape[2]} x {A_prev.shape[3]}"
                         f" (A_prev {A_prev.shape})")
