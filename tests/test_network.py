"""linear_forward/linear_backward, forward_prop, back_prop, predict, update_params: a network
computed by hand, shapes, dropout, and back_prop against central differences."""
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import nnlib
from nnlib import (back_prop, cross_entropy_from_logits, forward_prop, init_params,
                   linear_backward, linear_forward, one_hot, predict, relu, relu_backward,
                   update_params)
from nnlib import network, worked_example
from nnlib.gradcheck import numerical_gradient

# ---------------------------------------------------------------------------------------
# A 2-3-2 network computed by hand: nnlib/worked_example.py holds its inputs and every
# hand-computed number (chapter 4 derives each of them); the tests and the book read it.
HAND_ATOL = worked_example.ATOL  # its decimals are rounded to 10 places


def hand_network(dtype=np.float64):
    """(X, y, params) of the worked example's 2-3-2 network, in ``dtype``."""
    return (worked_example.X.astype(dtype), worked_example.y,
            {key: value.astype(dtype) for key, value in worked_example.params.items()})


HAND_DTYPES = pytest.mark.parametrize("dtype, atol", [(np.float64, HAND_ATOL), (np.float32, 1e-6)])


@HAND_DTYPES
def test_forward_prop_of_the_hand_computed_network(dtype, atol):
    """The 2-3-2 network of nnlib.worked_example, every number computed by hand: 2 inputs,
    3 hidden ReLU units, 2 softmax outputs, m = 2 examples, both of class 1.

    X = [[1, 2], [1, 0]] (examples (1, 1) and (2, 0)); W1 = [[1, 0], [0, 1], [1, -2]],
    b1 = (0, 0.5, 0); W2 = [[0.5, 1, 0.5], [1.5, -1, 1]], b2 = (0, 1). Hidden unit 3 gets
    Z = -1 from the first example, so the ReLU's kink is at work; the two logits of each
    column differ by -1 and by 3, so softmax needs only e and e^3.
    """
    X, _, params = hand_network(dtype)
    activations = forward_prop(X, params)
    assert list(activations) == list(worked_example.activations) == ["A0", "Z1", "A1", "Z2", "A2"]
    for key, expected in worked_example.activations.items():
        assert activations[key].dtype == dtype
        np.testing.assert_allclose(activations[key], expected, rtol=0, atol=atol, err_msg=key)


@HAND_DTYPES
def test_training_loss_of_the_hand_computed_network(dtype, atol):
    X, y, params = hand_network(dtype)
    loss = cross_entropy_from_logits(forward_prop(X, params)["Z2"], y)
    assert loss == pytest.approx(worked_example.loss, rel=0, abs=atol)


@HAND_DTYPES
def test_back_prop_of_the_hand_computed_network(dtype, atol):
    X, y, params = hand_network(dtype)
    grads = back_prop(forward_prop(X, params), params, y)
    assert sorted(grads) == sorted(worked_example.grads) == ["dW1", "dW2", "db1", "db2"]
    for key, expected in worked_example.grads.items():
        assert grads[key].dtype == dtype
        np.testing.assert_allclose(grads[key], expected, rtol=0, atol=atol, err_msg=key)


def test_the_hand_computed_intermediate_gradients():
    """dZ2 = A2 - Y, dA1 = W2^T dZ2 from linear_backward, then dZ1 from relu_backward, on the
    hand numbers."""
    hand = worked_example
    np.testing.assert_array_equal(one_hot(hand.y, 2, dtype=np.float64), hand.Y)
    np.testing.assert_allclose(hand.A2 - hand.Y, hand.dZ2, rtol=0, atol=HAND_ATOL)
    dA1, dW2, db2 = linear_backward(hand.dZ2, hand.A1, hand.W2)
    np.testing.assert_allclose(dA1, hand.dA1, rtol=0, atol=HAND_ATOL)
    np.testing.assert_allclose(dW2, hand.dW2, rtol=0, atol=HAND_ATOL)
    np.testing.assert_allclose(db2, hand.db2, rtol=0, atol=HAND_ATOL)
    np.testing.assert_allclose(relu_backward(hand.dA1, hand.Z1), hand.dZ1, rtol=0, atol=0)


def test_predict_of_the_hand_computed_network():
    X, _, params = hand_network()
    np.testing.assert_array_equal(predict(X, params), worked_example.predictions)


