"""init_params, save_params, load_params."""
import time
import tracemalloc
import zipfile

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


def test_load_round_trip_of_a_compressed_file(tmp_path):
    params = init_params([8, 5, 3], seed=3)  # zero biases: highly compressible
    path = tmp_path / "model.npz"
    np.savez_compressed(path, **params)
    loaded = load_params(path)
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])


@pytest.mark.parametrize("content, what", [
    (None, r"a single \.npy array \(np\.save\)"),
    (b"", "an empty file"),
    (b"W1 = [[1, 2]]\n", "another kind of file"),
], ids=["npy", "empty", "text"])
def test_load_names_a_file_that_is_not_an_npz_archive(tmp_path, content, what):
    path = tmp_path / "model.npz"
    if content is None:
        with open(path, "wb") as file:  # np.save would append .npy
            np.save(file, np.zeros((2, 3)))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{what}, not an .npz archive") as error:
        load_params(path)
    assert str(error.value).startswith(str(path))


def test_load_names_a_member_that_is_not_an_npy_array(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", "not an array")
    with pytest.raises(ValueError, match=r"model\.npz: member W1\.npy is not a \.npy array"):
        load_params(path)


def test_load_refuses_a_member_larger_than_its_header_says(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in init_params([3, 2]).items():
            with archive.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, array)
                member.write(bytes(8) if key == "W1" else b"")
    with pytest.raises(ValueError, match=r"member W1\.npy declares 160 bytes, but its header "
                                         r"\(shape \(2, 3\), dtype float32\) makes 152"):
        load_params(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_load_refuses_non_finite_weights_naming_the_key(tmp_path, value):
    params = init_params([4, 3, 2])
    params["W2"][:] = value
    path = tmp_path / "diverged.npz"
    save_params(path, params)
    with pytest.raises(ValueError, match=r"diverged\.npz: W2 holds 6 NaN or infinite values out of 6"):
        load_params(path)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """An .npz of 263 kB whose W1.npy inflates to 128 MiB (zeros (4096, 4096))."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    np.savez_compressed(path, W1=np.zeros((4096, 4096)), b1=np.zeros((4096, 1)))
    assert path.stat().st_size < 2**20
    return path


def refusal_and_peak_memory(path, **kwargs):
    """(the ValueError of load_params, peak bytes allocated, seconds)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError) as error:
            load_params(path, **kwargs)
        return error.value, tracemalloc.get_traced_memory()[1], time.perf_counter() - start
    finally:
        tracemalloc.stop()


def test_zip_bomb_is_refused_before_inflating(zip_bomb):
    error, peak, seconds = refusal_and_peak_memory(zip_bomb)
    assert str(error).startswith(f"{zip_bomb}: member W1.npy would inflate from ")
    assert "to 134217856 bytes, over 100 times" in str(error)
    assert peak < 2**20 and seconds < 1  # inflating would take 128 MiB


def test_zip_bomb_is_refused_before_inflating_when_layer_dims_are_given(zip_bomb):
    error, peak, seconds = refusal_and_peak_memory(zip_bomb, layer_dims=[784, 10, 10])
    assert str(error) == (f"{zip_bomb} holds a network with layers [4096, 4096], "
                          "expected [784, 10, 10]")
    assert peak < 2**20 and seconds < 1


# --- a convolutional network's parameters ------------------------------------------------

def test_save_and_load_round_trip_of_a_cnn(tmp_path):
    from nnlib import cnn
    params = cnn.init_params(cnn.LENET, seed=2)
    save_params(tmp_path / "lenet.npz", params)
    loaded = load_params(tmp_path / "lenet.npz", cnn.LENET)
    assert set(loaded) == set(params)
    for key in params:
        np.testing.assert_array_equal(loaded[key], params[key])
        assert loaded[key].dtype == np.float32
    # the loaded network predicts as the saved one
    X = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(cnn.predict(X, loaded, cnn.LENET), cnn.predict(X, params, cnn.LENET))


def test_a_cnn_loads_only_with_its_layers(tmp_path):
    from nnlib import cnn
    save_params(tmp_path / "lenet.npz", cnn.init_params(cnn.LENET))
    with pytest.raises(ValueError, match=r"holds a convolutional network \(W1 has shape \(8, 1, 5, 5\)\): "
                                         r"load it with its layers"):
        load_params(tmp_path / "lenet.npz")
    other = cnn.parse_layers("conv6k5p2,relu,pool2,conv16k5p2,relu,pool2,flatten,dense10")
    with pytest.raises(ValueError, match=r"does not hold the parameters of these layers: W1 has shape "
                                         r"\(8, 1, 5, 5\), but the layers give \(6, 1, 5, 5\)"):
        load_params(tmp_path / "lenet.npz", other)
    with pytest.raises(ValueError, match=r"W3 has shape \(10, 784\), but the layers give \(10, 1024\)"):
        load_params(tmp_path / "lenet.npz", cnn.LENET, input_shape=(1, 32, 32))


def test_save_refuses_cnn_parameters_that_do_not_fit_together(tmp_path):
    from nnlib import cnn
    params = cnn.init_params(cnn.LENET)
    with pytest.raises(ValueError, match=r"b1 has shape \(8, 1\) but W1 has shape \(8, 1, 5, 5\): expected \(8,\)"):
        save_params(tmp_path / "bad.npz", dict(params, b1=np.zeros((8, 1), np.float32)))
    with pytest.raises(ValueError, match=r"W2 has shape \(16, 4, 5, 5\) but layer 1 has 8 outputs"):
        save_params(tmp_path / "bad.npz", dict(params, W2=params["W2"][:, :4]))
