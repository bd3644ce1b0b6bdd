"""Activation functions g and their derivatives (chapter "Forward
propagation").

All functions work column-wise on a matrix Z of shape (n_l, m) and keep its
dtype.
"""
import numpy as np


def relu(Z):
    """ReLU, g(Z) = max(Z, 0) element-wise.

    Z: (n_l, m) -> A: (n_l, m), same dtype.
    """
    return np.maximum(Z, 0)


def relu_backward(dA, Z):
    """dZ = dA ⊙ g'(Z) for ReLU, where g'(Z) = 1 if Z > 0 else 0.

    dA, Z: (n_l, m) -> dZ: (n_l, m). The derivative at exactly 0 is taken as 0.
    """
    return dA * (Z > 0)


def softmax(Z):
    """Softmax of each column: A_k = exp(Z_k) / sum_j exp(Z_j).

    Z: (n_L, m) -> A: (n_L, m). Subtracting the column maximum first leaves the
    result unchanged (it cancels in the ratio) but keeps every exponent <= 0,
    so exp never overflows, whatever the logits.
    """
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
