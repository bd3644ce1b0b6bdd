"""Sweeps (chapter "Sweeps"): one setting varied, many trainings, mean and
spread over seeds.

A sweep starts from base settings, changes one of them through a list of
values, trains once per value and seed, and scores every run on a validation
split (never the test set). ``summarize`` reduces the seeds of each value to a
mean and a spread; ``plot_sweep`` draws them. The arrows run one way: this
module uses the training loops, nothing imports it.
"""
import math

import numpy as np
import pandas as pd

from .history import TrainingDiverged
from .losses import cross_entropy_from_logits, get_accuracy, get_predictions
from .network import forward_prop, predict
from .training import gradient_descent

SEEDS = (0, 1, 2)
NUM_CLASSES = 10
#: What :func:`plot_sweep` draws for each metric of a run: axis label, scale.
METRICS = {"val_accuracy": ("validation accuracy (%)", 100),
           "train_accuracy": ("training accuracy (%)", 100),
           "val_loss": ("validation loss (cross-entropy)", 1)}


def mean_and_spread(values):
    """Mean and sample standard deviation over the seeds of each point.

    values: (n_points, n_seeds) -> (mean: (n_points,), std: (n_points,)).
    The spread uses ddof=1: a few seeds are a sample of all the seeds one
    could run, and n - 1 corrects the bias of the variance measured around
    their own mean.
    """
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError("values must be (n_points, n_seeds) with at least 2 "
                         f"seeds, got shape {values.shape}")
    return values.mean(axis=1), values.std(axis=1, ddof=1)


def layer_sizes(n_0, hidden_layers, units):
    """layer_dims: ``hidden_layers`` hidden layers of ``units`` units each.

    That is [n_0, units, ..., 10].
    """
    return [n_0, *[units] * hidden_layers, NUM_CLASSES]


def training_subset(X, y, train_size, seed):
    """``train_size`` columns of X: (n_0, m) and their labels.

    They are drawn without replacement by ``seed``. Each seed draws its own
    sample, so the spread over seeds includes the luck of the draw. None keeps
    all m columns.
    """
    m = X.shape[1]
    if train_size is None:
        return X, y
    if not 1 <= train_size <= m:
        raise ValueError(f"train_size must be between 1 and the {m} training "
                         f"examples, got {train_size}")
    columns = np.sort(np.random.default_rng(seed).choice(m, size=train_size,
                                                         replace=False))
    return np.take(X, columns, axis=1), y[columns]


def run(X, y, X_val, y_val, *, hidden_layers=1, units=64, train_size=None,
        seed=0, fit=gradient_descent, **options):
    """Train one network and score it on the validation split.

    Returns a dict, one row of a sweep. X: (n_0, m), y: (m,) training data;
    X_val: (n_0, m_val), y_val: (m_val,) validation data. ``fit`` is the
    training loop, called as
    ``fit(X, y, layer_dims, seed=seed, progress=False, **options)`` and
    returning ``(params, history)`` with ``history["seconds"]``:
    ``nnlib.gradient_descent`` (options ``learning_rate``, ``iterations``,
    ``init``) or ``nnlib.train`` (``epochs``, ``optimizer``, ...).

    The row holds the settings, ``seed``, ``train_accuracy`` (on the training
    subset), ``val_accuracy``, ``val_loss`` (the mean cross-entropy on the
    validation split), ``seconds`` (training time) and ``diverged``; a run
    whose loss diverged has NaN accuracies and loss.
    """
    X_run, y_run = training_subset(X, y, train_size, seed)
    dims = layer_sizes(X.shape[0], hidden_layers, units)
    row = {"hidden_layers": hidden_layers, "units": units,
           "train_size": X_run.shape[1], **options, "seed": seed}
    try:
        # Overflow on the way to divergence is expected: the row records it,
        # so no warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            params, history = fit(X_run, y_run, dims, seed=seed,
                                  progress=False, **options)
    except TrainingDiverged as error:
        seconds = (error.history["seconds"][-1]
                   if error.history.get("seconds") else math.nan)
        return {**row, "train_accuracy": math.nan, "val_accuracy": math.nan,
                "val_loss": math.nan, "seconds": seconds, "diverged": True}
    L = len(dims) - 1
    val = forward_prop(X_val, params)  # one pass: accuracy and loss
    return {**row,
            "train_accuracy": get_accuracy(predict(X_run, params), y_run),
            "val_accuracy": get_accuracy(get_predictions(val[f"A{L}"]),
                                         y_val),
            "val_loss": cross_entropy_from_logits(val[f"Z{L}"], y_val),
            "seconds": history["seconds"][-1], "diverged": False}


def sweep(X, y, X_val, y_val, name, values, *, seeds=SEEDS, **base):
    """Train once per value of setting ``name`` and per seed.

    Returns a DataFrame with one row per run. base: the settings that stay
    fixed (keywords of :func:`run`, including ``fit``); for example
    ``sweep(X, y, X_val, y_val, "units", [16, 64, 256], learning_rate=0.5,
    iterations=100)``.
    """
    if name in base or name == "seed":
        raise ValueError(f"{name!r} is the setting the sweep varies: give its "
                         "values, not a base value")
    rows = [run(X, y, X_val, y_val, seed=seed, **base, **{name: value})
            for value in values for seed in seeds]
    return pd.DataFrame(rows)


def summarize(runs, name, metric="val_accuracy"):
    """Mean and spread of ``metric`` over seeds, one row per value of ``name``.

    runs: a DataFrame from :func:`sweep`; metric: one of its columns
    (``"val_accuracy"``, ``"val_loss"``, ...). Returns a DataFrame indexed by
    ``name``, the values in the order the sweep ran them, with columns
    ``mean``, ``std`` (ddof=1, :func:`mean_and_spread`) and ``seeds``; a
    value with a diverged run has a NaN mean.
    """
    table = runs.pivot(index=name, columns="seed", values=metric)
    table = table.reindex(pd.unique(runs[name]))  # the sweep's order
    mean, std = mean_and_spread(table.to_numpy(dtype=float))
    return pd.DataFrame({"mean": mean, "std": std, "seeds": table.shape[1]},
                        index=table.index)


def plot_sweep(summary, xlabel, title, *, log_x=False, ax=None, label=None,
               metric="val_accuracy"):
    """Mean of ``metric`` against the swept value, with error bars.

    The error bars are one standard deviation. summary: from
    :func:`summarize` of that metric (accuracies as fractions, drawn in %;
    see ``METRICS``). The swept values may be numbers or names (an init
    method). Returns the Figure.
    """
    # plotting only when asked: the runs need NumPy and pandas
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    ylabel, scale = METRICS[metric]
    x = summary.index.to_numpy()
    ax.errorbar(x, scale * summary["mean"], yerr=scale * summary["std"],
                marker="o", capsize=4, label=label)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax.figure
