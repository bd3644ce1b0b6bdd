"""nnlib.workspace: the fast pass computes what forward_prop and back_prop compute."""
import gc
import os
import signal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from nnlib import back_prop, cross_entropy, forward_prop, get_accuracy, get_predictions, init_params, one_hot
from nnlib import worker
from nnlib import workspace as workspace_module
from nnlib.optimizers import SGD
from nnlib.workspace import Workspace, flatten_params


def problem(layer_dims, m, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.random((layer_dims[0], m)).astype(dtype)
    y = rng.integers(0, layer_dims[-1], m)
    return X, y, init_params(layer_dims, seed=seed, dtype=dtype)


def reference(X, y, params):
    """Loss, accuracy and gradients from the book's readable functions."""
    activations = forward_prop(X, params)
    AL = activations[f"A{len(params) // 2}"]
    loss = cross_entropy(one_hot(y, AL.shape[0], dtype=X.dtype), AL)
    return loss, get_accuracy(get_predictions(AL), y), back_prop(activations, params, y)


def assert_same_gradients(grads, expected, rtol):
    assert set(grads) == set(expected)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=rtol,
                                   atol=rtol * np.abs(expected[key]).max(), err_msg=key)


layer_lists = st.lists(st.integers(1, 20), min_size=1, max_size=3).map(lambda hidden: [6, *hidden, 4])


@given(layer_dims=layer_lists, m=st.integers(1, 90), chunk_size=st.integers(1, 40),
       seed=st.integers(0, 1000), threads=st.sampled_from([1, 2]))
def test_gradients_match_forward_and_back_prop(layer_dims, m, chunk_size, seed, threads):
    X, y, params = problem(layer_dims, m, seed)
    with pytest.MonkeyPatch.context() as patch:
        # a small threshold makes the narrow layers' products run in slices, as on MNIST
        patch.setattr(workspace_module, "SMALL_PRODUCT", 300)
        with Workspace(X, y, layer_dims, chunk_size=chunk_size, threads=threads) as workspace:
            loss, accuracy, grads = workspace.gradients(params)
    expected_loss, expected_accuracy, expected = reference(X, y, params)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert accuracy == expected_accuracy
    assert_same_gradients(grads, expected, rtol=1e-10)


@pytest.mark.parametrize("layer_dims", [[784, 10, 10], [784, 256, 128, 64, 10]])
def test_float32_mnist_sized_networks(layer_dims):
    X, y, params = problem(layer_dims, 2500, seed=3, dtype=np.float32)
    with Workspace(X, y, layer_dims) as workspace:
        loss, accuracy, grads = workspace.gradients(params)
    expected_loss, expected_accuracy, expected = reference(X, y, params)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == expected_accuracy
    assert_same_gradients(grads, expected, rtol=1e-4)
    assert all(g.dtype == np.float32 for g in grads.values())


# where a worker process can be forked, train_step runs in one; otherwise in a thread
PARALLEL = [False, True] if worker.available() else [False]


@given(layer_dims=layer_lists, m=st.integers(2, 60), batch=st.integers(1, 30), seed=st.integers(0, 1000),
       processes=st.sampled_from(PARALLEL))
def test_train_step_with_sgd_of_rate_one_subtracts_the_batch_gradient(layer_dims, m, batch, seed, processes):
    X, y, params = problem(layer_dims, m, seed)
    columns = np.random.default_rng(seed).permutation(m)[:batch]
    _, _, expected = reference(X[:, columns], y[columns], params)
    vector, views = flatten_params(params, shared=processes)
    with Workspace(X, y, layer_dims, batch_size=batch, processes=processes) as workspace:
        optimizers = [SGD([part], learning_rate=1.0) for part in workspace.split(vector)]
        workspace.train_step(views, columns, optimizers)
    assert_same_gradients({f"d{key}": params[key] - views[key] for key in params}, expected, rtol=1e-9)


