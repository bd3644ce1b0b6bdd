"""Training loops (chapters "Training" and "Faster training").

``gradient_descent`` is the article's full-batch loop; ``train`` is the
mini-batch loop with the optimisers of ``nnlib.optimizers``, weight decay,
dropout, learning-rate schedules and early stopping. Each step is the book's
functions, in the order the chapters derive them: ``forward_prop``, the loss
``cross_entropy_from_logits``, ``back_prop``, then ``update_params`` or the
optimiser's step.

``train`` also trains the convolutional networks of ``nnlib.cnn``: the same
loop calls the network's functions through a small object, ``DenseNetwork``
for layer sizes (the functions of ``nnlib.network``) or ``cnn.Network`` for
a list of layers, which take the same arguments.

``engine="fast"`` hands the whole run to ``nnlib.fast``, which computes the
same maths on preallocated buffers and two cores (chapter "Making it fast"),
with other rounding; those are the first lines of each loop, and the rest of
the source below is exactly what runs by default.
"""
import math
import time

import numpy as np

from . import cnn
from .checks import check_choice, check_gradient_descent, check_train
from .history import (TrainingDiverged, check_loss, check_last_update,
                      gradient_descent_history, minibatches, progress_bar,
                      record, report, train_history, validation_scores)
from .losses import (cross_entropy_from_logits, get_accuracy,
                     get_predictions)
from .network import back_prop, forward_prop, predict, update_params
from .optimizers import make_optimizer, scheduled_learning_rate
from .params import init_params
from .regularization import l2_gradient

ENGINES = ("plain", "fast")

__all__ = ["ENGINES", "DenseNetwork", "TrainingDiverged",
           "gradient_descent", "predict", "train"]


def _fast(engine, layer_dims=None):
    """True when ``engine`` is "fast"; nnlib.fast is imported only then.

    The fast engine trains dense networks only: ValueError for a CNN.
    """
    fast = check_choice(engine, ENGINES, "engine") == "fast"
    if fast and cnn.is_layer_list(layer_dims):
        raise ValueError("engine='fast' trains dense networks only; a CNN"
                         " trains with engine='plain'")
    return fast


class DenseNetwork:
    """What ``train`` calls on a dense network of layer sizes ``layer_dims``
    [n_0, ..., n_L]: the functions of nnlib.network, examples as columns.
    nnlib.cnn.Network has the same methods for a CNN.
    """

    def __init__(self, layer_dims):
        self.layer_dims = layer_dims

    def init_params(self, seed, method, dtype):
        """W1, b1, ..., WL, bL drawn by ``init_params`` of nnlib.params."""
        return init_params(self.layer_dims, seed=seed, method=method,
                           dtype=dtype)

    def batch(self, X, batch):
        """The columns ``batch`` of X: (n_0, B)."""
        return X[:, batch]

    def forward_prop(self, X, params, dropout, rng):
        """The forward pass of chapter "Forward propagation", dropout p."""
        return forward_prop(X, params, dropout, rng)

    def back_prop(self, activations, params, y):
        """The gradients of chapter "Backpropagation"."""
        return back_prop(activations, params, y)

    def scores(self, params, X, y):
        """``(loss, accuracy)`` on X, y: ``validation_scores``."""
        return validation_scores(params, X, y)


