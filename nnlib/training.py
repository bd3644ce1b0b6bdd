"""Training loops (chapters "Training" and "Faster training").

``gradient_descent`` is the article's full-batch loop; ``train`` is the mini-batch loop with
the optimisers of ``nnlib.optimizers``, L2 weight decay and dropout. Both compute each step's
loss, accuracy and gradients with ``nnlib.workspace.Workspace``: the same numbers as
``forward_prop`` followed by ``back_prop``, on preallocated buffers and two cores. This module
adds the loops, the history and the progress bars; nothing in the maths imports it.
"""
import math
import time
from numbers import Real

import numpy as np
from tqdm.auto import tqdm

from .checks import check_labels, check_layer_dims, check_learning_rate, check_positive_int, check_X
from .losses import get_accuracy, get_predictions
from .network import forward_prop
from .optimizers import OPTIMIZERS, make_optimizer
from .params import init_params
from .workspace import Workspace, flatten_params


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. ``history`` holds what was recorded until then."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


def predict(X, params):
    """Predicted class of each column of X: (n_0, m) -> (m,) int64."""
    return get_predictions(forward_prop(X, params)[f"A{len(params) // 2}"])


def check_training_data(X, y, layer_dims, name="X"):
    """Validate a training or evaluation pair against the network's first and last layer sizes."""
    check_X(X, layer_dims[0], name=name)
    check_labels(y, m=X.shape[1], num_classes=layer_dims[-1], name="y" if name == "X" else f"y{name[1:]}")


def check_pair(X, y, layer_dims, name):
    """Validate an optional evaluation pair (both given, or neither); True when given."""
    if (X is None) != (y is None):
        raise ValueError(f"give both {name} and y{name[1:]}, or neither")
    if X is not None:
        check_training_data(X, y, layer_dims, name=name)
    return X is not None


def diverged(iteration, learning_rate, loss, history, epoch=None):
    """The error to raise when the loss stops being finite."""
    where = f"iteration {iteration}" + (f" (epoch {epoch})" if epoch is not None else "")
    return TrainingDiverged(
        f"the loss became {loss} at {where} with learning_rate={learning_rate}; "
        f"the steps are too large: try a smaller learning rate, such as {learning_rate / 10:g}",
        history)


def gradient_descent(X, y, layer_dims, learning_rate=0.1, iterations=1000, *, init="he", seed=0,
                     X_test=None, y_test=None, eval_every=0, progress=True, callback=None, threads=None):
    """Full-batch gradient descent, the article's training loop.

    X: (n_0, m) float32 or float64 (the parameters take X's dtype); y: (m,) integer labels;
    layer_dims: [n_0, n_1, ..., n_L]. Each iteration runs the forward pass on all m examples,
    back-propagates, then W_l <- W_l - α dW_l and b_l <- b_l - α db_l.

    Returns ``(params, history)``. ``history`` holds equal-length lists ``iteration``,
    ``loss`` and ``train_accuracy``, measured on the training data from each iteration's
    forward pass, so *before* that iteration's update (the final parameters are one step
    further on), and ``seconds``, the cumulative training time after each iteration
    (test evaluation excluded). With ``X_test, y_test`` and ``eval_every=k > 0`` it also holds
    ``test_iteration`` and ``test_accuracy``: the accuracy of the parameters after the
    update of every k-th iteration (and after the last one).

    The forward and backward passes run in ``nnlib.workspace``: the numbers of
    ``forward_prop`` and ``back_prop``, computed in chunks of examples on two cores
    (``threads=1``: all in the calling thread, with the same bits. The explorer widget uses
    it: from its background thread in JupyterLab, a step in two threads took 12 times longer.)

    ``callback(iteration, params, history)``, when given, runs after each iteration (and its
    test evaluation), outside the timed part; when it returns True, training stops there and
    the function returns as after the last iteration (the explorer's live plot and Stop).

    Raises ``TrainingDiverged`` when the loss becomes NaN or infinite.
    """
    dims = check_layer_dims(layer_dims)
    learning_rate = check_learning_rate(learning_rate)
    iterations = check_positive_int(iterations, "iterations")
    eval_every = check_positive_int(eval_every, "eval_every", minimum=0)
    check_training_data(X, y, dims)
    evaluate = check_pair(X_test, y_test, dims, "X_test") and eval_every > 0

    params = init_params(dims, seed=seed, method=init, dtype=X.dtype)
    history = {"iteration": [], "loss": [], "train_accuracy": [], "seconds": []}
    if evaluate:
        history.update(test_iteration=[], test_accuracy=[])
    bar = tqdm(range(1, iterations + 1), desc="gradient descent", unit="it", disable=not progress)
    start = time.perf_counter()
    # forward_prop + back_prop on all m examples, computed chunk by chunk on two cores
    with Workspace(X, y, dims, threads=threads) as workspace:
        seconds = time.perf_counter() - start
        for iteration in bar:
            start = time.perf_counter()
            loss, accuracy, grads = workspace.gradients(params)
            history["iteration"].append(iteration)
            history["loss"].append(loss)
            history["train_accuracy"].append(accuracy)
            if not math.isfinite(loss):
                history["seconds"].append(seconds + time.perf_counter() - start)
                raise diverged(iteration, learning_rate, loss, history)
            for key, value in params.items():
                value -= learning_rate * grads[f"d{key}"]  # in place: no new arrays per step
            seconds += time.perf_counter() - start
            history["seconds"].append(seconds)
            if evaluate and (iteration % eval_every == 0 or iteration == iterations):
                history["test_iteration"].append(iteration)
                history["test_accuracy"].append(get_accuracy(predict(X_test, params), y_test))
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            if callback is not None and callback(iteration, params, history):
                bar.close()
                break
    return params, history


