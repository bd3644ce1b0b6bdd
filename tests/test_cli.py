"""The command line, run the way a user runs it: ``python -m nnlib train ...``, with both engines."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnlib import cli, training
from nnlib.training import ENGINES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MNIST through nnlib.load_mnist (NNLIB_DATA_DIR or the cache): the subprocesses then read the
# same files
needs_mnist = pytest.mark.usefixtures("mnist")


def run(*arguments):
    """Run ``python -m nnlib`` in a subprocess from the repository; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "nnlib", *arguments], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


@pytest.fixture
def engine_spy(monkeypatch):
    """Which engine really trained: steps of the plain loops (forward_prop called by
    nnlib.training) and chunks of the fast engine's Workspace, counted in this process."""
    from nnlib.fast.workspace import Workspace
    counts = {"plain": 0, "fast": 0}
    forward_prop, chunk = training.forward_prop, Workspace._chunk

    def plain_step(*args, **kwargs):
        counts["plain"] += 1
        return forward_prop(*args, **kwargs)

    def fast_chunk(*args, **kwargs):
        counts["fast"] += 1
        return chunk(*args, **kwargs)

    monkeypatch.setattr(training, "forward_prop", plain_step)
    monkeypatch.setattr(Workspace, "_chunk", fast_chunk)
    return counts


@needs_mnist
@pytest.mark.parametrize("engine_option, engine", [(["--engine", "plain"], "plain"), ([], "fast")],
                         ids=["plain", "fast-by-default"])
def test_json_prints_exactly_one_object_with_the_results(engine_option, engine):
    done = run("train", "--layers", "784,10,10", "--iterations", "3", "--train-size", "500", "--json",
               *engine_option)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert done.stdout.count("\n") == 1
    assert result["layers"] == [784, 10, 10]
    assert result["optimizer"] == "gd" and result["iterations"] == 3 and result["learning_rate"] == 0.1
    assert result["engine"] == engine  # fast by default
    for key in ("train_accuracy", "test_accuracy"):
        assert 0 <= result[key] <= 1
    assert result["seconds"] > 0


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
def test_json_of_mini_batch_training_holds_the_optimizer_settings(engine, tmp_path):
    done = run("train", "--layers", "784,16,10", "--optimizer", "adam", "--epochs", "1", "--batch-size", "64",
               "--weight-decay", "0.0001", "--dropout", "0.1", "--train-size", "600", "--json",
               "--save", str(tmp_path / "model.npz"), "--engine", engine)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {key: result[key] for key in ("optimizer", "learning_rate", "beta1", "beta2", "eps", "epochs",
                                         "batch_size", "weight_decay", "dropout", "engine")} == {
        "optimizer": "adam", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "epochs": 1,
        "batch_size": 64, "weight_decay": 0.0001, "dropout": 0.1, "engine": engine}
    assert (tmp_path / "model.npz").exists()


@needs_mnist
def test_both_engines_train_the_same_network(capsys):
    """Same settings, float32 on both sides: the accuracies agree to rounding (a few images at most)."""
    results = {}
    for engine in ENGINES:
        assert cli.main(["train", "--layers", "784,16,10", "--optimizer", "sgd", "--epochs", "2",
                         "--batch-size", "50", "--dropout", "0.2", "--weight-decay", "0.001",
                         "--train-size", "1000", "--json", "--engine", engine]) == 0
        results[engine] = json.loads(capsys.readouterr().out)
    assert results["plain"]["engine"] == "plain" and results["fast"]["engine"] == "fast"
    assert abs(results["plain"]["train_accuracy"] - results["fast"]["train_accuracy"]) <= 0.005
    assert abs(results["plain"]["test_accuracy"] - results["fast"]["test_accuracy"]) <= 0.005


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_text_output_reports_accuracies_time_and_the_engine_that_ran(engine, optimizer, engine_spy, capsys):
    steps = ["--iterations", "2"] if optimizer == "gd" else ["--epochs", "1", "--batch-size", "100"]
    assert cli.main(["train", "--optimizer", optimizer, *steps, "--train-size", "300", "--no-progress",
                     "--engine", engine]) == 0
    out = capsys.readouterr().out
    assert "train accuracy" in out and "test accuracy" in out and "training took" in out
    assert f"{engine} engine" in out
    other = "plain" if engine == "fast" else "fast"
    assert engine_spy[engine] > 0 and engine_spy[other] == 0  # the engine asked for, and only it, ran


def test_help_lists_the_options():
    done = run("train", "--help")
    assert done.returncode == 0
    for option in ("--layers", "--optimizer", "--epochs", "--batch-size", "--weight-decay", "--dropout", "--json",
                   "--engine"):
        assert option in done.stdout
    assert "(default: None)" not in done.stdout  # the defaults that depend on --optimizer are spelled out
    assert "(default: [784, 10, 10])" in done.stdout


def test_help_says_both_engines_compute_the_same_maths_with_other_rounding_and_speed():
    done = run("train", "--help")
    text = " ".join(done.stdout.split())  # argparse wraps the lines
    engine_help = text[text.index("--engine {plain,fast}"):]
    engine_help = engine_help[:engine_help.index("(default: fast)") + len("(default: fast)")]
    assert "plain:" in engine_help and "fast:" in engine_help
    assert "same maths" in engine_help
    assert "rounding" in engine_help
    assert "faster" in engine_help


@pytest.mark.parametrize("value", ["turbo", "Fast", ""])
def test_a_bad_engine_exits_2_naming_the_choices(value):
    done = run("train", "--engine", value, "--json")
    assert done.returncode == 2
    assert "--engine" in done.stderr and "invalid choice" in done.stderr and "'plain', 'fast'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("layers, message", [
    ("784,x,10", "comma-separated integers"),
    ("784", "at least two positive sizes"),
    ("784,0,10", "at least two positive sizes"),
    ("783,10,10", "must start with 784"),
    ("784,10,9", "end with 10"),
])
def test_bad_layers_exit_2_with_a_clear_message_and_no_traceback(layers, message):
    done = run("train", "--layers", layers, "--json")
    assert done.returncode == 2
    assert "--layers" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("arguments, message", [
    (["--epochs", "3"], "--epochs cannot be used with full-batch gradient descent"),
    (["--optimizer", "gd", "--dropout", "0.5"], "--dropout cannot be used"),
    (["--optimizer", "adam", "--iterations", "10"], "--iterations cannot be used with mini-batch training"),
])
def test_options_of_the_other_kind_of_training_are_refused(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", *arguments])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("arguments, message", [
    (["--train-size", "0"], "--train-size must be between 1 and 60000, got 0"),
    (["--learning-rate", "-1"], "learning_rate must be a positive finite number, got -1.0"),
    (["--optimizer", "sgd", "--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
    (["--optimizer", "sgd", "--dropout", "1"], "dropout must be a number in [0, 1), got 1.0"),
])
def test_bad_values_exit_2_naming_the_value(arguments, message, engine, capsys):
    assert cli.main(["train", "--train-size", "100", "--engine", engine, *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_exits_1_with_advice(engine, capsys):
    with np.errstate(over="ignore", invalid="ignore"):
        code = cli.main(["train", "--train-size", "100", "--learning-rate", "1e30", "--iterations", "20",
                         "--no-progress", "--engine", engine])
    assert code == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "smaller learning rate" in err
