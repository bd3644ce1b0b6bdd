"""init_params, save_params, load_params."""
import numpy as np
import pytest

from nnlib import init_params, load_params, save_params


def test_shapes_follow_layer_dims():
    params = init_params([784, 256, 10])
    assert params["W1"].shape == (256, 784) and params["b1"].shape == (256, 1)
    assert params["W2"].shape == (10, 256) and params["b2"].shape == (10, 1)
    assert all(value.dtype == np.float32 for value in params.values())


@pytest.mark.parametrize("method, expected_std", [
    ("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(2 / 600)), ("article", np.sqrt(1 / 200))])
def test_weight_scale_of_each_method(method, expected_std):
    W = init_params([400, 200], seed=1, method=method)["W1"]
    assert W.std() == pytest.approx(expected_std, rel=0.02)


def test_biases_are_zero_except_in_the_article_scheme():
    assert not init_params([5, 4], method="he")["b1"].any()
    assert init_params([5, 4], method="article")["b1"].all()


def test_same_seed_same_numbers_in_both_dtypes():
    p32 = init_params([6, 5, 3], seed=7, dtype=np.float32)
    p64 = init_params([6, 5, 3], seed=7, dtype=np.float64)
    np.testing.assert_array_equal(p32["W2"], p64["W2"].astype(np.float32))
    assert not np.array_equal(init_params([6, 5, 3], seed=8)["W1"], p32["W1"])


@pytest.mark.parametrize("layer_dims, message", [
    ([784], "at least 2 sizes"),
    ([784, 0, 10], r"layer_dims\[1\] must be a positive integer, got 0"),
    ([784, -3, 10], "got -3"),
    ([784, 2.5, 10], "got 2.5"),
    (784, "must be a list of layer sizes"),
])
def test_bad_layer_dims(layer_dims, message):
    with pytest.raises(ValueError, match=message):
        init_params(layer_dims)


def test_unknown_method():
    with pytest.raises(ValueError, match="init method must be one of he, xavier, article; got 'glorot'"):
        init_params([3, 2], method="glorot")


def test_save_and_load_round_trip(tmp_path):
    params = init_params([8, 5, 3], seed=3)
    path = tmp_path / "model.npz"
    save_params(path, params)
    loaded = load_params(path, layer_dims=[8, 5, 3])
    assert loaded.keys() == params.keys()
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])
        assert loaded[key].dtype == params[key].dtype


def test_load_rejects_other_layer_dims(tmp_path):
    path = tmp_path / "model.npz"
    save_params(path, init_params([8, 5, 3]))
    with pytest.raises(ValueError, match=r"holds a network with layers \[8, 5, 3\], expected \[8, 6, 3\]"):
        load_params(path, layer_dims=[8, 6, 3])


def test_load_rejects_inconsistent_shapes(tmp_path):
    path = tmp_path / "bad.npz"
    params = init_params([8, 5, 3])
    params["W2"] = np.zeros((3, 4), dtype=np.float32)
    np.savez(path, **params)
    with pytest.raises(ValueError, match=r"W2 has shape \(3, 4\) but layer 1 has 5 units"):
        load_params(path)


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, W1=np.array([{"evil": 1}], dtype=object), b1=np.zeros((1, 1)))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_params(path)
