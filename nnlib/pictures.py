"""Pictures of the network and of how it learns, drawn with matplotlib.

The diagrams: one neuron (:func:`neuron`), the layered network of any
``layer_dims`` with the shape of every W, b, Z and A (:func:`network`), and
the computational graph of one layer, forward and backward
(:func:`layer_graph`). The loss surfaces: an ill-conditioned quadratic
(:func:`ill_conditioned_quadratic`) and a real slice of the MNIST loss
through two weights (:func:`mnist_slice`), nnlib's optimisers run on them
(:func:`optimizer_paths`) and their paths drawn on the contours
(:func:`trajectories`). Inverted dropout on a small layer
(:func:`inverted_dropout`). And the convolution: one output pixel as a
sliding dot product (:func:`conv_window`), and im2col's columns
(:func:`im2col_columns`).

Every drawing function returns a new matplotlib Figure, as in
:mod:`nnlib.plots`. The maths comes from nnlib itself (``forward_prop``,
``back_prop``, the optimisers, ``dropout_forward``, ``conv2d_forward``,
``im2col``), never from a copy.
Notation of the book: W^{[l]}: (n^{[l]}, n^{[l-1]}), b^{[l]}: (n^{[l]}, 1),
Z^{[l]} and A^{[l]}: (n^{[l]}, m), X = A^{[0]}, Ŷ = A^{[L]}.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.transforms import ScaledTranslation
from mpl_toolkits.axes_grid1 import make_axes_locatable

from .checks import (check_fraction, check_labels, check_layer_dims,
                     check_learning_rate, check_params, check_positive_int,
                     check_X)
from .conv import conv2d_forward, conv_output_size, im2col
from .losses import cross_entropy_from_logits
from .network import back_prop, forward_prop
from .regularization import dropout_forward

FORWARD, BACKWARD = "C0", "C3"  # blue arrows forward, red ones backward


# ------------------------------------------------------------ the diagrams

def neuron(n_inputs=3):
    """One unit: inputs x_1..x_n, weights w_j, z = Σ_j w_j x_j + b, a = g(z).

    n_inputs: n, the number of inputs; above 4 the picture draws x_1, x_2,
    a vertical ellipsis and x_n. In a layer l, x is one column of
    A^{[l-1]}, w one row of W^{[l]} and b one entry of b^{[l]}.
    """
    n = check_positive_int(n_inputs, "n_inputs")
    shown = list(range(1, n + 1)) if n <= 4 else [1, 2, None, n]
    fig, ax = _canvas((8, 3.6), (-0.6, 9.4), (-0.3, 3.9),
                      f"One neuron with n = {n} inputs")
    ys = np.linspace(3.0, 0.6, len(shown)) if len(shown) > 1 else [1.8]
    total, act, out = (4.6, 1.8), (6.6, 1.8), (8.6, 1.8)
    for j, y in zip(shown, ys):
        if j is None:
            ax.text(0.4, y, r"$\vdots$", ha="center", va="center",
                    fontsize=14)
            continue
        _node(ax, (0.4, y), f"$x_{{{j}}}$", radius=0.32)
        _arrow(ax, (0.4, y), total, 0.32, 0.45, FORWARD)
        # the weight near its input, where the edges are far apart
        wx, wy = 0.4 + 0.38 * (total[0] - 0.4), y + 0.38 * (total[1] - y)
        ax.text(wx, wy + 0.05, f"$w_{{{j}}}$", ha="center", va="bottom",
                fontsize=12, color=FORWARD)
    _node(ax, total, r"$\Sigma$", radius=0.45)
    _node(ax, (total[0], 3.4), "$b$", radius=0.28)
    _arrow(ax, (total[0], 3.4), total, 0.28, 0.45, FORWARD)
    _node(ax, act, "$g$", radius=0.45)
    _arrow(ax, total, act, 0.45, 0.45, FORWARD)
    ax.text(5.6, 1.95, "$z$", ha="center", va="bottom", fontsize=12)
    _arrow(ax, act, out, 0.45, 0.05, FORWARD)
    ax.text(out[0] + 0.1, out[1], "$a$", ha="left", va="center",
            fontsize=14)
    ax.text(total[0], 1.1, r"$z = \sum_{j=1}^{n} w_j x_j + b$",
            ha="center", va="top", fontsize=12)
    ax.text(act[0] + 0.3, 1.1, "$a = g(z)$", ha="left", va="top",
            fontsize=12)
    ax.text(4.4, -0.2, "in layer $l$: $x$ is a column of $A^{[l-1]}$, "
            "$w$ a row of $W^{[l]}$, $b$ an entry of $b^{[l]}$; "
            "$g$ is ReLU in a hidden layer", ha="center", va="bottom",
            fontsize=9, color="0.35")
    return fig


def network(layer_dims, max_units=5, m="m", figsize=None):
    """The layered network of ``layer_dims``, with every array's shape.

    Each layer l = 0..L is a column of circles, one per unit; a layer of
    more than ``max_units`` units is drawn as a few circles, a vertical
    ellipsis and its last unit. Under each column: A^{[l]}: (n^{[l]}, m)
    (X = A^{[0]} for the inputs, A^{[L]} = Ŷ for the output); between
    layers l-1 and l: W^{[l]}: (n^{[l]}, n^{[l-1]}), b^{[l]}: (n^{[l]}, 1)
    and Z^{[l]}: (n^{[l]}, m), with the numbers of ``layer_dims``. ``m``:
    the number of examples, a number or a mathtext symbol such as "B".
    ``figsize`` defaults to 2 inches of width per layer, 4.5 high.
    """
    dims = check_layer_dims(layer_dims)
    max_units = check_positive_int(max_units, "max_units", minimum=3)
    L = len(dims) - 1
    cols = _symbol(m, "m")  # validates m
    cols = cols if cols.isdigit() else f"${m}$"
    gap = 2.0  # data units between two columns
    fig, ax = _canvas(figsize or (2 * L + 2, 4.5),
                      (-0.95, gap * L + 0.95), (-2.0, 2.0),
                      f"The network {dims}: {L} layers with weights")
    step = 1.8 / (max_units - 1)  # vertical space per unit
    columns = [_column(n, max_units, step) for n in dims]
    for l in range(1, L + 1):
        x0, x1 = gap * (l - 1), gap * l
        for y0 in columns[l - 1][0]:
            for y1 in columns[l][0]:
                ax.plot([x0, x1], [y0, y1], color="0.75", linewidth=0.6,
                        zorder=1)
        ax.text((x0 + x1) / 2, 0,
                f"$W^{{[{l}]}}$: ({dims[l]}, {dims[l - 1]})\n"
                f"$b^{{[{l}]}}$: ({dims[l]}, 1)\n"
                f"$Z^{{[{l}]}}$: ({dims[l]}, {cols})",
                ha="center", va="center", fontsize=10, linespacing=1.5,
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white",
                          edgecolor="0.8"), zorder=3)
    for l, (ys, dots) in enumerate(columns):
        x = gap * l
        ax.scatter([x] * len(ys), ys, s=180, facecolor="white",
                   edgecolor="black", linewidth=1.2, zorder=2)
        if dots is not None:
            ax.text(x, dots, r"$\vdots$", ha="center", va="center",
                    fontsize=13, zorder=2)
        kind = "input" if l == 0 else "softmax" if l == L else "ReLU"
        ax.text(x, 1.2, f"layer {l}\n{kind}", ha="center", va="bottom",
                fontsize=10, linespacing=1.3)
        name = ("$X = A^{[0]}$" if l == 0 else
                f"$A^{{[{l}]}} = \\hat{{Y}}$" if l == L else
                f"$A^{{[{l}]}}$")
        ax.text(x, -1.2, f"{name}\n({dims[l]}, {cols})", ha="center",
                va="top", fontsize=10, linespacing=1.5)
    return fig


def _column(n, max_units, step):
    """The heights of a layer's circles, and of its ellipsis (or None).

    A layer of n <= max_units units gets n circles, centred at height 0; a
    larger one max_units - 1 circles and an ellipsis before its last one.
    """
    slots = min(n, max_units)
    ys = [step * ((slots - 1) / 2 - k) for k in range(slots)]
    if n <= max_units:
        return ys, None
    return ys[:-2] + ys[-1:], ys[-2]


def layer_graph(n_prev="n^{[l-1]}", n="n^{[l]}", m="m", layer="l"):
    """The computational graph of one layer, forward and backward.

    Forward (blue): A^{[l-1]} and W^{[l]} meet in a matrix product, b^{[l]}
    is added, giving Z^{[l]}, and g gives A^{[l]}. Backward (red): from
    dA^{[l]}, dZ^{[l]} = dA^{[l]} ⊙ g'(Z^{[l]}), then dW^{[l]}, db^{[l]}
    and dA^{[l-1]} (the book's eq-dZ, eq-dW, eq-db, eq-dA). Each edge is
    labelled with the shape of what flows along it: n_prev = n^{[l-1]},
    n = n^{[l]} and m, numbers or mathtext symbols; ``layer``: the layer's
    number, or the symbol l. (In the output layer L, softmax and the
    loss together give dZ^{[L]} = A^{[L]} - Y directly, eq-dZL.)
    """
    n_prev, n, m = (_symbol(value, name) for value, name in
                    ((n_prev, "n_prev"), (n, "n"), (m, "m")))
    here = "l" if layer == "l" else check_positive_int(layer, "layer")
    before = "l-1" if layer == "l" else here - 1
    fig, ax = _canvas((10, 5.9), (-0.1, 11.3), (-0.45, 5.85),
                      f"Layer ${here}$: the forward pass (top) and the "
                      "backward pass (bottom), with the shape on every edge")
    nodes = {
        "A_prev": ((0.6, 3.5), f"$A^{{[{before}]}}$"),
        "W": ((0.6, 4.9), f"$W^{{[{here}]}}$"),
        "matmul": ((2.7, 4.2), r"$\times$"),
        "b": ((4.6, 5.35), f"$b^{{[{here}]}}$"),
        "plus": ((4.6, 4.2), "$+$"),
        "Z": ((6.6, 4.2), f"$Z^{{[{here}]}}$"),
        "g": ((8.6, 4.2), "$g$"),
        "A": ((10.6, 4.2), f"$A^{{[{here}]}}$"),
        "dA": ((10.6, 1.6), f"$dA^{{[{here}]}}$"),
        "dZ": ((4.6, 1.6), f"$dZ^{{[{here}]}}$"),
        "dW": ((0.6, 2.6), f"$dW^{{[{here}]}}$"),
        "db": ((4.6, 0.1), f"$db^{{[{here}]}}$"),
        "dA_prev": ((0.6, 0.6), f"$dA^{{[{before}]}}$"),
    }
    ops = {"matmul", "plus", "g"}
    for key, (xy, label) in nodes.items():
        colour = BACKWARD if key.startswith("d") else FORWARD
        if key in ops:
            _node(ax, xy, label, radius=0.32, colour=colour)
        else:
            _box(ax, xy, label, colour)
    prev, W = f"$({n_prev}, {m})$", f"$({n}, {n_prev})$"
    b, Z = f"$({n}, 1)$", f"$({n}, {m})$"
    # (from, to, text above the edge, text below it); a vertical edge has
    # both on its right
    edges = [
        ("A_prev", "matmul", None, prev), ("W", "matmul", W, None),
        ("matmul", "plus", Z, None), ("b", "plus", b, None),
        ("plus", "Z", Z, None), ("Z", "g", Z, None), ("g", "A", Z, None),
        ("dA", "dZ", f"$dZ^{{[{here}]}} = dA^{{[{here}]}} \\odot "
         f"g'(Z^{{[{here}]}})$", Z),
        ("dZ", "dW", f"$dW^{{[{here}]}} = \\dfrac{{1}}{{m}}\\, "
         f"dZ^{{[{here}]}} A^{{[{before}]\\top}}$", W),
        ("dZ", "db", f"$db^{{[{here}]}} = \\dfrac{{1}}{{m}} "
         f"\\;\\sum_{{i=1}}^{{m}} dZ^{{[{here}]}}_{{:,i}}$", b),
        ("dZ", "dA_prev", prev, f"$dA^{{[{before}]}} = "
         f"W^{{[{here}]\\top}} dZ^{{[{here}]}}$"),
    ]
    for start, end, above, below in edges:
        colour = BACKWARD if start.startswith("d") else FORWARD
        (p, _), (q, _) = nodes[start], nodes[end]
        _arrow(ax, p, q, _reach(start, ops), _reach(end, ops), colour)
        _edge_label(ax, p, q, above, below, colour)
    ax.legend(handles=[
        Line2D([], [], color=FORWARD, label=f"forward: $Z^{{[{here}]}} = "
               f"W^{{[{here}]}} A^{{[{before}]}} + b^{{[{here}]}}$, "
               f"$A^{{[{here}]}} = g(Z^{{[{here}]}})$"),
        Line2D([], [], color=BACKWARD,
               label="backward: gradients of the loss, right to left"),
    ], loc="lower right", fontsize=10, frameon=False)
    return fig


def _symbol(value, name):
    """A size for mathtext: a positive int as it is, a symbol such as m
    as a group {m}."""
    if isinstance(value, str) and value:
        return f"{{{value}}}"
    return str(check_positive_int(value, name))


def _reach(key, ops):
    """How far from its centre a node's edges start: circle or box."""
    return 0.32 if key in ops else None


def _canvas(figsize, xlim, ylim, title):
    """A figure with one axes, no frame, and the same scale on both axes."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=12)
    fig.tight_layout()
    return fig, ax


def _node(ax, xy, label, radius, colour="black"):
    """A circle with a label in it."""
    ax.add_patch(Circle(xy, radius, facecolor="white", edgecolor=colour,
                        linewidth=1.4, zorder=2))
    ax.text(*xy, label, ha="center", va="center", fontsize=13, zorder=3)


BOX = (0.55, 0.3)  # half the width and half the height of a box node


def _box(ax, xy, label, colour):
    """A rounded box with a label in it, 2 BOX[0] wide, 2 BOX[1] high."""
    (x, y), (w, h) = xy, BOX
    ax.add_patch(FancyBboxPatch((x - w, y - h), 2 * w, 2 * h,
                                boxstyle="round,pad=0,rounding_size=0.1",
                                facecolor="white", edgecolor=colour,
                                linewidth=1.4, zorder=2))
    ax.text(x, y, label, ha="center", va="center", fontsize=13, zorder=3)


def _arrow(ax, p, q, reach_p, reach_q, colour):
    """An arrow from node p to node q, from border to border.

    reach: the radius of a circle node, or None for a box node.
    """
    p, q = np.asarray(p, float), np.asarray(q, float)
    ax.add_patch(FancyArrowPatch(_border(p, q, reach_p),
                                 _border(q, p, reach_q),
                                 arrowstyle="-|>", mutation_scale=14,
                                 color=colour, linewidth=1.4, zorder=1))


def _border(centre, towards, reach):
    """Where the segment from ``centre`` to ``towards`` leaves the node."""
    d = towards - centre
    if reach is None:  # a box: the nearer of its vertical and flat sides
        reach = np.linalg.norm(d) * min(
            BOX[0] / abs(d[0]) if d[0] else np.inf,
            BOX[1] / abs(d[1]) if d[1] else np.inf)
    return centre + d * reach / np.linalg.norm(d)


def _edge_label(ax, p, q, above, below, colour):
    """Texts along the edge p -> q, ``above`` and ``below`` it; beside a
    vertical edge, both on its right."""
    (px, py), (qx, qy) = p, q
    mid = np.array([(px + qx) / 2, (py + qy) / 2])
    if abs(qx - px) < 1e-9:
        text = "\n".join(t for t in (above, below) if t)
        ax.text(mid[0] + 0.2, mid[1], text, ha="left", va="center",
                fontsize=10, color=colour, linespacing=1.6)
        return
    if qx < px:  # read from left to right whichever way the arrow points
        (px, py), (qx, qy) = (qx, qy), (px, py)
    angle = math.degrees(math.atan2(qy - py, qx - px))
    up = np.array([-(qy - py), qx - px]) / math.hypot(qx - px, qy - py)
    for text, va, sign in ((above, "bottom", 1), (below, "top", -1)):
        if text:
            x, y = mid + sign * 0.07 * up
            ax.text(x, y, text, ha="center", va=va, rotation=angle,
                    rotation_mode="anchor", fontsize=10, color=colour)


# ------------------------------------------------------- the loss surfaces

def ill_conditioned_quadratic(a=1.0, b=25.0):
    """A bowl much steeper in one direction: loss(w) = (a w_0² + b w_1²)/2.

    Returns ``(loss, gradient)``. loss takes w: (2, ...), a point (2,) or a
    grid of points such as ``np.stack(np.meshgrid(...))``, and returns an
    array of shape w.shape[1:]; gradient(w) = (a w_0, b w_1), the shape of
    w. The minimum is w = (0, 0); b / a is the condition number, and
    gradient descent is stable only for α < 2 / max(a, b).
    """
    a = check_learning_rate(a, "a")
    b = check_learning_rate(b, "b")

    def loss(w):
        w = _points(w)
        return (a * w[0] ** 2 + b * w[1] ** 2) / 2

    def gradient(w):
        w = _points(w)
        return np.stack([a * w[0], b * w[1]])

    return loss, gradient


def _points(w):
    """w as a float64 array of shape (2, ...), or a ValueError."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 0 or w.shape[0] != 2:
        raise ValueError("w must have shape (2,) or (2, ...), one row per "
                         f"parameter; got shape {w.shape}")
    return w


def mnist_slice(X, y, params, first=("W2", 0, 0), second=("W2", 1, 0)):
    """The real loss of a network as a function of two of its weights.

    X: (n^{[0]}, m), y: (m,) integer labels, params: the network's W1, b1,
    ..., all held fixed except two entries, named ``(key, row, column)``
    such as ("W2", 0, 0) for W^{[2]}_{0,0} (biases too: ("b2", 3, 0)).
    Returns ``(loss, gradient)``: loss(w), w: (2, ...) the values of
    ``first`` and ``second``, is the mean cross-entropy of the network on
    (X, y) (``cross_entropy_from_logits``), of shape w.shape[1:];
    gradient(w), w: (2,), is (dW, dW) at those two entries from
    ``back_prop``. At w = (params[first], params[second]) it is the loss
    of ``params`` itself.

    Cost: the layers below the lower of the two weights' layers, l0, do
    not change: their activations A^{[l0-1]} are computed once, and each
    point runs ``forward_prop`` (and ``back_prop`` for a gradient) through
    layers l0..L only. For two weights of W2 in [784, 32, 10] on 2,000
    images that is one (10, 32) @ (32, 2000) product per point, under a
    millisecond on one core: a 50 x 50 grid of the loss takes a second or
    two. The network runs in float64, so the contours show no float32
    rounding.
    """
    dims = check_params(params)
    check_X(X, dims[0])
    check_labels(y, m=X.shape[1], num_classes=dims[-1])
    for spec, name in ((first, "first"), (second, "second")):
        _check_entry(spec, params, name)
    if tuple(first) == tuple(second):
        raise ValueError(f"first and second must be two different entries, "
                         f"got {first!r} twice")
    L = len(dims) - 1
    l0 = min(int(first[0][1:]), int(second[0][1:]))
    params = {key: value.astype(np.float64) for key, value in params.items()}
    A = forward_prop(X.astype(np.float64), params)[f"A{l0 - 1}"]
    # layers l0..L of the network, renumbered 1.. as a network of their own
    top = {f"{p}{l - l0 + 1}": params[f"{p}{l}"]
           for l in range(l0, L + 1) for p in "Wb"}
    entries = [(f"{key[0]}{int(key[1:]) - l0 + 1}", (row, col))
               for key, row, col in (first, second)]

    def run(point):
        for (key, index), value in zip(entries, point):
            top[key][index] = value
        return forward_prop(A, top)

    def loss(w):
        w = _points(w)
        values = np.empty(w.shape[1:])
        for index in np.ndindex(values.shape):
            Z = run(w[(slice(None),) + index])[f"Z{L - l0 + 1}"]
            values[index] = cross_entropy_from_logits(Z, y)
        return values

    def gradient(w):
        w = _points(w)
        grads = back_prop(run(w), top, y)
        return np.array([grads[f"d{key}"][index] for key, index in entries])

    return loss, gradient


def _check_entry(spec, params, name):
    """Refuse an entry that is not (key, row, column) of ``params``."""
    try:
        key, row, col = spec
        shape = params[key].shape
        ok = 0 <= row < shape[0] and 0 <= col < shape[1]
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must name one entry of params as (key, row, column), "
            f"such as ('W2', 0, 0), with key one of {', '.join(params)} and "
            f"row, column inside its shape; got {spec!r}")


