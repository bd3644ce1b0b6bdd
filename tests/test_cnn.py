"""Convolutional networks from a list of layers: shapes, parameters, the
forward and backward pass (against central differences), and the text form."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnlib import cnn
from nnlib.cnn import Conv, Dense, Flatten, MaxPool, ReLU
from nnlib.gradcheck import numerical_gradient, relative_error
from nnlib.losses import cross_entropy_from_logits
from nnlib.network import back_prop as dense_back_prop
from nnlib.network import forward_prop as dense_forward_prop

# stride 2, padding, a pool of 3 with stride 1, a hidden dense layer
SMALL = [Conv(3, 3, padding=1), ReLU(), MaxPool(3, stride=1),
         Conv(4, 2, stride=2), ReLU(), Flatten(), Dense(5), ReLU(), Dense(3)]


def random_net(layers=SMALL, input_shape=(2, 7, 8), m=4, seed=0,
               dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = cnn.init_params(layers, input_shape, seed=seed, dtype=dtype)
    for key in params:  # nonzero biases, so that a wrong db shows
        params[key] += 0.1 * rng.standard_normal(params[key].shape)
    X = rng.standard_normal((m, *input_shape)).astype(dtype)
    y = rng.integers(0, layers[-1].units, m)
    return X, y, params


def test_the_chapters_network_has_these_shapes():
    rows = cnn.describe(cnn.LENET)
    assert [(row["output"], row["shape"], row["W"], row["b"])
            for row in rows] == [
        ("Z1", "(m, 8, 28, 28)", "(8, 1, 5, 5)", "(8,)"),
        ("A1", "(m, 8, 28, 28)", "", ""),
        ("P1", "(m, 8, 14, 14)", "", ""),
        ("Z2", "(m, 16, 14, 14)", "(16, 8, 5, 5)", "(16,)"),
        ("A2", "(m, 16, 14, 14)", "", ""),
        ("P2", "(m, 16, 7, 7)", "", ""),
        ("F2", "(784, m)", "", ""),
        ("Z3", "(10, m)", "(10, 784)", "(10, 1)"),
        ("A3", "(10, m)", "", "")]
    assert cnn.count_params(cnn.LENET) == 208 + 3216 + 7850
    assert cnn.describe(cnn.LENET, m=128)[0]["shape"] == "(128, 8, 28, 28)"


@pytest.mark.parametrize("layers, words", [
    ([Dense(10)], "layer 1 of 1, Dense(units=10) takes columns (n, m), but"
                  " its input is images (m, 1, 28, 28): put Flatten()"),
    ([Flatten(), Conv(4, 3), Flatten(), Dense(10)],
     "layer 2 of 4, Conv(channels=4, kernel_size=3, stride=1, padding=0)"
     " takes images (m, C, n_H, n_W), but its input is columns (784, m)"),
    ([Conv(4, 30), Flatten(), Dense(10)],
     "its 30 x 30 kernel is larger than its input (m, 1, 28, 28) padded by"
     " 0: 28 x 28"),
    ([Conv(4, 5, stride=4), MaxPool(8), Flatten(), Dense(10)],
     "layer 2 of 4, MaxPool(pool=8, stride=None): its 8 x 8 window is larger"
     " than its input (m, 4, 6, 6)"),
    ([Conv(4, 3), ReLU()], "the last layer is ReLU(); it must be Dense"),
    ([Conv(4, 3), MaxPool(2), MaxPool(2), Flatten(), Dense(10)],
     "layer 3 of 5, MaxPool(pool=2, stride=None): a second MaxPool after"
     " layer l = 1 (its output would be P1 twice)"),
    ([Flatten(), Flatten(), Dense(10)], "its input (784, m) is already flat"),
    ([Conv(4, 3, padding=-1), Flatten(), Dense(10)],
     "padding must be an integer >= 0, got -1"),
    ([Conv(0, 3), Flatten(), Dense(10)], "channels must be an integer >= 1"),
    ([(8, 5), Flatten(), Dense(10)], "layer 1 of 3, (8, 5): not a layer"),
    ([], "layers must be a non-empty list"),
])
def test_a_layer_that_does_not_fit_is_named_with_the_shapes(layers, words):
    with pytest.raises(ValueError) as error:
        cnn.layer_shapes(layers, (1, 28, 28))
    assert words in str(error.value)


def test_input_shape_is_one_image():
    with pytest.raises(ValueError, match=r"input_shape must be \(C, n_H, n_W\)"):
        cnn.layer_shapes(cnn.LENET, (28, 28))


def test_init_params_are_he_scaled_kernels_and_zero_biases():
    params = cnn.init_params(cnn.LENET, seed=1)
    assert {key: value.shape for key, value in params.items()} == {
        "W1": (8, 1, 5, 5), "b1": (8,), "W2": (16, 8, 5, 5), "b2": (16,),
        "W3": (10, 784), "b3": (10, 1)}
    assert all(value.dtype == np.float32 for value in params.values())
    assert not any(params[f"b{l}"].any() for l in (1, 2, 3))
    # fan_in: C_prev k k for a convolution, n_prev for a dense layer
    for key, fan_in in (("W2", 8 * 25), ("W3", 784)):
        assert abs(params[key].std() / np.sqrt(2 / fan_in) - 1) < 0.1
    again = cnn.init_params(cnn.LENET, seed=1, dtype=np.float64)
    np.testing.assert_allclose(again["W2"], params["W2"], rtol=1e-6)
    assert cnn.init_params(cnn.LENET, method="article")["b1"].any()
    with pytest.raises(ValueError, match="init method"):
        cnn.init_params(cnn.LENET, method="lecun")


def test_forward_prop_names_each_steps_output():
    X, y, params = random_net(cnn.LENET, (1, 28, 28), m=3, dtype=np.float32)
    activations = cnn.forward_prop(X, params, cnn.LENET)
    assert {key: value.shape for key, value in activations.items()} == {
        "A0": (3, 1, 28, 28), "Z1": (3, 8, 28, 28), "A1": (3, 8, 28, 28),
        "P1": (3, 8, 14, 14), "Z2": (3, 16, 14, 14), "A2": (3, 16, 14, 14),
        "P2": (3, 16, 7, 7), "F2": (784, 3), "Z3": (10, 3), "A3": (10, 3)}
    assert all(value.dtype == np.float32 for value in activations.values())
    # Flatten: each example's C n_H n_W numbers become its column
    np.testing.assert_array_equal(activations["F2"],
                                  activations["P2"].reshape(3, -1).T)
    np.testing.assert_allclose(activations["A3"].sum(axis=0), 1, rtol=1e-6)
    assert cnn.predict(X, params, cnn.LENET).shape == (3,)
    assert cnn.predict(X, params, cnn.LENET).dtype == np.int64


def test_back_prop_matches_central_differences_in_float64():
    X, y, params = random_net()
    L = 4
    grads = cnn.back_prop(cnn.forward_prop(X, params, SMALL), params, SMALL,
                          y)
    assert set(grads) == {f"d{key}" for key in params}

    def loss():
        return cross_entropy_from_logits(
            cnn.forward_prop(X, params, SMALL)[f"Z{L}"], y)

    for key, value in params.items():
        assert grads[f"d{key}"].shape == value.shape
        error = relative_error(grads[f"d{key}"],
                               numerical_gradient(loss, value))
        assert error < 1e-7, (key, error)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 2), st.integers(1, 3), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_random_networks_pass_the_gradient_check(channels, k, stride, padding,
                                                 pool, hidden, seed):
    layers = [Conv(channels, k, stride, padding), ReLU(), MaxPool(pool, 1),
              Conv(2, 2), Flatten()]
    layers += [Dense(4), ReLU(), Dense(3)] if hidden else [Dense(3)]
    try:
        cnn.layer_shapes(layers, (2, 7, 6))
    except ValueError:
        return  # the sizes do not fit: layer_shapes says so (tested above)
    X, y, params = random_net(layers, (2, 7, 6), m=3, seed=seed)
    errors = cnn.gradient_errors(params, X, y, layers)
    assert max(errors.values()) < 1e-6, errors


def test_gradient_errors_checks_every_array_of_a_float32_network_in_float64():
    X, y, params = random_net(dtype=np.float32, seed=5)
    errors = cnn.gradient_errors(params, X, y, SMALL)
    assert set(errors) == set(params)
    assert max(errors.values()) < 1e-7
    assert params["W1"].dtype == np.float32  # the caller's arrays are left alone


def test_a_flatten_then_dense_network_is_the_dense_network():
    layers = [Flatten(), Dense(6), ReLU(), Dense(4)]
    X, y, params = random_net(layers, (1, 3, 5), m=7, seed=2)
    columns = X.reshape(7, -1).T  # (15, m)
    mine = cnn.forward_prop(X, params, layers)
    theirs = dense_forward_prop(columns, params)
    for key in ("Z1", "A1", "Z2", "A2"):
        np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-12)
    expected = dense_back_prop(theirs, params, y)
    for key, value in cnn.back_prop(mine, params, layers, y).items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-12)


def test_params_that_do_not_fit_the_layers_are_named():
    X, y, params = random_net()
    wrong = dict(params, W2=params["W2"][:, :2])
    with pytest.raises(ValueError, match=r"W2 has shape \(4, 2, 2, 2\), but"
                                         r" the layers give \(4, 3, 2, 2\)"):
        cnn.forward_prop(X, wrong, SMALL)
    with pytest.raises(ValueError, match="params must hold W1, b1, W2"):
        cnn.forward_prop(X, {"W1": params["W1"]}, SMALL)
    with pytest.raises(ValueError, match=r"W3 has shape \(5, 24\), but the"
                                         r" layers give \(5, 4\) for images"
                                         r" \(2, 5, 5\)"):  # smaller images
        cnn.forward_prop(X[:, :, :5, :5], params, SMALL)


def test_as_images_turns_columns_back_into_contiguous_images():
    X = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    columns = X.reshape(2, -1).T  # (60, 2): one image per column
    images = cnn.as_images(columns, (3, 4, 5))
    np.testing.assert_array_equal(images, X)
    assert images.flags["C_CONTIGUOUS"] and images.dtype == np.float32
    with pytest.raises(ValueError, match=r"columns \(784, m\) for images"
                                         r" \(1, 28, 28\), got shape \(60, 2\)"):
        cnn.as_images(columns)


def test_images_must_be_four_dimensional_floats():
    X, y, params = random_net(cnn.LENET, (1, 28, 28), m=2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"use nnlib\.cnn\.as_images\(X\)"):
        cnn.forward_prop(X.reshape(2, -1).T, params, cnn.LENET)
    with pytest.raises(ValueError, match="must hold floats"):
        cnn.forward_prop((X * 255).astype(np.uint8), params, cnn.LENET)


def test_text_form_reads_back():
    assert cnn.layers_text(cnn.LENET) == (
        "conv8k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,dense10")
    assert cnn.parse_layers(cnn.layers_text(SMALL)) == SMALL
    assert cnn.parse_layers("Conv8K5P2, relu ,pool2,flatten,dense10")[0] == (
        Conv(8, 5, padding=2))
    with pytest.raises(ValueError, match="cannot read 'conv8' in"):
        cnn.parse_layers("conv8,flatten,dense10")


def test_is_layer_list_tells_a_cnn_from_layer_sizes():
    assert cnn.is_layer_list(cnn.LENET)
    assert not cnn.is_layer_list([784, 10, 10])
    assert not cnn.is_layer_list("conv8k5")


def test_train_on_a_cnn_gives_the_numbers_it_gave_before_the_loop_was_shared():
    """A short recorded run (momentum, coupled L2, cosine schedule, X_val):
    train's loop on a CNN must keep giving these numbers (float64; the
    digits past 1e-10 depend on the BLAS kernel)."""
    from nnlib import train
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((30, 2, 7, 8)), rng.integers(0, 3, 30)
    X_val, y_val = rng.standard_normal((10, 2, 7, 8)), rng.integers(0, 3, 10)
    params, history = train(X, y, SMALL, epochs=3, batch_size=8,
                            optimizer="momentum", learning_rate=0.05,
                            weight_decay=0.01, schedule="cosine", seed=4,
                            X_val=X_val, y_val=y_val, progress=False)
    recorded = {
        "loss": [1.1108360861705355, 0.9173542333187581, 0.8971293669348106],
        "train_accuracy": [13 / 30, 17 / 30, 17 / 30],
        "val_loss": [1.691931136272315, 1.8646947394379005,
                     1.915719878466179],
        "val_accuracy": [0.0, 0.1, 0.2],
        "learning_rate": [0.05, 0.0375, 0.0125]}
    for key, values in recorded.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-10)
    # each array's sum and sum of magnitudes
    sums = {"W1": (-1.859180338352502, 14.426540735602895),
            "b1": (0.004200000302530346, 0.03309130481651411),
            "W2": (-0.6648286925430131, 15.80986606349845),
            "b2": (-0.01181065118867333, 0.019530775842493752),
            "W3": (5.690583758498215, 27.631392358234237),
            "b3": (-0.008326982463801556, 0.041413823659018176),
            "W4": (-0.5314858556490198, 5.94581868815581),
            "b4": (0.0, 0.020431165673094467)}
    assert set(params) == set(sums)
    for key, (total, magnitude) in sums.items():
        np.testing.assert_allclose(
            [params[key].sum(), np.abs(params[key]).sum()],
            [total, magnitude], rtol=1e-10, atol=1e-15)
