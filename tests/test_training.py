"""gradient_descent and train, with both engines: histories, semantics, determinism, divergence,
bad inputs; and the default engine runs the book's functions at every step."""
import math
import subprocess
import sys

import numpy as np
import pytest

from nnlib import back_prop, cnn, cross_entropy, forward_prop, init_params, one_hot, training
from nnlib.optimizers import adam_step, scheduled_learning_rate
from nnlib.history import check_last_update
from nnlib.training import ENGINES, TrainingDiverged, gradient_descent, predict, train

LAYERS = [6, 5, 3]


def blobs(m=60, seed=0, dtype=np.float32):
    """Three separable clusters in 6 dimensions: a problem every optimiser can learn."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, m)
    centres = rng.normal(0, 3, (6, 3))
    X = centres[:, y] + rng.normal(0, 0.5, (6, m))
    return X.astype(dtype), y


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    """Each training test runs with both engines, and checks which one really ran: with "fast",
    both blocks of nnlib.fast's Workspace processed chunks of examples (counted in memory a
    worker process shares); with "plain", the Workspace never ran."""
    from nnlib.fast import worker
    from nnlib.fast.workspace import BLOCKS, Workspace
    chunks = worker.shared_empty(BLOCKS, np.int64)
    chunks[:] = 0
    original = Workspace._chunk

    def counted(self, params, XT, y, m, masks, block, grads):
        chunks[self.blocks.index(block)] += 1
        return original(self, params, XT, y, m, masks, block, grads)

    monkeypatch.setattr(Workspace, "_chunk", counted)
    yield request.param
    if request.param == "fast":
        assert all(chunks > 0), f"the fast engine did not run both blocks: chunks {list(chunks)}"
    else:
        assert not chunks.any(), "the plain engine ran nnlib.fast's Workspace"


# --- gradient_descent -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_history_has_one_entry_per_iteration(engine, dtype):
    X, y = blobs(dtype=dtype)
    params, history = gradient_descent(X, y, LAYERS, 0.1, 7, progress=False, engine=engine)
    assert set(history) == {"iteration", "loss", "train_accuracy", "seconds"}
    assert history["iteration"] == list(range(1, 8))
    assert all(len(values) == 7 for values in history.values())
    assert all(isinstance(v, float) for v in history["loss"] + history["train_accuracy"])
    assert history["seconds"] == sorted(history["seconds"])
    assert [p.dtype for p in params.values()] == [dtype] * 4


def test_history_is_measured_before_each_update(engine):
    X, y = blobs(dtype=np.float64)
    params, history = gradient_descent(X, y, LAYERS, 0.5, 2, init="he", seed=3, progress=False, engine=engine)
    # the same two iterations with the book's readable functions
    reference = init_params(LAYERS, seed=3, dtype=np.float64)
    Y = one_hot(y, 3, dtype=np.float64)
    for iteration in range(2):
        activations = forward_prop(X, reference)
        assert history["loss"][iteration] == pytest.approx(cross_entropy(Y, activations["A2"]), rel=1e-12)
        accuracy = np.mean(np.argmax(activations["A2"], axis=0) == y)
        assert history["train_accuracy"][iteration] == accuracy
        grads = back_prop(activations, reference, y)
        reference = {key: value - 0.5 * grads[f"d{key}"] for key, value in reference.items()}
    for key in params:  # the returned parameters are one update past the last measurement
        np.testing.assert_allclose(params[key], reference[key], rtol=1e-10, atol=1e-12)


def test_gradient_descent_is_bit_identical_for_a_seed(engine):
    X, y = blobs(300)
    runs = [gradient_descent(X, y, LAYERS, 0.1, 20, seed=5, progress=False, engine=engine) for _ in range(2)]
    for key in runs[0][0]:
        assert np.array_equal(runs[0][0][key], runs[1][0][key])
    assert runs[0][1]["loss"] == runs[1][1]["loss"]


def test_eval_every_records_test_accuracy_after_every_kth_update_and_the_last(engine):
    X, y = blobs()
    X_test, y_test = blobs(30, seed=1)
    params, history = gradient_descent(X, y, LAYERS, 0.1, 10, X_test=X_test, y_test=y_test,
                                       eval_every=4, progress=False, engine=engine)
    assert history["test_iteration"] == [4, 8, 10]
    assert len(history["test_accuracy"]) == 3
    assert history["test_accuracy"][-1] == np.mean(predict(X_test, params) == y_test)


def test_gradient_descent_callback_runs_after_each_iteration_and_can_stop_it(engine):
    X, y = blobs(300)
    seen = []

    def callback(iteration, params, history):
        seen.append((iteration, len(history["loss"]), sorted(params)))
        return iteration == 4  # stop after the 4th step

    params, history = gradient_descent(X, y, LAYERS, 0.1, 10, seed=5, progress=False, callback=callback,
                                       engine=engine)
    assert seen == [(i, i, ["W1", "W2", "b1", "b2"]) for i in (1, 2, 3, 4)]
    assert history["iteration"] == [1, 2, 3, 4]
    four, _ = gradient_descent(X, y, LAYERS, 0.1, 4, seed=5, progress=False, engine=engine)
    assert all(np.array_equal(params[key], four[key]) for key in four)  # stopped right after step 4


def test_without_eval_every_no_test_history(engine):
    X, y = blobs()
    _, history = gradient_descent(X, y, LAYERS, 0.1, 3, X_test=X, y_test=y, progress=False, engine=engine)
    assert "test_accuracy" not in history


def test_divergence_raises_with_iteration_learning_rate_advice_and_history(engine):
    X, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged) as caught:
        gradient_descent(X * 1e3, y, LAYERS, 1e30, 50, progress=False, engine=engine)
    message = str(caught.value)
    history = caught.value.history
    iteration = history["iteration"][-1]
    assert f"at iteration {iteration} " in message
    assert "learning_rate=1e+30" in message and "smaller learning rate, such as 1e+29" in message
    assert not math.isfinite(history["loss"][-1])
    assert all(len(values) == iteration for values in history.values())
    assert isinstance(caught.value, RuntimeError)


ADVICE = "learning_rate=1e+30; the steps are too large: try a smaller learning rate, such as 1e+29"


def test_gradient_descent_whose_last_update_blows_up_raises(engine):
    """One step at learning rate 1e30: the loss before it is finite, but the step leaves weights
    of about 1e30 whose outputs overflow to NaN. The loop checks what its last update left."""
    X, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged) as caught:
        gradient_descent(X, y, LAYERS, 1e30, 1, progress=False, engine=engine)
    assert str(caught.value) == f"the loss became nan after the update of iteration 1 with {ADVICE}"
    assert caught.value.history["iteration"] == [1] and math.isfinite(caught.value.history["loss"][0])


def test_train_whose_last_step_blows_up_raises(engine):
    X, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged) as caught:
        train(X, y, LAYERS, epochs=1, batch_size=60, optimizer="sgd", learning_rate=1e30, progress=False,
              engine=engine)
    assert str(caught.value) == f"the loss became nan after the update of iteration 1 (epoch 1) with {ADVICE}"
    assert caught.value.history["epoch"] == [1]


def test_a_run_stopped_by_its_callback_checks_its_last_update_too(engine):
    X, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged, match="iteration 1 "):
        gradient_descent(X, y, LAYERS, 1e30, 5, progress=False, engine=engine,
                         callback=lambda iteration, params, history: True)


def test_parameters_left_nan_or_infinite_are_named():
    X, y = blobs()
    params = init_params(LAYERS)
    params["b2"][1, 0] = -np.inf
    history = {"iteration": [1, 2]}
    with pytest.raises(TrainingDiverged) as caught:
        check_last_update(params, X, y, 2, 1e30, history)
    assert str(caught.value) == f"b2 holds -inf after the update of iteration 2 with {ADVICE}"
    assert caught.value.history is history


def test_a_finite_last_update_passes_the_check():
    X, y = blobs()
    check_last_update(init_params(LAYERS), X, y, 1, 0.1, {})


def nan_at_the_start(shape):
    X = np.ones(shape, np.float32)
    X[0, 0] = np.nan
    return X


GRADIENT_DESCENT_BAD_INPUTS = [
    (dict(X=np.zeros((5, 60), np.float32)), "X has 5 rows but layer 1 expects 6"),
    (dict(X=np.zeros((6, 60), np.uint8)), "X must hold floats"),
    (dict(X=[[0.0]]), "X must be a NumPy array"),
    (dict(X=np.zeros((6, 60), np.float16)), r"X must hold floats \(float32 or float64\), got dtype float16; "
                                            r"convert it with X.astype\(np.float32\)"),
    (dict(X=np.zeros((6, 60), np.longdouble)), r"got dtype float128; convert it with X.astype\(np.float32\)"),
    (dict(X=nan_at_the_start((6, 60))), r"X holds 1 NaN or infinite value, the first X\[0, 0\] = nan"),
    (dict(X=np.full((6, 60), -np.inf, np.float32)), r"X holds 360 NaN or infinite values, the first X\[0, 0\] = -inf"),
    (dict(X_test=nan_at_the_start((6, 4)), y_test=np.zeros(4, np.int64)), r"X_test holds 1 NaN or infinite value,"),
    (dict(layer_dims=[6, 10**12, 3]), r"layer_dims \[6, 1000000000000, 3\] needs at least [\d,.]+ GiB of memory "
                                      r"\(float32 parameters, their gradients and the activations of 60 examples\) "
                                      r"but [\d,.]+ GiB are available"),
    (dict(seed=-1), "seed must be an integer >= 0, got -1"),
    (dict(y=np.full(60, 3)), "y holds label 3, outside 0..2"),
    (dict(y=np.full(60, -1)), "y holds label -1"),
    (dict(y=np.zeros(60, np.float32)), "y must hold integer labels, got dtype float32"),
    (dict(y=np.zeros(59, np.int64)), "y has 59 labels but X has 60 columns"),
    (dict(y=np.zeros((3, 60), np.int64)), "y must be 1-D"),
    (dict(layer_dims=[6]), "at least 2 sizes"),
    (dict(layer_dims=[6, 0, 3]), r"layer_dims\[1\] must be a positive integer, got 0"),
    (dict(learning_rate=0), "learning_rate must be a positive finite number, got 0"),
    (dict(learning_rate=-0.1), "got -0.1"),
    (dict(learning_rate=float("nan")), "got nan"),
    (dict(learning_rate=float("inf")), "got inf"),
    (dict(iterations=0), "iterations must be an integer >= 1, got 0"),
    (dict(eval_every=-1), "eval_every must be an integer >= 0, got -1"),
    (dict(init="zeros"), "init method must be one of he, xavier, article; got 'zeros'"),
    (dict(X_test=np.zeros((6, 4), np.float32)), "give both X_test and y_test"),
    (dict(X_test=np.zeros((6, 4), np.float32), y_test=np.zeros(3, np.int64)), "y_test has 3 labels but X has 4"),
    (dict(engine="turbo"), "engine must be one of 'plain', 'fast'; got 'turbo'"),
    (dict(engine=None), "engine must be one of 'plain', 'fast'; got None"),
]


@pytest.mark.parametrize("engine", ENGINES)  # the inputs are refused before either engine starts
@pytest.mark.parametrize("change, message", GRADIENT_DESCENT_BAD_INPUTS)
def test_gradient_descent_bad_inputs(change, message, engine):
    X, y = blobs()
    arguments = dict(X=X, y=y, layer_dims=LAYERS, learning_rate=0.1, iterations=2, progress=False, engine=engine)
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        gradient_descent(**arguments)


def test_adam_learns_mnist_in_two_epochs(mnist, engine):
    X_train, y_train, X_test, y_test = mnist
    params, history = train(X_train[:, :20000], y_train[:20000], [784, 64, 10], epochs=2, progress=False,
                            engine=engine)
    assert np.mean(predict(X_test, params) == y_test) > 0.9


# --- train ------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer, learning_rate", [("sgd", 0.1), ("momentum", 0.1), ("adam", 0.01)])
def test_every_optimizer_learns_the_blobs(optimizer, learning_rate, engine):
    X, y = blobs(200)
    params, history = train(X, y, LAYERS, epochs=8, batch_size=16, optimizer=optimizer,
                            learning_rate=learning_rate, progress=False, engine=engine)
    assert history["loss"][-1] < history["loss"][0] / 3
    assert np.mean(predict(X, params) == y) > 0.95


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_keeps_the_dtype_of_x(engine, dtype):
    X, y = blobs(50, dtype=dtype)
    params, history = train(X, y, LAYERS, epochs=2, batch_size=16, dropout=0.2, weight_decay=1e-3,
                            progress=False, engine=engine)
    assert [p.dtype for p in params.values()] == [dtype] * 4
    assert all(isinstance(v, float) for v in history["loss"] + history["train_accuracy"])


def adam_by_hand(reference, m, batch_size, seed, gradients, learning_rate=0.001, decay=0.0):
    """Two epochs of Adam written out on ``reference``, over the shuffles of the seed's first
    child; ``gradients(batch, reference)`` gives a mini-batch's grads. With ``decay`` λ, AdamW:
    W <- (1 - α λ) W before each step, the biases not decayed."""
    v = {key: np.zeros_like(value) for key, value in reference.items()}
    s = {key: np.zeros_like(value) for key, value in reference.items()}
    shuffle_rng, _ = np.random.default_rng(seed).spawn(2)  # the seed's first child shuffles
    t = 0
    for epoch in range(2):
        order = shuffle_rng.permutation(m)
        for first in range(0, m, batch_size):
            batch, t = order[first:first + batch_size], t + 1
            grads = gradients(batch, reference)
            for key in reference:
                decayed = (1 - learning_rate * decay) * reference[key] if key.startswith("W") \
                    else reference[key]
                reference[key], v[key], s[key] = adam_step(decayed, grads[f"d{key}"], v[key], s[key], t,
                                                           learning_rate=learning_rate)
    return reference


def test_train_matches_a_loop_of_forward_prop_back_prop_and_adam_step(engine):
    X, y = blobs(50, dtype=np.float64)
    params, _ = train(X, y, LAYERS, epochs=2, batch_size=8, optimizer="adam", seed=3, progress=False,
                      engine=engine)
    reference = adam_by_hand(init_params(LAYERS, seed=3, dtype=np.float64), 50, 8, seed=3,
                             gradients=lambda batch, reference: back_prop(
                                 forward_prop(X[:, batch], reference), reference, y[batch]))
    for key in params:
        np.testing.assert_allclose(params[key], reference[key], rtol=1e-12, atol=1e-14)


def test_train_history_has_one_entry_per_epoch(engine):
    X, y = blobs(100)
    X_val, y_val = blobs(40, seed=1)
    params, history = train(X, y, LAYERS, epochs=3, batch_size=32, X_val=X_val, y_val=y_val, progress=False,
                            engine=engine)
    assert set(history) == {"epoch", "learning_rate", "loss", "train_accuracy", "val_loss", "val_accuracy",
                            "seconds"}
    assert history["epoch"] == [1, 2, 3]
    assert history["learning_rate"] == [0.001] * 3  # Adam's default, no schedule
    assert all(len(values) == 3 for values in history.values())
    assert history["seconds"] == sorted(history["seconds"])
    assert history["val_accuracy"][-1] == np.mean(predict(X_val, params) == y_val)
    L = len(LAYERS) - 1
    assert history["val_loss"][-1] == pytest.approx(
        cross_entropy(one_hot(y_val, 3, dtype=np.float32), forward_prop(X_val, params)[f"A{L}"]), rel=1e-5)
    _, without = train(X, y, LAYERS, epochs=1, progress=False, engine=engine)
    assert "val_accuracy" not in without and "val_loss" not in without and "best_epoch" not in without


def test_train_history_loss_is_the_mean_over_the_epochs_batches_before_each_step(engine):
    X, y = blobs(10, dtype=np.float64)
    # one batch per epoch: the first epoch's loss is that of the initial parameters
    _, history = train(X, y, LAYERS, epochs=2, batch_size=10, optimizer="sgd", seed=2, progress=False,
                       engine=engine)
    activations = forward_prop(X, init_params(LAYERS, seed=2, dtype=np.float64))
    assert history["loss"][0] == pytest.approx(cross_entropy(one_hot(y, 3, dtype=np.float64), activations["A2"]))
    assert history["train_accuracy"][0] == np.mean(np.argmax(activations["A2"], axis=0) == y)


def test_train_is_bit_identical_for_a_seed_with_dropout_and_weight_decay(engine):
    X, y = blobs(150)
    runs = [train(X, y, LAYERS, epochs=2, batch_size=20, dropout=0.3, weight_decay=1e-3, seed=4,
                  progress=False, engine=engine) for _ in range(2)]
    for key in runs[0][0]:
        assert np.array_equal(runs[0][0][key], runs[1][0][key])
    assert runs[0][1]["loss"] == runs[1][1]["loss"]


def test_weight_decay_shrinks_the_weights(engine):
    X, y = blobs(100)
    norms = []
    for decay in (0.0, 0.5):
        params, _ = train(X, y, LAYERS, epochs=5, batch_size=10, optimizer="sgd", weight_decay=decay,
                          progress=False, engine=engine)
        norms.append(sum(np.sum(params[key] ** 2) for key in ("W1", "W2")))
    assert norms[1] < norms[0] / 2


def test_dropout_changes_training_and_the_network_still_learns(engine):
    X, y = blobs(200)
    _, plain_history = train(X, y, LAYERS, epochs=6, batch_size=10, optimizer="sgd", progress=False,
                             engine=engine)
    dropped, dropped_history = train(X, y, LAYERS, epochs=6, batch_size=10, optimizer="sgd", dropout=0.3,
                                     progress=False, engine=engine)
    assert plain_history["loss"] != dropped_history["loss"]
    assert np.mean(predict(X, dropped) == y) > 0.95  # prediction runs the whole network


def test_learning_rate_none_takes_the_optimizers_default(engine):
    X, y = blobs(20, dtype=np.float64)
    explicit, _ = train(X, y, LAYERS, epochs=1, batch_size=5, optimizer="adam", learning_rate=0.001,
                        progress=False, engine=engine)
    default, _ = train(X, y, LAYERS, epochs=1, batch_size=5, optimizer="adam", progress=False, engine=engine)
    for key in explicit:
        assert np.array_equal(explicit[key], default[key])


# --- AdamW, schedules and early stopping --------------------------------------------

def test_train_with_adamw_matches_a_loop_of_decay_then_adam_step_on_the_weights_only(engine):
    """W <- (1 - α λ) W, then Adam's step on the gradient of the loss alone (no λ W in it);
    the biases take Adam's step only."""
    X, y = blobs(50, dtype=np.float64)
    alpha, lam = 0.01, 0.5
    params, _ = train(X, y, LAYERS, epochs=2, batch_size=8, optimizer="adamw", learning_rate=alpha,
                      weight_decay=lam, seed=3, progress=False, engine=engine)
    reference = adam_by_hand(init_params(LAYERS, seed=3, dtype=np.float64), 50, 8, seed=3,
                             gradients=lambda batch, reference: back_prop(
                                 forward_prop(X[:, batch], reference), reference, y[batch]),
                             learning_rate=alpha, decay=lam)
    for key in params:
        np.testing.assert_allclose(params[key], reference[key], rtol=1e-12, atol=1e-14)


