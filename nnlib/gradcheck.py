"""Gradient checking by central differences (chapter "Gradient checking")."""
import numpy as np

from .checks import check_labels, check_params, check_X
from .losses import cross_entropy, one_hot
from .network import back_prop as nnlib_back_prop
from .network import forward_prop


def loss_of(params, X, y):
    """The mean cross-entropy of the network ``params`` on (X, y).

    It is the function we differentiate.
    """
    AL = forward_prop(X, params)[f"A{len(params) // 2}"]
    return cross_entropy(one_hot(y, AL.shape[0], dtype=AL.dtype), AL)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    The quotient is taken for every entry i of x. ``x`` is changed in place
    while probing and restored exactly afterwards; the error of the estimate
    shrinks like eps**2.
    """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        f_plus = f()
        x[i] = saved - eps
        f_minus = f()
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(g, g_num):
    """||g - g_num|| / (||g|| + ||g_num||).

    About 1e-7 or less when a gradient is right.
    """
    denominator = np.linalg.norm(g) + np.linalg.norm(g_num)
    return (0.0 if denominator == 0
            else float(np.linalg.norm(g - g_num) / denominator))


def gradient_errors(params, X, y, eps=1e-6, back_prop=nnlib_back_prop):
    """Relative error of ``back_prop``'s gradient for each parameter array.

    Computed in float64. Returns a dict ``{"W1": error, "b1": error, ...}``.
    ``back_prop`` can be another implementation with the same signature (for
    example ``nnlib.article.back_prop``); a gradient it returns with a smaller
    shape (such as one scalar for a whole bias vector) is broadcast to the
    parameter's shape before comparing.
    """
    dims = check_params(params)
    check_X(X, dims[0])
    check_labels(y, m=X.shape[1], num_classes=dims[-1])
    params64 = {key: value.astype(np.float64)
                for key, value in params.items()}
    X64 = X.astype(np.float64)
    grads = back_prop(forward_prop(X64, params64), params64, y)
    errors = {}
    for key, value in params64.items():
        g = np.broadcast_to(np.asarray(grads[f"d{key}"], dtype=np.float64),
                            value.shape)
        g_num = numerical_gradient(lambda: loss_of(params64, X64, y),
                                   value, eps)
        errors[key] = relative_error(g, g_num)
    return errors


def gradient_check(params, X, y, eps=1e-6, back_prop=nnlib_back_prop):
    """The largest relative error over all parameter arrays.

    See :func:`gradient_errors`. params: dict W1, b1, ...; X: (n_0, m);
    y: (m,) integer labels. Everything is converted to float64 first, because
    float32's rounding (about 1e-7) would swamp the differences.
    """
    return max(gradient_errors(params, X, y, eps, back_prop).values())