def gradient_descent(X, y, layer_dims, learning_rate=0.1, iterations=1000, *,
                     init="he", seed=0, X_test=None, y_test=None,
                     eval_every=0, progress=True, callback=None,
                     engine="plain"):
    """Full-batch gradient descent, the article's training loop.

    X: (n_0, m) float32 or float64 (the parameters take X's dtype); y: (m,)
    integer labels; layer_dims: [n_0, n_1, ..., n_L]. Each iteration runs the
    forward pass on all m examples, back-propagates, then W_l <- W_l - α dW_l
    and b_l <- b_l - α db_l.

    Returns ``(params, history)``. ``history`` holds equal-length lists
    ``iteration``, ``loss`` and ``train_accuracy``, measured on the training
    data from each iteration's forward pass, so *before* that iteration's
    update (the final parameters are one step further on), and ``seconds``, the
    cumulative training time after each iteration (test evaluation excluded).
    With ``X_test, y_test`` and ``eval_every=k > 0`` it also holds
    ``test_iteration`` and ``test_accuracy``: the accuracy of the parameters
    after the update of every k-th iteration (and after the last one).

    ``callback(iteration, params, history)``, when given, runs after each
    iteration (and its test evaluation), outside the timed part; when it
    returns True, training stops there and the function returns as after the
    last iteration (the explorer's live plot and Stop).

    ``engine="fast"`` runs ``nnlib.fast.gradient_descent``: the same maths,
    faster, with other rounding. Raises ``TrainingDiverged`` when the loss
    becomes NaN or infinite (checked before each update and after the last).
    """
    if _fast(engine):
        from . import fast
        return fast.gradient_descent(X, y, layer_dims, learning_rate,
                                     iterations, init=init, seed=seed,
                                     X_test=X_test, y_test=y_test,
                                     eval_every=eval_every, progress=progress,
                                     callback=callback)
    dims, learning_rate, iterations, eval_every, evaluate = (
        check_gradient_descent(X, y, layer_dims, learning_rate, iterations,
                               eval_every, X_test, y_test, seed))
    L = len(dims) - 1
    params = init_params(dims, seed=seed, method=init, dtype=X.dtype)
    history = gradient_descent_history(evaluate)
    seconds = 0.0
    bar = progress_bar(iterations, "gradient descent", "it", progress)
    for iteration in bar:
        start = time.perf_counter()
        activations = forward_prop(X, params)
        loss = cross_entropy_from_logits(activations[f"Z{L}"], y)
        accuracy = get_accuracy(get_predictions(activations[f"A{L}"]), y)
        # seconds: completed below, once the step is done
        record(history, iteration=iteration, loss=loss,
               train_accuracy=accuracy,
               seconds=seconds + time.perf_counter() - start)
        check_loss(loss, iteration, learning_rate, history)
        grads = back_prop(activations, params, y)
        params = update_params(params, grads, learning_rate)
        seconds += time.perf_counter() - start
        history["seconds"][-1] = seconds
        if evaluate and (iteration % eval_every == 0
                         or iteration == iterations):
            record(history, test_iteration=iteration,
                   test_accuracy=get_accuracy(predict(X_test, params),
                                              y_test))
        if report(bar, loss, callback, iteration, params, history):
            break
    check_last_update(params, X, y, iteration, learning_rate, history)
    return params, history


