"""nnlib.sweeps: runs, sweeps over seeds, and their mean and spread."""
import math

import numpy as np
import pandas as pd
import pytest

import nnlib
from nnlib import exercises, sweeps


@pytest.fixture(scope="module")
def data():
    """A small learnable problem: 10 classes, each a noisy copy of its own random template."""
    rng = np.random.default_rng(0)
    templates = rng.random((20, 10))
    y = rng.integers(0, 10, size=600)
    X = (templates[:, y] + 0.3 * rng.standard_normal((20, 600))).astype(np.float32)
    return X[:, :400], y[:400], X[:, 400:], y[400:]


def test_mean_and_spread_is_the_sample_standard_deviation_over_seeds():
    values = np.array([[0.90, 0.92, 0.94], [0.5, 0.5, 0.5]])
    mean, std = sweeps.mean_and_spread(values)
    assert np.allclose(mean, [0.92, 0.5]) and np.allclose(std, [0.02, 0.0])  # sqrt((0.02² + 0 + 0.02²) / 2)


def test_mean_and_spread_passes_the_readers_checker():
    assert exercises.check_mean_and_spread(sweeps.mean_and_spread)


@pytest.mark.parametrize("shape", [(3,), (4, 1), (2, 3, 1)])
def test_mean_and_spread_refuses_other_shapes(shape):
    with pytest.raises(ValueError, match="n_points, n_seeds"):
        sweeps.mean_and_spread(np.zeros(shape))


def test_layer_sizes():
    assert sweeps.layer_sizes(784, 0, 32) == [784, 10]
    assert sweeps.layer_sizes(784, 2, 32) == [784, 32, 32, 10]


def test_training_subset_depends_on_the_seed_and_keeps_labels_with_images(data):
    X, y, _, _ = data
    X0, y0 = sweeps.training_subset(X, y, 50, seed=0)
    X1, _ = sweeps.training_subset(X, y, 50, seed=1)
    assert X0.shape == (20, 50) and y0.shape == (50,) and not np.array_equal(X0, X1)
    for j in range(50):  # each column is one of X's, with its own label
        i = np.flatnonzero((X == X0[:, [j]]).all(axis=0))[0]
        assert y[i] == y0[j]
    assert sweeps.training_subset(X, y, None, seed=0)[0] is X
    with pytest.raises(ValueError, match="train_size"):
        sweeps.training_subset(X, y, 401, seed=0)


def test_run_scores_on_the_validation_split(data):
    X, y, X_val, y_val = data
    row = sweeps.run(X, y, X_val, y_val, units=16, learning_rate=0.5, iterations=50)
    params, _ = nnlib.gradient_descent(X, y, [20, 16, 10], 0.5, 50, seed=0, progress=False)
    assert row["val_accuracy"] == nnlib.get_accuracy(nnlib.predict(X_val, params), y_val)
    assert row["val_accuracy"] > 0.5 and row["train_size"] == 400 and row["diverged"] is False
    assert {"hidden_layers", "units", "learning_rate", "iterations", "seed", "seconds"} <= set(row)


def test_run_records_the_validation_loss(data):
    X, y, X_val, y_val = data
    row = sweeps.run(X, y, X_val, y_val, units=16, learning_rate=0.5, iterations=50)
    params, _ = nnlib.gradient_descent(X, y, [20, 16, 10], 0.5, 50, seed=0, progress=False)
    Z2 = nnlib.forward_prop(X_val, params)["Z2"]
    assert row["val_loss"] == pytest.approx(nnlib.cross_entropy_from_logits(Z2, y_val), rel=1e-6)
    assert 0 < row["val_loss"] < np.log(10)  # better than a uniform guess


def test_sweep_over_the_init_method_passes_it_to_the_training_loop(data):
    X, y, X_val, y_val = data
    runs = sweeps.sweep(X, y, X_val, y_val, "init", ["he", "xavier", "article"], seeds=(0, 1),
                        fit=nnlib.train, epochs=2, units=8)
    assert list(runs["init"]) == ["he", "he", "xavier", "xavier", "article", "article"]
    params, _ = nnlib.train(X, y, [20, 8, 10], epochs=2, init="article", seed=1, progress=False)
    article = runs[(runs["init"] == "article") & (runs["seed"] == 1)].iloc[0]
    assert article["val_accuracy"] == nnlib.get_accuracy(nnlib.predict(X_val, params), y_val)
    assert runs.groupby("init")["val_loss"].nunique().max() > 1  # the seeds differ


