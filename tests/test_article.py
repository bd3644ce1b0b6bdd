"""The article's algorithm (nnlib.article): it works, and each of its defects is there.

Test names ``test_defect<N>_...`` follow the numbered list in nnlib.article's docstring.
"""

import warnings

import numpy as np
import pytest

from nnlib import article
from nnlib.gradcheck import gradient_errors
from nnlib.network import back_prop as nnlib_back_prop
from nnlib.network import forward_prop as nnlib_forward_prop
from nnlib.params import init_params as nnlib_init_params


@pytest.fixture
def tiny_problem():
    """A learnable 3-class problem: X (4, 60), labels from a random linear map, all 3 present."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 60))
    Y = np.argmax(rng.standard_normal((3, 4)) @ X, axis=0)
    assert set(Y) == {0, 1, 2}
    return X, Y


@pytest.mark.parametrize("layer_dims", [[784, 10, 10], [4, 5, 3, 2]])
def test_forward_prop_keys_and_shapes(layer_dims):
    m = 7
    params = article.init_params(layer_dims, seed=0)
    X = np.random.default_rng(0).random((layer_dims[0], m))
    activations = article.forward_prop(X, params)
    L = len(layer_dims) - 1
    expected_keys = ["A0"] + [f"{k}{l}" for l in range(1, L + 1) for k in ("Z", "A")]
    assert list(activations) == expected_keys
    assert activations["A0"] is X
    for l in range(1, L + 1):
        assert params[f"W{l}"].shape == (layer_dims[l], layer_dims[l - 1])
        assert params[f"b{l}"].shape == (layer_dims[l], 1)
        assert activations[f"Z{l}"].shape == activations[f"A{l}"].shape == (layer_dims[l], m)
        assert activations[f"A{l}"].dtype == np.float64
    np.testing.assert_allclose(activations[f"A{L}"].sum(axis=0), 1.0)


def test_init_params_is_nnlibs_article_method():
    dims = [6, 5, 3, 2]
    ours = article.init_params(dims, seed=4)
    theirs = nnlib_init_params(dims, seed=4, method="article", dtype=np.float64)
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key])


def test_forward_prop_matches_nnlib_on_moderate_logits(tiny_problem):
    X, _ = tiny_problem
    params = article.init_params([4, 5, 3, 3], seed=0)
    ours, theirs = article.forward_prop(X, params), nnlib_forward_prop(X, params)
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-15)


def test_back_prop_matches_nnlib_except_the_last_bias(tiny_problem):
    X, Y = tiny_problem
    params = article.init_params([4, 5, 3, 3], seed=0)
    activations = article.forward_prop(X, params)
    ours = article.back_prop(activations, params, Y)
    theirs = nnlib_back_prop(activations, params, Y)
    assert set(ours) == set(theirs)
    for key in ("dW1", "db1", "dW2", "db2", "dW3"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-15)
    assert not np.allclose(ours["db3"], theirs["db3"])


def test_relu_and_its_derivative_by_hand():
    Z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(article.relu(Z), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(article.relu_deriv(Z), [[False, False, True]])


def test_update_params_returns_a_new_dict_and_leaves_the_old_one(tiny_problem):
    X, Y = tiny_problem
    params = article.init_params([4, 5, 3], seed=0)
    before = {k: v.copy() for k, v in params.items()}
    grads = article.back_prop(article.forward_prop(X, params), params, Y)
    updated = article.update_params(params, grads, 0.1)
    np.testing.assert_allclose(updated["W1"], before["W1"] - 0.1 * grads["dW1"])
    for key in before:
        np.testing.assert_array_equal(params[key], before[key])


def test_defect1_last_layer_db_is_one_scalar_near_zero(tiny_problem):
    X, Y = tiny_problem
    params = article.init_params([4, 5, 3], seed=0)
    activations = article.forward_prop(X, params)
    grads = article.back_prop(activations, params, Y)
    per_unit = np.mean(activations["A2"] - article.one_hot(Y), axis=1, keepdims=True)
    assert np.shape(grads["db2"]) == ()
    assert abs(grads["db2"]) < 1e-12
    assert np.max(np.abs(per_unit)) > 1e-2
    assert grads["db1"].shape == (5, 1)


def test_defect1_gradient_check_catches_the_last_layer_db_only(tiny_problem):
    X, Y = tiny_problem
    params = article.init_params([4, 5, 3], seed=0)
    errors = gradient_errors(params, X, Y, back_prop=article.back_prop)
    assert max(errors["W1"], errors["b1"], errors["W2"]) < 1e-6
    assert errors["b2"] > 0.5


def test_defect2_validation_arrays_contain_every_training_row():
    rng = np.random.default_rng(0)
    rows = 50
    data = np.column_stack([rng.integers(0, 10, rows), rng.integers(0, 256, (rows, 784))])
    X_train, Y_train, X_val, Y_val = article.prepare_data(data, seed=0)
    assert X_train.shape == (784, 40) and Y_train.shape == (40,)
    assert X_train.max() <= 1.0
    assert X_val.shape == (rows, 785) and Y_val.shape == (rows,)
    np.testing.assert_array_equal(Y_val, X_val[:, 0])
    train_rows = {tuple(r) for r in np.column_stack([Y_train, np.rint(X_train.T * 255)])}
    val_rows = {tuple(r) for r in X_val.astype(np.float64)}
    assert train_rows <= val_rows
    assert len(val_rows) == rows


def test_defect3_history_is_training_accuracy_before_the_update(tiny_problem):
    X, Y = tiny_problem
    dims = [4, 5, 3]

    def accuracy_of(params):
        AL = article.forward_prop(X, params)["A2"]
        return article.get_accuracy(article.get_predictions(AL), Y)

    params_after_2, _ = article.gradient_descent(X, Y, dims, iterations=2, seed=0, verbose=False)
    params_after_3, history = article.gradient_descent(X, Y, dims, iterations=3, seed=0,
                                                       verbose=False)
    assert history["iteration"] == [1, 2, 3]
    assert history["train_accuracy"][0] == accuracy_of(article.init_params(dims, seed=0))
    assert history["train_accuracy"][2] == accuracy_of(params_after_2)
    AL_after_2 = article.forward_prop(X, params_after_2)["A2"]
    loss_after_2 = article.cross_entropy(article.one_hot(Y), AL_after_2)
    assert history["loss"][2] == loss_after_2
    # The returned parameters (after the last update) are never measured.
    assert not np.array_equal(params_after_3["W1"], params_after_2["W1"])


def test_defect4_one_hot_is_sized_by_the_largest_label():
    Y = np.array([0, 3, 8, 1])
    one_hot_Y = article.one_hot(Y)
    assert one_hot_Y.shape == (9, 4)
    np.testing.assert_array_equal(one_hot_Y.argmax(axis=0), Y)
    np.testing.assert_array_equal(one_hot_Y.sum(axis=0), 1.0)


def test_defect4_back_prop_fails_or_silently_broadcasts_without_the_largest_class():
    rng = np.random.default_rng(0)
    X = rng.random((4, 6))
    params = article.init_params([4, 5, 10], seed=0)
    activations = article.forward_prop(X, params)
    with pytest.raises(ValueError, match="broadcast"):
        article.back_prop(activations, params, np.array([0, 1, 2, 3, 4, 8]))
    # All labels 0: a one-row "one-hot" that broadcasts over all 10 units without an error,
    # so every unit is told it is the right class.
    grads = article.back_prop(activations, params, np.zeros(6, dtype=int))
    assert grads["dW2"].shape == (10, 5)
    expected = (activations["A2"] - 1) @ activations["A1"].T / 6
    np.testing.assert_allclose(grads["dW2"], expected)


def test_defect5_weights_and_biases_scaled_by_fan_out():
    fan_in, fan_out = 1000, 100
    params = article.init_params([fan_in, fan_out], seed=0)
    assert params["W1"].dtype == params["b1"].dtype == np.float64
    # sqrt(1 / 100) = 0.1, where He gives sqrt(2 / 1000) = 0.045 and Xavier 0.043.
    assert params["W1"].std() == pytest.approx(np.sqrt(1 / fan_out), rel=0.02)
    assert np.all(params["b1"] != 0)
    assert params["b1"].std() == pytest.approx(np.sqrt(1 / fan_out), rel=0.25)


def test_defect6_softmax_overflows_to_nan_without_warnings():
    Z = np.array([[1000.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = article.softmax(Z)
    assert np.isnan(A[0, 0])
    # The same logits shifted by their maximum are harmless: the shift was all it took.
    np.testing.assert_allclose(article.softmax(Z - Z.max()), [[1.0], [0.0]])


def test_defect6_loss_clipping_hides_log_zero_but_not_nan():
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])
    AL = np.array([[1.0, 0.5], [0.0, 0.5]])
    assert article.cross_entropy(Y, AL) == pytest.approx((-np.log(1e-15) - np.log(0.5)) / 2)
    AL_overflowed = article.softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    assert np.isnan(article.cross_entropy(Y, AL_overflowed))


def test_defect7_unseeded_runs_differ_and_seeded_runs_repeat():
    dims = [4, 5, 3]
    assert not np.array_equal(article.init_params(dims)["W1"], article.init_params(dims)["W1"])
    np.testing.assert_array_equal(article.init_params(dims, seed=3)["W1"],
                                  article.init_params(dims, seed=3)["W1"])
    data = np.column_stack([np.arange(100) % 10, np.arange(100 * 784).reshape(100, 784) % 256])
    assert not np.array_equal(article.prepare_data(data)[1], article.prepare_data(data)[1])
    np.testing.assert_array_equal(article.prepare_data(data, seed=3)[1],
                                  article.prepare_data(data, seed=3)[1])


def test_gradient_descent_learns_a_tiny_problem_and_prints_every_10_iterations(
        tiny_problem, capsys):
    X, Y = tiny_problem
    params, history = article.gradient_descent(X, Y, [4, 8, 3], learning_rate=0.1,
                                               iterations=300, seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 30
    assert lines[0] == f"Iteration: 10, accuracy: {history['train_accuracy'][9]:.3f}"
    assert len(history["loss"]) == len(history["train_accuracy"]) == 300
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["train_accuracy"][-1] > 0.9
    assert set(params) == {"W1", "b1", "W2", "b2"}