def check_fraction(value, name):
    """Return ``value`` as a float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_weight_decay(value):
    """Return ``value`` as a float >= 0, finite."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {value!r}")
    return float(value)


def train(X, y, layer_dims, *, epochs=10, batch_size=128, optimizer="adam", learning_rate=None,
          weight_decay=0.0, dropout=0.0, init="he", seed=0, X_val=None, y_val=None, progress=True,
          callback=None):
    """Mini-batch training with SGD, momentum or Adam, L2 weight decay and dropout.

    X: (n_0, m) float32 or float64; y: (m,) integer labels; layer_dims: [n_0, ..., n_L].
    Each epoch shuffles the m examples (seeded) and cuts them into mini-batches X^{t} of
    ``batch_size`` columns (the last one may be smaller); each mini-batch takes one step of
    ``optimizer`` ("sgd", "momentum" or "adam"; see nnlib.optimizers) on the gradient of
    its mean cross-entropy plus (weight_decay / 2) sum_l ||W_l||² (L2; biases are not decayed).
    ``learning_rate=None`` takes the optimiser's default (SGD and momentum 0.1, Adam 0.001).
    ``dropout`` is the probability of zeroing each hidden unit during training (inverted
    dropout: kept units are scaled by 1 / (1 - dropout), so nothing changes at prediction).

    Returns ``(params, history)``; history holds one entry per epoch in equal-length lists:
    ``epoch``; ``loss``, the mean cross-entropy over the epoch's examples, each taken from
    its mini-batch's forward pass (before that batch's step, with dropout, without the L2
    term); ``train_accuracy``, the fraction of the epoch's examples classified correctly by
    that same forward pass; ``val_accuracy`` after the epoch (when ``X_val, y_val`` are given);
    ``seconds``, the cumulative training time (validation excluded).

    ``callback(epoch, params, history)``, when given, runs after each epoch, outside the timed
    part: a live plot or a benchmark can use it (params are the arrays being trained).

    Raises ``TrainingDiverged`` (with the history of the finished epochs) when a mini-batch's
    loss becomes NaN or infinite.
    """
    dims = check_layer_dims(layer_dims)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}; got {optimizer!r}")
    if learning_rate is None:
        learning_rate = OPTIMIZERS[optimizer].default_learning_rate
    learning_rate = check_learning_rate(learning_rate)
    weight_decay = check_weight_decay(weight_decay)
    dropout = check_fraction(dropout, "dropout")
    check_training_data(X, y, dims)
    validate = check_pair(X_val, y_val, dims, "X_val")

    rng = np.random.default_rng(seed)
    m = X.shape[1]
    history = {"epoch": [], "loss": [], "train_accuracy": [], "seconds": []}
    if validate:
        history["val_accuracy"] = []
    bar = tqdm(range(1, epochs + 1), desc=f"{optimizer}, {m} examples", unit="epoch",
               disable=not progress)
    seconds, iteration = 0.0, 0
    # forward_prop + back_prop + the optimiser's step, on two cores (see nnlib.workspace)
    with Workspace(X, y, dims, batch_size=batch_size, seed=seed) as workspace:
        # all W_l and b_l in one vector, in memory a worker process can share
        vector, params = flatten_params(init_params(dims, seed=seed, method=init, dtype=X.dtype),
                                        shared=workspace.processes)
        # one optimiser per core, each on its part of that vector
        optimizers = [make_optimizer(optimizer, [part], learning_rate) for part in workspace.split(vector)]
        for epoch in bar:
            start = time.perf_counter()
            order = rng.permutation(m)  # a new shuffle every epoch
            loss_sum = correct = 0.0
            for first in range(0, m, batch_size):
                batch = order[first:first + batch_size]  # the examples of mini-batch X^{t}
                loss, accuracy = workspace.train_step(params, batch, optimizers, dropout, weight_decay)
                iteration += 1
                if not math.isfinite(loss):
                    raise diverged(iteration, learning_rate, loss, history, epoch=epoch)
                loss_sum += loss * len(batch)
                correct += round(accuracy * len(batch))
            seconds += time.perf_counter() - start
            history["epoch"].append(epoch)
            history["loss"].append(loss_sum / m)
            history["train_accuracy"].append(correct / m)
            history["seconds"].append(seconds)
            if validate:
                history["val_accuracy"].append(get_accuracy(predict(X_val, params), y_val))
            bar.set_postfix(loss=f"{loss_sum / m:.4f}", refresh=False)
            if callback is not None:
                callback(epoch, params, history)
    return params, history