def test_the_worked_example_imports_numpy_only():
    """A teaching example a reader can copy: no nnlib code produced its numbers."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(worked_example))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "." for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}
    assert list(worked_example.params) == ["W1", "b1", "W2", "b2"]
    assert all(value is getattr(worked_example, key)
               for key, value in worked_example.params.items())


# ---------------------------------------------------------------------------------------
# linear_forward and linear_backward

def test_linear_forward_broadcasts_the_bias_over_the_columns():
    W = np.array([[1.0, 2.0], [0.0, -1.0]])
    A_prev = np.array([[1.0, 0.0, 2.0], [1.0, 1.0, -1.0]])
    b = np.array([[10.0], [20.0]])
    np.testing.assert_array_equal(linear_forward(W, A_prev, b), [[13.0, 12.0, 10.0], [19.0, 19.0, 21.0]])


def test_linear_backward_hand_computed():
    # n_l = 2 units, n_{l-1} = 3, m = 2 examples.
    dZ = np.array([[1.0, -2.0],
                   [3.0, 0.0]])
    A_prev = np.array([[1.0, 0.0],
                       [2.0, 1.0],
                       [0.0, 4.0]])
    W = np.array([[1.0, 0.0, -1.0],
                  [2.0, 1.0, 0.0]])
    dA_prev, dW, db = linear_backward(dZ, A_prev, W)
    # dW = (1/2) dZ A_prev^T: row 1 = (1*(1, 2, 0) - 2*(0, 1, 4)) / 2 = (0.5, 0, -4);
    #                        row 2 = (3*(1, 2, 0) + 0*(0, 1, 4)) / 2 = (1.5, 3, 0)
    np.testing.assert_array_equal(dW, [[0.5, 0.0, -4.0], [1.5, 3.0, 0.0]])
    # db = (1/2) (row sums of dZ) = ((1 - 2) / 2, (3 + 0) / 2)
    np.testing.assert_array_equal(db, [[-0.5], [1.5]])
    # dA_prev = W^T dZ: row k is W[0, k] * (1, -2) + W[1, k] * (3, 0)
    np.testing.assert_array_equal(dA_prev, [[7.0, -2.0], [3.0, 0.0], [-1.0, 2.0]])


@pytest.mark.parametrize("n_l, n_prev, m", [(1, 1, 1), (3, 5, 4), (10, 784, 7), (4, 4, 1)])
def test_linear_backward_shapes(n_l, n_prev, m):
    rng = np.random.default_rng(n_l + n_prev + m)
    dZ, A_prev = rng.standard_normal((n_l, m)), rng.standard_normal((n_prev, m))
    W = rng.standard_normal((n_l, n_prev))
    dA_prev, dW, db = linear_backward(dZ, A_prev, W)
    assert dA_prev.shape == A_prev.shape == (n_prev, m)
    assert dW.shape == W.shape == (n_l, n_prev)
    assert db.shape == (n_l, 1)


def test_linear_backward_without_W_returns_no_dA_prev():
    """Layer 1 passes W=None: dA_0 would be the gradient for the pixels, which nothing learns."""
    rng = np.random.default_rng(1)
    dZ, A_prev, W = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((3, 5))
    dA_prev, dW, db = linear_backward(dZ, A_prev, None)
    assert dA_prev is None
    _, dW_with_W, db_with_W = linear_backward(dZ, A_prev, W)
    np.testing.assert_array_equal(dW, dW_with_W)
    np.testing.assert_array_equal(db, db_with_W)


def test_linear_backward_keeps_float32():
    rng = np.random.default_rng(2)
    dZ, A_prev, W = (rng.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (2, 4), (3, 2)])
    assert all(g.dtype == np.float32 for g in linear_backward(dZ, A_prev, W))


# ---------------------------------------------------------------------------------------
# forward_prop and back_prop: shapes and structure

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


def test_back_prop_is_linear_backward_and_relu_backward_layer_by_layer():
    """back_prop reads like chapter 4: dZ_L = A_L - Y, then linear_backward and relu_backward."""
    params = init_params([6, 5, 4, 3], seed=3, dtype=np.float64)
    X = np.random.default_rng(3).standard_normal((6, 8))
    y = np.arange(8) % 3
    a = forward_prop(X, params)
    dZ3 = a["A3"] - one_hot(y, 3, dtype=np.float64)
    dA2, dW3, db3 = linear_backward(dZ3, a["A2"], params["W3"])
    dA1, dW2, db2 = linear_backward(relu_backward(dA2, a["Z2"]), a["A1"], params["W2"])
    _, dW1, db1 = linear_backward(relu_backward(dA1, a["Z1"]), a["A0"], None)
    expected = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}
    grads = back_prop(a, params, y)
    assert sorted(grads) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key], err_msg=key)


def test_back_prop_computes_no_gradient_for_the_pixels(monkeypatch):
    """linear_backward runs once per layer, last layer first, and layer 1 gets W=None."""
    calls = []

    def spy(dZ, A_prev, W):
        calls.append(None if W is None else W.shape)
        return linear_backward(dZ, A_prev, W)
    monkeypatch.setattr(network, "linear_backward", spy)
    params = init_params([5, 4, 3, 2], seed=1, dtype=np.float64)
    back_prop(forward_prop(np.ones((5, 3)), params), params, np.array([0, 1, 1]))
    assert calls == [(2, 3), (3, 4), None]


def test_back_prop_passes_no_gradient_through_a_hidden_unit_at_exactly_0():
    """ReLU's derivative at Z = 0 is taken as 0 (chapter 4): unit 2 below sits on the kink."""
    params = {"W1": np.array([[1.0], [0.0]]), "b1": np.zeros((2, 1)),
              "W2": np.array([[1.0, 2.0], [-1.0, 3.0]]), "b2": np.zeros((2, 1))}
    X = np.array([[1.0, 2.0]])
    activations = forward_prop(X, params)
    assert np.all(activations["Z1"][1] == 0)
    grads = back_prop(activations, params, np.array([0, 1]))
    assert grads["dW1"][1, 0] == 0 and grads["db1"][1, 0] == 0
    assert grads["dW1"][0, 0] != 0 and grads["db1"][0, 0] != 0


