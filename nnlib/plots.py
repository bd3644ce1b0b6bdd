"""Matplotlib figures the chapters and the widgets share, and the tables behind them.

Each ``plot_*`` function draws on a new figure (or the ``ax`` given), labels its axes, sets a
title and returns the figure, so a notebook cell shows it and a test can inspect it. The
other functions compute what a figure or a chapter's table shows (class counts, activation
and gradient sizes per layer) and return a pandas DataFrame.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from .checks import check_labels, check_layer_dims, check_positive_int
from .network import back_prop, forward_prop
from .params import INIT_METHODS, init_params


def _figure(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_digits(X, y=None, predictions=None, ncols=10, nrows=2, title="MNIST digits"):
    """A grid of the first ``nrows * ncols`` columns of X: (784, m) drawn as 28x28 images.

    Each image is captioned with its label, and with the prediction when given.
    """
    n = min(nrows * ncols, X.shape[1])
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.45 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(X[:, i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        caption = []
        if y is not None:
            caption.append(f"label {y[i]}")
        if predictions is not None:
            caption.append(f"pred {predictions[i]}")
        ax.set_title("\n".join(caption), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history, title="Training curves", x="iteration"):
    """Loss (left) and accuracy (right) against ``x`` from a training history dict.

    Plots ``train_accuracy``, and ``test_accuracy`` / ``val_accuracy`` when present.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(history[x], history["loss"], color="C0")
    ax_loss.set_xlabel(x)
    ax_loss.set_ylabel("mean cross-entropy loss")
    ax_loss.set_title("loss")
    ax_acc.plot(history[x], np.asarray(history["train_accuracy"]) * 100, label="train", color="C1")
    for key, x_key, label in (("test_accuracy", "test_iteration", "test"),
                              ("val_accuracy", x, "validation")):
        if key in history and history[key]:
            ax_acc.plot(history[x_key], np.asarray(history[key]) * 100, label=label,
                        marker="o", markersize=3, color="C2")
    ax_acc.set_xlabel(x)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("accuracy")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(C, title="Confusion matrix", ax=None):
    """Heat map of a confusion matrix C: (K, K) of counts (rows: label, columns: prediction)."""
    fig, ax = _figure(ax, (6, 5))
    image = ax.imshow(C, cmap="Blues")
    K = C.shape[0]
    for k in range(K):
        for j in range(K):
            ax.text(j, k, str(C[k, j]), ha="center", va="center", fontsize=7,
                    color="white" if C[k, j] > C.max() / 2 else "black")
    ax.set_xticks(range(K))
    ax.set_yticks(range(K))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="test images")
    return fig


def plot_weights(W1, ncols=5, title="First-layer weights as images"):
    """Each row of W1: (n_1, 784) drawn as a 28x28 image (red positive, blue negative)."""
    n = W1.shape[0]
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.7 * nrows), squeeze=False)
    limit = float(np.abs(W1).max()) or 1.0
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            ax.imshow(W1[i].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"unit {i + 1}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_kernels(W, title="The first convolution's kernels"):
    """Each kernel W[c, 0]: (k, k) of W: (C, C_prev, k, k) as a small image,
    one per output channel c, on one colour scale (red positive, blue
    negative). For C_prev > 1 only the first input channel is drawn."""
    C = W.shape[0]
    fig, axes = plt.subplots(1, C, figsize=(1.1 * C, 1.5), squeeze=False)
    limit = float(np.abs(W[:, 0]).max()) or 1.0
    for c, ax in enumerate(axes.flat):
        ax.imshow(W[c, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"kernel {c + 1}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_maps(activations, keys, i=0, labels=None,
                      title="One digit through the network"):
    """Row by row, the channels of each image-shaped activation of example
    ``i``: ``activations[key][i]``: (C, n_H, n_W) for each key (for example
    "A0", "A1", "P1", "A2", "P2" of nnlib.cnn.forward_prop), each map on
    its own grey scale (white 0, black its largest value). ``labels``: one
    row title per key (default: the key and the shape)."""
    maps = [np.asarray(activations[key][i]) for key in keys]
    ncols = max(len(m) for m in maps)
    fig, axes = plt.subplots(len(keys), ncols, squeeze=False,
                             figsize=(0.62 * ncols, 0.85 * len(keys) + 0.5))
    for row, (key, stack) in enumerate(zip(keys, maps)):
        label = (labels[row] if labels else
                 f"{key} {' x '.join(map(str, stack.shape))}")
        for c, ax in enumerate(axes[row]):
            ax.set_axis_off()
            if c < len(stack):
                ax.imshow(stack[c], cmap="gray_r", vmin=0,
                          vmax=float(stack[c].max()) or 1.0)
        axes[row, 0].text(-0.15, 0.5, label, transform=axes[row, 0].transAxes,
                          ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.11, right=0.99, wspace=0.08, hspace=0.25)
    return fig


def plot_gradient_errors(errors, title="Gradient check: relative error per parameter", ax=None):
    """Bar chart, log scale, of relative errors. errors: {implementation: {"W1": err, ...}}."""
    fig, ax = _figure(ax, (8, 3.6))
    names = list(next(iter(errors.values())))
    width = 0.8 / len(errors)
    for i, (label, values) in enumerate(errors.items()):
        heights = [max(values[name], 1e-16) for name in names]
        ax.bar(np.arange(len(names)) + i * width, heights, width, label=label)
    ax.axhline(1e-7, color="gray", linestyle="--", linewidth=1, label="1e-7: correct")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)) + width * (len(errors) - 1) / 2)
    ax.set_xticklabels(names)
    ax.set_xlabel("parameter array")
    ax.set_ylabel("relative error")
    ax.set_title(title)
    ax.legend()
    return fig


