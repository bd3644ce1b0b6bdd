"""The explorer and the digit pad, driven from code as a reader drives them with the mouse.

Sliders are set through their ``value``, buttons pressed with ``click()`` (which calls the
same handlers as a click in the browser), and canvas mouse events sent as the browser sends
them. The real browser is in test_browser.py. The explorer trains on synthetic "digits"
(MNIST's shape, 784 pixels and 10 classes, made in a fraction of a second); the digit pad's
tests that need a network that reads real digits train one on MNIST. The pad with a CNN is
tested with random, untrained parameters of cnn.LENET: the pad must give the CNN's answer,
whatever it is.
"""
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnlib
from nnlib import cnn

widgets = pytest.importorskip("nnlib.widgets")
from nnlib.widgets import DigitPad, Explorer, source_digests  # noqa: E402
from nnlib.widgets import explorer as explorer_module  # noqa: E402
from nnlib.widgets.digit_pad import (CANVAS, PEN, map_grid, prediction_figure, rasterize,  # noqa: E402
                                     unit_grid)
from nnlib.widgets.explorer import dead_fraction  # noqa: E402


def synthetic_digits(m, seed):
    """(X: (784, m) float32 in [0, 1], y: (m,)): images of 10 classes, sparse like MNIST's.

    Each class has its own random set of 15% of the pixels (its template); an image keeps
    20% of its class's pixels and adds 15% random ones, each inked in [0.5, 1). A network
    [784, 16, 10] reaches about 85% on new images in 40 iterations, not 100%.
    """
    templates = np.random.default_rng(0).random((784, 10)) < 0.15
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, m)
    ink = (templates[:, y] & (rng.random((784, m)) < 0.2)) | (rng.random((784, m)) < 0.15)
    return (ink * rng.uniform(0.5, 1, (784, m))).astype(np.float32), y


@pytest.fixture(scope="module")
def split():
    """Synthetic training and validation images: (X_train, y_train, X_val, y_val)."""
    return (*synthetic_digits(6000, seed=1), *synthetic_digits(600, seed=2))


@pytest.fixture
def explorer(split):
    """An explorer with small, fast defaults (1,000 images, 40 iterations)."""
    return Explorer(*split, units=16, iterations=40, train_size=1000)


@pytest.fixture(scope="module")
def model(mnist):
    """A small network [784, 32, 10] trained on MNIST (about 90% on its test images).

    The fast engine: the network is what the pad needs, not a test of the training loop.
    """
    X, y, _, _ = mnist
    params, _ = nnlib.gradient_descent(X[:, :5000], y[:5000], [784, 32, 10], 0.5, 150, progress=False,
                                       engine="fast")
    return params


@pytest.fixture(scope="module")
def untrained():
    """A network of the digit pad's shape that has not learned anything (no MNIST needed)."""
    return nnlib.init_params([784, 32, 10], seed=0, dtype=np.float32)


@pytest.fixture(scope="module")
def lenet():
    """Random parameters of the chapter's CNN, cnn.LENET (untrained: no MNIST needed)."""
    return cnn.init_params(cnn.LENET, seed=0)


def a_drawn_seven():
    """A 7 drawn on the pad's canvas, as the browser test draws it: (280, 280) ink."""
    return rasterize([[(80, 60), (200, 60), (170, 130), (140, 200), (120, 240)]])


def click_and_wait(explorer):
    """Press Train as a reader does (a background thread), and wait for the run to end."""
    explorer.train_button.click()
    assert explorer.running or len(explorer.runs) > 0
    explorer._thread.join(timeout=120)
    assert not explorer.running


# ---------------------------------------------------------------- explorer


def test_import_nnlib_loads_no_widget_toolkit():
    code = "import sys, nnlib; print(sorted(m for m in ('ipywidgets', 'ipycanvas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sliders_give_the_layer_dims(explorer):
    explorer.hidden_layers.value = 3
    explorer.units[0].value, explorer.units[1].value, explorer.units[2].value = 64, 32, 16
    explorer.learning_rate.value = 0.1
    assert explorer.settings() == {"layer_dims": [784, 64, 32, 16, 10], "learning_rate": 0.1, "iterations": 40,
                                   "train_size": 1000, "init": "he", "seed": 0}


def test_unit_sliders_of_unused_layers_are_hidden(explorer):
    explorer.hidden_layers.value = 2
    assert [s.layout.display for s in explorer.units] == [None, None, "none", "none"]


