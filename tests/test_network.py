"""forward_prop, back_prop, update_params: shapes, hand-computed numbers, gradient properties."""
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from nnlib import back_prop, forward_prop, gradient_errors, init_params, one_hot, update_params
from nnlib.gradcheck import loss_of, numerical_gradient


def tiny_network():
    """[2, 2, 2] with weights chosen so every number below can be checked by hand."""
    params = {
        "W1": np.array([[1.0, -1.0], [0.5, 2.0]]), "b1": np.array([[0.0], [-1.0]]),
        "W2": np.array([[1.0, 0.0], [0.0, 1.0]]), "b2": np.array([[0.0], [0.0]]),
    }
    X = np.array([[2.0], [1.0]])
    return params, X


def test_forward_prop_hand_computed():
    params, X = tiny_network()
    activations = forward_prop(X, params)
    assert list(activations) == ["A0", "Z1", "A1", "Z2", "A2"]
    np.testing.assert_allclose(activations["Z1"], [[1.0], [2.0]])   # W1 X + b1
    np.testing.assert_allclose(activations["A1"], [[1.0], [2.0]])   # ReLU keeps positives
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(activations["A2"][:, 0], e / e.sum())


def test_back_prop_hand_computed_last_layer():
    params, X = tiny_network()
    activations = forward_prop(X, params)
    grads = back_prop(activations, params, np.array([1]))
    dZ2 = activations["A2"] - np.array([[0.0], [1.0]])
    np.testing.assert_allclose(grads["db2"], dZ2)
    np.testing.assert_allclose(grads["dW2"], dZ2 @ activations["A1"].T)


@pytest.mark.parametrize("layer_dims", [[784, 10, 10], [784, 256, 128, 64, 10], [3, 1]])
def test_shapes_for_any_layer_list(layer_dims):
    m = 7
    params = init_params(layer_dims)
    X = np.random.default_rng(0).random((layer_dims[0], m), dtype=np.float32)
    activations = forward_prop(X, params)
    L = len(layer_dims) - 1
    for l in range(1, L + 1):
        assert activations[f"Z{l}"].shape == activations[f"A{l}"].shape == (layer_dims[l], m)
    np.testing.assert_allclose(activations[f"A{L}"].sum(axis=0), 1, rtol=1e-5)
    grads = back_prop(activations, params, np.zeros(m, dtype=np.int64))
    for key, value in params.items():
        assert grads[f"d{key}"].shape == value.shape
        assert grads[f"d{key}"].dtype == np.float32


def test_every_bias_gradient_is_per_unit_sum_over_examples():
    params = init_params([6, 5, 4], seed=2, dtype=np.float64)
    X = np.random.default_rng(2).random((6, 9))
    y = np.arange(9) % 4
    activations = forward_prop(X, params)
    grads = back_prop(activations, params, y)
    dZ2 = activations["A2"] - one_hot(y, 4, dtype=np.float64)
    np.testing.assert_allclose(grads["db2"], dZ2.mean(axis=1, keepdims=True))
    assert np.ptp(grads["db2"]) > 0  # not one scalar broadcast to every unit (the article's bug)


def test_back_prop_matches_a_per_example_loop():
    params = init_params([5, 4, 3], seed=4, dtype=np.float64)
    X = np.random.default_rng(4).random((5, 6))
    y = np.array([0, 1, 2, 2, 1, 0])
    batch = back_prop(forward_prop(X, params), params, y)
    total = {key: 0 for key in batch}
    for i in range(6):
        single = back_prop(forward_prop(X[:, i:i + 1], params), params, y[i:i + 1])
        for key in total:
            total[key] = total[key] + single[key] / 6
    for key in batch:
        np.testing.assert_allclose(batch[key], total[key])