def test_every_bias_gradient_is_per_unit_mean_over_examples():
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


# ---------------------------------------------------------------------------------------
# back_prop against central differences of the training loss

def training_loss(params, X, y, masks=None):
    """The mean cross-entropy of the network, forward pass written out, dropout masks held fixed.

    masks: {"D1": ..., ...} from a forward_prop with dropout, or None for no dropout. The
    hidden activations are relu(Z_l) * D_l, exactly as forward_prop computes them.
    """
    masks = masks or {}
    L = len(params) // 2
    A = X
    for l in range(1, L + 1):
        Z = linear_forward(params[f"W{l}"], A, params[f"b{l}"])
        if l < L:
            A = relu(Z) * masks[f"D{l}"] if f"D{l}" in masks else relu(Z)
    return cross_entropy_from_logits(Z, y)


def central_differences(params, X, y, masks=None, eps=1e-6):
    """{"dW1": ..., "db1": ...}: the numerical gradient of training_loss for every array."""
    return {f"d{key}": numerical_gradient(lambda: training_loss(params, X, y, masks), value, eps)
            for key, value in params.items()}


def assume_away_from_the_kink(activations, L):
    """Central differences hold only where no hidden Z crosses 0 when a parameter moves by eps
    (1e-6): the property is stated for draws whose hidden |Z| are all above 1e-4."""
    for l in range(1, L):
        assume(np.abs(activations[f"Z{l}"]).min() > 1e-4)


def assert_every_gradient_matches(grads, numerical, params):
    """Every dW_l and db_l, none skipped: same keys, same shapes, the same numbers to 1e-5."""
    assert sorted(grads) == sorted(f"d{key}" for key in params)
    for key in sorted(numerical):
        assert grads[key].shape == numerical[key].shape, key
        # atol: where the true gradient is 0 (a dead unit; db_L when A_L is uniform and each
        # class appears once), both are rounding noise around 0.
        np.testing.assert_allclose(grads[key], numerical[key], rtol=1e-5, atol=1e-8, err_msg=key)


architectures = dict(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    n_0=st.integers(1, 6), n_L=st.integers(2, 5), m=st.integers(1, 6),
    seed=st.integers(0, 2**16), method=st.sampled_from(["he", "xavier", "article"]),
    biases=st.booleans(),
)


