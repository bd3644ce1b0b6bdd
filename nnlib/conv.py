"""Convolution and max pooling, forward and backward (chapter "Convolutions").

Images keep the layout of every CNN library, examples first:
A_prev: (m, C_prev, n_H_prev, n_W_prev); kernels W: (C, C_prev, k, k), one
k x k kernel per output and input channel; biases b: (C,), one per output
channel. With stride S and zero padding P the output is (m, C, n_H, n_W),
n_H = (n_H_prev + 2P - k) // S + 1 (the width alike).

As for the dense layers, dZ is the gradient of m times the mean loss (the
loss summed over the batch), so dW and db carry the 1/m and dA_prev does not.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


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


def _pad(A, padding):
    """P zero pixels around each image: (m, C, n_H + 2P, n_W + 2P)."""
    if padding == 0:
        return A
    return np.pad(A, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def windows(A, k, stride=1):
    """Every k x k window of A, a view: (m, C, n_H, n_W, k, k).

    Entry [i, c, h, w] is the patch A[i, c, hS:hS+k, wS:wS+k]; nothing is
    copied until the windows are used (im2col done lazily).
    """
    view = sliding_window_view(A, (k, k), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def im2col(A_prev, k, stride=1, padding=0):
    """Every k x k window of the padded A_prev as one column of a matrix.

    A_prev: (m, C_prev, n_H_prev, n_W_prev) -> (C_prev k k, m n_H n_W): row
    (c', p, q), column (i, h, w) holds A_pad[i, c', hS + p, wS + q], so that
    a convolution becomes one matrix product with W reshaped to
    (C, C_prev k k).
    """
    patches = windows(_pad(A_prev, padding), k, stride)
    m, C_prev, n_H, n_W = patches.shape[:4]
    return patches.transpose(1, 4, 5, 0, 2, 3).reshape(C_prev * k * k,
                                                       m * n_H * n_W)


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
    cols = im2col(A_prev, k, stride, padding)  # (C_prev k k, m n_H n_W)
    Z = (W.reshape(C, -1) @ cols).reshape(C, m, n_H, n_W)
    return Z.transpose(1, 0, 2, 3) + b[:, None, None]


def conv2d_backward(dZ, A_prev, W, stride=1, padding=0):
    """Gradients of a convolution: (dA_prev, dW, db).

    dZ: (m, C, n_H, n_W), A_prev: (m, C_prev, n_H_prev, n_W_prev),
    W: (C, C_prev, k, k) -> dA_prev like A_prev, dW like W, db: (C,).
    dW is the correlation of the input with dZ; dA_prev is the full
    convolution of dZ with the flipped kernels (channels swapped), after
    spreading dZ out by the stride (S - 1 zeros between its entries).
    """
    _check_conv(A_prev, W, None, stride, padding)
    m, C, k = dZ.shape[0], W.shape[0], W.shape[2]
    n_H, n_W = (conv_output_size(n, k, stride, padding)
                for n in A_prev.shape[2:])
    if dZ.shape != (A_prev.shape[0], C, n_H, n_W):
        raise ValueError(f"dZ has shape {dZ.shape} but the convolution of"
                         f" A_prev {A_prev.shape} by W {W.shape} gives"
                         f" {(A_prev.shape[0], C, n_H, n_W)}")
    # dW[c, c', p, q] = (1/m) sum over i, h, w of dZ[i, c, h, w] times
    # A_pad[i, c', hS + p, wS + q]: the input correlated with dZ
    dZ_rows = dZ.transpose(1, 0, 2, 3).reshape(C, -1)  # (C, m n_H n_W)
    cols = im2col(A_prev, k, stride, padding)  # (C_prev k k, m n_H n_W)
    dW = (dZ_rows @ cols.T).reshape(W.shape) / m
    db = dZ.sum(axis=(0, 2, 3)) / m
    # dZ spread out by the stride, then padded by k - 1: the full convolution
    spread = np.zeros((m, C, (n_H - 1) * stride + 1, (n_W - 1) * stride + 1),
                      dtype=dZ.dtype)
    spread[:, :, ::stride, ::stride] = dZ
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_prev, C, k, k)
    dA_pad = conv2d_forward(spread, flipped, np.zeros(W.shape[1], dZ.dtype),
                            padding=k - 1)
    # rows and columns that no window reached (stride leftovers) get 0
    height, width = (n + 2 * padding for n in A_prev.shape[2:])
    dA_pad = np.pad(dA_pad, ((0, 0), (0, 0),
                             (0, height - dA_pad.shape[2]),
                             (0, width - dA_pad.shape[3])))
    dA_prev = dA_pad[:, :, padding:padding + A_prev.shape[2],
                     padding:padding + A_prev.shape[3]]
    return dA_prev, dW, db


def maxpool_forward(A_prev, pool=2, stride=None):
    """The largest value of each pool x pool window: (m, C, n_H, n_W).

    A_prev: (m, C, n_H_prev, n_W_prev); stride defaults to pool (windows
    side by side); n_H = (n_H_prev - pool) // stride + 1.
    """
    stride = pool if stride is None else stride
    _check_pool(A_prev, pool, stride)
    return windows(A_prev, pool, stride).max(axis=(4, 5))


def maxpool_backward(dA, A_prev, pool=2, stride=None):
    """dA_prev: each window's gradient goes to the FIRST position of its
    maximum (row by row), the rest of the window gets 0.

    dA: (m, C, n_H, n_W), A_prev: (m, C, n_H_prev, n_W_prev) -> dA_prev like
    A_prev. Ties are common after ReLU (several zeros): sending the gradient
    to one position keeps the sum of dA_prev equal to the sum of dA, as the
    maximum's derivative does. Overlapping windows add up.
    """
    stride = pool if stride is None else stride
    _check_pool(A_prev, pool, stride)
    m, C, H, W = A_prev.shape
    patches = windows(A_prev, pool, stride)  # (m, C, n_H, n_W, pool, pool)
    n_H, n_W = patches.shape[2:4]
    if dA.shape != (m, C, n_H, n_W):
        raise ValueError(f"dA has shape {dA.shape} but pooling A_prev"
                         f" {A_prev.shape} gives {(m, C, n_H, n_W)}")
    first = patches.reshape(m, C, n_H, n_W, pool * pool).argmax(axis=4)
    row = np.arange(n_H)[:, None] * stride + first // pool  # (m, C, n_H, n_W)
    col = np.arange(n_W) * stride + first % pool
    flat = (np.arange(m * C).reshape(m, C, 1, 1) * H + row) * W + col
    dA_prev = np.bincount(flat.ravel(), weights=dA.ravel(),
                          minlength=m * C * H * W)
    return dA_prev.reshape(A_prev.shape).astype(dA.dtype, copy=False)


def _check_pool(A_prev, pool, stride):
    _check_images(A_prev, "A_prev")
    for value, name in ((pool, "pool"), (stride, "stride")):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if pool > min(A_prev.shape[2:]):
        raise ValueError(f"pool window of {pool} x {pool} is larger than the"
                         f" image of {A_prev.shape[2]} x {A_prev.shape[3]}"
                         f" (A_prev {A_prev.shape})")
