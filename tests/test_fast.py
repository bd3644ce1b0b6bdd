"""nnlib.fast: the Workspace computes what forward_prop and back_prop compute, the fast
engine's loops train the same network as the plain ones, and they really run on the fast path."""
import gc
import os
import signal
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

import nnlib
import nnlib.fast
from nnlib import back_prop, cross_entropy_from_logits, forward_prop, get_accuracy, get_predictions, init_params
from nnlib.fast import worker
from nnlib.fast import workspace as workspace_module
from nnlib.fast.workspace import BLOCKS, Workspace, flatten_params
from nnlib.optimizers import SGD, Adam, AdamW


def problem(layer_dims, m, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.random((layer_dims[0], m)).astype(dtype)
    y = rng.integers(0, layer_dims[-1], m)
    return X, y, init_params(layer_dims, seed=seed, dtype=dtype)


def reference(X, y, params, dropout=0.0, rng=None):
    """Loss, accuracy and gradients from the book's readable functions (the plain engine's)."""
    activations = forward_prop(X, params, dropout, rng)
    L = len(params) // 2
    loss = cross_entropy_from_logits(activations[f"Z{L}"], y)
    return loss, get_accuracy(get_predictions(activations[f"A{L}"]), y), back_prop(activations, params, y)


def assert_same_gradients(grads, expected, rtol):
    """Each gradient within rtol of the reference, relative to its largest entry; a gradient
    that is exactly 0 in one order of summation (db_L when the batch's labels are as frequent
    as the predicted classes) may be rounding noise (1e-17) in the other: atol >= 1e-15."""
    assert set(grads) == set(expected)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=rtol,
                                   atol=max(rtol * np.abs(expected[key]).max(), 1e-15), err_msg=key)


def relative_error(actual, expected):
    """||actual - expected|| / ||expected||, in float64, the norm over the whole array."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def assert_close_by_norm(actual, expected, tolerance):
    """Each array of the dict ``actual`` within ``tolerance`` of ``expected``'s, relative, by norm."""
    assert set(actual) == set(expected)
    for key in expected:
        assert actual[key].dtype == expected[key].dtype, key
        error = relative_error(actual[key], expected[key])
        assert error <= tolerance, f"{key}: relative error {error:.3g} > {tolerance:g}"


def unflatten(vector, like):
    """A vector ordered like flatten_params(like)'s, as a dict of arrays shaped like ``like``."""
    copy, views = flatten_params(like)
    copy[:] = vector
    return views


layer_lists = st.lists(st.integers(1, 20), min_size=1, max_size=3).map(lambda hidden: [6, *hidden, 4])


# ---------------------------------------------------------------- the Workspace against the book's functions

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
def test_float32_gradients_of_one_step_agree_within_1e_5_by_norm(layer_dims):
    X, y, params = problem(layer_dims, 2500, seed=3, dtype=np.float32)
    with Workspace(X, y, layer_dims) as workspace:
        loss, accuracy, grads = workspace.gradients(params)
    expected_loss, expected_accuracy, expected = reference(X, y, params)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == expected_accuracy
    assert_close_by_norm(grads, expected, 1e-5)  # float32 gradients, as back_prop's


# where a worker process can be forked, train_step runs in one; otherwise in a thread
PARALLEL = [False, True] if worker.available() else [False]


class Recorder(SGD):
    """SGD that keeps a copy of each step's gradient (in the process that takes the step)."""

    def step(self, grads):
        self.seen = [grad.copy() for grad in grads]
        super().step(grads)


