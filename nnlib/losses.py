"""One-hot labels, the cross-entropy loss and accuracy (chapter "The loss")."""
import numpy as np

from .checks import check_labels, check_positive_int


def one_hot(y, num_classes=10, dtype=np.float32):
    """Y = one_hot(y): Y[k, i] = 1 where k = y[i]. y: (m,) int -> Y: (num_classes, m).

    The number of rows is given, never taken from ``y.max() + 1``: a batch without a 9
    still needs ten rows to match the ten output units.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    check_labels(y, num_classes=num_classes)
    Y = np.zeros((num_classes, y.shape[0]), dtype=dtype)
    Y[y, np.arange(y.shape[0])] = 1
    return Y


def cross_entropy(Y, AL):
    """Mean cross-entropy L = -(1/m) sum_i sum_k Y[k, i] log AL[k, i], a Python float.

    Y: (n_L, m) one-hot, AL: (n_L, m) predicted probabilities. A probability that
    underflowed to exactly 0 is raised to the dtype's smallest normal number, so the loss
    stays finite (about 87 per example in float32) however extreme the logits.
    """
    if Y.shape != AL.shape:
        raise ValueError(f"Y has shape {Y.shape} but AL has shape {AL.shape}; they must match")
    tiny = np.finfo(AL.dtype).tiny
    m = AL.shape[1]
    # Only the entries where Y is 1 contribute; summing Y * log(...) keeps the formula visible.
    # Adding 0.0 turns the -0.0 of a perfect prediction into 0.0.
    return float(-np.sum(Y * np.log(np.maximum(AL, tiny))) / m) + 0.0


def get_predictions(AL):
    """Predicted class of each column: argmax over the n_L units. AL: (n_L, m) -> (m,) int64."""
    return np.argmax(AL, axis=0)


def get_accuracy(predictions, y):
    """Fraction of examples where the prediction equals the label, a float in [0, 1]."""
    if predictions.shape != y.shape:
        raise ValueError(f"predictions have shape {predictions.shape} but y has shape {y.shape}")
    return float(np.mean(predictions == y))


def confusion_matrix(y, predictions, num_classes=10):
    """Counts C[k, j] of examples with label k predicted as j. y, predictions: (m,) -> (K, K) int64."""
    check_labels(y, num_classes=num_classes)
    check_labels(predictions, m=y.shape[0], num_classes=num_classes, name="predictions")
    C = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(C, (y, predictions), 1)
    return C


def most_confident_mistakes(AL, y, k=10):
    """Indices of the k wrongly classified columns with the highest predicted probability.

    AL: (n_L, m) probabilities, y: (m,) labels -> (k',) int64 indices, most confident first
    (k' <= k when there are fewer mistakes).
    """
    check_labels(y, m=AL.shape[1], num_classes=AL.shape[0])
    predictions = get_predictions(AL)
    wrong = np.flatnonzero(predictions != y)
    confidence = AL[predictions[wrong], wrong]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]
