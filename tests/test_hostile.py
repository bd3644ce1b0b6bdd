"""Hostile inputs, drawn at random: dtypes, shapes and values (NaN, inf, huge, empty, wrong
ndim, bool, int, object arrays, lists) for train and gradient_descent with both engines, and
random command lines for ``python -m nnlib train``.

What is accepted: a result whose parameters are all finite, TrainingDiverged, or a ValueError
whose message names the argument; for the command line, exit 0, 1 or 2 and, for an error, one
line naming a flag. Never another exception, never a traceback."""
import contextlib
import io
import re
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import cli
from nnlib.training import ENGINES, TrainingDiverged, gradient_descent, train

ARGUMENTS = ("X", "y", "layer_dims", "learning_rate", "iterations", "eval_every", "epochs",
             "batch_size", "optimizer", "weight_decay", "dropout", "init", "seed", "engine",
             "X_test", "y_test", "X_val", "y_val", "schedule", "patience")
NAMES_AN_ARGUMENT = re.compile(r"\b(%s)\b" % "|".join(ARGUMENTS))

ORDINARY = st.floats(-3, 3)
# values that break arithmetic: NaN and inf refused up front, huge ones make training diverge
EXTREME = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, 3e38, 1e300])
HOSTILE_DTYPES = [np.float16, np.longdouble, np.int64, np.uint8, np.bool_, np.complex64, object]


def cast(values, dtype):
    """values.astype(dtype), whatever that gives (NaN cast to int, 1e300 to float32)."""
    with np.errstate(all="ignore"):
        return values.astype(dtype)


@st.composite
def hostile_arrays(draw, rows, columns):
    """Anything in place of an X: (rows, columns): NaN and inf, other shapes and dtypes, a
    list, None."""
    shape = draw(st.sampled_from([(rows, columns), (rows,), (rows, columns, 1), (rows, 0),
                                  (rows + 1, columns), ()]))
    values = draw(hnp.arrays(np.float64, shape, elements=ORDINARY | EXTREME))
    X = cast(values, draw(st.sampled_from([np.float32, np.float64, *HOSTILE_DTYPES])))
    return draw(st.sampled_from([X, X, X.tolist(), None]))


def hostile_labels(y, classes):
    """Anything in place of y: other dtypes and shapes, labels out of range, a list, None."""
    return st.sampled_from([y.astype(np.float32), y.astype(np.bool_), y.astype(object), y[:-1],
                            y.reshape(1, -1), y - 1, y + classes, y.tolist(), None])


@st.composite
def arguments_of(draw, run):
    """Keyword arguments of ``run`` (train or gradient_descent): valid ones, with none, one or
    two replaced by something hostile."""
    n_0, m, classes = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    X = cast(draw(hnp.arrays(np.float64, (n_0, m), elements=ORDINARY)),
             draw(st.sampled_from([np.float32, np.float64])))
    y = draw(hnp.arrays(np.int64, m, elements=st.integers(0, classes - 1)))
    arguments = {"X": X, "y": y, "layer_dims": [n_0, 3, classes], "learning_rate": 0.1,
                 "seed": 0, "init": "he", "engine": draw(st.sampled_from(ENGINES))}
    hostile = {
        "X": hostile_arrays(n_0, m),
        "y": hostile_labels(y, classes),
        "layer_dims": st.sampled_from([[n_0, classes], [n_0], [], [n_0, 0, classes],
                                       [n_0, 10**12, classes], [n_0, 2.5, classes],
                                       [n_0, True, classes], [n_0, "3", classes], None, 7]),
        "learning_rate": st.sampled_from([1e30, 1e10, 0.0, -1.0, np.nan, np.inf, "0.1", True]),
        "seed": st.sampled_from([-1, 2.5, None, "0"]),
        "init": st.sampled_from(["xavier", "article", "zeros", None]),
        "engine": st.sampled_from(["turbo", None]),
    }
    if run is gradient_descent:
        arguments.update(iterations=draw(st.integers(1, 3)), eval_every=0)
        hostile.update(iterations=st.sampled_from([0, -1, 2.5, "2"]),
                       eval_every=st.sampled_from([1, 2, -1]),
                       X_test=hostile_arrays(n_0, 3), y_test=hostile_labels(y, classes))
    else:
        arguments.update(epochs=draw(st.integers(1, 2)), batch_size=draw(st.integers(1, 4)),
                         optimizer=draw(st.sampled_from(["sgd", "momentum", "adam", "adamw"])),
                         learning_rate=None, schedule=draw(st.sampled_from([None, "step", "cosine"])))
        if draw(st.booleans()):  # a validation pair, maybe early stopping on it
            arguments.update(X_val=X[:, :3], y_val=y[:3], patience=draw(st.sampled_from([None, 1, 2])))
        hostile.update(epochs=st.sampled_from([0, -1, 2.5]),
                       batch_size=st.sampled_from([0, 10**9, 2.5, None]),
                       optimizer=st.sampled_from(["rmsprop", "gd", None]),
                       schedule=st.sampled_from(["linear", "", 1, "Cosine"]),
                       patience=st.sampled_from([1, 2, 0, -1, 1.5, "2"]),
                       weight_decay=st.sampled_from([0.01, 1e30, -1.0, np.nan]),
                       dropout=st.sampled_from([0.5, 0.99, 1.0, -0.1, np.nan]),
                       X_val=hostile_arrays(n_0, 3), y_val=hostile_labels(y, classes))
    for name in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=2, unique=True)):
        arguments[name] = draw(hostile[name])
    return arguments


