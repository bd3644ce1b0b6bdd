"""The command line, run the way a user runs it: ``python -m nnlib train ...``."""
import json
import os
import subprocess
import sys

import pytest

from nnlib import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_mnist = pytest.mark.skipif(not os.environ.get("NNLIB_DATA_DIR"),
                                 reason="set NNLIB_DATA_DIR to the folder holding the MNIST files")


def run(*arguments):
    """Run ``python -m nnlib`` in a subprocess from the repository; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "nnlib", *arguments], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


@needs_mnist
def test_json_prints_exactly_one_object_with_the_results():
    done = run("train", "--layers", "784,10,10", "--iterations", "3", "--train-size", "500", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert done.stdout.count("\n") == 1
    assert result["layers"] == [784, 10, 10]
    assert result["optimizer"] == "gd" and result["iterations"] == 3 and result["learning_rate"] == 0.1
    for key in ("train_accuracy", "test_accuracy"):
        assert 0 <= result[key] <= 1
    assert result["seconds"] > 0


@needs_mnist
def test_json_of_mini_batch_training_holds_the_optimizer_settings(tmp_path):
    done = run("train", "--layers", "784,16,10", "--optimizer", "adam", "--epochs", "1", "--batch-size", "64",
               "--weight-decay", "0.0001", "--dropout", "0.1", "--train-size", "600", "--json",
               "--save", str(tmp_path / "model.npz"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {key: result[key] for key in ("optimizer", "learning_rate", "beta1", "beta2", "eps", "epochs",
                                         "batch_size", "weight_decay", "dropout")} == {
        "optimizer": "adam", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "epochs": 1,
        "batch_size": 64, "weight_decay": 0.0001, "dropout": 0.1}
    assert (tmp_path / "model.npz").exists()


@needs_mnist
def test_text_output_reports_accuracies_and_time(capsys):
    assert cli.main(["train", "--iterations", "2", "--train-size", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "train accuracy" in out and "test accuracy" in out and "training took" in out


def test_help_lists_the_options():
    done = run("train", "--help")
    assert done.returncode == 0
    for option in ("--layers", "--optimizer", "--epochs", "--batch-size", "--weight-decay", "--dropout", "--json"):
        assert option in done.stdout
    assert "(default: None)" not in done.stdout  # the defaults that depend on --optimizer are spelled out
    assert "(default: [784, 10, 10])" in done.stdout


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
@pytest.mark.parametrize("arguments, message", [
    (["--train-size", "0"], "--train-size must be between 1 and 60000, got 0"),
    (["--learning-rate", "-1"], "learning_rate must be a positive finite number, got -1.0"),
    (["--optimizer", "sgd", "--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
    (["--optimizer", "sgd", "--dropout", "1"], "dropout must be a number in [0, 1), got 1.0"),
])
def test_bad_values_exit_2_naming_the_value(arguments, message, capsys):
    assert cli.main(["train", "--train-size", "100", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


@needs_mnist
def test_divergence_exits_1_with_advice(capsys):
    assert cli.main(["train", "--train-size", "100", "--learning-rate", "1e30", "--iterations", "20",
                     "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "smaller learning rate" in err
