"""What the training loops of both engines share: shuffled mini-batches, the
history they return, the validation scores, the progress bar, and the error
raised when the loss or the parameters stop being finite.

``nnlib.training`` (the loops the book derives) and ``nnlib.fast`` (the
engine) both use it, so the two return the same history and fail the same way.
"""
import math

import numpy as np
from tqdm.auto import tqdm

from .checks import all_finite
from .losses import cross_entropy_from_logits, get_accuracy, get_predictions
from .network import forward_prop


class TrainingDiverged(RuntimeError):
    """The loss or the parameters became NaN or infinite.

    ``history`` holds what was recorded until then.
    """

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


def check_loss(loss, iteration, learning_rate, history, epoch=None):
    """Raise ``TrainingDiverged`` when ``loss`` is NaN or infinite.

    The error carries ``history``, as recorded so far.
    """
    if math.isfinite(loss):
        return
    raise TrainingDiverged(
        f"the loss became {loss} at {_step(iteration, epoch)} with "
        f"{_advice(learning_rate)}", history)


def check_last_update(params, X, y, iteration, learning_rate, history,
                      epoch=None, scores=None):
    """Raise ``TrainingDiverged`` when the last update broke the network.

    The loops check each step's loss before its update; this checks, once
    after the loop, what the last update left: parameters that hold NaN or
    inf, or finite ones so large that the loss on the last step's examples
    X: (n_0, B), y: (B,) is NaN or infinite (their outputs are NaN). The
    error carries ``history``. ``scores(params, X, y) -> (loss, accuracy)``
    computes that loss: ``validation_scores`` (a dense network) by default.
    """
    for key, value in params.items():
        if not all_finite(value):
            first = value[~np.isfinite(value)][0]
            raise TrainingDiverged(
                f"{key} holds {first} after the update of "
                f"{_step(iteration, epoch)} with {_advice(learning_rate)}",
                history)
    loss, _ = (scores or validation_scores)(params, X, y)
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"the loss became {loss} after the update of "
            f"{_step(iteration, epoch)} with {_advice(learning_rate)}",
            history)


def _step(iteration, epoch):
    """'iteration 7', or 'iteration 7 (epoch 2)' in mini-batch training."""
    return f"iteration {iteration}" + (
        f" (epoch {epoch})" if epoch is not None else "")


def _advice(learning_rate):
    """The end of a divergence message: what to try instead."""
    return (f"learning_rate={learning_rate}; the steps are too large: try a "
            f"smaller learning rate, such as {learning_rate / 10:g}")


def minibatches(m, batch_size, rng):
    """The columns of each mini-batch X^{t} of one epoch.

    A new shuffle of 0..m-1 from ``rng``, cut into arrays of ``batch_size``
    indices (the last one may be smaller).
    """
    order = rng.permutation(m)
    return [order[first:first + batch_size]
            for first in range(0, m, batch_size)]


def progress_bar(steps, description, unit, show):
    """A tqdm bar over 1..steps; off unless ``show``.

    A text bar in a terminal, a widget in Jupyter.
    """
    return tqdm(range(1, steps + 1), desc=description, unit=unit,
                disable=not show)


def record(history, **values):
    """Append each value to the list of that name in ``history``."""
    for key, value in values.items():
        history[key].append(value)


def report(bar, loss, callback, step, params, history):
    """Show the loss on the progress bar, then run the callback.

    The callback is called as ``callback(step, params, history)``.

    Returns True when the callback asks the loop to stop (it returned True);
    the bar is closed then, as at the end of a run.
    """
    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    stop = callback is not None and callback(step, params, history) is True
    if stop:
        bar.close()
    return stop


def gradient_descent_history(evaluate):
    """The empty history of ``gradient_descent``.

    Its docstring lists the keys.
    """
    history = {"iteration": [], "loss": [], "train_accuracy": [],
               "seconds": []}
    if evaluate:
        history.update(test_iteration=[], test_accuracy=[])
    return history


def train_history(validate):
    """The empty history of ``train`` (see its docstring for the keys)."""
    history = {"epoch": [], "learning_rate": [], "loss": [],
               "train_accuracy": [], "seconds": []}
    if validate:
        history.update(val_loss=[], val_accuracy=[])
    return history


def validation_scores(params, X, y):
    """``(loss, accuracy)`` of ``params`` on X: (n_0, m), y: (m,).

    The mean cross-entropy and the fraction of correct predictions, from one
    forward pass without dropout.
    """
    L = len(params) // 2
    activations = forward_prop(X, params)
    loss = cross_entropy_from_logits(activations[f"Z{L}"], y)
    return loss, get_accuracy(get_predictions(activations[f"A{L}"]), y)