def check_outcome(run, arguments):
    """Run; accept finite parameters, TrainingDiverged, or a ValueError naming an argument."""
    try:
        with np.errstate(all="ignore"):
            params, _ = run(progress=False, **arguments)
    except TrainingDiverged:
        event("diverged")
        return
    except ValueError as error:
        assert NAMES_AN_ARGUMENT.search(str(error)), f"names no argument: {error}"
        event("refused")
        return
    event("trained")
    assert all(np.isfinite(value).all() for value in params.values())


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(arguments_of(gradient_descent))
def test_gradient_descent_returns_finite_parameters_or_a_clear_error(arguments):
    check_outcome(gradient_descent, arguments)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(arguments_of(train))
def test_train_returns_finite_parameters_or_a_clear_error(arguments):
    check_outcome(train, arguments)


# --- the command line --------------------------------------------------------------------

def fake_mnist(data_dir=None):
    """A tiny stand-in for MNIST (30 training and 20 test images), so that each command of the
    test trains in milliseconds; --data-dir is ignored."""
    rng = np.random.default_rng(0)
    return (rng.random((784, 30), dtype=np.float32), rng.integers(0, 10, 30),
            rng.random((784, 20), dtype=np.float32), rng.integers(0, 10, 20))


# {folder} is a temporary folder holding one file, a-file
OPTIONS = {
    "--layers": ["784,10,10", "784,3,10", "784,1000000000,10", "784,0,10", "784", "x", "783,10,10"],
    "--optimizer": ["gd", "sgd", "momentum", "adam", "adamw", "rmsprop"],
    "--learning-rate": ["0.1", "1e30", "-1", "0", "nan", "inf", "x"],
    "--iterations": ["1", "2", "0", "-1", "x"],
    "--eval-every": ["0", "1", "-1"],
    "--epochs": ["1", "0", "-3"],
    "--batch-size": ["1", "16", "0", "100000"],
    "--weight-decay": ["0", "0.01", "-1", "nan", "2000"],
    "--schedule": ["step", "cosine", "linear"],
    "--patience": ["1", "3", "0", "x"],
    "--val-size": ["5", "0", "100000"],
    "--dropout": ["0", "0.5", "1", "-0.1"],
    "--train-size": ["1", "20", "0", "60001", "-5"],
    "--init": ["he", "xavier", "article", "zeros"],
    "--engine": ["plain", "fast", "turbo"],
    "--seed": ["0", "7", "-1", "x", "99999999999999999999"],
    "--data-dir": ["{folder}/a-file", "{folder}/a-file/mnist", "{folder}/missing", "{folder}"],
    "--save": ["{folder}/a", "{folder}/b.npz", "{folder}/missing/c.npz", "{folder}", ""],
}
TOKENS = (st.sampled_from(sorted(OPTIONS)).flatmap(
              lambda flag: st.tuples(st.just(flag), st.sampled_from(OPTIONS[flag])))
          | st.sampled_from([("--json",), ("--no-progress",), ("--help",), ("7",), ("--frobnicate",),
                             ("--seed",)]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "a-file").write_bytes(b"")
    return folder


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=5))
@example([("--learning-rate", "1e30"), ("--iterations", "1"), ("--save", "{folder}/d.npz")])
@example([("--layers", "784,1000000000,10"), ("--json",)])
@example([("--save", "{folder}/missing/c.npz"), ("--seed", "-1")])
def test_any_command_line_exits_0_1_or_2_with_one_line_naming_the_flag(folder, tokens):
    argv = ["train", *[token.format(folder=folder) for pair in tokens for token in pair]]
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(cli, "load_mnist", fake_mnist), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    err = err.getvalue()
    event(f"exit {code}")
    assert code in (0, 1, 2) and "Traceback" not in err, (argv, code, err)
    if code == 1:
        assert err.splitlines()[-1].startswith("error: training diverged: "), (argv, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)
        assert re.search(r"--[a-z]|unrecognized arguments", err), (argv, err)