def test_train_button_adds_a_row_and_draws_the_curves(explorer):
    assert len(explorer.runs) == 0 and explorer.plot.layout.display == "none"
    click_and_wait(explorer)
    assert len(explorer.runs) == 1
    first_png = explorer.plot.value
    assert bytes(first_png).startswith(b"\x89PNG") and explorer.plot.layout.display is None
    explorer.units[0].value = 4
    explorer.iterations.value = 20
    click_and_wait(explorer)
    assert len(explorer.runs) == 2
    assert list(explorer.runs["layer_dims"]) == ["784, 16, 10", "784, 4, 10"]
    assert bytes(explorer.plot.value) != bytes(first_png)
    loss_line = explorer._lines["loss"]
    assert list(loss_line.get_xdata()) == list(range(1, 21))
    assert np.allclose(loss_line.get_ydata(), explorer.history["loss"])
    assert "<table" in explorer.table.value and explorer.table.value.count("<tr>") == 3  # header + 2 runs


def test_a_run_records_settings_and_accuracies(explorer, split):
    row = explorer.train(wait=True)
    assert row["result"] == "done" and row["iterations"] == 40 and row["train_size"] == 1000
    # The validation accuracy is that of the returned parameters on the validation split.
    _, _, X_val, y_val = split
    assert row["val_accuracy"] == nnlib.get_accuracy(nnlib.predict(X_val, explorer.params), y_val)
    assert 0.5 < row["val_accuracy"] < 1 and row["seconds"] > 0
    assert explorer.message.startswith("Run 1: done; validation accuracy")
    assert list(explorer.runs.columns) == ["layer_dims", "learning_rate", "iterations", "train_size", "init", "seed",
                                           "result", "train_accuracy", "val_accuracy", "seconds"]


def test_the_same_settings_give_the_same_run(explorer):
    explorer.train(wait=True)
    explorer.train(wait=True)
    runs = explorer.runs.drop(columns="seconds")
    assert runs.iloc[0].equals(runs.iloc[1])


def test_the_explorer_takes_the_steps_of_gradient_descent(explorer, split):
    X, y, _, _ = split
    explorer.train(wait=True)
    # the explorer trains on one BLAS thread; so does the reference
    with threadpool_limits(limits=1, user_api="blas"):
        params, history = nnlib.gradient_descent(X[:, :1000], y[:1000], [784, 16, 10], 0.5, 40,
                                                 progress=False)
    # the same loop, the same bits
    assert explorer.history["loss"] == history["loss"]
    assert all(np.array_equal(explorer.params[key], params[key]) for key in params)


def test_the_explorer_trains_with_nnlib_gradient_descent_and_its_default_engine(explorer, monkeypatch):
    calls, steps = [], []
    gradient_descent, forward_prop = explorer_module.gradient_descent, nnlib.training.forward_prop

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return gradient_descent(*args, **kwargs)

    def step(*args, **kwargs):
        steps.append(args[0].shape[1])
        return forward_prop(*args, **kwargs)

    monkeypatch.setattr(explorer_module, "gradient_descent", spy)
    monkeypatch.setattr(nnlib.training, "forward_prop", step)
    explorer.iterations.value = 20
    explorer.train(wait=True)
    assert len(calls) == 1 and "engine" not in calls[0] and "threads" not in calls[0]
    assert steps == [1000] * 20  # the plain engine: the book's forward_prop at every step


def test_too_large_a_learning_rate_says_why(explorer):
    explorer.learning_rate.value = 10
    row = explorer.train(wait=True)
    assert row["val_accuracy"] < 0.2
    assert "learned nothing" in explorer.message and "dead ReLUs" in explorer.message
    assert "smaller learning rate, such as 1" in explorer.message
    assert "nnlib-warning" in explorer.message_box.value


def test_too_small_a_learning_rate_says_why(explorer):
    explorer.learning_rate.value = 0.001
    explorer.iterations.value = 10
    explorer.train(wait=True)
    assert "The loss barely moved" in explorer.message and "too small" in explorer.message


def test_a_diverging_run_shows_the_message_instead_of_a_traceback(split):
    X, y, X_val, y_val = split
    huge = Explorer(X * 1e30, y, X_val, y_val, train_size=1000, iterations=20)  # logits overflow to inf
    huge.train_button.click()
    huge._thread.join(timeout=120)
    assert huge.runs["result"].iloc[-1].startswith("diverged at")
    assert np.isnan(huge.runs["val_accuracy"].iloc[-1])
    assert "too large" in huge.message and "nnlib-error" in huge.message_box.value
    assert not huge.train_button.disabled and huge.stop_button.disabled