def test_adamw_without_weight_decay_trains_exactly_like_adam(engine):
    X, y = blobs(60)
    runs = [train(X, y, LAYERS, epochs=2, batch_size=16, optimizer=name, dropout=0.2, seed=1, progress=False,
                  engine=engine)[0] for name in ("adam", "adamw")]
    assert all(np.array_equal(runs[0][key], runs[1][key]) for key in runs[0])


def test_adamw_shrinks_the_weights_and_leaves_the_biases_to_the_gradient(engine):
    X, y = blobs(100)
    runs = {decay: train(X, y, LAYERS, epochs=5, batch_size=10, optimizer="adamw", learning_rate=0.01,
                         weight_decay=decay, progress=False, engine=engine)[0] for decay in (0.0, 5.0)}
    norms = {decay: sum(np.sum(params[key] ** 2) for key in ("W1", "W2")) for decay, params in runs.items()}
    assert norms[5.0] < norms[0.0] / 2
    assert np.mean(predict(X, runs[5.0]) == y) > 0.9  # still learns


@pytest.mark.parametrize("schedule", [None, "step", "cosine"])
def test_train_records_the_scheduled_learning_rate_of_each_epoch(schedule, engine):
    X, y = blobs(40)
    _, history = train(X, y, LAYERS, epochs=8, batch_size=10, optimizer="momentum", learning_rate=0.2,
                       schedule=schedule, progress=False, engine=engine)
    assert history["learning_rate"] == [scheduled_learning_rate(schedule, 0.2, e, 8) for e in range(8)]