def train(X, y, layer_dims, *, epochs=10, batch_size=128, optimizer="adam",
          learning_rate=None, weight_decay=0.0, dropout=0.0, schedule=None,
          patience=None, init="he", seed=0, X_val=None, y_val=None,
          progress=True, callback=None, engine="plain"):
    """Mini-batch training: optimisers, regularisation, schedules, stopping.

    X: (n_0, m) float32 or float64; y: (m,) integer labels;
    layer_dims: [n_0, ..., n_L]. Each epoch shuffles the m examples (seeded)
    and cuts them into mini-batches X^{t} of ``batch_size`` columns B (the
    last one may be smaller); each mini-batch takes one step of
    ``optimizer`` ("sgd", "momentum", "adam" or "adamw"; see
    nnlib.optimizers) on the gradient of its mean cross-entropy.
    ``weight_decay`` λ is coupled L2 for "sgd", "momentum" and "adam": the
    loss gains (λ/2) sum_l ||W_l||², so λ W_l is added to dW_l before the
    optimiser sees it; for "adamw" it is AdamW's decoupled decay,
    W_l <- W_l - α (v̂ / (sqrt(ŝ) + ε) + λ W_l), and dW_l is left alone.
    Biases are never decayed.
    ``learning_rate=None`` takes the optimiser's default (SGD and momentum
    0.1, Adam and AdamW 0.001); ``schedule`` (None, "step" or "cosine")
    changes it from epoch to epoch, as ``scheduled_learning_rate`` of
    nnlib.optimizers says. ``dropout`` is the probability p of zeroing each
    hidden unit during training (inverted dropout: kept units are scaled by
    1 / (1 - p), so nothing changes at prediction). ``seed`` seeds the
    initialisation, the shuffles and the dropout masks.

    ``patience=k`` stops early: once k epochs in a row bring no new lowest
    validation loss (it needs ``X_val, y_val``), training stops, and the
    parameters returned are copies of those of the epoch with the lowest
    validation loss, not the last ones.

    Returns ``(params, history)``; history holds one entry per epoch run in
    equal-length lists: ``epoch`` (1, 2, ...); ``learning_rate``, the
    epoch's α; ``loss``, the mean cross-entropy over the epoch's examples,
    each taken from its mini-batch's forward pass (before that batch's step,
    with dropout, without the L2 term); ``train_accuracy``, the fraction of
    the epoch's examples classified correctly by that same forward pass;
    ``seconds``, the cumulative training time (validation excluded); with
    ``X_val, y_val``, ``val_loss`` (mean cross-entropy) and
    ``val_accuracy`` of the parameters after the epoch. With ``patience``,
    ``history["best_epoch"]`` (an int, not a list) is the epoch whose
    parameters are returned (0, the initial ones, if no epoch had a finite
    validation loss).

    ``callback(epoch, params, history)``, when given, runs after each epoch,
    outside the timed part (params are the arrays being trained); when it
    returns True, training stops there.

    ``engine="fast"`` runs ``nnlib.fast.train``: the same maths, the same
    shuffles and masks, faster, with other rounding. Raises
    ``TrainingDiverged`` (with the history of the finished epochs) when a
    mini-batch's loss becomes NaN or infinite (checked before each step and
    after the last).

    ``layer_dims`` may also be a list of layers of ``nnlib.cnn``, a
    convolutional network, with images X: (m, C, n_H, n_W): the same loop
    then calls the functions of ``cnn.Network`` (``dropout`` must be 0, and
    the engine "plain").
    """
    if _fast(engine, layer_dims):
        from . import fast
        return fast.train(X, y, layer_dims, epochs=epochs,
                          batch_size=batch_size, optimizer=optimizer,
                          learning_rate=learning_rate,
                          weight_decay=weight_decay, dropout=dropout,
                          schedule=schedule, patience=patience, init=init,
                          seed=seed, X_val=X_val, y_val=y_val,
                          progress=progress, callback=callback)
    (dims, epochs, batch_size, learning_rate, weight_decay, dropout,
     validate, patience) = check_train(
        X, y, layer_dims, epochs, batch_size, optimizer, learning_rate,
        weight_decay, dropout, X_val, y_val, seed, schedule, patience)
    # net.forward_prop, net.back_prop: the dense network's functions of
    # chapters 2 to 4 (DenseNetwork); a CNN's for a list of layers
    net = (cnn.Network(dims, X.shape[1:]) if cnn.is_layer_list(dims)
           else DenseNetwork(dims))
    params = net.init_params(seed=seed, method=init, dtype=X.dtype)
    L, m = len(params) // 2, len(y)  # L layers with weights, m examples
    # W1, b1, W2, b2, ...: the optimiser's arrays, updated in place
    keys = list(params)
    # AdamW decays the weights itself (decoupled); for the other optimisers
    # the loop adds the L2 gradient λ W_l to dW_l (coupled)
    opt = make_optimizer(optimizer, [params[key] for key in keys],
                         learning_rate, weight_decay,
                         decayed=[key.startswith("W") for key in keys])
    l2 = 0.0 if optimizer == "adamw" else weight_decay
    shuffle_rng, dropout_rng = np.random.default_rng(seed).spawn(2)
    history = train_history(validate)
    seconds, iteration = 0.0, 0
    # early stopping: the lowest validation loss so far, and its parameters
    best_loss, best_epoch = math.inf, 0
    best_params = {key: value.copy() for key, value in params.items()}
    bar = progress_bar(epochs, f"{optimizer}, {m} examples", "epoch",
                       progress)
    for epoch in bar:
        start = time.perf_counter()
        # epochs count from 1, the schedule's e from 0
        opt.learning_rate = scheduled_learning_rate(
            schedule, learning_rate, epoch - 1, epochs)
        loss_sum = correct = 0.0
        for batch in minibatches(m, batch_size, shuffle_rng):
            # mini-batch X^{t}: (n_0, B), y^{t}: (B,)
            X_t, y_t = net.batch(X, batch), y[batch]
            activations = net.forward_prop(X_t, params, dropout, dropout_rng)
            loss = cross_entropy_from_logits(activations[f"Z{L}"], y_t)
            iteration += 1
            check_loss(loss, iteration, learning_rate, history, epoch=epoch)
            grads = net.back_prop(activations, params, y_t)
            if l2:
                for l in range(1, L + 1):
                    grads[f"dW{l}"] += l2_gradient(params[f"W{l}"], l2)
            opt.step([grads[f"d{key}"] for key in keys])
            loss_sum += loss * len(batch)
            correct += int(np.count_nonzero(
                get_predictions(activations[f"A{L}"]) == y_t))
        seconds += time.perf_counter() - start
        record(history, epoch=epoch, learning_rate=opt.learning_rate,
               loss=loss_sum / m, train_accuracy=correct / m,
               seconds=seconds)
        if validate:
            val_loss, val_accuracy = net.scores(params, X_val, y_val)
            record(history, val_loss=val_loss, val_accuracy=val_accuracy)
        if patience and val_loss < best_loss:  # a new lowest: keep a copy
            best_loss, best_epoch = val_loss, epoch
            best_params = {key: value.copy() for key, value in params.items()}
        if report(bar, loss_sum / m, callback, epoch, params, history):
            break
        if patience and epoch - best_epoch >= patience:
            bar.close()  # patience epochs without a new lowest: stop early
            break
    check_last_update(params, X_t, y_t, iteration, learning_rate, history,
                      epoch=epoch, scores=net.scores)
    if patience:  # early stopping returns the best epoch's parameters
        history["best_epoch"] = best_epoch
        return best_params, history
    return params, history