@pytest.mark.parametrize("processes", PARALLEL)
def test_weight_decay_adds_lambda_w_to_weight_gradients_only(processes):
    layer_dims, decay = [5, 4, 3], 0.25
    X, y, params = problem(layer_dims, 12, seed=4)
    _, _, expected = reference(X, y, params)
    vector, views = flatten_params(params, shared=processes)
    with Workspace(X, y, layer_dims, batch_size=12, processes=processes) as workspace:
        optimizers = [SGD([part], learning_rate=1.0) for part in workspace.split(vector)]
        workspace.train_step(views, np.arange(12), optimizers, weight_decay=decay)
    for key in params:
        step = params[key] - views[key]
        added = decay * params[key] if key.startswith("W") else 0
        np.testing.assert_allclose(step, expected[f"d{key}"] + added, rtol=1e-9, atol=1e-12, err_msg=key)


def dropout_reference(X, y, params, masks, keep):
    """Inverted dropout by hand: A_l = ReLU(Z_l) * D_l / keep, and the same mask going back."""
    L = len(params) // 2
    A, activations = X, [X]
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = np.maximum(Z, 0) * masks[l - 1] / keep if l < L else Z
        activations.append(A)
    E = np.exp(A - A.max(axis=0))
    AL = E / E.sum(axis=0)
    m = X.shape[1]
    dZ, grads = (AL - one_hot(y, AL.shape[0], dtype=X.dtype)) / m, {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"], grads[f"db{l}"] = dZ @ activations[l - 1].T, dZ.sum(axis=1, keepdims=True)
        if l > 1:
            dZ = (params[f"W{l}"].T @ dZ) * (activations[l - 1] > 0) / keep
    return grads


@pytest.mark.parametrize("processes", PARALLEL)
def test_dropout_is_inverted_dropout_with_the_blocks_random_numbers(processes):
    layer_dims, m, dropout, seed = [5, 7, 6, 3], 10, 0.4, 11
    X, y, params = problem(layer_dims, m, seed=5)
    # the workspace's two blocks draw their masks from these generators, layer by layer
    rngs = np.random.default_rng(seed).spawn(2)
    halves = [slice(0, m // 2), slice(m // 2, m)]
    drawn = [[rng.random((n, s.stop - s.start)) < 1 - dropout for n in layer_dims[1:-1]]
             for rng, s in zip(rngs, halves)]
    masks = [np.concatenate(pair, axis=1) for pair in zip(*drawn)]
    expected = dropout_reference(X, y, params, masks, 1 - dropout)
    vector, views = flatten_params(params, shared=processes)
    with Workspace(X, y, layer_dims, batch_size=m, seed=seed, processes=processes) as workspace:
        optimizers = [SGD([part], learning_rate=1.0) for part in workspace.split(vector)]
        workspace.train_step(views, np.arange(m), optimizers, dropout=dropout)
    assert_same_gradients({f"d{key}": params[key] - views[key] for key in params}, expected, rtol=1e-9)


def test_results_are_bit_identical_with_one_thread_or_two():
    layer_dims = [784, 10, 10]
    X, y, params = problem(layer_dims, 3000, seed=6, dtype=np.float32)
    results = []
    for threads in (1, 2, 2):
        with Workspace(X, y, layer_dims, threads=threads) as workspace:
            loss, accuracy, grads = workspace.gradients(params)
            results.append((loss, accuracy, {key: value.copy() for key, value in grads.items()}))
    for loss, accuracy, grads in results[1:]:
        assert (loss, accuracy) == results[0][:2]
        for key in grads:
            assert np.array_equal(grads[key], results[0][2][key])


def test_loss_stays_finite_for_extreme_logits():
    layer_dims = [3, 2]
    X = np.array([[1.0], [0.0], [0.0]], dtype=np.float32)
    params = {"W1": np.array([[1e4, 0, 0], [-1e4, 0, 0]], dtype=np.float32), "b1": np.zeros((2, 1), np.float32)}
    with Workspace(X, np.array([1]), layer_dims) as workspace:
        loss, accuracy, grads = workspace.gradients(params)
    assert loss == pytest.approx(2e4)  # -log softmax = 10,000 - (-10,000), where A_L underflows to 0
    assert accuracy == 0.0
    assert np.isfinite(grads["dW1"]).all()


def test_flatten_params_puts_weights_first_in_one_shared_vector():
    params = init_params([3, 2, 2], seed=0)
    vector, views = flatten_params(params)
    assert list(views) == list(params)
    expected = np.concatenate([params[key].ravel() for key in ("W1", "W2", "b1", "b2")])
    assert np.array_equal(vector, expected)
    vector[:] = 0
    assert all(not view.any() for view in views.values())  # views, not copies
    assert params["W1"].any()                              # the input is left alone


def test_close_gives_openblas_its_threads_back():
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    X, y, _ = problem([3, 2], 4, seed=0)
    with Workspace(X, y, [3, 2]):
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == before


def test_accuracy_counts_ties_like_argmax():
    # all weights 0: every logit ties, get_predictions answers 0 for every example
    layer_dims = [3, 4, 3]
    X, y, params = problem(layer_dims, 9, seed=7)
    params = {key: np.zeros_like(value) for key, value in params.items()}
    with Workspace(X, y, layer_dims) as workspace:
        _, accuracy, _ = workspace.gradients(params)
    assert accuracy == np.mean(y == 0)


@pytest.mark.parametrize("n", [32, 100, 112])
def test_products_in_slices_equal_the_plain_products(n):
    rng = np.random.default_rng(n)
    W, XT, dZ = rng.random((10, 30)), rng.random((n, 30)), rng.random((10, n))
    Z, dW = np.empty((10, n)), np.empty((10, 30))
    workspace_module._forward_product(W, XT.T, Z, 16)
    workspace_module._weight_gradient(dZ, XT.T, dW, np.empty((n // 16 + 1, 10, 30)), 16)
    np.testing.assert_allclose(Z, W @ XT.T, rtol=1e-12)
    np.testing.assert_allclose(dW, dZ @ XT, rtol=1e-12)
    assert np.shares_memory(workspace_module._stacked(Z, 16), Z)  # a view: out= writes into Z


needs_fork = pytest.mark.skipif(not worker.available(), reason="worker processes need fork() on x86-64 Linux")


def adam_steps(processes, steps=6, dropout=0.3, weight_decay=1e-3):
    """Parameters and (loss, accuracy) after Adam steps on mini-batches, in a thread or a process."""
    from nnlib.optimizers import Adam
    layer_dims = [784, 32, 16, 10]
    X, y, params = problem(layer_dims, 400, seed=8, dtype=np.float32)
    vector, views = flatten_params(params, shared=processes)
    order = np.random.default_rng(0).permutation(400)
    with Workspace(X, y, layer_dims, batch_size=64, seed=3, threads=2, processes=processes) as workspace:
        optimizers = [Adam([part]) for part in workspace.split(vector)]
        results = [workspace.train_step(views, order[64 * t:64 * (t + 1)], optimizers, dropout, weight_decay)
                   for t in range(steps)]
    return vector.copy(), results


@needs_fork
def test_a_worker_process_gives_the_same_bits_as_a_thread():
    vector, results = adam_steps(processes=True)
    expected_vector, expected_results = adam_steps(processes=False)
    assert results == expected_results
    assert np.array_equal(vector, expected_vector)


@needs_fork
def test_the_worker_process_needs_shared_parameters_and_the_same_ones_every_step():
    X, y, params = problem([5, 4, 3], 12, seed=4)
    with Workspace(X, y, [5, 4, 3], batch_size=6, processes=True) as workspace:
        with pytest.raises(ValueError, match="shared=True"):
            workspace.split(flatten_params(params)[0])
        vector, views = flatten_params(params, shared=True)
        optimizers = [SGD([part]) for part in workspace.split(vector)]
        workspace.train_step(views, np.arange(6), optimizers)
        with pytest.raises(ValueError, match="first train_step"):
            workspace.train_step(dict(views), np.arange(6), optimizers)


@needs_fork
def test_a_failure_in_the_worker_process_is_reported_and_the_process_reaped():
    class Failing(SGD):
        def step(self, grads):
            raise FloatingPointError("step 1 broke")

    X, y, params = problem([5, 4, 3], 12, seed=4)
    vector, views = flatten_params(params, shared=True)
    with Workspace(X, y, [5, 4, 3], batch_size=6, processes=True) as workspace:
        part0, part1 = workspace.split(vector)
        with pytest.raises(RuntimeError, match="worker process failed: FloatingPointError: step 1 broke"):
            workspace.train_step(views, np.arange(6), [SGD([part0]), Failing([part1])])
        pid = workspace.worker.pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)  # already reaped by close()


@needs_fork
def test_close_stops_the_worker_process():
    X, y, params = problem([5, 4, 3], 12, seed=4)
    vector, views = flatten_params(params, shared=True)
    with Workspace(X, y, [5, 4, 3], batch_size=6, processes=True) as workspace:
        workspace.train_step(views, np.arange(6), [SGD([part]) for part in workspace.split(vector)])
        pid = workspace.worker.pid
        os.kill(pid, 0)  # alive
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_shared_vectors_are_recognised():
    vector, views = flatten_params(init_params([3, 2], seed=0), shared=True)
    assert worker.is_shared(vector) and worker.is_shared(views["W1"])
    assert not worker.is_shared(flatten_params(init_params([3, 2], seed=0))[0])


@pytest.mark.parametrize("blank", [slice(0, 2), slice(4, 6), slice(2, 3), slice(0, 6)])
@pytest.mark.parametrize("chunk_size", [3, 40])
def test_inputs_that_are_zero_in_a_chunk_are_skipped_exactly(blank, chunk_size):
    layer_dims = [6, 5, 4]
    X, y, params = problem(layer_dims, 20, seed=9)
    X[blank] = 0      # these inputs are 0 in every example: dW_1's columns must be exactly 0
    X[1, :10] = 0     # and this one in the first chunks only
    with Workspace(X, y, layer_dims, chunk_size=chunk_size) as workspace:
        loss, accuracy, grads = workspace.gradients(params)
    expected_loss, expected_accuracy, expected = reference(X, y, params)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert accuracy == expected_accuracy
    assert_same_gradients(grads, expected, rtol=1e-10)
    assert not grads["dW1"][:, blank].any()


def test_nonzero_span():
    XT = np.zeros((3, 6))
    assert workspace_module._nonzero_span(XT) == (0, 0)
    XT[1, 2], XT[2, 4] = 1.0, -2.0
    assert workspace_module._nonzero_span(XT) == (2, 5)
    assert workspace_module._nonzero_span(XT.astype(np.float32)) == (2, 5)
    XT[0, 0] = -0.0  # a zero, kept: harmless
    assert workspace_module._nonzero_span(XT) == (0, 5)


@needs_fork
def test_a_killed_worker_process_is_reported():
    X, y, params = problem([5, 4, 3], 12, seed=4)
    vector, views = flatten_params(params, shared=True)
    with Workspace(X, y, [5, 4, 3], batch_size=6, processes=True) as workspace:
        optimizers = [SGD([part]) for part in workspace.split(vector)]
        workspace.train_step(views, np.arange(6), optimizers)
        os.kill(workspace.worker.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="worker process stopped unexpectedly"):
            workspace.train_step(views, np.arange(6), optimizers)


@needs_fork
def test_the_worker_protocol_runs_both_sides_and_stops_when_forgotten():
    shared = worker.shared_empty(4, np.float64)
    shared[:] = 0

    def first(k, columns, settings):      # each side writes its share, then returns a result
        shared[k] = settings[0] * columns.sum() + k
        return (float(k),)

    def second(k, settings):              # after the barrier, each side sees the other's share
        shared[2 + k] = shared[1 - k]

    process = worker.WorkerProcess(first, second, capacity=3, n_settings=1, n_results=1)
    mine, theirs = process.step(np.array([1, 2, 3]), (2.0,), first, second)
    assert (mine, theirs) == ((0.0,), (1.0,))
    assert shared.tolist() == [12.0, 13.0, 13.0, 12.0]
    pid = process.pid
    del process  # never closed: the finaliser stops and reaps it
    gc.collect()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)