@pytest.mark.parametrize("schedule", ["step", "cosine"])
def test_each_epoch_steps_with_its_scheduled_learning_rate(schedule, engine):
    """SGD with a schedule is update_params with each epoch's rate, whichever process steps."""
    X, y = blobs(40, dtype=np.float64)
    params, _ = train(X, y, LAYERS, epochs=4, batch_size=10, optimizer="sgd", learning_rate=0.5,
                      schedule=schedule, seed=5, progress=False, engine=engine)
    reference = init_params(LAYERS, seed=5, dtype=np.float64)
    shuffle_rng, _ = np.random.default_rng(5).spawn(2)
    for e in range(4):
        rate = scheduled_learning_rate(schedule, 0.5, e, 4)
        order = shuffle_rng.permutation(40)
        for first in range(0, 40, 10):
            batch = order[first:first + 10]
            grads = back_prop(forward_prop(X[:, batch], reference), reference, y[batch])
            reference = {key: value - rate * grads[f"d{key}"] for key, value in reference.items()}
    for key in params:
        np.testing.assert_allclose(params[key], reference[key], rtol=1e-12, atol=1e-14)


def overfitting_run(engine, patience, epochs=12):
    """Adam with a large learning rate on few examples: the validation loss falls, then rises.

    Returns the params, the history, and a copy of the params the callback saw at each epoch.
    """
    X, y = blobs(40, dtype=np.float64)
    X_val, y_val = blobs(200, seed=1, dtype=np.float64)
    seen = {}

    def keep(epoch, params, history):
        seen[epoch] = {key: value.copy() for key, value in params.items()}
        seen.setdefault("live", params)

    params, history = train(X, y, [6, 30, 3], epochs=epochs, batch_size=8, optimizer="adam", learning_rate=0.05,
                            patience=patience, seed=0, X_val=X_val, y_val=y_val, callback=keep,
                            progress=False, engine=engine)
    return params, history, seen


