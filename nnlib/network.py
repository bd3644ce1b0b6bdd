"""Forward propagation, backpropagation and the gradient-descent update (chapters
"Forward propagation" and "Backpropagation").

Shapes, for layer l = 1..L with n_l units and a batch of m examples (one per column):
W_l: (n_l, n_{l-1}), b_l: (n_l, 1), Z_l and A_l: (n_l, m), A_0 = X: (n_0, m).
"""
from .activations import relu, relu_backward, softmax
from .checks import check_labels, check_learning_rate, check_params, check_X
from .losses import one_hot


def linear_forward(W, A_prev, b):
    """Z_l = W_l A_{l-1} + b_l. W: (n_l, n_{l-1}), A_prev: (n_{l-1}, m), b: (n_l, 1) -> Z: (n_l, m).

    The bias column b_l is broadcast over the m columns: every example gets the same bias.
    """
    return W @ A_prev + b


def forward_prop(X, params):
    """Z_l = W_l A_{l-1} + b_l and A_l = g_l(Z_l) for l = 1..L.

    X: (n_0, m) -> dict with keys "A0", "Z1", "A1", ..., f"Z{L}", f"A{L}"; g is ReLU in
    the hidden layers and softmax in the last, so each column of A_L sums to 1.
    The bias b_l: (n_l, 1) is broadcast over the m columns.
    """
    dims = check_params(params)
    check_X(X, dims[0])
    L = len(dims) - 1
    activations = {"A0": X}
    A = X
    for l in range(1, L + 1):
        Z = linear_forward(params[f"W{l}"], A, params[f"b{l}"])
        A = softmax(Z) if l == L else relu(Z)
        activations[f"Z{l}"] = Z
        activations[f"A{l}"] = A
    return activations


def bias_gradient(dZ):
    """db_l = (1/m) sum over the m columns of dZ_l: (n_l, m) -> (n_l, 1), one value per unit.

    Summing over all entries instead (one scalar for the whole layer) is the article's bug.
    """
    return dZ.sum(axis=1, keepdims=True) / dZ.shape[1]


def layer_gradients(dZ, A_prev):
    """dW_l = (1/m) dZ_l A_{l-1}^T: (n_l, n_{l-1}) and db_l: (n_l, 1), one value per unit.

    dZ: (n_l, m), A_prev: (n_{l-1}, m); db_l comes from :func:`bias_gradient`.
    """
    dW = dZ @ A_prev.T / dZ.shape[1]
    return dW, bias_gradient(dZ)


def back_prop(activations, params, y):
    """Gradients of the mean cross-entropy with respect to every W_l and b_l.

    activations: the dict from :func:`forward_prop`; y: (m,) integer labels.
    Returns a dict with dW_l: (n_l, n_{l-1}) and db_l: (n_l, 1) for l = 1..L:

        dZ_L = A_L - Y                                (n_L, m)
        dW_l = (1/m) dZ_l A_{l-1}^T                   (n_l, n_{l-1})
        db_l = (1/m) sum over the m columns of dZ_l   (n_l, 1): one value per unit
        dA_{l-1} = W_l^T dZ_l                         (n_{l-1}, m)
        dZ_{l-1} = dA_{l-1} ⊙ g'(Z_{l-1})             (n_{l-1}, m)
    """
    dims = check_params(params)
    L = len(dims) - 1
    AL = activations[f"A{L}"]
    m = AL.shape[1]
    check_labels(y, m=m, num_classes=dims[-1])
    grads = {}
    dZ = AL - one_hot(y, dims[-1], dtype=AL.dtype)
    for l in range(L, 0, -1):
        grads[f"dW{l}"], grads[f"db{l}"] = layer_gradients(dZ, activations[f"A{l - 1}"])
        if l > 1:
            dZ = relu_backward(params[f"W{l}"].T @ dZ, activations[f"Z{l - 1}"])
    return grads


def update_params(params, grads, learning_rate):
    """One gradient-descent step: W_l <- W_l - α dW_l and b_l <- b_l - α db_l.

    Returns a new dict; ``params`` is left unchanged.
    """
    learning_rate = check_learning_rate(learning_rate)
    return {key: value - learning_rate * grads[f"d{key}"] for key, value in params.items()}