@pytest.mark.parametrize("engine", ["plain", "fast"])
def test_run_passes_the_engine_to_the_training_loop_and_records_it(data, engine):
    X, y, X_val, y_val = data
    row = sweeps.run(X, y, X_val, y_val, units=16, learning_rate=0.5, iterations=50, engine=engine)
    params, _ = nnlib.gradient_descent(X, y, [20, 16, 10], 0.5, 50, seed=0, progress=False, engine=engine)
    assert row["engine"] == engine
    assert row["val_accuracy"] == nnlib.get_accuracy(nnlib.predict(X_val, params), y_val)


@pytest.mark.parametrize("engine", ["plain", "fast"])
def test_a_diverged_run_is_recorded_with_nan_accuracies(data, engine):
    X, y, X_val, y_val = data
    row = sweeps.run(X * np.float32(1e30), y, X_val, y_val, units=8, learning_rate=1.0, iterations=20,
                     engine=engine)
    assert row["diverged"] is True and math.isnan(row["val_accuracy"]) and row["seconds"] >= 0
    assert math.isnan(row["val_loss"])


def test_sweep_runs_every_value_with_every_seed(data):
    X, y, X_val, y_val = data
    runs = sweeps.sweep(X, y, X_val, y_val, "units", [4, 16], seeds=(0, 1, 2), learning_rate=0.5, iterations=30)
    assert isinstance(runs, pd.DataFrame) and len(runs) == 6
    assert list(runs["units"]) == [4, 4, 4, 16, 16, 16] and list(runs["seed"]) == [0, 1, 2] * 2
    assert runs.groupby("units")["val_accuracy"].nunique().max() > 1  # the seeds differ


def test_sweep_passes_the_training_loop_and_its_options(data):
    X, y, X_val, y_val = data
    calls = []

    def fit(X, y, layer_dims, *, seed, progress, epochs):
        calls.append((layer_dims, seed, progress, epochs))
        return nnlib.gradient_descent(X, y, layer_dims, 0.5, epochs, seed=seed, progress=progress)

    runs = sweeps.sweep(X, y, X_val, y_val, "hidden_layers", [0, 2], seeds=(0, 1), fit=fit, epochs=5, units=8)
    assert calls == [([20, 10], 0, False, 5), ([20, 10], 1, False, 5),
                     ([20, 8, 8, 10], 0, False, 5), ([20, 8, 8, 10], 1, False, 5)]
    assert list(runs["epochs"]) == [5] * 4


def test_sweep_refuses_a_base_value_for_the_swept_setting(data):
    with pytest.raises(ValueError, match="the setting the sweep varies"):
        sweeps.sweep(*data, "units", [4, 8], units=16)


def test_summarize_gives_mean_and_spread_per_value():
    runs = pd.DataFrame({"units": [4, 4, 4, 16, 16, 16], "seed": [0, 1, 2] * 2,
                         "val_accuracy": [0.5, 0.6, 0.7, 0.9, 0.9, 0.9]})
    summary = sweeps.summarize(runs, "units")
    assert list(summary.index) == [4, 16] and list(summary["seeds"]) == [3, 3]
    assert np.allclose(summary["mean"], [0.6, 0.9]) and np.allclose(summary["std"], [0.1, 0.0])


def test_summarize_keeps_the_order_of_the_sweep_and_any_metric():
    runs = pd.DataFrame({"init": ["he"] * 2 + ["xavier"] * 2 + ["article"] * 2,
                         "seed": [0, 1] * 3, "val_loss": [0.3, 0.5, 0.4, 0.4, 0.7, 0.9]})
    summary = sweeps.summarize(runs, "init", "val_loss")
    assert list(summary.index) == ["he", "xavier", "article"]  # not sorted by name
    assert np.allclose(summary["mean"], [0.4, 0.4, 0.8])


def test_plot_sweep_draws_percent_with_error_bars():
    summary = pd.DataFrame({"mean": [0.6, 0.9], "std": [0.1, 0.0], "seeds": [3, 3]},
                           index=pd.Index([0.01, 1.0], name="learning_rate"))
    figure = sweeps.plot_sweep(summary, "learning rate", "accuracy against learning rate", log_x=True)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "validation accuracy (%)"
    assert np.allclose(ax.lines[0].get_ydata(), [60, 90])


def test_plot_sweep_draws_a_loss_unscaled_against_named_values():
    summary = pd.DataFrame({"mean": [0.4, 0.8], "std": [0.1, 0.1], "seeds": [3, 3]},
                           index=pd.Index(["he", "article"], name="init"))
    figure = sweeps.plot_sweep(summary, "initialisation", "loss against init", metric="val_loss")
    ax = figure.axes[0]
    assert ax.get_ylabel() == "validation loss (cross-entropy)"
    assert np.allclose(ax.lines[0].get_ydata(), [0.4, 0.8])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["he", "article"]