def test_early_stopping_stops_after_patience_epochs_without_a_new_lowest_validation_loss(engine):
    params, history, seen = overfitting_run(engine, patience=3)
    losses, best = history["val_loss"], history["best_epoch"]
    assert best == 1 + int(np.argmin(losses))
    assert len(losses) < 12, "the constructed case should stop early"
    assert history["epoch"] == list(range(1, best + 3 + 1))  # the best epoch, then 3 without a new lowest
    assert all(loss >= losses[best - 1] for loss in losses[best:])
    assert all(len(values) == len(losses) for key, values in history.items() if key != "best_epoch")
    # the params returned are copies of those of the best epoch, not the arrays trained on
    for key in params:
        assert np.array_equal(params[key], seen[best][key])
        assert not np.shares_memory(params[key], seen["live"][key])
    assert not all(np.array_equal(seen[len(losses)][key], params[key]) for key in params)


def test_early_stopping_that_never_triggers_still_returns_the_best_epoch(engine):
    params, history, seen = overfitting_run(engine, patience=100, epochs=6)
    assert history["epoch"] == list(range(1, 7))
    best = history["best_epoch"]
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert all(np.array_equal(params[key], seen[best][key]) for key in params)


def test_early_stopping_and_the_callback_see_the_same_epochs(engine):
    _, history, seen = overfitting_run(engine, patience=1)
    assert sorted(key for key in seen if key != "live") == history["epoch"]
    assert history["epoch"][-1] == history["best_epoch"] + 1