def optimizer_paths(gradient, start, optimizers, steps=50):
    """Run nnlib's optimisers on a 2-vector w and record where it goes.

    gradient: w (2,) -> dw (2,); start: w_0, (2,). optimizers: {name:
    how to build one}, where "how" is either a pair (class, kwargs) such
    as ``(nnlib.optimizers.Adam, {"learning_rate": 0.1})``, or anything
    called with the list of parameter arrays, such as a class
    (``nnlib.optimizers.SGD``, default settings). Each optimiser steps
    the list [w] in place ``steps`` times, exactly as in training.
    Returns {name: path}, path: (steps + 1, 2), w_0 first.
    """
    start = _points(start)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError("start must be 2 finite numbers, got "
                         f"{start.tolist()}")
    steps = check_positive_int(steps, "steps")
    if not isinstance(optimizers, dict) or not optimizers:
        raise ValueError("optimizers must be a non-empty dict {name: "
                         f"(class, kwargs)}}, got {optimizers!r}")
    paths = {}
    for name, how in optimizers.items():
        w = start.copy()
        if isinstance(how, tuple) and len(how) == 2:
            optimizer = how[0]([w], **how[1])
        elif callable(how):
            optimizer = how([w])
        else:
            raise ValueError(f"optimizers[{name!r}] must be (class, kwargs) "
                             f"or callable, got {how!r}")
        path = [start.copy()]
        for _ in range(steps):
            optimizer.step([np.asarray(gradient(w), dtype=np.float64)])
            path.append(w.copy())
        paths[name] = np.array(path)
    return paths


