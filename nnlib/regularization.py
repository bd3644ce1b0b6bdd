"""Dropout and L2 weight decay (chapter "Regularisation").

Inverted dropout zeroes each hidden unit of each example with probability p
during training and scales the units it keeps by 1 / (1 - p), so that the
expected activation is unchanged and prediction needs no change at all. The
same mask D, zeros and 1 / (1 - p), multiplies the activations on the way
forward and their gradients on the way back.

Coupled L2 adds (λ/2) sum_l ||W_l||² to the loss, and so λ W_l to each dW_l;
biases are not decayed. With SGD that step shrinks every weight by a factor
(1 - α λ) before the gradient step; Adam divides the whole gradient, L2 term
included, by its running scale, so there L2 is not the same as AdamW's
decoupled decay.
"""
import numpy as np


def dropout_forward(A, p, rng):
    """Inverted dropout: A ⊙ D with D = 1[u >= p] / (1 - p), u in [0, 1).

    A: (n_l, m) hidden activations; p: the probability of dropping a unit;
    rng: a ``np.random.Generator``, which draws one number u per entry of A,
    uniform in [0, 1) and in A's dtype.
    Returns ``(A ⊙ D, D)``, both (n_l, m) in A's dtype.
    """
    D = ((rng.random(A.shape, dtype=A.dtype) >= p)
         * A.dtype.type(1 / (1 - p)))
    return A * D, D


def dropout_backward(dA, D):
    """The gradient through dropout: dA ⊙ D, the forward pass's mask.

    dA, D: (n_l, m).
    """
    return dA * D


def l2_gradient(W, weight_decay):
    """Gradient of (λ/2) ||W||² with respect to W: λ W, the shape of W."""
    return weight_decay * W