def test_settings_nnlib_rejects_become_the_message(explorer, monkeypatch):
    def reject(*args, **kwargs):
        raise ValueError("init method must be one of he, xavier, article; got 'glorot'")
    monkeypatch.setattr("nnlib.training.init_params", reject)
    assert explorer.train(wait=True) is None
    assert explorer.message.startswith("These settings cannot run: init method must be one of")
    assert len(explorer.runs) == 0 and not explorer.running


def test_stop_ends_a_run_early(explorer):
    explorer.iterations.value = 2000
    explorer.train()
    time.sleep(0.3)
    assert explorer.running and explorer.train_button.disabled
    explorer.stop()
    assert not explorer.running and not explorer.train_button.disabled
    row = explorer.runs.iloc[-1]
    assert row["result"] == f"stopped after {row['iterations']}" and 0 < row["iterations"] < 2000


def test_one_run_at_a_time(explorer):
    explorer.iterations.value = 2000
    explorer.train()
    try:
        with pytest.raises(RuntimeError, match="in progress"):
            explorer.train()
    finally:
        explorer.stop()


def test_bad_data_is_refused_at_construction(split):
    X, y, X_val, y_val = split
    with pytest.raises(ValueError, match="y has"):
        Explorer(X, y[:-1], X_val, y_val)
    with pytest.raises(ValueError, match="X_val has 783 rows"):
        Explorer(X, y, X_val[1:], y_val)


def test_table_view_rounds_for_people(explorer):
    explorer.train(wait=True)
    view = explorer.table_view(seconds=False)
    assert "seconds" not in view.columns
    assert view["val_accuracy"].iloc[0].endswith("%") and len(view["val_accuracy"].iloc[0].split(".")[1]) == 2