def trajectories(loss, paths, extent=None, levels=20, title=None,
                 labels=None, minimum=None,
                 minimum_label="minimum", resolution=60):
    """Contours of a 2-D loss with the path of each optimiser drawn on.

    loss: w (2, ...) -> values (...), as :func:`ill_conditioned_quadratic`
    and :func:`mnist_slice` return; paths: {name: (steps + 1, 2)}, as
    :func:`optimizer_paths` returns, each drawn with a circle at its start
    and a square at its end. extent: (w0_min, w0_max, w1_min, w1_max),
    by default the paths' finite points with a margin. levels: a number
    of contour levels, log-spaced when the loss spans more than a factor
    50 on the grid (a bowl whose minimum is 0), else evenly spaced; or
    the levels themselves. labels: the axes' names (w_0 and w_1 when
    None); minimum: a point
    (2,) marked with a star, named ``minimum_label`` in the legend (such
    as "trained weights" on a slice of a network). The loss is evaluated
    on a grid of resolution x resolution points. Both axes have the same
    scale, so the gradient is drawn perpendicular to the contours.
    """
    if not paths:
        raise ValueError("paths must hold at least one path, got "
                         f"{paths!r}")
    resolution = check_positive_int(resolution, "resolution", minimum=2)
    if extent is None:
        extent = _extent(np.concatenate(list(paths.values())))
    elif len(extent) != 4 or not (extent[0] < extent[1]
                                  and extent[2] < extent[3]):
        raise ValueError("extent must be (w0_min, w0_max, w1_min, w1_max) "
                         f"with each min below its max, got {extent!r}")
    w0 = np.linspace(extent[0], extent[1], resolution)
    w1 = np.linspace(extent[2], extent[3], resolution)
    values = loss(np.stack(np.meshgrid(w0, w1)))
    if np.ndim(levels) == 0:
        levels = check_positive_int(levels, "levels", minimum=2)
        low, high = values.min(), values.max()
        levels = (np.geomspace(max(low, high * 1e-4), high, levels)
                  if low < high / 50 else np.linspace(low, high, levels))
    # 5.5 inches of axes across; the height that keeps both scales equal
    ratio = (extent[3] - extent[2]) / (extent[1] - extent[0])
    fig, ax = plt.subplots(figsize=(7.5, 2 + min(max(5.5 * ratio, 2), 5.5)))
    contours = ax.contour(w0, w1, values, levels=levels, cmap="viridis",
                          linewidths=0.8)
    # a colour bar as high as the axes, which equal scales may shorten
    bar = make_axes_locatable(ax).append_axes("right", "4%", pad=0.15)
    fig.colorbar(contours, cax=bar, label="loss", format="%.3g")
    for k, (name, path) in enumerate(paths.items()):
        colour = f"C{(k + 1) % 10}"  # C0 is close to viridis's blues
        ax.plot(path[:, 0], path[:, 1], ".-", color=colour, markersize=4,
                linewidth=1.3, label=name)
        ax.plot(*path[0], "o", color=colour, markersize=8,
                markeredgecolor="black")
        ax.plot(*path[-1], "s", color=colour, markersize=8,
                markeredgecolor="black")
    if minimum is not None:
        ax.plot(*minimum, "*", color="black", markersize=14,
                label=minimum_label)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    x_label, y_label = labels or ("$w_0$", "$w_1$")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title or "Paths on the loss surface (circle: start, "
                 "square: end)", fontsize=11)
    # half an inch under the axes, where it hides no path
    under = ax.transAxes + ScaledTranslation(0, -0.5, fig.dpi_scale_trans)
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, 0),
              bbox_transform=under, ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def _extent(points):
    """(x_min, x_max, y_min, y_max) around the finite points, 15% margin."""
    points = points[np.all(np.isfinite(points), axis=1)]
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.15 * np.maximum(high - low, 1e-3 * np.maximum(1, abs(high)))
    return (low[0] - pad[0], high[0] + pad[0],
            low[1] - pad[1], high[1] + pad[1])