def test_float32_train_step_with_dropout_and_weight_decay_agrees_within_1e_5_by_norm():
    layer_dims, dropout, decay, seed = [784, 64, 32, 10], 0.3, 1e-3, 12
    X, y, params = problem(layer_dims, 600, seed=3, dtype=np.float32)
    columns = np.random.default_rng(seed).permutation(600)[:256]
    _, _, expected = reference(X[:, columns], y[columns], params, dropout, np.random.default_rng(seed))
    for l in range(1, len(layer_dims)):
        expected[f"dW{l}"] += nnlib.l2_gradient(params[f"W{l}"], decay)
    vector, views = flatten_params(params)
    # in a thread: the optimisers that record the gradient run in this process
    with Workspace(X, y, layer_dims, batch_size=256, dropout_rng=np.random.default_rng(seed),
                   processes=False) as workspace:
        optimizers = [Recorder([part]) for part in workspace.split(vector)]
        workspace.train_step(views, columns, optimizers, dropout, decay)
    grads = unflatten(np.concatenate([optimizer.seen[0] for optimizer in optimizers]), params)
    assert_close_by_norm({f"d{key}": value for key, value in grads.items()}, expected, 1e-5)


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


@pytest.mark.parametrize("processes", PARALLEL)
@pytest.mark.parametrize("chunk_size", [3, 1024])
def test_dropout_draws_forward_props_masks_from_dropout_rng(processes, chunk_size):
    """Two steps with dropout: the masks of both, drawn centrally from dropout_rng, are
    forward_prop's masks from a generator with the same seed, whatever the blocks and chunks."""
    layer_dims, m, batch, dropout, seed = [5, 7, 6, 3], 30, 14, 0.4, 11
    X, y, params = problem(layer_dims, m, seed=5)
    batches = np.random.default_rng(seed).permutation(m)[:2 * batch].reshape(2, batch)
    expected, rng = dict(params), np.random.default_rng(seed)
    for columns in batches:  # SGD with learning rate 1, by the book's functions
        _, _, grads = reference(X[:, columns], y[columns], expected, dropout, rng)
        expected = {key: value - grads[f"d{key}"] for key, value in expected.items()}
    vector, views = flatten_params(params, shared=processes)
    with Workspace(X, y, layer_dims, batch_size=batch, chunk_size=chunk_size,
                   dropout_rng=np.random.default_rng(seed), processes=processes) as workspace:
        optimizers = [SGD([part], learning_rate=1.0) for part in workspace.split(vector)]
        for columns in batches:
            workspace.train_step(views, columns, optimizers, dropout=dropout)
    for key in params:
        np.testing.assert_allclose(views[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_dropout_without_a_dropout_rng_is_refused():
    X, y, params = problem([5, 4, 3], 12, seed=4)
    vector, views = flatten_params(params)
    with Workspace(X, y, [5, 4, 3], batch_size=12, processes=False) as workspace:
        optimizers = [SGD([part]) for part in workspace.split(vector)]
        with pytest.raises(ValueError, match="dropout_rng"):
            workspace.train_step(views, np.arange(12), optimizers, dropout=0.5)


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
    assert loss == pytest.approx(cross_entropy_from_logits(params["W1"] @ X, np.array([1])))
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


def adam_steps(processes, steps=6, dropout=0.3, weight_decay=1e-3, rates=None, optimizer="adam"):
    """Parameters and (loss, accuracy) after Adam steps on mini-batches, in a thread or a process.

    ``rates``: the learning rate of each step, set on both optimisers before it, as a schedule
    does (None: Adam's default throughout). ``optimizer="adamw"`` decays the weights with
    ``weight_decay`` instead of adding it to the gradient.
    """
    layer_dims = [784, 32, 16, 10]
    X, y, params = problem(layer_dims, 400, seed=8, dtype=np.float32)
    vector, views = flatten_params(params, shared=processes)
    order = np.random.default_rng(0).permutation(400)
    with Workspace(X, y, layer_dims, batch_size=64, dropout_rng=np.random.default_rng(3), threads=2,
                   processes=processes) as workspace:
        parts, weights = workspace.split(vector), workspace.weights_in_parts()
        if optimizer == "adamw":
            optimizers = [AdamW([part], weight_decay=weight_decay, decayed=[k]) for part, k in zip(parts, weights)]
            weight_decay = 0.0
        else:
            optimizers = [Adam([part]) for part in parts]
        results = []
        for t in range(steps):
            for opt in optimizers:
                opt.learning_rate = rates[t] if rates else opt.learning_rate
            results.append(workspace.train_step(views, order[64 * t:64 * (t + 1)], optimizers, dropout,
                                                weight_decay))
    return vector.copy(), results


@needs_fork
@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
@pytest.mark.parametrize("rates", [None, [1e-3, 1e-3, 1e-2, 1e-2, 1e-4, 1e-4]])
def test_a_worker_process_gives_the_same_bits_as_a_thread(optimizer, rates):
    vector, results = adam_steps(processes=True, optimizer=optimizer, rates=rates)
    expected_vector, expected_results = adam_steps(processes=False, optimizer=optimizer, rates=rates)
    assert results == expected_results
    assert np.array_equal(vector, expected_vector)


@needs_fork
def test_the_worker_process_steps_with_the_learning_rate_the_loop_sets():
    """A schedule changes the main process's optimisers; the worker's copy must follow: both
    halves of the vector differ from a run at a constant rate."""
    constant, _ = adam_steps(processes=True, rates=[1e-3] * 6)
    changed, _ = adam_steps(processes=True, rates=[1e-3] * 3 + [1e-1] * 3)
    half = constant.size // 2
    assert not np.array_equal(constant[:half], changed[:half])
    assert not np.array_equal(constant[half:], changed[half:])


def test_weights_in_parts_counts_the_weights_at_the_start_of_each_part():
    layer_dims = [5, 4, 3]
    X, y, params = problem(layer_dims, 12, seed=4)
    vector, _ = flatten_params(params)
    with Workspace(X, y, layer_dims, threads=1) as workspace:
        parts = workspace.split(vector)
        n_weights = 5 * 4 + 4 * 3
        counts = workspace.weights_in_parts()
        assert sum(counts) == n_weights and counts[0] == parts[0].size
        assert counts[1] == n_weights - parts[0].size < parts[1].size


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


# ---------------------------------------------------------------- the engines agree, on the fast path

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
# what Workspace chooses by default: a second block in another thread or process where 2 cores
# are available, and for mini-batches a worker process where one can be forked
TWO_CORES = min(CORES, BLOCKS) > 1
EXPECTS_WORKER = TWO_CORES and worker.available()


class FastPath:
    """What the fast engine ran, counted by spies on the Workspace and nnlib.fast.worker.

    ``runs[k]``: calls of ``Workspace._run_block`` for block k; ``chunks[k]``: calls of
    ``Workspace._chunk`` for block k; ``examples[k]``: the examples in those chunks. The
    counters live in shared memory, so a forked worker process's calls are counted too.
    ``workers``: the WorkerProcess objects created; ``threads[k]``: the threads block k ran in
    (in this process).
    """

    def __init__(self):
        self.counts = worker.shared_empty((3, BLOCKS), np.int64)
        self.counts[:] = 0
        self.runs, self.chunks, self.examples = self.counts
        self.workers = 0
        self.threads = [set() for _ in range(BLOCKS)]

    def reset(self):
        self.counts[:] = 0
        self.workers = 0
        self.threads = [set() for _ in range(BLOCKS)]


@pytest.fixture
def fast_path(monkeypatch):
    spy = FastPath()
    run_block, chunk = Workspace._run_block, Workspace._chunk

    def spy_run_block(self, params, columns, m, dropout, block, start, stop):
        k = self.blocks.index(block)
        spy.runs[k] += 1
        spy.threads[k].add(threading.get_ident())
        return run_block(self, params, columns, m, dropout, block, start, stop)

    def spy_chunk(self, params, XT, y, m, masks, block, grads):
        k = self.blocks.index(block)
        spy.chunks[k] += 1
        spy.examples[k] += XT.shape[0]
        return chunk(self, params, XT, y, m, masks, block, grads)

    class SpyWorkerProcess(worker.WorkerProcess):
        def __init__(self, *args, **kwargs):
            spy.workers += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(Workspace, "_run_block", spy_run_block)
    monkeypatch.setattr(Workspace, "_chunk", spy_chunk)
    monkeypatch.setattr(worker, "WorkerProcess", SpyWorkerProcess)
    return spy


def assert_ran_fast(spy, steps, examples, worker_process):
    """Both blocks ran every step, and the chunks held every example of every step."""
    assert list(spy.runs) == [steps] * BLOCKS
    assert all(chunks >= steps for chunks in spy.chunks)
    assert spy.examples.sum() == examples
    assert all(spy.examples > 0)
    assert spy.workers == (1 if worker_process else 0)
    if TWO_CORES and not worker_process:  # block 1 in the Workspace's own thread
        assert spy.threads[1] and not spy.threads[1] & spy.threads[0]


def blobs(m, n_0=20, classes=5, seed=0, dtype=np.float64):
    """A learnable problem: each class a noisy copy of its own random template."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, m)
    X = rng.random((n_0, classes))[:, y] + 0.3 * rng.standard_normal((n_0, m))
    return X.astype(dtype), y


LAYERS = [20, 16, 12, 5]  # two hidden layers: two dropout masks per step


@pytest.mark.parametrize("optimizer, learning_rate, schedule", [
    ("sgd", 0.1, None), ("momentum", 0.1, "step"), ("adam", 0.01, None), ("adamw", 0.01, "cosine")])
def test_engines_agree_for_50_float64_steps_with_dropout_and_weight_decay(optimizer, learning_rate, schedule,
                                                                           fast_path):
    X, y = blobs(400)
    X_val, y_val = blobs(100, seed=1)
    settings = dict(epochs=5, batch_size=40, optimizer=optimizer, learning_rate=learning_rate, dropout=0.2,
                    weight_decay=1e-3, schedule=schedule, seed=7, X_val=X_val, y_val=y_val,
                    progress=False)  # 5 x 10 = 50 steps
    plain, plain_history = nnlib.train(X, y, LAYERS, **settings)
    assert fast_path.runs.sum() == 0 and fast_path.workers == 0  # the plain engine never reaches nnlib.fast
    fast, fast_history = nnlib.train(X, y, LAYERS, engine="fast", **settings)
    assert_ran_fast(fast_path, steps=50, examples=5 * 400, worker_process=EXPECTS_WORKER)
    assert [p.dtype for p in fast.values()] == [np.float64] * 6
    assert relative_error(fast_history["loss"], plain_history["loss"]) <= 1e-9
    np.testing.assert_allclose(fast_history["loss"], plain_history["loss"], rtol=1e-9)
    assert fast_history["train_accuracy"] == plain_history["train_accuracy"]
    assert fast_history["val_accuracy"] == plain_history["val_accuracy"]
    np.testing.assert_allclose(fast_history["val_loss"], plain_history["val_loss"], rtol=1e-9)
    assert fast_history["epoch"] == plain_history["epoch"]
    assert fast_history["learning_rate"] == plain_history["learning_rate"]
    assert_close_by_norm(fast, plain, 1e-9)
    # and the run learned something, so the agreement is not that of two idle runs
    assert plain_history["loss"][-1] < plain_history["loss"][0]


@pytest.mark.parametrize("optimizer, schedule", [("adam", None), ("adamw", "step")])
def test_engines_stop_early_at_the_same_epoch_and_return_the_same_best_params(optimizer, schedule, fast_path):
    X, y = blobs(60)
    X_val, y_val = blobs(300, seed=1)
    # a large learning rate on few examples: the validation loss falls, then rises
    settings = dict(epochs=15, batch_size=10, optimizer=optimizer, learning_rate=0.05, weight_decay=1e-3,
                    schedule=schedule, patience=2, seed=3, X_val=X_val, y_val=y_val, progress=False)
    plain, plain_history = nnlib.train(X, y, LAYERS, **settings)
    fast, fast_history = nnlib.train(X, y, LAYERS, engine="fast", **settings)
    epochs = len(plain_history["epoch"])
    assert epochs < 15 and fast_history["epoch"] == plain_history["epoch"]
    assert_ran_fast(fast_path, steps=6 * epochs, examples=60 * epochs, worker_process=EXPECTS_WORKER)
    assert fast_history["best_epoch"] == plain_history["best_epoch"] == epochs - 2
    np.testing.assert_allclose(fast_history["val_loss"], plain_history["val_loss"], rtol=1e-9)
    assert_close_by_norm(fast, plain, 1e-9)


def test_the_fast_engine_is_the_same_maths_as_nnlib_fast_train(fast_path):
    X, y = blobs(90)
    settings = dict(epochs=2, batch_size=30, dropout=0.3, weight_decay=1e-2, seed=2, progress=False)
    via_engine, history = nnlib.train(X, y, LAYERS, engine="fast", **settings)
    direct, direct_history = nnlib.fast.train(X, y, LAYERS, **settings)
    assert history["loss"] == direct_history["loss"]
    assert all(np.array_equal(via_engine[key], direct[key]) for key in direct)


def test_engines_agree_for_50_float64_iterations_of_gradient_descent(fast_path):
    X, y = blobs(400)
    X_test, y_test = blobs(100, seed=1)
    settings = dict(seed=3, X_test=X_test, y_test=y_test, eval_every=10, progress=False)
    plain, plain_history = nnlib.gradient_descent(X, y, LAYERS, 0.5, 50, **settings)
    assert fast_path.runs.sum() == 0
    fast, fast_history = nnlib.gradient_descent(X, y, LAYERS, 0.5, 50, engine="fast", **settings)
    assert_ran_fast(fast_path, steps=50, examples=50 * 400, worker_process=False)
    np.testing.assert_allclose(fast_history["loss"], plain_history["loss"], rtol=1e-9)
    assert fast_history["train_accuracy"] == plain_history["train_accuracy"]
    assert fast_history["test_accuracy"] == plain_history["test_accuracy"]
    assert_close_by_norm(fast, plain, 1e-9)
    assert plain_history["loss"][-1] < plain_history["loss"][0]


def test_gradient_descent_runs_several_chunks_per_block(fast_path):
    X, y = blobs(3000, n_0=784, classes=10, dtype=np.float32)  # a chunk is at most 1,024 examples
    params, history = nnlib.gradient_descent(X, y, [784, 32, 10], 0.1, 3, engine="fast", progress=False)
    assert_ran_fast(fast_path, steps=3, examples=3 * 3000, worker_process=False)
    assert all(chunks >= 2 * 3 for chunks in fast_path.chunks)
    assert [p.dtype for p in params.values()] == [np.float32] * 4
    plain, plain_history = nnlib.gradient_descent(X, y, [784, 32, 10], 0.1, 3, progress=False)
    np.testing.assert_allclose(history["loss"], plain_history["loss"], rtol=1e-5)


def test_fast_gradient_descent_in_one_thread_gives_the_same_bits(fast_path):
    X, y = blobs(3000, dtype=np.float32)  # enough examples for two blocks
    runs = []
    for threads in (1, 2):
        fast_path.reset()
        runs.append(nnlib.fast.gradient_descent(X, y, LAYERS, 0.1, 5, seed=5, progress=False, threads=threads))
        assert list(fast_path.runs) == [5, 5]
        assert len(fast_path.threads[0] | fast_path.threads[1]) == (1 if threads == 1 else 1 + TWO_CORES)
    assert runs[0][1]["loss"] == runs[1][1]["loss"]
    assert all(np.array_equal(runs[0][0][key], runs[1][0][key]) for key in runs[0][0])


def test_the_fast_engine_raises_training_diverged_like_the_plain_one(fast_path):
    X, y = blobs(60, dtype=np.float32)  # float32 overflows to inf, then NaN
    errors = {}
    for engine in ("plain", "fast"):
        with np.errstate(over="ignore", invalid="ignore"):
            with pytest.raises(nnlib.TrainingDiverged, match=r"\(epoch 1\) with learning_rate=1e\+30") as caught:
                nnlib.train(X * 1e3, y, LAYERS, epochs=2, batch_size=10, optimizer="sgd", learning_rate=1e30,
                            engine=engine, progress=False)
        errors[engine] = caught.value
    assert str(errors["fast"]) == str(errors["plain"])
    assert errors["fast"].history["epoch"] == errors["plain"].history["epoch"] == []
    assert fast_path.runs.sum() > 0
