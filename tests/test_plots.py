"""The figures and tables of nnlib.plots: titles, labels and the data drawn, never pixels."""
import matplotlib

matplotlib.use("Agg")  # before pyplot is imported (by nnlib.plots): no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nnlib import back_prop, forward_prop, init_params, plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Each test starts and ends without open figures."""
    plt.close("all")
    yield
    plt.close("all")


def image_axes(fig):
    """The axes of a figure that show an image, in order."""
    return [ax for ax in fig.axes if ax.images]


# ---------------------------------------------------------------- plot_digits

def test_plot_digits_draws_each_column_as_a_28x28_image_in_order():
    X = np.random.default_rng(0).random((784, 5)).astype(np.float32)
    fig = plots.plot_digits(X, ncols=3, nrows=2, title="some digits")
    axes = image_axes(fig)
    assert len(axes) == 5  # 6 cells, 5 images: the last cell stays empty
    for i, ax in enumerate(axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), X[:, i].reshape(28, 28))
    assert fig._suptitle.get_text() == "some digits"


def test_plot_digits_captions_labels_and_predictions():
    X = np.zeros((784, 2), dtype=np.float32)
    fig = plots.plot_digits(X, y=np.array([3, 7]), predictions=np.array([3, 1]), ncols=2, nrows=1)
    assert [ax.get_title() for ax in image_axes(fig)] == ["label 3\npred 3", "label 7\npred 1"]


# ---------------------------------------------------------------- plot_history

def test_plot_history_draws_loss_and_accuracy_in_percent():
    history = {"iteration": [0, 10, 20], "loss": [2.3, 1.0, 0.5], "train_accuracy": [0.1, 0.6, 0.8],
               "test_iteration": [0, 20], "test_accuracy": [0.12, 0.79]}
    fig = plots.plot_history(history, title="run")
    ax_loss, ax_acc = fig.axes
    np.testing.assert_array_equal(ax_loss.lines[0].get_ydata(), [2.3, 1.0, 0.5])
    assert ax_loss.get_xlabel() == "iteration"
    assert ax_loss.get_ylabel() == "mean cross-entropy loss"
    train, test = ax_acc.lines
    np.testing.assert_allclose(train.get_ydata(), [10, 60, 80])
    np.testing.assert_array_equal(test.get_xdata(), [0, 20])
    np.testing.assert_allclose(test.get_ydata(), [12, 79])
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["train", "test"]
    assert ax_acc.get_ylabel() == "accuracy (%)"
    assert fig._suptitle.get_text() == "run"


def test_plot_history_without_test_accuracy_draws_train_only():
    fig = plots.plot_history({"iteration": [0, 1], "loss": [1.0, 0.9], "train_accuracy": [0.5, 0.6]})
    assert len(fig.axes[1].lines) == 1


# ---------------------------------------------------------------- plot_confusion_matrix

def test_plot_confusion_matrix_shows_the_counts_with_labelled_axes():
    C = np.array([[5, 1], [0, 4]])
    fig = plots.plot_confusion_matrix(C, title="confusion")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), C)
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "4"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted digit", "true digit", "confusion")


def test_plot_confusion_matrix_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plots.plot_confusion_matrix(np.eye(3, dtype=int), ax=ax) is fig
    assert ax.images


# ---------------------------------------------------------------- plot_weights

def test_plot_weights_draws_each_row_of_W1_with_a_symmetric_colour_scale():
    W1 = np.random.default_rng(1).standard_normal((3, 784))
    fig = plots.plot_weights(W1, ncols=2, title="weights")
    axes = image_axes(fig)
    assert len(axes) == 3
    limit = np.abs(W1).max()
    for i, ax in enumerate(axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), W1[i].reshape(28, 28))
        assert ax.images[0].get_clim() == (-limit, limit)
        assert ax.get_title() == f"unit {i + 1}"
    assert fig._suptitle.get_text() == "weights"