def test_display_shows_the_widget_never_its_repr(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "VBox(" not in bundle["text/plain"] and "JupyterLab" in bundle["text/plain"]


def test_dead_fraction_counts_units_silent_on_every_example():
    activations = {"A0": np.ones((3, 4)), "A1": np.array([[0, 0, 0, 0], [0, 1, 0, 0.]]),
                   "A2": np.array([[0, 0, 0, 0.]]), "A3": np.full((10, 4), 0.1)}
    assert dead_fraction(activations, L=3) == pytest.approx(2 / 3)
    assert dead_fraction({"A0": np.ones((3, 4)), "A1": np.full((10, 4), 0.1)}, L=1) == 0.0


# ---------------------------------------------------------------- digit pad


def test_pad_answers_a_known_mnist_digit(model, mnist):
    _, _, X_test, y_test = mnist
    pad = DigitPad(model)
    probabilities = pad.predict(X_test[:, 0].reshape(28, 28))  # a 7
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert y_test[0] == 7 and probabilities.argmax() == 7 and probabilities[7] > 0.5
    assert "The network says 7" in pad.answer.value
    assert bytes(pad.view.value).startswith(b"\x89PNG") and pad.view.layout.display is None


def test_pad_agrees_with_the_network_on_test_images(model, mnist):
    """MNIST's images are already centred and scaled: preprocessing them again changes little."""
    _, _, X_test, y_test = mnist
    pad = DigitPad(model)
    answers = np.array([pad.predict(X_test[:, i].reshape(28, 28)).argmax() for i in range(20)])
    assert np.mean(answers == nnlib.predict(X_test[:, :20], model)) >= 0.95
    assert np.mean(answers == y_test[:20]) >= 0.8


def test_pad_sees_the_image_after_mnist_preprocessing(untrained):
    pad = DigitPad(untrained)
    drawing = np.zeros((100, 60))
    drawing[10:90, 25:35] = 1  # a tall bar, off to one side
    pad.predict(drawing)
    assert pad.image.shape == (28, 28) and pad.image.dtype == np.float32
    assert np.array_equal(pad.image, nnlib.images.to_mnist(drawing))
    rows = np.flatnonzero(pad.image.any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20  # the longest side scaled to MNIST's 20-pixel box


def test_mouse_strokes_then_predict_show_an_answer(model):
    pad = DigitPad(model)
    send = pad.canvas._handle_frontend_event  # what the browser's mouse events call
    send(None, {"event": "mouse_down", "x": 140, "y": 40}, [])
    for y in range(50, 250, 10):
        send(None, {"event": "mouse_move", "x": 140, "y": y}, [])
    send(None, {"event": "mouse_up", "x": 140, "y": 240}, [])
    send(None, {"event": "mouse_move", "x": 10, "y": 10}, [])  # pen up: no ink
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == 21
    pad.predict_button.click()
    assert pad.probabilities is not None and pad.probabilities.argmax() == 1  # a vertical bar is a 1
    assert "The network says 1" in pad.answer.value


def test_predict_on_an_empty_pad_asks_for_a_drawing(untrained):
    pad = DigitPad(untrained)
    pad.predict_button.click()
    assert pad.probabilities is None and "draw a digit first" in pad.answer.value


def test_clear_erases_drawing_and_answer(untrained):
    pad = DigitPad(untrained)
    pad.add_stroke([(100, 100), (180, 180)])
    pad.predict_drawing()
    pad.clear_button.click()
    assert pad.strokes == [] and not pad.drawing().any()
    assert pad.view.layout.display == "none" and "The network says" not in pad.answer.value


def test_pad_refuses_a_network_of_the_wrong_shape():
    with pytest.raises(ValueError, match="784 inputs and 10 outputs"):
        DigitPad(nnlib.init_params([784, 8, 3]))


def test_rasterize_draws_a_round_pen():
    ink = rasterize([[(140, 140)]])  # one click: a dot of diameter PEN
    assert ink.shape == (CANVAS, CANVAS) and ink[140, 140] == 1
    assert ink[140, 140 + PEN // 2 + 2] == 0 and ink[140, 140 + PEN // 2 - 2] == 1
    line = rasterize([[(20, 50), (260, 50)]])
    assert line[50, 20:261].min() == 1 and line[50 + PEN, :].max() == 0
    assert rasterize([]).sum() == 0


def test_figure_shows_input_probabilities_and_each_hidden_layer(untrained):
    activations = nnlib.forward_prop(np.zeros((784, 1), np.float32), untrained)
    figure = prediction_figure(np.zeros((28, 28)), activations)
    assert len(figure.axes) == 3 and figure.axes[1].get_xlabel() == "digit"
    assert unit_grid(np.arange(10.)).shape == (3, 4)


def test_learning_rate_slider_is_a_log_scale_of_round_values(split):
    values = [value for _, value in Explorer(*split).learning_rate.options]
    assert values[0] == 0.001 and values[-1] == 50 and 0.5 in values and 10 in values
    assert all(2 <= b / a <= 2.5 for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="learning_rate must be one of"):
        Explorer(*split, learning_rate=0.3)


def test_dense_pad_refuses_a_cnn_without_its_layers(lenet):
    with pytest.raises(ValueError, match=r"convolutional network's kernels: give its layers too"):
        DigitPad(lenet)


def test_unit_grid_fills_rows_left_to_right():
    grid = unit_grid(np.arange(10.))
    assert np.array_equal(grid[:2], [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert np.array_equal(grid[2, :2], [8, 9]) and np.isnan(grid[2, 2:]).all()


# ---------------------------------------------------------------- digit pad with a CNN


def test_cnn_pad_answers_what_cnn_forward_prop_answers(lenet):
    pad = DigitPad(lenet, layers=cnn.LENET)
    drawing = a_drawn_seven()
    probabilities = pad.predict(drawing)
    image = nnlib.images.to_mnist(drawing)
    assert np.array_equal(pad.image, image)
    expected = cnn.forward_prop(image.reshape(1, 1, 28, 28), lenet, cnn.LENET)["A3"][:, 0]
    assert probabilities.shape == (10,) and probabilities.dtype == np.float32
    assert np.array_equal(probabilities, expected)
    assert pad.activations["A1"].shape == (1, 8, 28, 28)  # the first layer's feature maps
    answer = int(expected.argmax())
    assert f"The network says {answer}" in pad.answer.value
    assert bytes(pad.view.value).startswith(b"\x89PNG") and pad.view.layout.display is None


def test_cnn_pad_answers_a_stroke_drawn_with_the_mouse(lenet):
    pad = DigitPad(lenet, layers=cnn.LENET)
    send = pad.canvas._handle_frontend_event
    send(None, {"event": "mouse_down", "x": 140, "y": 40}, [])
    for y in range(50, 250, 10):
        send(None, {"event": "mouse_move", "x": 140, "y": y}, [])
    send(None, {"event": "mouse_up", "x": 140, "y": 240}, [])
    pad.predict_button.click()
    assert pad.probabilities is not None and pad.probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert "The network says" in pad.answer.value and pad.answer.value.count("<td>") == 10


@pytest.mark.parametrize("params, layers, message", [
    (nnlib.init_params([784, 32, 10]), cnn.LENET,
     r"images \(1, 28, 28\): params must hold W1, b1, W2, b2, W3, b3 for these layers"),
    (cnn.init_params(cnn.LENET, (3, 28, 28)), cnn.LENET,
     r"images \(1, 28, 28\): W1 has shape \(8, 3, 5, 5\)"),
    (cnn.init_params(cnn.LENET, (1, 32, 32)), cnn.LENET,
     r"images \(1, 28, 28\): W3 has shape \(10, 1024\), but the layers give \(10, 784\)"),
    (cnn.init_params(cnn.LENET[:-1] + [cnn.Dense(3)]), cnn.LENET[:-1] + [cnn.Dense(3)],
     r"needs a network with 10 outputs, got layers with 3"),
    (cnn.init_params(cnn.LENET), [784, 32, 10], r"layer 1 of 3, 784: not a layer"),
    (cnn.init_params([cnn.Conv(4, 29), cnn.Flatten(), cnn.Dense(10)], (1, 30, 30)),
     [cnn.Conv(4, 29), cnn.Flatten(), cnn.Dense(10)], r"29 x 29 kernel is larger than its input"),
], ids=["dense params", "three channels", "32 x 32 images", "3 outputs", "layer sizes",
        "kernel too large"])
def test_cnn_pad_refuses_params_that_do_not_fit(params, layers, message):
    with pytest.raises(ValueError, match=message):
        DigitPad(params, layers=layers)


def test_cnn_pad_figure_shows_the_first_layers_feature_maps(lenet):
    pad = DigitPad(lenet, layers=cnn.LENET)
    pad.predict(a_drawn_seven())
    figure = pad.figure()
    assert len(figure.axes) == 3 and figure.axes[1].get_xlabel() == "digit"
    assert figure.axes[2].get_title() == "layer 1: 8 feature maps (28 x 28)"
    shown = figure.axes[2].get_images()[0].get_array()
    assert np.array_equal(shown, map_grid(pad.activations["A1"][0]), equal_nan=True)


def test_map_grid_tiles_the_maps_with_gaps():
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    grid = map_grid(maps)  # 5 maps: 2 rows of 3 tiles, a gap of one pixel
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert np.array_equal(grid[0:2, 4:7], maps[1]) and np.array_equal(grid[3:5, 4:7], maps[4])
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 3]).all() and np.isnan(grid[3:, 8:]).all()


def test_cnn_pad_works_with_saved_and_loaded_params(lenet, tmp_path):
    nnlib.save_params(tmp_path / "lenet.npz", lenet)
    loaded = nnlib.load_params(tmp_path / "lenet.npz", cnn.LENET)
    drawing = a_drawn_seven()
    expected = DigitPad(lenet, layers=cnn.LENET).predict(drawing)
    assert np.array_equal(DigitPad(loaded, layers=cnn.LENET).predict(drawing), expected)


# ---------------------------------------------------------------- the pictures of the widgets

STATIC = Path(__file__).resolve().parents[1] / "book" / "_static"


def test_the_pictures_of_the_widgets_show_the_current_widgets():
    """Chapter 9's page shows pictures of the widgets; they must be retaken when the widgets change."""
    record = json.loads((STATIC / "widget_pictures.json").read_text())
    changed = sorted(name for name in source_digests().keys() | record["widget_sources"].keys()
                     if source_digests().get(name) != record["widget_sources"].get(name))
    assert not changed, (
        f"nnlib/widgets changed since the pictures in book/_static were taken ({', '.join(changed)}): "
        f"run `make {record['make_target']}` (needs chromium) to take them again")


def test_the_pictures_of_the_widgets_are_the_recorded_ones_and_small():
    record = json.loads((STATIC / "widget_pictures.json").read_text())
    assert set(record["pictures"]) == {"explorer.png", "digit_pad.png"}
    for name, entry in record["pictures"].items():
        data = (STATIC / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
            f"book/_static/{name} is not the picture widget_pictures.json records: "
            f"run `make {record['make_target']}`")
        assert len(data) < 300_000 and entry["width"] <= 1200