def test_callback_runs_after_each_epoch(engine):
    X, y = blobs(40)
    seen = []
    train(X, y, LAYERS, epochs=3, batch_size=8, progress=False, engine=engine,
          callback=lambda epoch, params, history: seen.append((epoch, len(history["loss"]), sorted(params))))
    assert seen == [(e, e, ["W1", "W2", "b1", "b2"]) for e in (1, 2, 3)]


def test_train_divergence_names_iteration_epoch_and_learning_rate(engine):
    X, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            TrainingDiverged, match=r"at iteration \d+ \(epoch 1\) with learning_rate=1e\+30; .*smaller") as caught:
        train(X * 1e3, y, LAYERS, epochs=2, batch_size=10, optimizer="sgd", learning_rate=1e30, progress=False,
              engine=engine)
    assert caught.value.history["epoch"] == []


TRAIN_BAD_INPUTS = [
    (dict(epochs=0), "epochs must be an integer >= 1, got 0"),
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (dict(batch_size=2.5), "batch_size must be an integer >= 1, got 2.5"),
    (dict(optimizer="rmsprop"), "optimizer must be one of 'sgd', 'momentum', 'adam', 'adamw'; got 'rmsprop'"),
    (dict(optimizer="gd"), "got 'gd'"),
    (dict(learning_rate=0.0), "learning_rate must be a positive finite number, got 0.0"),
    (dict(weight_decay=-1), "weight_decay must be a finite number >= 0, got -1"),
    (dict(weight_decay=float("nan")), "got nan"),
    (dict(dropout=1.0), r"dropout must be a number in \[0, 1\), got 1.0"),
    (dict(dropout=-0.1), "got -0.1"),
    (dict(X=np.zeros((5, 60), np.float32)), "X has 5 rows but layer 1 expects 6"),
    (dict(y=np.full(60, 7)), "y holds label 7, outside 0..2"),
    (dict(layer_dims=[6, -2, 3]), r"layer_dims\[1\] must be a positive integer, got -2"),
    (dict(X_val=np.zeros((6, 4), np.float32)), "give both X_val and y_val"),
    (dict(X_val=np.zeros((7, 4), np.float32), y_val=np.zeros(4, np.int64)), "X_val has 7 rows but layer 1 expects 6"),
    (dict(X=np.zeros((6, 60), np.float16)), r"X must hold floats \(float32 or float64\), got dtype float16"),
    (dict(X=np.full((6, 60), np.inf, np.float32)), r"X holds 360 NaN or infinite values, the first X\[0, 0\] = inf"),
    (dict(X_val=nan_at_the_start((6, 4)), y_val=np.zeros(4, np.int64)), r"X_val holds 1 NaN or infinite value,"),
    (dict(layer_dims=[6, 10**12, 3]), r"layer_dims \[6, 1000000000000, 3\] needs at least [\d,.]+ GiB of memory "
                                      r"\(float32 parameters, their gradients and the activations of 60 examples\)"),
    (dict(seed=-1), "seed must be an integer >= 0, got -1"),
    (dict(schedule="linear"), "schedule must be one of None, 'step', 'cosine'; got 'linear'"),
    (dict(schedule=0.5), "schedule must be one of None, 'step', 'cosine'; got 0.5"),
    (dict(patience=0, X_val=np.zeros((6, 4), np.float32), y_val=np.zeros(4, np.int64)),
     "patience must be an integer >= 1, got 0"),
    (dict(patience=2.5), "patience must be an integer >= 1, got 2.5"),
    (dict(patience=3), "patience=3 stops training when the validation loss stops falling: give X_val and y_val"),
    (dict(optimizer="adamw", learning_rate=0.1, weight_decay=20.0),
     r"weight_decay=20 with optimizer 'adamw' and learning_rate=0.1 multiplies the weights by "
     r"1 - 0.1 \* 20 = -1 at every step: use a weight_decay below 10 \(1 / learning_rate\)"),
    (dict(optimizer="adamw", weight_decay=-0.1), "weight_decay must be a finite number >= 0, got -0.1"),
    (dict(engine="turbo"), "engine must be one of 'plain', 'fast'; got 'turbo'"),
    (dict(engine="Fast"), "engine must be one of 'plain', 'fast'; got 'Fast'"),
]