def test_update_params_returns_a_new_dict_and_moves_against_the_gradient():
    params = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    grads = {"dW1": np.full((2, 2), 2.0), "db1": np.ones((2, 1))}
    new = update_params(params, grads, 0.5)
    np.testing.assert_allclose(new["W1"], 0.0)
    np.testing.assert_allclose(new["b1"], -0.5)
    np.testing.assert_allclose(params["W1"], 1.0)


@pytest.mark.parametrize("learning_rate", [0, -0.1, float("nan"), float("inf"), "0.1"])
def test_update_params_rejects_bad_learning_rates(learning_rate):
    params = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    grads = {"dW1": np.ones((2, 2)), "db1": np.ones((2, 1))}
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        update_params(params, grads, learning_rate)


def test_forward_prop_names_a_wrong_number_of_rows():
    params = init_params([784, 10, 10])
    with pytest.raises(ValueError, match="X has 783 rows but layer 1 expects 784"):
        forward_prop(np.zeros((783, 5), dtype=np.float32), params)


@pytest.mark.parametrize("X, message", [
    (np.zeros(784, dtype=np.float32), r"must be 2-D .* got shape \(784,\)"),
    (np.zeros((784, 3), dtype=np.uint8), "must hold floats"),
    (np.zeros((784, 0), dtype=np.float32), "no columns"),
    ([[0.0]], "must be a NumPy array"),
])
def test_forward_prop_rejects_bad_X(X, message):
    with pytest.raises(ValueError, match=message):
        forward_prop(X, init_params([784, 10, 10]))


def test_back_prop_rejects_labels_that_do_not_fit():
    params = init_params([4, 3, 2])
    activations = forward_prop(np.ones((4, 3), dtype=np.float32), params)
    with pytest.raises(ValueError, match="y has 2 labels but X has 3 columns"):
        back_prop(activations, params, np.array([0, 1]))
    with pytest.raises(ValueError, match="label 2, outside 0..1"):
        back_prop(activations, params, np.array([0, 1, 2]))


def test_forward_prop_rejects_inconsistent_params():
    params = init_params([4, 3, 2])
    params["b2"] = np.zeros((3, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=r"b2 has shape \(3, 1\) but W2 has shape \(2, 3\)"):
        forward_prop(np.ones((4, 1), dtype=np.float32), params)


@given(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    n_0=st.integers(1, 6), n_L=st.integers(2, 5), m=st.integers(1, 6),
    seed=st.integers(0, 2**16), method=st.sampled_from(["he", "xavier", "article"]),
)
@example(hidden=[1, 1], n_0=5, n_L=4, m=4, seed=206, method="he")  # dead units, db_3 exactly 0
def test_back_prop_agrees_with_central_differences(hidden, n_0, n_L, m, seed, method):
    """For random architectures, batches and seeds, back_prop's gradient passes the gradient check."""
    layer_dims = [n_0, *hidden, n_L]
    params = init_params(layer_dims, seed=seed, method=method, dtype=np.float64)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_0, m))
    y = rng.integers(0, n_L, m)
    # Central differences are only valid away from the ReLU kink: skip draws with a hidden
    # pre-activation within 1e-4 of zero (eps = 1e-6 could then cross it).
    activations = forward_prop(X, params)
    for l in range(1, len(layer_dims) - 1):
        assume(np.abs(activations[f"Z{l}"]).min() > 1e-4)
    errors = gradient_errors(params, X, y, eps=1e-6)
    grads = back_prop(activations, params, y)
    for key, error in errors.items():
        if error >= 1e-5:
            # Where the true gradient is exactly 0 (db_L when A_L is uniform and the batch holds
            # each class once), the relative error divides rounding noise by rounding noise:
            # there, the two gradients must agree to 1e-8 absolutely.
            g_num = numerical_gradient(lambda: loss_of(params, X, y), params[key], eps=1e-6)
            assert np.abs(grads[f"d{key}"]).max() < 1e-12, (key, error)
            assert np.abs(g_num - grads[f"d{key}"]).max() < 1e-8, (key, error)