def class_balance(labels, num_classes=10):
    """How many examples of each class every labelled set holds, as counts and fractions.

    labels: {set name: y (m,) int}, e.g. ``{"train": y_train, "test": y_test}``. Returns a
    DataFrame indexed by ``digit`` 0..num_classes-1 with the columns ``"<name> count"`` and
    ``"<name> fraction"`` per set (each fraction column sums to 1).
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    columns = {}
    for name, y in labels.items():
        check_labels(y, num_classes=num_classes, name=f"labels[{name!r}]")
        counts = np.bincount(y, minlength=num_classes)
        columns[f"{name} count"] = counts
        columns[f"{name} fraction"] = counts / max(y.size, 1)
    return pd.DataFrame(columns, index=pd.RangeIndex(num_classes, name="digit"))


def plot_pixel_histogram(X, title="Pixel values of MNIST", ax=None):
    """How many entries of X: (784, m) take each of the 256 values k / 255, log scale.

    X holds scaled pixels (:func:`nnlib.data.scale_pixels`); each value k / 255 gets a bin of its
    own, centred on it, so no value falls on a bin edge.
    """
    fig, ax = _figure(ax, (8, 3.4))
    edges = (np.arange(257) - 0.5) / 255
    counts, _ = np.histogram(X, bins=edges)
    ax.stairs(counts, edges, fill=True, color="C0")
    ax.set_yscale("log")
    ax.set_xlim(-0.015, 1.015)  # a margin, so the bars at 0 and 1 stand clear of the frame
    ax.set_xlabel("pixel value after scaling (0: background, 1: full ink)")
    ax.set_ylabel("number of pixels (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


def activation_std_by_layer(X, layer_dims, methods=INIT_METHODS, seed=0):
    """Standard deviation of the entries of A_l, layer by layer, for each initialisation.

    X: (n_0, m) a batch of inputs; the network ``layer_dims`` is initialised with
    ``init_params(layer_dims, seed, method, X.dtype)`` for each method and run forward once.
    Returns a DataFrame indexed by ``layer l`` = 0 (the input X) .. L-1 (the last ReLU
    layer; the softmax output is left out), one column per method.
    """
    dims = check_layer_dims(layer_dims)
    L = len(dims) - 1
    table = {}
    for method in methods:
        activations = forward_prop(X, init_params(dims, seed=seed, method=method, dtype=X.dtype))
        table[method] = [float(np.std(activations[f"A{l}"])) for l in range(L)]
    return pd.DataFrame(table, index=pd.RangeIndex(L, name="layer l"))


def gradient_rms_by_layer(X, y, layer_dims, methods=INIT_METHODS, seed=0):
    """Root mean square of the entries of dW_l, layer by layer, for each initialisation.

    X: (n_0, m), y: (m,) labels; one forward and one backward pass per method from
    ``init_params(layer_dims, seed, method, X.dtype)``. Returns a DataFrame indexed by
    ``layer l`` = 1..L, one column per method.
    """
    dims = check_layer_dims(layer_dims)
    L = len(dims) - 1
    table = {}
    for method in methods:
        params = init_params(dims, seed=seed, method=method, dtype=X.dtype)
        grads = back_prop(forward_prop(X, params), params, y)
        table[method] = [float(np.sqrt(np.mean(np.square(grads[f"dW{l}"])))) for l in range(1, L + 1)]
    return pd.DataFrame(table, index=pd.RangeIndex(1, L + 1, name="layer l"))


def plot_by_layer(table, ylabel, title, logy=True, ax=None):
    """One line per column of ``table`` (indexed by layer l) against the layer, markers on.

    For the tables of :func:`activation_std_by_layer` and :func:`gradient_rms_by_layer`;
    a log y-axis shows a quantity that halves at every layer as a straight line.
    """
    fig, ax = _figure(ax, (7, 3.8))
    for column in table.columns:
        ax.plot(table.index, table[column], marker="o", label=str(column))
    if logy:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")  # 0.03, not 3 x 10^-2
        ax.yaxis.set_major_formatter(plain)
        values = table.to_numpy(dtype=float)
        # Between powers of ten, label every tick when the range is narrow, else 2s and 5s only.
        narrow = values.max() / values.min() < 20
        ax.yaxis.set_minor_formatter(plain if narrow else FuncFormatter(_twos_and_fives))
    ax.set_xticks(list(table.index))
    ax.set_xlabel("layer l")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


def _twos_and_fives(value, _):
    """Tick label for 2 and 5 times a power of ten (0.002, 0.05), none for the other ticks."""
    leading = value / 10 ** np.floor(np.log10(value))
    return f"{value:g}" if round(leading) in (2, 5) else ""


def plot_example_loss(p_correct=None, num_classes=10, title="Cross-entropy of one example", ax=None):
    """The loss of one example, -log p, against p, the probability given to its true class.

    A dashed line marks chance, p = 1 / num_classes. ``p_correct``: (m,) probabilities of
    some network, drawn as points on the curve.
    """
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    fig, ax = _figure(ax, (7, 3.8))
    p = np.linspace(0.005, 1, 400)
    ax.plot(p, -np.log(p), color="C0", label="loss = -log p")
    chance = 1 / num_classes
    ax.axvline(chance, color="gray", linestyle="--", linewidth=1,
               label=f"chance: p = 1/{num_classes}, loss = log {num_classes} = {np.log(num_classes):.3f}")
    if p_correct is not None:
        p_correct = np.asarray(p_correct, dtype=np.float64)
        ax.plot(p_correct, -np.log(p_correct), "o", color="C1", markersize=4, alpha=0.6,
                label=f"{p_correct.size:,} examples")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("p, the probability the network gives to the true class")
    ax.set_ylabel("loss of the example, -log p")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig



def plot_roofline(bandwidth_gbs, peak_gflops, points,
                  title="The roofline of this machine", ax=None):
    """The roofline model: the most GFLOP/s a computation can reach.

    A computation that does F floating-point operations (FLOP) on Q bytes
    read from memory has the arithmetic intensity I = F / Q, in FLOP per
    byte. A machine that reads ``bandwidth_gbs`` GB/s and computes at most P
    GFLOP/s runs it at most at min(P, bandwidth_gbs * I) GFLOP/s: under the
    slanted roof (memory-bound) left of the ridge I = P / bandwidth_gbs,
    under the flat roof (compute-bound) right of it.

    peak_gflops: P, a number, or ``{label: P}`` for several flat roofs
    (float32, float64); points: ``{label: (I, GFLOP/s)}``, computations drawn
    as markers. Both axes are logarithmic. The slanted roof is the first
    line, then come one line per flat roof and one per point, in order.
    """
    fig, ax = _figure(ax, (7, 4.6))
    peaks = peak_gflops if isinstance(peak_gflops, dict) else {
        "peak": peak_gflops}
    ridges = {label: peak / bandwidth_gbs for label, peak in peaks.items()}
    intensities = [I for I, _ in points.values()] + list(ridges.values())
    left, right = min(intensities) / 3, max(intensities) * 3
    slope = np.array([left, max(ridges.values())])
    ax.plot(slope, bandwidth_gbs * slope, color="gray", linewidth=2.5,
            label=f"memory: {bandwidth_gbs:.3g} GB/s × intensity")
    for k, (label, peak) in enumerate(peaks.items()):
        ax.plot([ridges[label], right], [peak, peak], color="black",
                linestyle=["-", "--", ":"][k % 3],
                label=f"{label}: {peak:.3g} GFLOP/s, "
                      f"ridge at {ridges[label]:.3g} FLOP/byte")
    for k, (label, (intensity, gflops)) in enumerate(points.items()):
        ax.plot([intensity], [gflops], marker="os^Dv<>"[k % 7], markersize=8,
                linestyle="none", color=f"C{k}", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(left, right)
    ax.set_ylim(top=2 * max(peaks.values()))  # room above the flat roofs
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 10, not 10^1
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(FuncFormatter(_twos_and_fives))
    ax.set_xlabel("arithmetic intensity (FLOP per byte read from memory)")
    ax.set_ylabel("GFLOP/s (at most)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    # beside the axes: inside, it would hide roofs or points
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig


def race_table(race, target=0.98):
    """One row per contender of a race of ``benchmarks/results.json``.

    race: one entry of ``results["races"]``, whose ``contenders`` each have
    a ``name``, ``epoch_seconds`` and ``test_accuracy`` after each epoch.
    Rows in the file's order; columns: ``s/epoch``, the median seconds per
    epoch; ``÷ first``, that median divided by the first contender's;
    ``test acc. (%)`` after the last epoch; ``s to 98%``, the training
    seconds until the test accuracy first reached ``target`` (NaN if it
    never did). Seconds rounded to 2 decimals, the others to 1.
    """
    to_target = f"s to {target:.0%}"
    rows = []
    for contender in race["contenders"]:
        seconds = np.asarray(contender["epoch_seconds"], dtype=float)
        accuracy = np.asarray(contender["test_accuracy"], dtype=float)
        reached = np.flatnonzero(accuracy >= target)
        rows.append({
            "contender": contender["name"],
            "s/epoch": float(np.median(seconds)),
            "test acc. (%)": 100 * accuracy[-1],
            to_target: (seconds[:reached[0] + 1].sum() if reached.size
                        else np.nan)})
    table = pd.DataFrame(rows).set_index("contender")
    table.insert(1, "÷ first", table["s/epoch"] / table["s/epoch"].iloc[0])
    return table.round({"s/epoch": 2, "÷ first": 2, "test acc. (%)": 1,
                        to_target: 1})


def article_table(results):
    """The article benchmark of ``benchmarks/results.json``, one row a network.

    Columns: ``iterations``; the training seconds of the article's code and
    of nnlib's plain and fast engines (``article s``, ``plain s``, ``fast s``,
    rounded to 0.1 s); ``speed-up``, the article's seconds divided by the fast
    engine's. Indexed by the layers, e.g. ``[784, 10, 10]``.
    """
    rows = []
    for run in results["article"]:
        seconds = run["seconds"]
        rows.append({"layers": str(run["layers"]),
                     "iterations": run["iterations"],
                     "article s": seconds["article"],
                     "plain s": seconds["plain"], "fast s": seconds["fast"],
                     "speed-up": seconds["article"] / seconds["fast"]})
    return pd.DataFrame(rows).set_index("layers").round(1)


def plot_race(results, target=0.98):
    """The races of ``benchmarks/results.json``, one row of two panels each.

    Left: each contender's median seconds per epoch (a labelled bar, from
    :func:`race_table`). Right: its test accuracy (%) after each epoch
    against the training time so far (cumulative seconds), with a dashed
    line at ``target``. A contender keeps its colour in every row; the first
    row's accuracy panel holds the legend.
    """
    races = results["races"]
    names = [c["name"] for race in races for c in race["contenders"]]
    colours = {name: f"C{k}" for k, name in enumerate(dict.fromkeys(names))}
    fig, axes = plt.subplots(len(races), 2, figsize=(11, 3.6 * len(races)),
                             squeeze=False)
    for (ax_time, ax_acc), race in zip(axes, races):
        setting = (f"dropout {race['dropout']:g}" if race["dropout"]
                   else "no dropout")
        medians = race_table(race, target)["s/epoch"]
        rows = np.arange(len(medians))
        ax_time.barh(rows, medians, color=[colours[n] for n in medians.index])
        for row, median in zip(rows, medians):
            ax_time.text(median, row, f" {median:.2f} s", va="center",
                         fontsize=8)
        ax_time.set_yticks(rows, list(medians.index), fontsize=8)
        ax_time.invert_yaxis()  # the first contender on top
        ax_time.set_xlim(0, 1.25 * medians.max())
        ax_time.set_xlabel("seconds per epoch (median)")
        ax_time.set_title(f"{setting}: time per epoch")
        for c in race["contenders"]:
            ax_acc.plot(np.cumsum(c["epoch_seconds"]),
                        100 * np.asarray(c["test_accuracy"]), marker="o",
                        markersize=3, color=colours[c["name"]],
                        label=c["name"])
        ax_acc.axhline(100 * target, color="gray", linestyle="--",
                       linewidth=1)
        ax_acc.set_xlabel("training time (s)")
        ax_acc.set_ylabel("test accuracy (%)")
        ax_acc.set_title(f"{setting}: test accuracy after each epoch")
        ax_acc.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=8)  # the colours are the same in every row
    first = races[0]
    fig.suptitle(f"Adam on {first['layers']}, B = {first['batch_size']}, "
                 f"float32, {first['epochs']} epochs")
    fig.tight_layout()
    return fig
