"""The command line, run the way a user runs it: ``python -m nnlib train ...``, with both engines."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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
                   "--engine", "--schedule {step,cosine}", "--patience N", "--val-size N"):
        assert option in done.stdout
    assert "adamw" in done.stdout
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
    (["--patience", "3"], "--patience cannot be used with full-batch gradient descent"),
    (["--schedule", "cosine"], "--schedule cannot be used with full-batch gradient descent"),
    (["--val-size", "100"], "--val-size cannot be used with full-batch gradient descent"),
])
def test_options_of_the_other_kind_of_training_are_refused(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", *arguments])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if the command loads MNIST or starts training: what must be refused is
    refused before."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the command loaded data or trained before refusing its arguments")

    for name in ("load_mnist", "gradient_descent", "train"):
        monkeypatch.setattr(cli, name, forbidden)


def refused(arguments, capsys):
    """Run the command in this process and return its one line of error; it must exit 2."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", *arguments])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no usage, no traceback
    return err


@pytest.mark.parametrize("arguments, message", [
    (["--train-size", "0"], "--train-size must be between 1 and 60000, got 0"),
    (["--train-size", "60001"], "--train-size must be between 1 and 60000, got 60001"),
    (["--learning-rate", "-1"], "--learning-rate must be a positive finite number, got -1.0"),
    (["--learning-rate", "nan"], "--learning-rate must be a positive finite number, got nan"),
    (["--iterations", "0"], "--iterations must be an integer >= 1, got 0"),
    (["--eval-every", "-2"], "--eval-every must be an integer >= 0, got -2"),
    (["--optimizer", "sgd", "--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
    (["--optimizer", "sgd", "--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
    (["--optimizer", "sgd", "--dropout", "1"], "--dropout must be a number in [0, 1), got 1.0"),
    (["--optimizer", "adam", "--weight-decay", "inf"], "--weight-decay must be a finite number >= 0, got inf"),
    (["--optimizer", "adamw", "--weight-decay", "-1"], "--weight-decay must be a finite number >= 0, got -1.0"),
    (["--optimizer", "adamw", "--learning-rate", "0.1", "--weight-decay", "10"],
     "--weight-decay=10 with optimizer 'adamw' and --learning-rate=0.1 multiplies the weights by 1 - 0.1 * 10 = 0"
     " at every step: use a --weight-decay below 10 (1 / --learning-rate)"),
    (["--optimizer", "sgd", "--schedule", "linear"], "--schedule: invalid choice: 'linear' (choose from 'step', "
                                                     "'cosine')"),
    (["--optimizer", "sgd", "--patience", "0"], "--patience must be an integer >= 1, got 0"),
    (["--optimizer", "sgd", "--patience", "x"], "--patience: invalid int value: 'x'"),
    (["--optimizer", "sgd", "--val-size", "100"], "--val-size is used with --patience only"),
    (["--optimizer", "sgd", "--patience", "2", "--val-size", "0"],
     "--val-size must be between 1 and 26400 (the training images after the first --train-size 33600), got 0"),
    (["--optimizer", "sgd", "--patience", "2", "--train-size", "59000", "--val-size", "1001"],
     "--val-size must be between 1 and 1000"),
    (["--optimizer", "sgd", "--patience", "2", "--train-size", "60000"],
     "--patience needs validation images, but --train-size 60000 uses all 60000 training images"),
    (["--seed", "x"], "--seed: invalid int value: 'x'"),
    (["--engine", "turbo"], "--engine: invalid choice: 'turbo'"),
])
def test_bad_values_exit_2_in_one_line_naming_the_flag_before_loading_data(arguments, message, no_training,
                                                                           capsys):
    assert message in refused(arguments, capsys)


def test_a_negative_seed_exits_2_naming_the_flag(no_training, capsys):
    assert refused(["--seed", "-1"], capsys) == "error: --seed must be an integer >= 0, got -1\n"


def test_layers_too_large_for_memory_exit_2_with_the_memory_needed(no_training, capsys):
    err = refused(["--layers", "784,1000000000,10"], capsys)
    assert err.startswith("error: --layers [784, 1000000000, 10] needs at least ")
    assert " GiB of memory " in err and " GiB are available" in err


def test_a_data_dir_that_is_a_file_exits_2_naming_the_flag(tmp_path, no_training, capsys):
    file = tmp_path / "mnist.zip"
    file.write_bytes(b"")
    assert refused(["--data-dir", str(file)], capsys) == (
        f"error: --data-dir {file} is a file, not a folder; give the folder that holds (or will hold) "
        "the MNIST files\n")


def test_a_data_dir_under_a_file_exits_2_naming_the_flag_and_the_file(tmp_path, no_training, capsys):
    file = tmp_path / "mnist.zip"
    file.write_bytes(b"")
    assert refused(["--data-dir", str(file / "mnist")], capsys).startswith(
        f"error: --data-dir {file / 'mnist'}: {file} is a file, not a folder; ")


def test_save_into_a_missing_folder_exits_2_before_training(tmp_path, no_training, capsys):
    path = tmp_path / "missing" / "model.npz"
    assert refused(["--save", str(path)], capsys) == (
        f"error: --save {path}: there is no folder {path.parent}\n")


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder this process cannot write in: a read-only one, or /sys when running as root
    (root writes in read-only folders; nobody creates files in sysfs)."""
    if os.name != "posix":
        pytest.skip("needs POSIX permissions")
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    elif os.path.isdir("/sys"):
        yield Path("/sys")
    else:
        pytest.skip("running as root without /sys: no folder is read-only")


def test_save_into_a_read_only_folder_exits_2_before_training(unwritable_folder, no_training, capsys):
    path = unwritable_folder / "model.npz"
    err = refused(["--save", str(path)], capsys)
    assert err.startswith(f"error: --save {path}: cannot write in the folder {unwritable_folder} (")
    assert not path.exists()


def test_save_to_a_folder_exits_2_asking_for_a_file_name(tmp_path, no_training, capsys):
    assert refused(["--save", str(tmp_path)], capsys) == (
        f"error: --save {str(tmp_path)!r} is a folder: give a file name, such as {tmp_path / 'params.npz'}\n")


def test_a_refused_save_path_returns_at_once_in_a_subprocess(tmp_path):
    """Run as a user runs it: the refusal comes before MNIST is loaded or any step is taken."""
    start = time.perf_counter()
    done = run("train", "--iterations", "100000", "--save", str(tmp_path / "missing" / "model"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--save" in done.stderr and "there is no folder" in done.stderr
    assert time.perf_counter() - start < 30  # 100,000 iterations would take minutes


@needs_mnist
def test_save_without_npz_reports_the_file_really_written(tmp_path, capsys):
    path = tmp_path / "model"
    assert cli.main(["train", "--iterations", "1", "--train-size", "100", "--no-progress",
                     "--save", str(path)]) == 0
    assert f"saved the parameters to {path}.npz\n" in capsys.readouterr().out
    assert (tmp_path / "model.npz").exists() and not path.exists()


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_exits_1_with_advice(engine, capsys):
    code = cli.main(["train", "--train-size", "100", "--learning-rate", "1e30", "--iterations", "20",
                     "--no-progress", "--engine", engine])
    assert code == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "smaller learning rate" in err


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
def test_a_last_update_that_blows_up_exits_1_and_saves_nothing(engine, tmp_path, capsys):
    """One step at learning rate 1e30 leaves parameters whose outputs are all NaN."""
    code = cli.main(["train", "--train-size", "100", "--learning-rate", "1e30", "--iterations", "1",
                     "--no-progress", "--engine", engine, "--save", str(tmp_path / "model.npz")])
    assert code == 1
    assert capsys.readouterr().err == (
        "error: training diverged: the loss became nan after the update of iteration 1 with "
        "learning_rate=1e+30; the steps are too large: try a smaller learning rate, such as 1e+29\n")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def train_spy(monkeypatch):
    """The keyword arguments the command passed to nnlib's train (which still runs)."""
    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return train(*args, **kwargs)

    train = cli.train
    monkeypatch.setattr(cli, "train", spy)
    return seen


@needs_mnist
@pytest.mark.parametrize("engine", ENGINES)
def test_adamw_with_a_schedule_and_early_stopping(engine, mnist, train_spy, capsys):
    """--patience validates on the --val-size training images right after the first --train-size:
    never trained on, and not the test set."""
    assert cli.main(["train", "--layers", "784,16,10", "--optimizer", "adamw", "--learning-rate", "0.01",
                     "--weight-decay", "0.01", "--schedule", "cosine", "--patience", "2", "--val-size", "300",
                     "--epochs", "4", "--batch-size", "50", "--train-size", "600", "--json",
                     "--engine", engine]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {key: result[key] for key in ("optimizer", "weight_decay", "schedule", "patience", "val_size")} == {
        "optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine", "patience": 2, "val_size": 300}
    assert 1 <= result["best_epoch"] <= result["epochs_run"] <= 4 and result["val_loss"] > 0
    X_train, y_train, _, _ = mnist
    assert np.array_equal(train_spy["X_val"], X_train[:, 600:900])
    assert np.array_equal(train_spy["y_val"], y_train[600:900])
    assert (train_spy["optimizer"], train_spy["schedule"], train_spy["patience"]) == ("adamw", "cosine", 2)


@needs_mnist
def test_text_output_reports_the_schedule_and_where_early_stopping_stopped(capsys):
    assert cli.main(["train", "--optimizer", "adam", "--learning-rate", "0.05", "--schedule", "step",
                     "--patience", "1", "--epochs", "30", "--batch-size", "20", "--train-size", "200",
                     "--val-size", "1000", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "30 epochs of adam, batch size 20, step schedule" in out
    # a learning rate this large on 200 images overfits: the validation loss rises before epoch 30
    assert "early stopping: ran " in out and " of 30 epochs, kept the parameters of epoch " in out
    assert "(lowest validation loss on 1000 images)" in out
    assert "ran 30 of 30" not in out


@needs_mnist
def test_without_patience_nothing_is_validated(train_spy, capsys):
    assert cli.main(["train", "--optimizer", "sgd", "--epochs", "1", "--train-size", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "X_val" not in train_spy and "best_epoch" not in result
    assert result["patience"] is None and result["schedule"] is None


# --- --cnn: a convolutional network --------------------------------------------------------

@needs_mnist
def test_cnn_trains_the_chapters_network_with_adam_and_the_plain_engine(capsys, tmp_path):
    assert cli.main(["train", "--cnn", "--epochs", "1", "--train-size", "300", "--json",
                     "--save", str(tmp_path / "lenet")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["layers"] == "conv8k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,dense10"
    assert (result["optimizer"], result["engine"], result["epochs"]) == ("adam", "plain", 1)
    assert 0 <= result["test_accuracy"] <= 1 and result["seconds"] > 0
    from nnlib import cnn, load_params
    params = load_params(tmp_path / "lenet.npz", cnn.LENET)
    assert params["W2"].shape == (16, 8, 5, 5)


@needs_mnist
def test_cnn_takes_its_layers_as_text_and_says_how_to_load_them(capsys, tmp_path):
    assert cli.main(["train", "--cnn", "conv4k3s2,relu,flatten,dense10", "--optimizer", "sgd",
                     "--epochs", "1", "--train-size", "200", "--patience", "1", "--val-size", "100",
                     "--no-progress", "--save", str(tmp_path / "small.npz")]) == 0
    out = capsys.readouterr().out
    assert "layers CNN conv4k3s2,relu,flatten,dense10, 1 epochs of sgd" in out
    assert "plain engine" in out and "test accuracy" in out and "early stopping" in out
    assert "nnlib.cnn.parse_layers('conv4k3s2,relu,flatten,dense10')" in out


@pytest.mark.parametrize("arguments, message", [
    (["--cnn", "--layers", "784,10,10"], "--layers cannot be used with --cnn"),
    (["--cnn", "--optimizer", "gd"], "--optimizer gd cannot be used with --cnn: a CNN trains on mini-batches"),
    (["--cnn", "--engine", "fast"], "--engine fast cannot be used with --cnn: the fast engine trains dense"),
    (["--cnn", "--dropout", "0.2"], "--dropout cannot be used with --cnn"),
    (["--cnn", "conv8,flatten,dense10"], "--cnn: cannot read 'conv8'"),
    (["--cnn", "conv8k5,flatten,dense9"], "--cnn: must end with dense10"),
    (["--cnn", "conv8k30,flatten,dense10"], "its 30 x 30 kernel is larger than its input (m, 1, 28, 28)"),
    (["--cnn", "--iterations", "5"], "--iterations cannot be used with mini-batch training"),
])
def test_bad_cnn_options_exit_2_with_one_line(arguments, message):
    done = run("train", *arguments, "--json")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