def test_plot_kernels_draws_each_kernel_on_one_symmetric_colour_scale():
    W = np.random.default_rng(2).standard_normal((4, 1, 5, 5))
    fig = plots.plot_kernels(W, title="kernels")
    axes = image_axes(fig)
    assert len(axes) == 4
    limit = np.abs(W).max()
    for c, ax in enumerate(axes):
        np.testing.assert_array_equal(ax.images[0].get_array(), W[c, 0])
        assert ax.images[0].get_clim() == (-limit, limit)
        assert ax.get_title() == f"kernel {c + 1}"
    assert fig._suptitle.get_text() == "kernels"


def test_plot_feature_maps_draws_every_channel_of_each_key_in_its_row():
    from nnlib import cnn
    params = cnn.init_params(cnn.LENET, seed=0)
    X = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    activations = cnn.forward_prop(X, params, cnn.LENET)
    keys = ["A0", "A1", "P2"]
    fig = plots.plot_feature_maps(activations, keys, i=1, title="maps")
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 1 + 8 + 16
    # row by row, channel by channel: A0's one map, A1's 8, P2's 16 (7 x 7)
    expected = [activations[key][1, c] for key in keys
                for c in range(activations[key].shape[1])]
    for ax, image in zip(drawn, expected):
        np.testing.assert_array_equal(ax.images[0].get_array(), image)
        assert ax.images[0].get_clim()[0] == 0
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == ["A0 1 x 28 x 28", "A1 8 x 28 x 28", "P2 16 x 7 x 7"]
    assert fig._suptitle.get_text() == "maps"


# ---------------------------------------------------------------- plot_gradient_errors

def test_plot_gradient_errors_draws_one_bar_per_array_and_implementation_on_a_log_scale():
    errors = {"nnlib": {"W1": 1e-9, "b1": 0.0}, "article": {"W1": 1e-9, "b1": 0.5}}
    fig = plots.plot_gradient_errors(errors, title="check")
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == [1e-9, 1e-16, 1e-9, 0.5]  # an exact 0 is drawn at 1e-16 to stay on the log scale
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W1", "b1"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("parameter array", "relative error", "check")


# ---------------------------------------------------------------- class_balance

def test_class_balance_counts_and_fractions_per_set():
    table = plots.class_balance({"train": np.array([0, 1, 1, 2]), "test": np.array([2, 2])}, num_classes=3)
    assert list(table.columns) == ["train count", "train fraction", "test count", "test fraction"]
    assert table.index.name == "digit"
    assert list(table.index) == [0, 1, 2]
    assert list(table["train count"]) == [1, 2, 1]
    assert list(table["train fraction"]) == [0.25, 0.5, 0.25]
    assert list(table["test count"]) == [0, 0, 2]
    assert table["test fraction"].sum() == 1


def test_class_balance_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"labels\['train'\] holds label 10, outside 0..9"):
        plots.class_balance({"train": np.array([3, 10])})


# ---------------------------------------------------------------- plot_pixel_histogram

def test_plot_pixel_histogram_counts_each_of_the_256_values_in_its_own_bin():
    levels = np.array([0, 0, 0, 1, 128, 255, 255], dtype=np.float32) / np.float32(255)
    X = np.tile(levels, (784, 1))  # 7 images, image i all of pixel value levels[i]
    fig = plots.plot_pixel_histogram(X, title="pixels")
    ax = fig.axes[0]
    counts, edges, _ = ax.patches[0].get_data()
    assert counts.size == 256 and counts.sum() == X.size
    np.testing.assert_allclose(edges[1:] - edges[:-1], 1 / 255)  # one bin per value k / 255
    assert (counts[0], counts[1], counts[128], counts[255]) == (3 * 784, 784, 784, 2 * 784)
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel().startswith("pixel value")
    assert ax.get_ylabel() == "number of pixels (log scale)"
    assert ax.get_title() == "pixels"


# ---------------------------------------------------------------- activation_std_by_layer