# ---------------------------------------------------------------- dropout

def inverted_dropout(p=0.5, shape=(6, 8), seed=0, A=None):
    """Inverted dropout on one hidden layer, in three heat maps.

    A: (n^{[l]}, m) activations, by default ``shape`` random values in
    [0.1, 1] (all positive, so that every 0 on the right is dropout's);
    D: the mask of :func:`~nnlib.regularization.dropout_forward`,
    1[U >= p] / (1 - p) with U uniform in [0, 1), drawn from
    ``np.random.default_rng(seed)`` (after A, when A is drawn); and
    A ⊙ D. Under A and A ⊙ D, the mean of each column (example): dropout
    keeps it in expectation, since E[D] = 1.
    """
    p = check_fraction(p, "p")
    rng = np.random.default_rng(seed)
    if A is None:
        if (not isinstance(shape, tuple) or len(shape) != 2
                or any(not isinstance(s, int) or s < 1 for s in shape)):
            raise ValueError("shape must be (n_l, m), two positive ints, "
                             f"got {shape!r}")
        A = np.round(rng.uniform(0.1, 1.0, shape), 1)
    check_X(A, name="A")
    dropped, D = dropout_forward(A, p, rng)
    n_l, m = A.shape
    fig, axes = plt.subplots(1, 3, figsize=(1.5 + 1.35 * m, 1.5 + 0.42 * n_l))
    top = float(dropped.max()) or 1.0
    panels = [(A, f"$A^{{[l]}}$: ({n_l}, {m}), mean {A.mean():.2f}", top),
              (D, f"$D = 1[U \\geq p]\\,/\\,(1-p)$, p = {p:g}", 2.5 / (1 - p)),
              (dropped, f"$A^{{[l]}} \\odot D$: mean {dropped.mean():.2f}",
               top)]
    for ax, (values, name, high) in zip(axes, panels):
        ax.imshow(values, cmap="Greys" if values is D else "Blues", vmin=0,
                  vmax=1.6 * high)
        for (i, j), value in np.ndenumerate(values):
            ax.text(j, i, f"{value:g}" if values is D else f"{value:.1f}",
                    ha="center", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=10)
        ax.set_ylim(n_l + 0.5, -0.5)  # a row under the map for the means
        ax.axhline(n_l - 0.5, color="black", linewidth=1)
        if values is D:
            ax.text((m - 1) / 2, n_l, f"each entry 0 or 1/(1-p) = "
                    f"{1 / (1 - p):.3g}; E[D] = 1", ha="center",
                    va="center", fontsize=8)
            continue
        for j, mean in enumerate(values.mean(axis=0)):
            ax.text(j, n_l, f"{mean:.2f}", ha="center", va="center",
                    fontsize=8)
    axes[0].set_ylabel("units ↓, examples →\n(last row: column means)",
                       fontsize=8)
    fig.suptitle(f"Inverted dropout, p = {p:g}: each unit is dropped with "
                 f"probability p, the others are scaled by 1/(1-p)",
                 fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------- convolutions

def _grid(ax, values, origin, colours=None, fontsize=9, fmt="{:g}"):
    """A grid of square cells, one per entry of the 2-D ``values``, row 0
    at the top; cell (r, c) is the unit square whose top-left corner is
    origin + (c, -r). ``colours``: a face colour per cell, or None."""
    x0, y0 = origin
    rows, cols = values.shape
    for (r, c), value in np.ndenumerate(values):
        face = "white" if colours is None else colours[r][c]
        ax.add_patch(plt.Rectangle((x0 + c, y0 - r - 1), 1, 1,
                                   facecolor=face, edgecolor="0.55",
                                   linewidth=0.8))
        ax.text(x0 + c + 0.5, y0 - r - 0.5, fmt.format(value),
                ha="center", va="center", fontsize=fontsize)


def _outline(ax, xy, width, height, colour, linewidth=2.5):
    """A thick rectangle: a window, or the cell it makes."""
    ax.add_patch(plt.Rectangle(xy, width, height, facecolor="none",
                               edgecolor=colour, linewidth=linewidth,
                               zorder=4))


def _conv_geometry(n, k, stride, padding):
    """The checked sizes of a drawn convolution, and its output size."""
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    stride = check_positive_int(stride, "stride")
    padding = check_positive_int(padding, "padding", minimum=0)
    if k > n + 2 * padding:
        raise ValueError(f"k = {k} is larger than the padded image of "
                         f"{n + 2 * padding} pixels (n = {n}, padding = "
                         f"{padding})")
    return n, k, stride, padding, conv_output_size(n, k, stride, padding)


def conv_window(n=5, k=3, stride=1, padding=1, position=(1, 2), seed=0):
    """One output pixel of a convolution: the window, the kernel, the sum.

    One example and one channel, with small integers a reader can add up:
    the image a_prev: (n, n), drawn padded by P zeros on each side (grey
    cells), the kernel W: (k, k) and the output z = conv2d_forward(...) of
    nnlib.conv: (n_out, n_out), n_out = (n + 2P - k) // S + 1, bias 0.
    The window of output pixel ``position`` = (h, w), the padded pixels
    h S .. h S + k - 1 by w S .. w S + k - 1, is outlined, and so is the
    pixel z[h, w] it gives: the sum of the window times W, entry by entry.
    Values: integers 0..3 for the image, -1..1 for the kernel, drawn from
    ``np.random.default_rng(seed)``.
    """
    n, k, stride, padding, n_out = _conv_geometry(n, k, stride, padding)
    h, w = position
    if not (0 <= h < n_out and 0 <= w < n_out):
        raise ValueError(f"position must be (h, w) of an output pixel, with "
                         f"0 <= h, w < n_out = {n_out}; got {position!r}")
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 4, size=(n, n)).astype(np.float64)
    kernel = rng.integers(-1, 2, size=(k, k)).astype(np.float64)
    z = conv2d_forward(image[None, None], kernel[None, None], np.zeros(1),
                       stride, padding)[0, 0]
    padded = np.pad(image, padding)
    N = n + 2 * padding
    grey = [["0.85" if min(r, c) < padding or max(r, c) >= n + padding
             else "white" for c in range(N)] for r in range(N)]
    gap = 2.5
    x_kernel, x_out = N + gap, N + 2 * gap + k
    width = x_out + n_out + 0.5
    fig, ax = plt.subplots(figsize=(0.5 * width + 0.6, 0.5 * N + 2.3))
    ax.set_xlim(-0.5, width)
    ax.set_ylim(-N - 2.6, 1.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _grid(ax, padded, (0, 0), grey)
    _grid(ax, kernel, (x_kernel, 0))
    highlight = [["white"] * n_out for _ in range(n_out)]
    _grid(ax, z, (x_out, 0), highlight)
    window = "C3"
    _outline(ax, (w * stride, -h * stride - k), k, k, window)
    _outline(ax, (x_kernel, -k), k, k, window)
    _outline(ax, (x_out + w, -h - 1), 1, 1, window)
    ax.text(N + gap / 2, -k / 2, r"$\odot$", ha="center", va="center",
            fontsize=18)
    ax.text(x_kernel + k + gap / 2, -k / 2, r"$\Sigma \rightarrow$",
            ha="center", va="center", fontsize=14)
    pad = f", padded by P = {padding}" if padding else ""
    titles = [(N / 2, f"image $a$: ({n}, {n}){pad}"),
              (x_kernel + k / 2, f"kernel $W$: ({k}, {k})"),
              (x_out + n_out / 2, f"output $z$: ({n_out}, {n_out})")]
    for x, title in titles:
        ax.text(x, 0.4, title, ha="center", va="bottom", fontsize=10)
    total = np.sum(padded[h * stride:h * stride + k,
                          w * stride:w * stride + k] * kernel)
    assert total == z[h, w]
    ax.text(width / 2 - 0.25, -N - 0.7,
            f"$z[{h}, {w}]$ = sum of the outlined window $\\odot$ $W$ = "
            f"{total:g}; the window starts at padded row {h}S = "
            f"{h * stride}, column {w}S = {w * stride}",
            ha="center", va="top", fontsize=10)
    ax.text(width / 2 - 0.25, -N - 1.5,
            f"$n_{{out}} = \\lfloor (n + 2P - k) / S \\rfloor + 1 = "
            f"\\lfloor ({n} + {2 * padding} - {k}) / {stride} \\rfloor + 1"
            f" = {n_out}$; with $C_{{prev}}$ channels the window and the "
            f"kernel are $C_{{prev}} \\times k \\times k$",
            ha="center", va="top", fontsize=10)
    ax.set_title(f"A convolution as a sliding dot product: k = {k}, "
                 f"S = {stride}, P = {padding}", fontsize=12)
    fig.tight_layout()
    return fig


def im2col_columns(n=4, k=2, stride=1, padding=0):
    """im2col of nnlib.conv drawn: every window becomes a column.

    One example and one channel; the image a: (n, n) holds the numbers
    1..n² (row by row), so each entry of the matrix names the pixel it was
    copied from (0: padding). The matrix is nnlib.conv.im2col itself:
    (k k, n_out n_out), row (p, q) an offset in the window, column (h, w)
    a window. Two windows and their columns are outlined in colour. Under
    it: the kernel read as one row, W.reshape(1, k k), times the matrix
    gives z as one row, (1, n_out n_out): the convolution as one matrix
    product.
    """
    n, k, stride, padding, n_out = _conv_geometry(n, k, stride, padding)
    image = np.arange(1, n * n + 1, dtype=np.float64).reshape(n, n)
    cols = im2col(image[None, None], k, stride, padding)  # (k k, n_out²)
    padded = np.pad(image, padding)
    N = n + 2 * padding
    n_cols = n_out * n_out
    gap = 2.5
    x_cols = N + gap + 1
    width = x_cols + n_cols + 0.5
    height = max(N, k * k)
    fig, ax = plt.subplots(figsize=(0.48 * width + 0.6,
                                    0.48 * height + 2.4))
    ax.set_xlim(-0.5, width)
    ax.set_ylim(-height - 2.6, 2.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    grey = [["0.85" if min(r, c) < padding or max(r, c) >= n + padding
             else "white" for c in range(N)] for r in range(N)]
    _grid(ax, padded, (0, 0), grey, fmt="{:g}")
    _grid(ax, cols, (x_cols, 0), fmt="{:g}")
    shown = [(0, 0, "C0"), (n_out - 1, n_out - 1, "C3")]
    if n_out == 1:
        shown = shown[:1]
    for h, w, colour in shown:
        _outline(ax, (w * stride + 0.06 * (colour == "C3"),
                      -h * stride - k), k - 0.12 * (colour == "C3"), k,
                 colour)
        _outline(ax, (x_cols + h * n_out + w, -k * k), 1, k * k, colour)
    ax.annotate("", xy=(x_cols - 0.3, -k * k / 2), xytext=(N + 0.3, -k * k / 2),
                arrowprops=dict(arrowstyle="-|>", color="black"))
    ax.text(N + (gap + 1) / 2, -k * k / 2 + 0.2, "im2col", ha="center",
            va="bottom", fontsize=10)
    pad = f", padded by P = {padding}" if padding else ""
    ax.text(N / 2, 0.4, f"image $a$: ({n}, {n}){pad}", ha="center",
            va="bottom", fontsize=10)
    ax.text(x_cols + n_cols / 2, 0.4,
            f"columns: ($k k$, $n_H n_W$) = ({k * k}, {n_cols})\n"
            f"column (h, w): window (h, w); row (p, q): offset in it",
            ha="center", va="bottom", fontsize=10, linespacing=1.4)
    ax.text(width / 2 - 0.25, -height - 0.8,
            f"$z$ = W.reshape(1, {k * k}) @ columns: (1, {k * k}) @ "
            f"({k * k}, {n_cols}) = (1, {n_cols}), then reshaped to "
            f"({n_out}, {n_out})",
            ha="center", va="top", fontsize=10)
    ax.text(width / 2 - 0.25, -height - 1.7,
            f"with $C_{{prev}}$ channels: ($C_{{prev}} k k$, $n_H n_W m$) "
            f"columns; with C kernels: (C, $C_{{prev}} k k$) @ columns",
            ha="center", va="top", fontsize=10)
    ax.set_title(f"im2col: each k x k window becomes one column (k = {k}, "
                 f"S = {stride}, P = {padding})", fontsize=12)
    fig.tight_layout()
    return fig
