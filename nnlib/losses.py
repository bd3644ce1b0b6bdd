"""One-hot labels, the cross-entropy loss and accuracy (chapter "The loss").

Two forms of one loss: ``cross_entropy(Y, AL)`` reads like its equation, from
the probabilities; ``cross_entropy_from_logits(ZL, y)`` computes the same
number from the logits with the log-sum-exp identity, stays finite however
large the logits, and is the loss the training loops record.
``squared_error`` and ``squared_error_backward`` are the loss the chapter
compares it with, and its gradient through the softmax; nothing trains with
them by default.
"""
import numpy as np

from .checks import check_labels, check_positive_int


def one_hot(y, num_classes=10, dtype=np.float32):
    """Y = one_hot(y): Y[k, i] = 1 where k = y[i].

    y: (m,) int -> Y: (num_classes, m). The number of rows is given, never
    taken from ``y.max() + 1``: a batch without a 9 still needs ten rows to
    match the ten output units.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_labels(y, num_classes=num_classes)
    Y = np.zeros((num_classes, y.shape[0]), dtype=dtype)
    Y[y, np.arange(y.shape[0])] = 1
    return Y


def _check_same_shape(Y, AL):
    """Y and AL must have the same shape (n_L, m)."""
    if Y.shape != AL.shape:
        raise ValueError(f"Y has shape {Y.shape} but AL has shape "
                         f"{AL.shape}; they must match")


def cross_entropy(Y, AL):
    """Mean cross-entropy L = -(1/m) sum_i sum_k Y[k, i] log AL[k, i].

    Y: (n_L, m) one-hot, AL: (n_L, m) predicted probabilities -> a Python
    float. A probability that underflowed to exactly 0 is raised to the
    dtype's smallest normal number, so the loss stays finite (about 87 per
    example in float32) however extreme the logits.
    """
    _check_same_shape(Y, AL)
    tiny = np.finfo(AL.dtype).tiny
    m = AL.shape[1]
    # Only the entries where Y is 1 contribute; summing Y * log(...) keeps
    # the formula visible. Adding 0.0 turns the -0.0 of a perfect prediction
    # into 0.0.
    return float(-np.sum(Y * np.log(np.maximum(AL, tiny))) / m) + 0.0


def cross_entropy_from_logits(ZL, y):
    """Mean cross-entropy of softmax(Z_L) against the labels y, from logits.

    ZL: (n_L, m) logits, y: (m,) integer labels -> a Python float. With c_i
    the largest logit of column i,
    -log A_L[y_i, i] = log sum_k exp(Z_L[k, i] - c_i) - (Z_L[y_i, i] - c_i):
    every exponent is <= 0 and one of them is 0, so the sum lies in [1, n_L]
    and its log never overflows or meets log 0. Equal to
    ``cross_entropy(one_hot(y), softmax(ZL))`` wherever that is not floored,
    and finite as long as the differences of the logits are (up to about 3e38
    in float32).
    """
    check_labels(y, m=ZL.shape[1], num_classes=ZL.shape[0])
    # Z_L - c: (n_L, m), max 0 per column
    shifted = ZL - ZL.max(axis=0, keepdims=True)
    # log sum_k exp(Z_L - c) and Z_L[y_i, i] - c_i: both (m,)
    log_sum = np.log(np.exp(shifted).sum(axis=0))
    true_logit = shifted[y, np.arange(ZL.shape[1])]
    # float64 accumulator: a float32 sum of 60,000 losses would lose the
    # last digits
    return float(np.sum(log_sum - true_logit, dtype=np.float64)
                 / ZL.shape[1])


def squared_error(Y, AL):
    """Mean squared error L = (1/m) sum_i (1/2) sum_k (AL[k, i] - Y[k, i])^2.

    Y: (n_L, m) one-hot, AL: (n_L, m) predicted probabilities -> a Python
    float. The 1/2 makes the gradient with respect to AL simply AL - Y.
    The chapter "The loss" compares it with the cross-entropy.
    """
    _check_same_shape(Y, AL)
    return float(0.5 * np.sum((AL - Y) ** 2, dtype=np.float64)
                 / AL.shape[1])


def squared_error_backward(Y, AL):
    """dZ_L of the squared error through the softmax: the twin of AL - Y.

    Y: (n_L, m) one-hot, AL = softmax(Z_L): (n_L, m) -> dZ_L: (n_L, m).
    Column i is the gradient of example i's own loss with respect to its
    logits (m times the mean's, like A_L - Y for the cross-entropy), so
    linear_backward's 1/m turns it into dW_L and db_L of the mean:

        G = AL - Y                          gradient w.r.t. AL
        dZ_L = AL * (G - sum_k AL[k] G[k])  eq-dZ-squared

    which is G times the softmax's Jacobian diag(a) - a a^T, column by
    column.
    """
    _check_same_shape(Y, AL)
    G = AL - Y                                      # (n_L, m)
    # sum_k a_k G_k: one number per example, a (1, m) row
    return AL * (G - np.sum(AL * G, axis=0, keepdims=True))


def get_predictions(AL):
    """Predicted class of each column: argmax over the n_L units.

    AL: (n_L, m) -> (m,) int64.
    """
    return np.argmax(AL, axis=0)


def get_accuracy(predictions, y):
    """Fraction of the predictions that equal the labels, a float in [0, 1]."""
    if predictions.shape != y.shape:
        raise ValueError(f"predictions have shape {predictions.shape} but y "
                         f"has shape {y.shape}")
    return float(np.mean(predictions == y))


def confusion_matrix(y, predictions, num_classes=10):
    """Counts C[k, j] of examples with label k predicted as j.

    y, predictions: (m,) -> C: (K, K) int64, K = num_classes.
    """
    check_labels(y, num_classes=num_classes)
    check_labels(predictions, m=y.shape[0], num_classes=num_classes,
                 name="predictions")
    C = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(C, (y, predictions), 1)
    return C


def most_confident_mistakes(AL, y, k=10):
    """Indices of the k misclassified columns predicted most confidently.

    A column's confidence is its highest predicted probability. AL: (n_L, m)
    probabilities, y: (m,) labels -> (k',) int64 indices, most confident
    first (k' <= k when there are fewer mistakes).
    """
    check_labels(y, m=AL.shape[1], num_classes=AL.shape[0])
    predictions = get_predictions(AL)
    wrong = np.flatnonzero(predictions != y)
    confidence = AL[predictions[wrong], wrong]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]