def random_problem(layer_dims, m, seed, method, biases):
    """float64 params (with random biases when ``biases``, as after training), X: (n_0, m), y."""
    params = init_params(layer_dims, seed=seed, method=method, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if biases:
        params = {key: value + 0.5 * rng.standard_normal(value.shape) if key.startswith("b") else value
                  for key, value in params.items()}
    X = rng.standard_normal((layer_dims[0], m))
    y = rng.integers(0, layer_dims[-1], m)
    return params, X, y, rng


@given(**architectures)
@example(hidden=[1, 1], n_0=5, n_L=4, m=4, seed=206, method="he", biases=False)  # db_3 exactly 0
def test_back_prop_agrees_with_central_differences(hidden, n_0, n_L, m, seed, method, biases):
    """For random architectures, batches and seeds, in float64, every gradient back_prop returns
    is the central difference of the training loss."""
    layer_dims = [n_0, *hidden, n_L]
    params, X, y, _ = random_problem(layer_dims, m, seed, method, biases)
    activations = forward_prop(X, params)
    assume_away_from_the_kink(activations, len(layer_dims) - 1)
    grads = back_prop(activations, params, y)
    assert_every_gradient_matches(grads, central_differences(params, X, y), params)


@given(**architectures | {"hidden": st.lists(st.integers(1, 6), min_size=1, max_size=3)},
       p=st.sampled_from([0.1, 0.5, 0.8]))
def test_back_prop_with_dropout_agrees_with_central_differences_at_fixed_masks(
        hidden, n_0, n_L, m, seed, method, biases, p):
    """With dropout, back_prop's gradient is that of the loss with the forward pass's masks."""
    layer_dims = [n_0, *hidden, n_L]
    params, X, y, rng = random_problem(layer_dims, m, seed, method, biases)
    activations = forward_prop(X, params, dropout=p, rng=rng)
    masks = {key: value for key, value in activations.items() if key.startswith("D")}
    assert sorted(masks) == [f"D{l}" for l in range(1, len(hidden) + 1)]
    assume_away_from_the_kink(activations, len(layer_dims) - 1)
    grads = back_prop(activations, params, y)
    assert_every_gradient_matches(grads, central_differences(params, X, y, masks), params)


# ---------------------------------------------------------------------------------------
# forward_prop with dropout

def dropout_problem(dtype=np.float64):
    params = init_params([6, 5, 4, 3], seed=5, dtype=dtype)
    X = np.random.default_rng(5).standard_normal((6, 10)).astype(dtype)
    return params, X


def test_forward_prop_with_dropout_keeps_one_mask_per_hidden_layer():
    params, X = dropout_problem()
    activations = forward_prop(X, params, dropout=0.5, rng=np.random.default_rng(0))
    assert sorted(key for key in activations if key.startswith("D")) == ["D1", "D2"]
    for l in (1, 2):
        assert activations[f"D{l}"].shape == activations[f"A{l}"].shape
        assert set(np.unique(activations[f"D{l}"])) <= {0.0, 2.0}


def test_forward_prop_with_dropout_multiplies_each_hidden_A_by_its_mask():
    params, X = dropout_problem()
    a = forward_prop(X, params, dropout=0.3, rng=np.random.default_rng(1))
    for l in (1, 2):
        np.testing.assert_array_equal(a[f"A{l}"], relu(a[f"Z{l}"]) * a[f"D{l}"])
        np.testing.assert_array_equal(a[f"Z{l + 1}"], linear_forward(params[f"W{l + 1}"], a[f"A{l}"],
                                                                     params[f"b{l + 1}"]))
    np.testing.assert_allclose(a["A3"].sum(axis=0), 1)  # the output layer is never dropped


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_prop_with_dropout_keeps_the_dtype(dtype):
    params, X = dropout_problem(dtype)
    activations = forward_prop(X, params, dropout=0.5, rng=np.random.default_rng(2))
    assert all(value.dtype == dtype for value in activations.values())


def test_forward_prop_with_the_same_seed_draws_the_same_masks():
    params, X = dropout_problem()
    first = forward_prop(X, params, dropout=0.5, rng=np.random.default_rng(7))
    again = forward_prop(X, params, dropout=0.5, rng=np.random.default_rng(7))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])


def test_forward_prop_without_dropout_needs_no_rng_and_keeps_no_mask():
    params, X = dropout_problem()
    plain = forward_prop(X, params)
    zero = forward_prop(X, params, dropout=0.0, rng=None)
    assert list(plain) == list(zero) == ["A0", "Z1", "A1", "Z2", "A2", "Z3", "A3"]
    for key in plain:
        np.testing.assert_array_equal(plain[key], zero[key])


@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)], ids=["None", "int", "RandomState"])
def test_forward_prop_rejects_dropout_without_a_generator(rng):
    params, X = dropout_problem()
    with pytest.raises(ValueError, match=r"dropout=0\.5 draws its masks from rng, which must be a "
                                         r"np\.random\.Generator such as np\.random\.default_rng\(0\)"):
        forward_prop(X, params, dropout=0.5, rng=rng)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, float("nan"), "0.5"])
def test_forward_prop_rejects_a_dropout_outside_0_to_1(dropout):
    params, X = dropout_problem()
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        forward_prop(X, params, dropout=dropout, rng=np.random.default_rng(0))


# ---------------------------------------------------------------------------------------
# predict

def test_predict_is_the_argmax_of_the_last_activation():
    params = init_params([6, 5, 4], seed=6, dtype=np.float64)
    X = np.random.default_rng(6).standard_normal((6, 20))
    predictions = predict(X, params)
    assert predictions.dtype == np.int64 and predictions.shape == (20,)
    np.testing.assert_array_equal(predictions, np.argmax(forward_prop(X, params)["A2"], axis=0))


def test_predict_lives_with_the_maths():
    assert nnlib.predict is network.predict


# ---------------------------------------------------------------------------------------
# update_params and the validation at the boundary

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