def test_activation_std_by_layer_is_the_std_of_each_A_l_of_forward_prop():
    X = np.random.default_rng(2).random((6, 20)).astype(np.float32)
    table = plots.activation_std_by_layer(X, [6, 5, 4, 3], methods=("he", "article"), seed=3)
    assert list(table.columns) == ["he", "article"]
    assert list(table.index) == [0, 1, 2]  # the input, then the two ReLU layers; not the softmax
    assert table.index.name == "layer l"
    for method in ("he", "article"):
        activations = forward_prop(X, init_params([6, 5, 4, 3], seed=3, method=method))
        expected = [np.std(activations[f"A{l}"]) for l in range(3)]
        np.testing.assert_allclose(table[method], expected, rtol=1e-6)


def test_he_keeps_the_activation_spread_across_depth_and_xavier_shrinks_it():
    X = np.random.default_rng(4).random((256, 500)).astype(np.float32)
    table = plots.activation_std_by_layer(X, [256] * 11 + [10], methods=("he", "xavier"))
    he, xavier = table["he"], table["xavier"]
    assert 0.5 < he[10] / he[1] < 2
    assert xavier[10] / xavier[1] < 0.1  # halves in variance at each of 9 layers: ~ 2 ** -4.5


# ---------------------------------------------------------------- gradient_rms_by_layer