@pytest.mark.parametrize("engine", ENGINES)  # the inputs are refused before either engine starts
@pytest.mark.parametrize("change, message", TRAIN_BAD_INPUTS)
def test_train_bad_inputs(change, message, engine):
    X, y = blobs()
    arguments = dict(X=X, y=y, layer_dims=LAYERS, epochs=1, progress=False, engine=engine)
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        train(**arguments)


def test_plain_is_the_default_engine():
    assert training.gradient_descent.__kwdefaults__["engine"] == "plain"
    assert training.train.__kwdefaults__["engine"] == "plain"


# --- the default engine runs the book's functions -----------------------------------

@pytest.fixture
def spied(monkeypatch):
    """Counting wrappers around the functions nnlib.training calls, in its namespace.

    Each call is recorded as a small dict: the examples it saw, and for forward_prop its
    dropout and generator, for back_prop whether the activations held dropout masks.
    """
    calls = {name: [] for name in ("forward_prop", "cross_entropy_from_logits", "back_prop",
                                   "update_params", "l2_gradient")}

    def describe(name, args, kwargs):
        if name == "forward_prop":
            X, params, dropout, rng = (list(args) + [kwargs.get("dropout", 0.0), kwargs.get("rng")])[:4]
            return {"m": X.shape[1], "dropout": dropout, "rng": rng}
        if name == "cross_entropy_from_logits":
            return {"m": args[0].shape[1]}
        if name == "back_prop":
            return {"m": args[2].shape[0], "masks": sorted(key for key in args[0] if key.startswith("D"))}
        return {}

    for name in calls:
        original = getattr(training, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls[_name].append(describe(_name, args, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(training, name, wrapper)
    return calls


def test_gradient_descent_calls_forward_prop_the_loss_back_prop_and_update_params_every_step(spied):
    X, y = blobs(60)
    X_test, y_test = blobs(30, seed=1)
    gradient_descent(X, y, LAYERS, 0.1, 7, X_test=X_test, y_test=y_test, eval_every=2, progress=False)
    assert len(spied["forward_prop"]) == 7  # predict on X_test calls network's own forward_prop
    assert all(call == {"m": 60, "dropout": 0.0, "rng": None} for call in spied["forward_prop"])
    assert spied["cross_entropy_from_logits"] == [{"m": 60}] * 7
    assert spied["back_prop"] == [{"m": 60, "masks": []}] * 7
    assert len(spied["update_params"]) == 7


def test_gradient_descent_stopped_by_its_callback_took_only_those_steps(spied):
    X, y = blobs(60)
    gradient_descent(X, y, LAYERS, 0.1, 10, progress=False, callback=lambda iteration, *_: iteration == 3)
    assert [len(spied[name]) for name in ("forward_prop", "cross_entropy_from_logits", "back_prop")] == [3, 3, 3]


@pytest.mark.parametrize("dropout, weight_decay, optimizer, schedule", [
    (0.0, 0.0, "adam", None), (0.3, 1e-3, "adam", None), (0.3, 1e-3, "adamw", "cosine")])
def test_train_calls_forward_prop_the_loss_and_back_prop_every_step(spied, dropout, weight_decay, optimizer,
                                                                    schedule):
    X, y = blobs(100)
    X_val, y_val = blobs(30, seed=1)
    train(X, y, LAYERS, epochs=3, batch_size=32, dropout=dropout, weight_decay=weight_decay,
          optimizer=optimizer, schedule=schedule, patience=5, X_val=X_val, y_val=y_val, progress=False)
    sizes = [32, 32, 32, 4] * 3  # 4 mini-batches per epoch, 3 epochs: 12 steps
    assert [call["m"] for call in spied["forward_prop"]] == sizes
    assert [call["m"] for call in spied["cross_entropy_from_logits"]] == sizes
    assert [call["m"] for call in spied["back_prop"]] == sizes
    assert all(call["dropout"] == dropout for call in spied["forward_prop"])
    # every step draws its masks from the same generator, and back_prop applies them
    generators = {id(call["rng"]) for call in spied["forward_prop"]}
    assert len(generators) == 1 and isinstance(spied["forward_prop"][0]["rng"], np.random.Generator)
    assert all(call["masks"] == (["D1"] if dropout else []) for call in spied["back_prop"])
    # coupled L2: one l2_gradient per weight matrix and step; AdamW decays the weights itself
    assert len(spied["l2_gradient"]) == (12 * 2 if weight_decay and optimizer != "adamw" else 0)
    assert spied["update_params"] == []  # train steps with the optimiser


def run_python(code):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


TRAIN_A_LITTLE = """
import sys
import numpy as np
import nnlib
rng = np.random.default_rng(0)
X, y = rng.random((4, 40)), rng.integers(0, 3, 40)
nnlib.train(X, y, [4, 5, 3], epochs=2, batch_size=8, dropout=0.2, progress=False{engine})
nnlib.gradient_descent(X, y, [4, 5, 3], 0.1, 3, progress=False{engine})
print(sorted(name for name in sys.modules if name.startswith("nnlib.fast")))
"""


def test_nnlib_fast_is_imported_only_when_the_fast_engine_is_asked_for():
    assert run_python(TRAIN_A_LITTLE.format(engine="")).strip() == "[]"
    imported = run_python(TRAIN_A_LITTLE.format(engine=', engine="fast"'))
    assert "'nnlib.fast'" in imported and "'nnlib.fast.workspace'" in imported


# --- a CNN, trained by the same train ------------------------------------------------

CNN = [cnn.Conv(3, 3, padding=1), cnn.ReLU(), cnn.MaxPool(2), cnn.Flatten(), cnn.Dense(2)]


def bars(m=64, seed=0, dtype=np.float32):
    """8 x 8 images of a vertical (label 0) or horizontal (label 1) bar, with noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    X = rng.normal(0, 0.1, (m, 1, 8, 8))
    where = rng.integers(1, 7, m)
    for i in range(m):
        if y[i]:
            X[i, 0, where[i], 1:7] += 1
        else:
            X[i, 0, 1:7, where[i]] += 1
    return X.astype(dtype), y


def test_train_learns_a_cnn_and_keeps_the_dtype_of_the_images():
    X, y = bars(128)
    X_val, y_val = bars(64, seed=1)
    params, history = train(X, y, CNN, epochs=6, batch_size=16, learning_rate=0.01,
                            X_val=X_val, y_val=y_val, progress=False)
    assert params["W1"].shape == (3, 1, 3, 3) and params["W1"].dtype == np.float32
    assert history["epoch"] == list(range(1, 7))
    assert history["val_accuracy"][-1] >= 0.9
    assert history["loss"][-1] < history["loss"][0]
    assert all(isinstance(v, float) for v in history["val_loss"] + history["val_accuracy"])
    assert cnn.predict(X_val, params, CNN).shape == (64,)


def test_train_of_a_cnn_is_a_loop_of_its_forward_prop_back_prop_and_adam_step():
    X, y = bars(40, dtype=np.float64)
    params, _ = train(X, y, CNN, epochs=2, batch_size=16, seed=3, progress=False)
    # the same shuffles as a dense network's; images X[batch], examples first
    reference = adam_by_hand(cnn.init_params(CNN, (1, 8, 8), seed=3, dtype=np.float64), 40, 16,
                             seed=3, gradients=lambda batch, reference: cnn.back_prop(
                                 cnn.forward_prop(X[batch], reference, CNN), reference, CNN,
                                 y[batch]))
    for key in params:
        np.testing.assert_allclose(params[key], reference[key], rtol=1e-12, atol=1e-14)


def test_a_cnn_has_the_options_of_train_schedule_patience_callback_adamw():
    X, y = bars(64)
    X_val, y_val = bars(32, seed=1)
    seen = []
    params, history = train(X, y, CNN, epochs=4, batch_size=16, optimizer="adamw", weight_decay=0.1,
                            schedule="step", patience=1, X_val=X_val, y_val=y_val, progress=False,
                            callback=lambda epoch, *_: seen.append(epoch))
    assert history["learning_rate"][:len(seen)] == [0.001, 0.001, 0.0001, 0.00001][:len(seen)]
    assert seen == history["epoch"]
    best = history["best_epoch"]
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert set(params) == {"W1", "b1", "W2", "b2"}
    _, stopped = train(X, y, CNN, epochs=5, progress=False, callback=lambda epoch, *_: epoch == 2)
    assert stopped["epoch"] == [1, 2]


def test_coupled_weight_decay_shrinks_a_cnns_weights():
    X, y = bars(64)
    plain, _ = train(X, y, CNN, epochs=3, batch_size=16, optimizer="sgd", progress=False)
    decayed, _ = train(X, y, CNN, epochs=3, batch_size=16, optimizer="sgd", weight_decay=1.0,
                       progress=False)
    for key in ("W1", "W2"):
        assert np.linalg.norm(decayed[key]) < np.linalg.norm(plain[key])


def test_a_diverging_cnn_raises_with_its_history():
    X, y = bars(64)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            TrainingDiverged, match="with learning_rate=1000000.0; the steps are too large") as error:
        train(X * 1e3, y, CNN, epochs=3, optimizer="sgd", learning_rate=1e6, progress=False)
    assert isinstance(error.value.history, dict)


@pytest.mark.parametrize("change, message", [
    ({"engine": "fast"}, "engine='fast' trains dense networks only; a CNN trains with engine='plain'"),
    ({"dropout": 0.2}, "dropout=0.2: nnlib.cnn has no dropout"),
    ({"X": np.zeros((64, 64), np.float32)}, "X must be images of shape (m, C, n_H, n_W), got (64, 64)"),
    ({"X": np.zeros((64, 1, 8, 8), np.uint8)}, "X must hold floats"),
    ({"y": np.full(64, 2)}, "y holds label 2, outside 0..1"),
    ({"y": np.zeros(63, np.int64)}, "y has 63 labels but X has 64 images"),
    ({"X_val": np.zeros((5, 1, 9, 9), np.float32), "y_val": np.zeros(5, np.int64)},
     "X_val holds images (1, 9, 9), but the network was built for (1, 8, 8)"),
    ({"X_val": np.zeros((5, 1, 8, 8), np.float32)}, "give both X_val and y_val"),
    ({"patience": 2}, "patience=2 stops training when the validation loss stops falling"),
    ({"layers": [cnn.Conv(3, 9), cnn.Flatten(), cnn.Dense(2)]}, "its 9 x 9 kernel is larger"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"X": np.full((64, 1, 8, 8), np.nan, np.float32)}, "X holds NaN or infinite values"),
    ({"y_val": np.zeros(4, np.int64), "X_val": np.zeros((5, 1, 8, 8), np.float32)},
     "y_val has 4 labels but X_val has 5 images"),
])
def test_train_of_a_cnn_bad_inputs(change, message):
    X, y = bars(64)
    arguments = {"X": X, "y": y, "layers": CNN, **change}
    with pytest.raises(ValueError) as error:
        train(arguments.pop("X"), arguments.pop("y"), arguments.pop("layers"), progress=False,
              **arguments)
    assert message in str(error.value)


def test_train_calls_the_same_methods_on_a_dense_network_and_a_cnn():
    """One loop trains both: the two network objects offer the same methods, and
    DenseNetwork's are nnlib.network's functions (through nnlib.training's names)."""
    import inspect
    names = {"init_params", "batch", "forward_prop", "back_prop", "scores"}
    for kind in (training.DenseNetwork, cnn.Network):
        methods = {name for name, _ in inspect.getmembers(kind, inspect.isfunction)}
        assert methods - {"__init__"} == names
        for name in names - {"init_params"}:
            parameters = list(inspect.signature(getattr(kind, name)).parameters)
            assert parameters == list(inspect.signature(getattr(training.DenseNetwork, name)).parameters)
    X, y = blobs(20)
    dense = training.DenseNetwork(LAYERS)
    params = dense.init_params(seed=1, method="he", dtype=X.dtype)
    assert all(np.array_equal(params[key], value)
               for key, value in init_params(LAYERS, seed=1, dtype=X.dtype).items())
    activations = dense.forward_prop(dense.batch(X, np.arange(5)), params, 0.0, None)
    assert activations["A0"].shape == (X.shape[0], 5)


def test_the_last_update_of_a_cnn_is_checked_with_its_own_forward_pass():
    X, y = bars(8)
    net = cnn.Network(CNN, (1, 8, 8))
    params = net.init_params(seed=0, method="he", dtype=np.float32)
    check_last_update(params, X, y, 1, 0.1, {}, scores=net.scores)
    params["W2"] *= np.float32(1e38)  # finite, but the logits overflow to inf
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            TrainingDiverged, match="the loss became nan after the update of iteration 4 \\(epoch 2\\)"):
        check_last_update(params, X * 1e3, y, 4, 0.1, {}, epoch=2, scores=net.scores)
