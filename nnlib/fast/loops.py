"""The fast engine's training loops: ``nnlib.training``'s loops, each step run by a Workspace.

Same arguments, same checks, same shuffles and dropout masks, same history as
``nnlib.gradient_descent`` and ``nnlib.train`` (which call these for ``engine="fast"``); the
forward pass, the loss, the backward pass and the optimiser's step are computed by
:class:`~nnlib.fast.workspace.Workspace` instead of ``forward_prop``, ``back_prop`` and the
optimiser on separate arrays. Only the rounding differs (``tests/test_fast.py``).
"""
import math
import time

import numpy as np

from ..checks import check_gradient_descent, check_train
from ..history import (check_loss, check_last_update, gradient_descent_history, minibatches,
                       progress_bar, record, report, train_history, validation_scores)
from ..losses import get_accuracy
from ..network import predict
from ..optimizers import make_optimizer, scheduled_learning_rate
from ..params import init_params
from .workspace import Workspace, flatten_params


def gradient_descent(X, y, layer_dims, learning_rate=0.1, iterations=1000, *, init="he", seed=0,
                     X_test=None, y_test=None, eval_every=0, progress=True, callback=None,
                     threads=None):
    """``nnlib.gradient_descent`` on a Workspace; see its docstring for the arguments.

    ``threads=1`` runs both blocks of examples in the calling thread, with the same bits.
    """
    dims, learning_rate, iterations, eval_every, evaluate = check_gradient_descent(
        X, y, layer_dims, learning_rate, iterations, eval_every, X_test, y_test, seed)
    params = init_params(dims, seed=seed, method=init, dtype=X.dtype)
    history = gradient_descent_history(evaluate)
    bar = progress_bar(iterations, "gradient descent", "it", progress)
    start = time.perf_counter()
    with Workspace(X, y, dims, threads=threads) as workspace:
        seconds = time.perf_counter() - start  # the buffers are part of the training time
        for iteration in bar:
            start = time.perf_counter()
            loss, accuracy, grads = workspace.gradients(params)
            record(history, iteration=iteration, loss=loss, train_accuracy=accuracy,
                   seconds=seconds + time.perf_counter() - start)  # completed below
            check_loss(loss, iteration, learning_rate, history)
            for key, value in params.items():
                value -= learning_rate * grads[f"d{key}"]  # in place: no new arrays per step
            seconds += time.perf_counter() - start
            history["seconds"][-1] = seconds
            if evaluate and (iteration % eval_every == 0 or iteration == iterations):
                record(history, test_iteration=iteration,
                       test_accuracy=get_accuracy(predict(X_test, params), y_test))
            if report(bar, loss, callback, iteration, params, history):
                break
    check_last_update(params, X, y, iteration, learning_rate, history)
    return params, history


def train(X, y, layer_dims, *, epochs=10, batch_size=128, optimizer="adam", learning_rate=None,
          weight_decay=0.0, dropout=0.0, schedule=None, patience=None, init="he", seed=0,
          X_val=None, y_val=None, progress=True, callback=None, threads=None, processes=None):
    """``nnlib.train`` on a Workspace; see its docstring for the arguments.

    ``threads`` (1 or 2; default: the cores available, at most 2) and ``processes`` (True:
    the second block in a forked worker process; False: in a thread; default: a process
    where ``nnlib.fast.worker.available()``) choose how the two blocks run, with the same
    bits either way.
    """
    dims, epochs, batch_size, learning_rate, weight_decay, dropout, validate, patience = (
        check_train(X, y, layer_dims, epochs, batch_size, optimizer, learning_rate,
                    weight_decay, dropout, X_val, y_val, seed, schedule, patience))
    m = X.shape[1]
    shuffle_rng, dropout_rng = np.random.default_rng(seed).spawn(2)
    history = train_history(validate)
    seconds, iteration = 0.0, 0
    bar = progress_bar(epochs, f"{optimizer}, {m} examples", "epoch", progress)
    # AdamW decays the weights itself (decoupled); the others get λ W added to dW (coupled)
    l2 = 0.0 if optimizer == "adamw" else weight_decay
    with Workspace(X, y, dims, batch_size=batch_size, dropout_rng=dropout_rng, threads=threads,
                   processes=processes) as workspace:
        # all W_l and b_l in one vector, in memory a worker process can share
        vector, params = flatten_params(init_params(dims, seed=seed, method=init, dtype=X.dtype),
                                        shared=workspace.processes)
        # one optimiser per core, each on its part of that vector (weights first: AdamW
        # decays the part's first entries that are weights)
        optimizers = [make_optimizer(optimizer, [part], learning_rate, weight_decay,
                                     decayed=[weights])
                      for part, weights in zip(workspace.split(vector), workspace.weights_in_parts())]
        best_loss, best_epoch = math.inf, 0
        best_params = {key: value.copy() for key, value in params.items()}
        for epoch in bar:
            start = time.perf_counter()
            rate = scheduled_learning_rate(schedule, learning_rate, epoch - 1, epochs)
            for opt in optimizers:  # a worker process takes it from optimizers[1] at each step
                opt.learning_rate = rate
            loss_sum = correct = 0.0
            for batch in minibatches(m, batch_size, shuffle_rng):
                loss, accuracy = workspace.train_step(params, batch, optimizers, dropout, l2)
                iteration += 1
                check_loss(loss, iteration, learning_rate, history, epoch=epoch)
                loss_sum += loss * len(batch)
                correct += round(accuracy * len(batch))
            seconds += time.perf_counter() - start
            record(history, epoch=epoch, learning_rate=rate, loss=loss_sum / m,
                   train_accuracy=correct / m, seconds=seconds)
            if validate:
                val_loss, val_accuracy = validation_scores(params, X_val, y_val)
                record(history, val_loss=val_loss, val_accuracy=val_accuracy)
            if patience and val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_params = {key: value.copy() for key, value in params.items()}
            if report(bar, loss_sum / m, callback, epoch, params, history):
                break
            if patience and epoch - best_epoch >= patience:
                bar.close()
                break
    check_last_update(params, X[:, batch], y[batch], iteration, learning_rate, history,
                      epoch=epoch)
    if patience:
        history["best_epoch"] = best_epoch
        return best_params, history
    return params, history
