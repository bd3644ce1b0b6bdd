"""Forward propagation, backpropagation and the gradient-descent update
(chapters "Forward propagation" and "Backpropagation").

Shapes, for layer l = 1..L with n_l units and a batch of m examples (one per
column): W_l: (n_l, n_{l-1}), b_l: (n_l, 1), Z_l and A_l: (n_l, m),
A_0 = X: (n_0, m). The comments name the equations of chapter
"Backpropagation" (eq-dZL, eq-dW, ...).
"""
from .activations import relu, relu_backward, softmax
from .checks import (check_dropout, check_labels, check_learning_rate,
                     check_params, check_X)
from .losses import get_predictions, one_hot
from .regularization import dropout_backward, dropout_forward


def linear_forward(W, A_prev, b):
    """Z_l = W_l A_{l-1} + b_l.

    W: (n_l, n_{l-1}), A_prev: (n_{l-1}, m), b: (n_l, 1) -> Z: (n_l, m).
    The bias column b_l is broadcast over the m columns: every example gets
    the same bias.
    """
    return W @ A_prev + b


def forward_prop(X, params, dropout=0.0, rng=None):
    """Z_l = W_l A_{l-1} + b_l and A_l = g_l(Z_l) for l = 1..L.

    X: (n_0, m) -> dict with keys "A0", "Z1", "A1", ..., f"Z{L}", f"A{L}"; g
    is ReLU in the hidden layers and softmax in the last, so each column of
    A_L sums to 1. The bias b_l: (n_l, 1) is broadcast over the m columns.

    ``dropout=p > 0`` (training only, chapter "Regularisation") passes each
    hidden A_l through :func:`~nnlib.regularization.dropout_forward` with
    masks drawn from ``rng``, a ``np.random.Generator``, and keeps each mask
    as f"D{l}" for :func:`back_prop`.
    """
    dims = check_params(params)
    check_X(X, dims[0])
    dropout = check_dropout(dropout, rng)
    L = len(dims) - 1
    activations = {"A0": X}
    A = X
    for l in range(1, L + 1):
        Z = linear_forward(params[f"W{l}"], A, params[f"b{l}"])
        A = softmax(Z) if l == L else relu(Z)
        if dropout and l < L:
            A, activations[f"D{l}"] = dropout_forward(A, dropout, rng)
        activations[f"Z{l}"] = Z
        activations[f"A{l}"] = A
    return activations


def predict(X, params):
    """Predicted class of each column of X, the argmax of A_L.

    X: (n_0, m) -> (m,) int64.
    """
    return get_predictions(forward_prop(X, params)[f"A{len(params) // 2}"])


def bias_gradient(dZ):
    """db_l = (1/m) sum over the m columns of dZ_l, one value per unit.

    dZ: (n_l, m) -> db: (n_l, 1). Summing over all entries instead (one
    scalar for the whole layer) is the article's bug.
    """
    return dZ.sum(axis=1, keepdims=True) / dZ.shape[1]


def linear_backward(dZ, A_prev, W):
    """The gradients of layer l from dZ_l, the twin of :func:`linear_forward`.

    dZ: (n_l, m), A_prev: (n_{l-1}, m), W: (n_l, n_{l-1}).
    Returns ``(dA_prev, dW, db)``:

        dW_l = (1/m) dZ_l A_{l-1}^T    (n_l, n_{l-1})   eq-dW
        db_l = bias_gradient(dZ_l)     (n_l, 1)         eq-db
        dA_{l-1} = W_l^T dZ_l          (n_{l-1}, m)     eq-dA

    ``W=None`` skips dA_{l-1} (returns None for it): layer 1's would be the
    gradient with respect to the pixels, which nothing learns from.
    """
    dW = dZ @ A_prev.T / dZ.shape[1]
    dA_prev = None if W is None else W.T @ dZ
    return dA_prev, dW, bias_gradient(dZ)


def back_prop(activations, params, y):
    """Gradients of the mean cross-entropy with respect to every W_l and b_l.

    activations: the dict from :func:`forward_prop`; y: (m,) integer labels.
    Returns a dict with dW_l: (n_l, n_{l-1}) and db_l: (n_l, 1) for l = 1..L.
    """
    dims = check_params(params)
    L = len(dims) - 1
    AL = activations[f"A{L}"]
    check_labels(y, m=AL.shape[1], num_classes=dims[-1])
    grads = {}
    dZ = AL - one_hot(y, dims[-1], dtype=AL.dtype)     # eq-dZL: (n_L, m)
    for l in range(L, 0, -1):
        W = params[f"W{l}"] if l > 1 else None         # no dA_0 (the pixels)
        # eq-dW, eq-db, eq-dA
        dA_prev, grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(
            dZ, activations[f"A{l - 1}"], W)
        if l > 1:
            if f"D{l - 1}" in activations:             # dropout's mask
                dA_prev = dropout_backward(dA_prev, activations[f"D{l - 1}"])
            # eq-dZ: (n_{l-1}, m)
            dZ = relu_backward(dA_prev, activations[f"Z{l - 1}"])
    return grads


def update_params(params, grads, learning_rate):
    """One gradient-descent step: W_l <- W_l - α dW_l, b_l <- b_l - α db_l.

    Returns a new dict; ``params`` is left unchanged.
    """
    learning_rate = check_learning_rate(learning_rate)
    return {key: value - learning_rate * grads[f"d{key}"]
            for key, value in params.items()}