def test_gradient_rms_by_layer_is_the_rms_of_each_dW_l_of_back_prop():
    rng = np.random.default_rng(5)
    X = rng.random((6, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=20)
    table = plots.gradient_rms_by_layer(X, y, [6, 5, 4, 3], methods=("xavier",), seed=1)
    assert list(table.index) == [1, 2, 3] and table.index.name == "layer l"
    params = init_params([6, 5, 4, 3], seed=1, method="xavier")
    grads = back_prop(forward_prop(X, params), params, y)
    expected = [np.sqrt(np.mean(grads[f"dW{l}"] ** 2)) for l in (1, 2, 3)]
    np.testing.assert_allclose(table["xavier"], expected, rtol=1e-6)


# ---------------------------------------------------------------- plot_by_layer

def test_plot_by_layer_draws_one_labelled_line_per_column():
    X = np.random.default_rng(6).random((6, 10)).astype(np.float32)
    table = plots.activation_std_by_layer(X, [6, 5, 5, 3])
    fig = plots.plot_by_layer(table, ylabel="std of A_l", title="spread")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["he", "xavier", "article"]
    for line, method in zip(ax.lines, table.columns):
        np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
        np.testing.assert_array_equal(line.get_ydata(), table[method])
    assert list(ax.get_xticks()) == [0, 1, 2]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("layer l", "std of A_l", "spread")
    assert ax.get_yscale() == "log"
    assert ax.yaxis.get_major_formatter()(0.03, 0) == "0.03"  # plain numbers on the log axis


def test_plot_by_layer_labels_every_minor_tick_over_a_narrow_range_else_2s_and_5s():
    narrow = plots.plot_by_layer(pd.DataFrame({"a": [0.2, 0.3]}), ylabel="y", title="t").axes[0]
    wide = plots.plot_by_layer(pd.DataFrame({"a": [1e-5, 1e-2]}), ylabel="y", title="t").axes[0]
    assert narrow.yaxis.get_minor_formatter()(0.3, 0) == "0.3"
    assert [wide.yaxis.get_minor_formatter()(v, 0) for v in (0.002, 0.003, 0.005)] == ["0.002", "", "0.005"]


def test_plot_by_layer_linear_scale_on_request():
    table = plots.class_balance({"a": np.array([0, 1])}, num_classes=2)[["a count"]]
    fig = plots.plot_by_layer(table, ylabel="count", title="t", logy=False)
    assert fig.axes[0].get_yscale() == "linear"


# ---------------------------------------------------------------- plot_example_loss

def test_plot_example_loss_draws_minus_log_p_chance_and_the_given_examples():
    fig = plots.plot_example_loss(p_correct=np.array([0.1, 0.5, 1.0]), num_classes=10, title="loss")
    ax = fig.axes[0]
    curve, chance, examples = ax.lines
    np.testing.assert_allclose(curve.get_ydata(), -np.log(curve.get_xdata()))
    assert list(chance.get_xdata()) == [0.1, 0.1]
    np.testing.assert_allclose(examples.get_ydata(), [np.log(10), np.log(2), 0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["loss = -log p", "chance: p = 1/10, loss = log 10 = 2.303", "3 examples"]
    assert ax.get_xlabel() == "p, the probability the network gives to the true class"
    assert ax.get_ylabel() == "loss of the example, -log p"
    assert ax.get_title() == "loss"


def test_plot_example_loss_without_examples_draws_the_curve_and_chance_only():
    fig = plots.plot_example_loss(num_classes=4)
    assert len(fig.axes[0].lines) == 2
    assert list(fig.axes[0].lines[1].get_xdata()) == [0.25, 0.25]


def test_plot_example_loss_counts_many_examples_with_a_thousands_separator():
    fig = plots.plot_example_loss(p_correct=np.full(1000, 0.5))
    assert fig.axes[0].get_legend().get_texts()[-1].get_text() == "1,000 examples"


# ---------------------------------------------------------------- plot_roofline

def test_plot_roofline_draws_the_slanted_roof_the_flat_roofs_from_their_ridges_and_the_points():
    points = {"small net": (5.0, 40.0), "big net": (300.0, 150.0)}
    fig = plots.plot_roofline(20.0, {"float32": 200.0, "float64": 100.0}, points, title="roof")
    ax = fig.axes[0]
    memory, roof32, roof64, small, big = ax.lines
    x = memory.get_xdata()
    np.testing.assert_allclose(memory.get_ydata(), 20.0 * x)  # GB/s x FLOP/byte = GFLOP/s
    assert x[-1] == 10.0  # up to the highest ridge, 200 / 20
    assert roof32.get_xdata()[0] == 10.0 and list(roof32.get_ydata()) == [200.0, 200.0]
    assert roof64.get_xdata()[0] == 5.0 and list(roof64.get_ydata()) == [100.0, 100.0]
    assert (small.get_xdata()[0], small.get_ydata()[0]) == (5.0, 40.0)
    assert (big.get_xdata()[0], big.get_ydata()[0]) == (300.0, 150.0)
    left, right = ax.get_xlim()
    assert left < 5.0 and right > 300.0  # every point and ridge is inside
    assert ax.get_ylim()[1] == 400.0  # room above the highest roof
    assert ax.get_xscale() == ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["memory: 20 GB/s × intensity",
                      "float32: 200 GFLOP/s, ridge at 10 FLOP/byte",
                      "float64: 100 GFLOP/s, ridge at 5 FLOP/byte", "small net", "big net"]
    assert ax.get_xlabel() == "arithmetic intensity (FLOP per byte read from memory)"
    assert ax.get_ylabel() == "GFLOP/s (at most)"
    assert ax.get_title() == "roof"


def test_plot_roofline_takes_a_single_peak_as_a_number():
    fig = plots.plot_roofline(10.0, 50.0, {"a": (1.0, 10.0)})
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert ax.lines[1].get_xdata()[0] == 5.0
    assert ax.get_legend().get_texts()[1].get_text() == "peak: 50 GFLOP/s, ridge at 5 FLOP/byte"


# ---------------------------------------------------------------- benchmark results

def fake_results():
    """A benchmarks/results.json in miniature: the schema, with numbers easy to check."""
    def contender(name, seconds, accuracies):
        return {"name": name, "epoch_seconds": seconds, "test_accuracy": accuracies}
    return {
        "date": "2000-01-01T00:00:00Z", "command": "a test", "commit": "0" * 40,
        "machine": {"cpu": "a CPU", "cores": 2, "os": "an OS"},
        "versions": {"python": "3", "numpy": "2", "blas": "a BLAS", "torch": "2",
                     "scikit-learn": "1"},
        "article": [
            {"layers": [784, 10, 10], "iterations": 1000, "train_size": 33600,
             "seconds": {"article": 30.0, "plain": 20.0, "fast": 10.0},
             "train_accuracy": {"article": 0.87, "plain": 0.87, "fast": 0.87},
             "test_accuracy": {"article": 0.871, "plain": 0.874, "fast": 0.874}},
            {"layers": [784, 256, 128, 64, 10], "iterations": 500, "train_size": 33600,
             "seconds": {"article": 250.0, "plain": 150.0, "fast": 100.0},
             "train_accuracy": {"article": 0.96, "plain": 0.96, "fast": 0.96},
             "test_accuracy": {"article": 0.95, "plain": 0.95, "fast": 0.95}}],
        "races": [
            {"dropout": 0.0, "layers": [784, 256, 128, 64, 10], "batch_size": 128, "epochs": 3,
             "contenders": [contender("fast", [1.0, 3.0, 2.0], [0.97, 0.98, 0.99]),
                            contender("slow", [4.0, 4.0, 5.0], [0.96, 0.97, 0.975])]},
            {"dropout": 0.2, "layers": [784, 256, 128, 64, 10], "batch_size": 128, "epochs": 3,
             "contenders": [contender("slow", [6.0, 6.0, 6.0], [0.9, 0.95, 0.985]),
                            contender("fast", [2.0, 2.0, 2.0], [0.96, 0.97, 0.98])]}]}


def test_race_table_has_the_median_the_ratio_to_the_first_the_last_accuracy_and_the_time_to_98():
    table = plots.race_table(fake_results()["races"][0])
    assert list(table.index) == ["fast", "slow"] and table.index.name == "contender"
    assert list(table.columns) == ["s/epoch", "÷ first", "test acc. (%)", "s to 98%"]
    assert list(table["s/epoch"]) == [2.0, 4.0]
    assert list(table["÷ first"]) == [1.0, 2.0]
    assert list(table["test acc. (%)"]) == [99.0, 97.5]
    assert table.loc["fast", "s to 98%"] == 4.0  # 98% reached after epoch 2: 1 + 3 s
    assert np.isnan(table.loc["slow", "s to 98%"])  # never reached


def test_article_table_has_one_row_per_network_with_the_three_codes_seconds():
    table = plots.article_table(fake_results())
    assert list(table.index) == ["[784, 10, 10]", "[784, 256, 128, 64, 10]"]
    assert list(table.columns) == ["iterations", "article s", "plain s", "fast s", "speed-up"]
    assert list(table["iterations"]) == [1000, 500]
    assert list(table.loc["[784, 10, 10]"]) == [1000, 30.0, 20.0, 10.0, 3.0]
    assert table.loc["[784, 256, 128, 64, 10]", "speed-up"] == 2.5


def test_plot_race_draws_two_panels_per_race_with_medians_and_accuracy_against_time():
    results = fake_results()
    fig = plots.plot_race(results)
    assert len(fig.axes) == 4
    times, accuracy, times_dropout, accuracy_dropout = fig.axes
    assert [bar.get_width() for bar in times.patches] == [2.0, 4.0]  # medians, in file order
    assert [t.get_text() for t in times.get_yticklabels()] == ["fast", "slow"]
    assert [t.get_text() for t in times.texts] == [" 2.00 s", " 4.00 s"]
    assert times.get_xlabel() == "seconds per epoch (median)"
    assert times.get_title() == "no dropout: time per epoch"
    fast, slow, target = accuracy.lines
    np.testing.assert_allclose(fast.get_xdata(), [1.0, 4.0, 6.0])  # cumulative seconds
    np.testing.assert_allclose(fast.get_ydata(), [97.0, 98.0, 99.0])  # percent
    assert list(target.get_ydata()) == [98.0, 98.0]
    assert (accuracy.get_xlabel(), accuracy.get_ylabel()) == ("training time (s)",
                                                              "test accuracy (%)")
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == ["fast", "slow"]
    assert times_dropout.get_title() == "dropout 0.2: time per epoch"
    assert [bar.get_width() for bar in times_dropout.patches] == [6.0, 2.0]
    # a contender keeps its colour in every race
    assert accuracy_dropout.lines[1].get_color() == fast.get_color()
    assert times_dropout.patches[1].get_facecolor() == times.patches[0].get_facecolor()
    assert fig._suptitle.get_text() == ("Adam on [784, 256, 128, 64, 10], B = 128, float32, "
                                        "3 epochs")
