"""The pictures of nnlib.pictures: the texts and data drawn, never pixels."""
import matplotlib

matplotlib.use("Agg")  # before pyplot is imported (by nnlib.pictures)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nnlib import (back_prop, cross_entropy, dropout_forward,  # noqa: E402
                   forward_prop, init_params, one_hot, pictures)
from nnlib.optimizers import SGD, Adam, Momentum  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Each test starts and ends without open figures."""
    plt.close("all")
    yield
    plt.close("all")


def texts(fig):
    """Every text drawn on the figure's axes, titles and legends included."""
    found = [t.get_text() for ax in fig.axes for t in ax.texts]
    found += [ax.get_title() for ax in fig.axes]
    for ax in fig.axes:
        if ax.get_legend():
            found += [t.get_text() for t in ax.get_legend().get_texts()]
    return found


def overlapping_texts(fig):
    """Pairs of non-empty texts whose (rotated) boxes overlap once drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    quads = [(t.get_text(), text_quad(t, renderer))
             for ax in fig.axes for t in ax.texts if t.get_text()]
    return [(a, b) for i, (a, quad_a) in enumerate(quads)
            for b, quad_b in quads[i + 1:] if quads_overlap(quad_a, quad_b)]


def text_quad(text, renderer):
    """The 4 corners of a text's box in pixels, turned with the text.

    Texts drawn at an angle turn about their anchor (rotation_mode
    "anchor"), so the unturned box turned about that point is the box.
    """
    angle = text.get_rotation()
    text.set_rotation(0)
    box = text.get_window_extent(renderer)
    text.set_rotation(angle)
    corners = np.array([[box.x0, box.y0], [box.x1, box.y0],
                        [box.x1, box.y1], [box.x0, box.y1]])
    if not angle:
        return corners
    anchor = text.get_transform().transform(text.get_position())
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return (corners - anchor) @ np.array([[c, s], [-s, c]]) + anchor


def quads_overlap(a, b):
    """Whether two convex quadrilaterals overlap: no separating axis."""
    for quad in (a, b):
        for k in range(4):
            edge = quad[(k + 1) % 4] - quad[k]
            normal = np.array([-edge[1], edge[0]])
            pa, pb = a @ normal, b @ normal
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def small_network(seed=0, dims=(6, 5, 4, 3), m=12):
    """Random float64 data, labels and parameters with nonzero biases."""
    rng = np.random.default_rng(seed)
    params = init_params(list(dims), seed=seed, dtype=np.float64)
    for l in range(1, len(dims)):
        params[f"b{l}"] = rng.normal(0, 0.1, params[f"b{l}"].shape)
    X = rng.normal(size=(dims[0], m))
    y = rng.integers(0, dims[-1], m)
    return X, y, params


# ---------------------------------------------------------------- neuron

def test_neuron_draws_inputs_weights_sum_and_activation():
    fig = pictures.neuron(3)
    assert isinstance(fig, Figure)
    drawn = texts(fig)
    for label in ["$x_{1}$", "$x_{3}$", "$w_{1}$", "$w_{3}$", "$b$", "$g$",
                  "$a$", "$a = g(z)$"]:
        assert label in drawn
    assert any("w_j x_j + b" in t for t in drawn)


def test_neuron_with_many_inputs_draws_an_ellipsis_and_the_last():
    drawn = texts(pictures.neuron(784))
    assert "$x_{784}$" in drawn and r"$\vdots$" in drawn
    assert "$x_{3}$" not in drawn


# ---------------------------------------------------------------- network

def test_network_writes_every_shape_of_a_deep_network():
    fig = pictures.network([784, 256, 128, 64, 10])
    assert isinstance(fig, Figure)
    drawn = "\n".join(texts(fig))
    for shape in ["$W^{[1]}$: (256, 784)", "$b^{[1]}$: (256, 1)",
                  "$Z^{[1]}$: (256, $m$)", "$W^{[4]}$: (10, 64)",
                  "$b^{[4]}$: (10, 1)", "$Z^{[3]}$: (64, $m$)",
                  "$X = A^{[0]}$\n(784, $m$)", "$A^{[2]}$\n(128, $m$)",
                  "$A^{[4]} = \\hat{Y}$\n(10, $m$)"]:
        assert shape in drawn
    assert "layer 1\nReLU" in drawn and "layer 4\nsoftmax" in drawn


def test_network_draws_an_ellipsis_only_for_layers_above_max_units():
    drawn = texts(pictures.network([784, 256, 128, 64, 10], max_units=5))
    assert drawn.count(r"$\vdots$") == 5
    assert texts(pictures.network([2, 3, 2])).count(r"$\vdots$") == 0
    assert texts(pictures.network([6, 5, 4], max_units=5)).count(
        r"$\vdots$") == 1


def test_network_of_a_small_network_with_a_number_of_examples():
    drawn = "\n".join(texts(pictures.network([2, 3, 2], m=4)))
    for shape in ["$W^{[1]}$: (3, 2)", "$b^{[2]}$: (2, 1)",
                  "$Z^{[2]}$: (2, 4)", "$X = A^{[0]}$\n(2, 4)",
                  "$A^{[1]}$\n(3, 4)", "$A^{[2]} = \\hat{Y}$\n(2, 4)"]:
        assert shape in drawn


@pytest.mark.parametrize("dims", [[784, 256, 128, 64, 10], [2, 3, 2]])
def test_network_texts_do_not_overlap(dims):
    assert overlapping_texts(pictures.network(dims)) == []


def test_network_refuses_bad_layer_dims_naming_them():
    with pytest.raises(ValueError, match="-3"):
        pictures.network([784, -3, 10])
    with pytest.raises(ValueError, match="max_units"):
        pictures.network([2, 3, 2], max_units=2)


# ---------------------------------------------------------------- layer_graph

def test_layer_graph_labels_both_directions_with_equations_and_shapes():
    fig = pictures.layer_graph(784, 256, 128)
    assert isinstance(fig, Figure)
    drawn = "\n".join(texts(fig))
    for node in ["$A^{[l-1]}$", "$W^{[l]}$", "$b^{[l]}$", "$Z^{[l]}$",
                 "$A^{[l]}$", "$dA^{[l]}$", "$dZ^{[l]}$", "$dW^{[l]}$",
                 "$db^{[l]}$", "$dA^{[l-1]}$"]:
        assert node in drawn
    for equation in [r"dA^{[l]} \odot g'(Z^{[l]})", r"A^{[l-1]\top}",
                     r"\sum_{i=1}^{m} dZ^{[l]}_{:,i}",
                     r"W^{[l]\top} dZ^{[l]}"]:
        assert equation in drawn
    for shape in ["$(784, 128)$", "$(256, 784)$", "$(256, 1)$",
                  "$(256, 128)$"]:
        assert shape in drawn


def test_layer_graph_draws_forward_and_backward_arrows_in_two_colours():
    ax = pictures.layer_graph().axes[0]
    colours = {tuple(p.get_edgecolor()) for p in ax.patches
               if type(p).__name__ == "FancyArrowPatch"}
    assert len(colours) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("forward") and legend[1].startswith(
        "backward")


def test_layer_graph_of_a_numbered_layer_names_its_neighbour():
    drawn = texts(pictures.layer_graph(2, 3, 2, layer=1))
    assert "$A^{[0]}$" in drawn and "$dW^{[1]}$" in drawn


def test_layer_graph_refuses_a_size_that_is_not_one_naming_it():
    with pytest.raises(ValueError, match="n_prev .* got 0"):
        pictures.layer_graph(0, 3, 2)
    with pytest.raises(ValueError, match="m .* got 2.5"):
        pictures.layer_graph(2, 3, 2.5)


def test_layer_graph_texts_do_not_overlap():
    assert overlapping_texts(pictures.layer_graph()) == []
    assert overlapping_texts(pictures.layer_graph(784, 256, 128)) == []


# ---------------------------------------------------------------- surfaces

def central_differences(f, w, h=1e-6):
    """(f(w + h e_k) - f(w - h e_k)) / 2h for k = 0, 1."""
    return np.array([(f(w + h * e) - f(w - h * e)) / (2 * h)
                     for e in np.eye(2)])


def test_quadratic_gradient_equals_central_differences():
    loss, gradient = pictures.ill_conditioned_quadratic(a=2.0, b=30.0)
    w = np.array([0.7, -1.3])
    np.testing.assert_allclose(gradient(w), central_differences(loss, w),
                               rtol=1e-7)
    assert loss(w) == pytest.approx((2 * 0.49 + 30 * 1.69) / 2)


def test_quadratic_loss_accepts_a_grid():
    loss, _ = pictures.ill_conditioned_quadratic()
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(0, 2, 3)))
    values = loss(grid)
    assert values.shape == (3, 4)
    assert values[1, 2] == pytest.approx(loss(grid[:, 1, 2]))


def test_quadratic_refuses_a_bad_curvature_naming_it():
    with pytest.raises(ValueError, match="b must .* got -1"):
        pictures.ill_conditioned_quadratic(b=-1)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        pictures.ill_conditioned_quadratic()[0](np.zeros(3))


def test_mnist_slice_loss_is_cross_entropy_of_the_modified_params():
    X, y, params = small_network()
    first, second = ("W2", 1, 3), ("W3", 2, 0)
    loss, _ = pictures.mnist_slice(X, y, params, first, second)
    w = np.array([0.4, -0.8])
    changed = {key: value.copy() for key, value in params.items()}
    changed["W2"][1, 3], changed["W3"][2, 0] = w
    AL = forward_prop(X, changed)["A3"]
    assert loss(w) == pytest.approx(cross_entropy(one_hot(y, 3), AL),
                                    rel=1e-12)


def test_mnist_slice_at_the_params_own_values_is_their_loss():
    X, y, params = small_network(seed=1)
    loss, _ = pictures.mnist_slice(X, y, params, ("W1", 0, 2), ("b2", 3, 0))
    w = np.array([params["W1"][0, 2], params["b2"][3, 0]])
    AL = forward_prop(X, params)["A3"]
    assert loss(w) == pytest.approx(cross_entropy(one_hot(y, 3), AL),
                                    rel=1e-12)


def test_mnist_slice_gradient_is_back_props_entries():
    X, y, params = small_network(seed=2)
    loss, gradient = pictures.mnist_slice(X, y, params, ("W2", 0, 1),
                                          ("W3", 1, 3))
    w = np.array([0.3, 0.5])
    changed = {key: value.copy() for key, value in params.items()}
    changed["W2"][0, 1], changed["W3"][1, 3] = w
    grads = back_prop(forward_prop(X, changed), changed, y)
    np.testing.assert_allclose(gradient(w),
                               [grads["dW2"][0, 1], grads["dW3"][1, 3]],
                               rtol=1e-12)
    np.testing.assert_allclose(gradient(w), central_differences(loss, w),
                               rtol=1e-5)


def test_mnist_slice_loss_accepts_a_grid_and_leaves_params_alone():
    X, y, params = small_network(seed=3)
    before = {key: value.copy() for key, value in params.items()}
    loss, _ = pictures.mnist_slice(X, y, params)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 3), np.linspace(0, 1, 2)))
    values = loss(grid)
    assert values.shape == (2, 3)
    assert values[1, 0] == pytest.approx(loss(grid[:, 1, 0]))
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


@pytest.mark.parametrize("first, match", [
    (("W9", 0, 0), "W9"), (("W2", 5, 0), r"\('W2', 5, 0\)"),
    ("W2", "'W2'"), (("W2", 1, 0), "two different entries")])
def test_mnist_slice_refuses_an_entry_that_is_not_one_naming_it(first,
                                                                 match):
    X, y, params = small_network()
    with pytest.raises(ValueError, match=match):
        pictures.mnist_slice(X, y, params, first, ("W2", 1, 0))


def test_sgd_path_on_the_quadratic_is_the_closed_form():
    a, b, alpha, steps = 1.0, 25.0, 0.03, 30
    _, gradient = pictures.ill_conditioned_quadratic(a, b)
    start = np.array([-4.0, 1.0])
    paths = pictures.optimizer_paths(
        gradient, start, {"sgd": (SGD, {"learning_rate": alpha})}, steps)
    t = np.arange(steps + 1)[:, None]
    expected = (1 - alpha * np.array([a, b])) ** t * start
    np.testing.assert_allclose(paths["sgd"], expected, rtol=1e-12,
                               atol=1e-15)


def test_optimizer_paths_run_the_real_optimisers():
    _, gradient = pictures.ill_conditioned_quadratic()
    start = np.array([-4.0, 1.0])
    paths = pictures.optimizer_paths(gradient, start, {
        "momentum": (Momentum, {"learning_rate": 0.05, "beta": 0.8}),
        "adam": lambda params: Adam(params, learning_rate=0.1)}, steps=5)
    for name, optimizer in (("momentum", Momentum([start.copy()], 0.05,
                                                  beta=0.8)),
                            ("adam", Adam([start.copy()], 0.1))):
        w = optimizer.params[0]
        for step in range(5):
            np.testing.assert_array_equal(paths[name][step], w)
            optimizer.step([gradient(w)])
        np.testing.assert_array_equal(paths[name][-1], w)
        assert paths[name].shape == (6, 2)


def test_optimizer_paths_refuse_bad_inputs_naming_them():
    _, gradient = pictures.ill_conditioned_quadratic()
    with pytest.raises(ValueError, match="steps .* got 0"):
        pictures.optimizer_paths(gradient, [1.0, 1.0], {"sgd": SGD}, 0)
    with pytest.raises(ValueError, match=r"start .*\[nan, 1.0\]"):
        pictures.optimizer_paths(gradient, [np.nan, 1.0], {"sgd": SGD})
    with pytest.raises(ValueError, match="optimizers\\['x'\\] .* 3"):
        pictures.optimizer_paths(gradient, [1.0, 1.0], {"x": 3})
    with pytest.raises(ValueError, match="optimizers .* got {}"):
        pictures.optimizer_paths(gradient, [1.0, 1.0], {})


def test_trajectories_draws_each_path_on_the_contours():
    loss, gradient = pictures.ill_conditioned_quadratic()
    paths = pictures.optimizer_paths(gradient, [-4.0, 1.0], {
        "SGD": (SGD, {"learning_rate": 0.03}),
        "Adam": (Adam, {"learning_rate": 0.2})}, steps=20)
    fig = pictures.trajectories(loss, paths, title="bowl", minimum=(0, 0))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "bowl"
    lines = {line.get_label(): line for line in ax.lines}
    for name, path in paths.items():
        np.testing.assert_array_equal(lines[name].get_xydata(), path)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["SGD", "Adam", "minimum"]
    # the extent holds every point of every path
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    points = np.concatenate(list(paths.values()))
    assert x0 < points[:, 0].min() and points[:, 0].max() < x1
    assert y0 < points[:, 1].min() and points[:, 1].max() < y1


def test_trajectories_spaces_levels_by_the_range_of_the_loss():
    loss, _ = pictures.ill_conditioned_quadratic()
    path = {"p": np.array([[-1.0, -1.0], [1.0, 1.0]])}
    bowl = pictures.trajectories(loss, path, levels=10).axes[0]
    levels = np.asarray(_contour_levels(bowl))
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0])  # log-spaced
    flat = pictures.trajectories(lambda w: 5 + w[0], path, levels=10)
    steps = np.diff(_contour_levels(flat.axes[0]))
    np.testing.assert_allclose(steps, steps[0])  # evenly spaced


def test_trajectories_refuse_bad_inputs_naming_them():
    loss, _ = pictures.ill_conditioned_quadratic()
    path = {"p": np.array([[-1.0, -1.0], [1.0, 1.0]])}
    with pytest.raises(ValueError, match=r"extent .* \(1, 0, 0, 1\)"):
        pictures.trajectories(loss, path, extent=(1, 0, 0, 1))
    with pytest.raises(ValueError, match="levels .* got 1"):
        pictures.trajectories(loss, path, levels=1)
    with pytest.raises(ValueError, match="paths .* got {}"):
        pictures.trajectories(loss, {})


def _contour_levels(ax):
    """The levels of the contour set drawn on ax."""
    sets = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    return sets[0].levels


def test_trajectories_on_a_slice_of_a_real_network():
    X, y, params = small_network(seed=4)
    loss, gradient = pictures.mnist_slice(X, y, params)
    start = [params["W2"][0, 0], params["W2"][1, 0]]
    paths = pictures.optimizer_paths(
        gradient, start, {"SGD": (SGD, {"learning_rate": 0.5})}, steps=5)
    fig = pictures.trajectories(loss, paths, resolution=12,
                                labels=("$W^{[2]}_{0,0}$", "$W^{[2]}_{1,0}$"))
    assert fig.axes[0].get_xlabel() == "$W^{[2]}_{0,0}$"


# ---------------------------------------------------------------- dropout

def test_inverted_dropout_shows_dropout_forwards_mask():
    A = np.arange(1, 13, dtype=np.float64).reshape(3, 4) / 10
    fig = pictures.inverted_dropout(p=0.25, seed=5, A=A)
    assert isinstance(fig, Figure)
    dropped, D = dropout_forward(A, 0.25, np.random.default_rng(5))
    shown = [ax.images[0].get_array() for ax in fig.axes]
    np.testing.assert_array_equal(shown[0], A)
    np.testing.assert_array_equal(shown[1], D)
    np.testing.assert_array_equal(shown[2], dropped)


def test_inverted_dropout_titles_give_the_means_before_and_after():
    fig = pictures.inverted_dropout(p=0.5, shape=(6, 8), seed=0)
    A, D, dropped = (ax.images[0].get_array() for ax in fig.axes)
    assert set(np.unique(D)) <= {0.0, 2.0}
    np.testing.assert_array_equal(dropped, A * D)
    assert f"mean {A.mean():.2f}" in fig.axes[0].get_title()
    assert f"mean {dropped.mean():.2f}" in fig.axes[2].get_title()
    drawn = texts(fig)
    for mean in A.mean(axis=0):
        assert f"{mean:.2f}" in drawn


def test_inverted_dropout_refuses_bad_inputs_naming_them():
    with pytest.raises(ValueError, match="p must .* got 1"):
        pictures.inverted_dropout(p=1)
    with pytest.raises(ValueError, match=r"shape .* \(6, 0\)"):
        pictures.inverted_dropout(shape=(6, 0))


# ------------------------------------------------------------ convolutions

def test_conv_window_draws_the_output_of_nnlibs_convolution():
    from nnlib.conv import conv2d_forward
    fig = pictures.conv_window(n=5, k=3, stride=1, padding=1,
                               position=(1, 2), seed=0)
    drawn = texts(fig)
    assert "image $a$: (5, 5), padded by P = 1" in drawn
    assert "kernel $W$: (3, 3)" in drawn
    assert "output $z$: (5, 5)" in drawn
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4, size=(5, 5)).astype(float)
    kernel = rng.integers(-1, 2, size=(3, 3)).astype(float)
    z = conv2d_forward(image[None, None], kernel[None, None], np.zeros(1),
                       1, 1)[0, 0]
    assert any(t.startswith(f"$z[1, 2]$ = sum of the outlined window")
               and t.split(" = ")[2].split(";")[0] == f"{z[1, 2]:g}"
               for t in drawn)
    # the padded image, the kernel and the output, one text per cell
    cells = 7 * 7 + 3 * 3 + 5 * 5
    assert sum(1 for ax in fig.axes for t in ax.texts
               if t.get_text().lstrip("-").isdigit()) == cells


def test_conv_window_with_a_stride_gives_the_output_size_formula():
    fig = pictures.conv_window(n=6, k=3, stride=2, padding=0,
                               position=(1, 1))
    drawn = " ".join(texts(fig))
    assert "output $z$: (2, 2)" in drawn
    assert r"\lfloor (6 + 0 - 3) / 2 \rfloor + 1 = 2" in drawn


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 3, "k": 5, "padding": 0}, "k = 5 is larger than the padded"),
    ({"position": (5, 0)}, "position must be (h, w) of an output pixel"),
    ({"stride": 0}, "stride"),
])
def test_conv_window_refuses_bad_inputs_naming_them(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")
                       .replace(")", r"\)")):
        pictures.conv_window(**kwargs)


def test_im2col_columns_draws_nnlibs_im2col_of_numbered_pixels():
    from nnlib.conv import im2col
    fig = pictures.im2col_columns(n=4, k=2)
    drawn = texts(fig)
    image = np.arange(1, 17, dtype=float).reshape(1, 1, 4, 4)
    cols = im2col(image, 2)
    assert cols.shape == (4, 9)
    numbers = [t.get_text() for ax in fig.axes for t in ax.texts
               if t.get_text().isdigit()]
    # the image, row by row, then the matrix of columns, row by row
    assert numbers == ([f"{v:g}" for v in image.ravel()]
                       + [f"{v:g}" for v in cols.ravel()])
    assert any("(1, 4) @ (4, 9) = (1, 9)" in t for t in drawn)


def test_im2col_columns_with_padding_shows_its_zeros():
    fig = pictures.im2col_columns(n=3, k=2, stride=2, padding=1)
    drawn = texts(fig)
    assert "image $a$: (3, 3), padded by P = 1" in drawn
    assert any("(4, 4)" in t for t in drawn)


def test_convolution_pictures_texts_do_not_overlap():
    assert overlapping_texts(pictures.conv_window()) == []
    assert overlapping_texts(pictures.im2col_columns()) == []
