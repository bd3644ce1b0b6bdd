"""The fast engine's forward and backward pass: preallocated buffers, chunks, two cores.

``nnlib.network.forward_prop`` and ``back_prop`` are written to be read next to the book's
equations, and the plain engine (``nnlib.training``) runs them. The fast engine's loops
(``nnlib.fast.loops``, reached with ``engine="fast"``) run a :class:`Workspace` instead,
which computes the same things from the same parameters, examples and dropout masks: the mean
cross-entropy, the accuracy and every ``dW_l, db_l``, several times faster
(``tests/test_fast.py`` checks the two engines against each other). It changes how the work
meets the memory and the cores, not the algorithm. The book's chapter "Making it fast"
measures the machine's two limits (one read of X, the rate of a matrix product), places each
network on its roofline and demonstrates the points below one at a time. Why each choice
(measured on a 2-core AVX-512 CPU with NumPy's OpenBLAS):

1. **Chunks of examples.** X (784 x 33,600 float32, 105 MB) does not fit in any cache, and
   the forward product ``W_1 X`` and the gradient ``dZ_1 X^T`` both read all of it. Running the
   whole forward and backward pass on about 1,000 examples at a time uses each chunk of X
   twice while it is in the cache, so X crosses the memory bus once per iteration instead of
   twice, and every activation buffer is a few hundred kB instead of tens of MB. The gradient
   is a sum over examples, so the chunks' gradients just add up. Each chunk is first copied
   into a buffer, one sequential read that the CPU prefetches well; the products then read
   it from the cache (for the article's network, 11 ms per iteration instead of 14).
2. **X is stored with one example per row** (``X^T: (m, n_0)``, copied once before training):
   a chunk is then one contiguous slice of memory and a mini-batch a gather of whole rows.
   Every other buffer holds the book's matrices, ``Z_l, A_l: (n_l, n)``.
3. **Preallocated buffers and in-place operations** (``out=``, ``+=``): no array of shape
   ``(n_l, m)`` is allocated per step, so no time goes to the allocator and page faults.
4. **No one-hot matrix.** ``dZ_L = A_L - Y`` is computed by subtracting 1 at row ``y_i`` of
   each column; the loss ``-log A_L[y_i, i] = log sum_k exp(Z_L[k, i] - c) - (Z_L[y_i, i] - c)``
   (c the column's max) comes from the logits already in the buffer, and stays finite even
   where ``A_L`` underflows to 0.
5. **Two blocks of examples in two threads, one BLAS thread each.** The two halves of a batch
   are independent until their gradients are added, and the optimiser's step is split in two
   halves of the parameter vector as well. OpenBLAS's own threads split products with a
   dimension of 10 poorly, and when another program used a core, their busy-waiting made one
   product 20x slower here; our threads just share the core.
6. **Narrow layers are multiplied in slices.** OpenBLAS multiplies small matrices
   (M N K <= 10^6) without first copying them into packed panels; for a layer of 10 units,
   slices of 112 examples ran at ~100 GFLOP/s instead of ~50 for one product over the chunk.
   One ``np.matmul`` call on a stack of slices runs them all, so Python is not in the loop.
7. **Bit-identical results.** The split into blocks, chunks and slices depends only on m and
   the batch, never on the number of cores or on timing, and partial sums are added in a fixed
   order, so a fixed seed gives the same bits on every run, with one thread or two, or with
   a worker process.
8. **Mini-batch steps in two processes.** A step on 128 examples is about a hundred short NumPy
   calls per block, and two threads hand the GIL to each other at nearly every one of them.
   Where it can (x86-64 Linux), :meth:`Workspace.train_step` runs block 1 and its half of the
   optimiser in a forked process instead, which meets the main process at two spinning
   barriers per step (:mod:`nnlib.fast.worker`): for the race's network, 0.55 s per epoch
   instead of 0.8. The parameters and both blocks' gradients then live in shared memory
   (``flatten_params(params, shared=True)``).
9. **Inputs that are 0 are skipped.** An input that is 0 in every example of a chunk adds
   nothing to ``Z_1 = W_1 X`` and its column of ``dW_1 = dZ_1 X^T`` is 0. MNIST's first and
   last rows of pixels are blank: in 64 images, the nonzero pixels span about 700 of the 784
   positions, so layer 1's products run on the columns lo..hi-1 of that span only (views, no
   copies), 11% less work where most of the work is.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

from . import worker

BLOCKS = 2               # blocks of examples per batch: fixed, so results do not depend on the cores
CHUNK_SIZE = 1024        # examples per chunk: a chunk of X (3.2 MB) and its activations stay in cache
SMALL_PRODUCT = 900_000  # multiply-adds per product below which OpenBLAS does not pack (point 6)


def flatten_params(params, shared=False):
    """One vector holding every parameter, weights first, and views of it shaped like ``params``.

    params: ``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}`` -> ``(vector, views)`` where
    ``vector`` is ``[W_1, ..., W_L, b_1, ..., b_L]`` flattened, (n_params,), and ``views`` is
    a dict with the same keys whose arrays share the vector's memory (a copy of ``params``).
    An optimiser then updates all the parameters with a handful of NumPy calls on one array,
    and the weights, which L2 decay touches, are one contiguous slice. ``shared=True`` puts
    the vector in memory that a worker process shares (point 8).
    """
    L = len(params) // 2
    keys = [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]
    vector = np.concatenate([params[key].ravel() for key in keys])
    if shared:
        vector = _shared_copy(vector)
    views, start = {}, 0
    for key in keys:
        size = params[key].size
        views[key] = vector[start:start + size].reshape(params[key].shape)
        start += size
    return vector, {key: views[key] for key in params}


def _shared_copy(array):
    copy = worker.shared_empty(array.shape, array.dtype)
    copy[...] = array
    return copy


def _zero_params(dims, dtype):
    return {f"{p}{l}": np.zeros((dims[l], dims[l - 1] if p == "W" else 1), dtype)
            for l in range(1, len(dims)) for p in "Wb"}


def _slice_size(n_out, n_in):
    """Examples per product for a layer of n_out units on n_in inputs (None: no slicing).

    Only narrow layers (n_out <= 16) gain: their products are cut into slices of at most
    SMALL_PRODUCT multiply-adds, a multiple of 16 examples.
    """
    if n_out > 16:
        return None
    return max(16, SMALL_PRODUCT // (n_out * n_in) // 16 * 16)


def _stacked(M, size):
    """The first k * size columns of M: (r, n) as k slices, a (k, r, size) view (k = n // size)."""
    k = M.shape[1] // size
    return M[:, :k * size].reshape(M.shape[0], k, size).transpose(1, 0, 2)


def _forward_product(W, A_prev, Z, size):
    """Z = W A_prev: (n_l, n_{l-1}) @ (n_{l-1}, n) -> (n_l, n), in slices of ``size`` columns.

    One np.matmul call multiplies all the full slices (NumPy loops over them in C, without
    the GIL); the rest of the columns, if any, take a second call.
    """
    n = A_prev.shape[1]
    if size is None or n < 2 * size:
        np.matmul(W, A_prev, out=Z)
        return
    np.matmul(W, _stacked(A_prev, size), out=_stacked(Z, size))
    done = n // size * size
    if done < n:
        np.matmul(W, A_prev[:, done:], out=Z[:, done:])


def _weight_gradient(dZ, A_prev, dW, stack, size):
    """dW = dZ A_prev^T: (n_l, n) @ (n, n_{l-1}), as a sum of one product per slice of columns.

    stack: a (k + 1, n_l, n_{l-1}) buffer for the products of the slices.
    """
    n = dZ.shape[1]
    if size is None or n < 2 * size:
        np.matmul(dZ, A_prev.T, out=dW)
        return
    stack = stack[:, :, :A_prev.shape[0]]  # A_prev may hold only some of the inputs (point 9)
    k = n // size
    np.matmul(_stacked(dZ, size), _stacked(A_prev, size).transpose(0, 2, 1), out=stack[:k])
    if k * size < n:
        np.matmul(dZ[:, k * size:], A_prev[:, k * size:].T, out=stack[k])
        k += 1
    np.sum(stack[:k], axis=0, out=dW)


def _nonzero_span(XT):
    """(lo, hi): the columns of XT outside lo..hi-1 are 0 in every row.

    XT: (n, n_0), C-contiguous; (0, 0) when every column is 0. An OR of the
    numbers' bits is 0 only for a column of zeros, and twice as fast as
    np.any (a -0.0 counts as nonzero: its column is kept, harmlessly).
    """
    bits = np.bitwise_or.reduce(XT.view(f"u{XT.dtype.itemsize}"), axis=0)
    nonzero = np.flatnonzero(bits)
    return (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (0, 0)


def _count_correct(Z, y, true_logit):
    """Columns of Z (already minus their max) whose prediction, argmax as in get_predictions, is y.

    A column's prediction is the row of its 0; comparing the label's entry with 0 is 2x faster
    than argmax. On a tie (two zeros in a column) argmax takes the first, so ties use argmax.
    """
    if np.count_nonzero(Z == 0) == Z.shape[1]:  # exactly one 0 per column: no ties
        return int(np.count_nonzero(true_logit == 0))
    return int(np.count_nonzero(np.argmax(Z, axis=0) == y))


def _view(buffer, rows, columns):
    """The first rows x columns numbers of a flat buffer as a C-contiguous matrix."""
    return buffer[:rows * columns].reshape(rows, columns)


class _Block:
    """The buffers one thread uses: activations and gradients for one block of examples."""

    def __init__(self, dims, n, dtype, slice_sizes, shared):
        self.n = n  # the most examples this block handles at once (a chunk or half a batch)
        self.XT = np.empty((n, dims[0]), dtype)            # a gathered mini-batch, one row each
        self.y = np.empty(n, np.int64)
        self.A = [None] + [np.empty(size * n, dtype) for size in dims[1:]]     # Z_l, then A_l
        self.dZ = [None] + [np.empty(size * n, dtype) for size in dims[1:-1]]  # dA_l, then dZ_l
        self.top = np.empty(n, dtype)                     # one number per example
        self.columns = np.arange(n)
        self.ones = np.ones(n, dtype)  # db = dZ @ ones: a sum over examples, 3x faster than .sum
        # the worker process and the main process read each other's gradients (point 8)
        self.grad_vector, self.grads = flatten_params(_zero_params(dims, dtype), shared)
        self.chunk_vector, self.chunk_grads = flatten_params(_zero_params(dims, dtype))
        # one weight gradient per slice, summed once per chunk
        self.slice_grads = [None] + [
            None if size is None else np.empty((n // size + 1, n_out, n_in), dtype)
            for size, n_out, n_in in zip(slice_sizes[1:], dims[1:], dims[:-1])]


class _OneBLASThread:
    """OpenBLAS on one thread while any Workspace of this process is open.

    OpenBLAS's limit (its pthreads build, NumPy's) is one number for the whole
    process, so Workspaces that nest or overlap, in any threads, share one
    limit: the first to open sets it, the last to close restores what it was
    before the first (restoring per Workspace, out of order, left the process
    at one thread for good). threadpoolctl >= 3.6 lets only the first thread
    that set a limit change it while that thread lives and silently ignores
    the others: a run in a background thread after one in the main thread ran
    on OpenBLAS's threads, 10x slower and with other bits. So the limiter
    hands that control back after each change.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.users = 0
        self.limiter = None  # threadpoolctl's: the limits before the first

    def acquire(self):
        with self.lock:
            if self.users == 0:
                self.limiter = _controlled(
                    lambda: threadpoolctl.threadpool_limits(1, "blas"))
            self.users += 1

    def release(self):
        with self.lock:
            self.users -= 1
            if self.users == 0:
                _controlled(self.limiter.restore_original_limits)
                self.limiter = None


def _controlled(change):
    """change() with control of OpenBLAS's limit taken, then handed back."""
    clear = getattr(threadpoolctl.OpenBLASController,
                    "clear_controlling_thread", None)
    if clear is not None:  # threadpoolctl < 3.6 has no controlling thread
        clear(force=True)
    result = change()
    if clear is not None:
        clear(force=True)
    return result


ONE_BLAS_THREAD = _OneBLASThread()


class Workspace:
    """Buffers and threads for fast training steps on X's examples.

    X: (n_0, m) float32 or float64, y: (m,) int labels (validated by the caller), layer_dims:
    [n_0, ..., n_L]. ``batch_size=None`` sizes the buffers for :meth:`gradients` on all m
    examples (full-batch gradient descent); a batch size sizes them for :meth:`train_step`
    on mini-batches. ``dropout_rng``, a ``np.random.Generator``, draws the dropout masks
    exactly as ``forward_prop`` does (one (n_l, B) array per hidden layer, in order), so a
    seed gives the plain engine's masks; ``threads`` defaults to the cores available, at
    most 2. With two, :meth:`train_step` runs its second block in a worker process where
    ``nnlib.fast.worker.available()`` (``processes=None``; True or False forces the choice),
    and everything else in a second thread.

    Use it as a context manager: inside, OpenBLAS runs one thread per product (the workspace's
    own thread or process splits the work), and the thread or process stops on exit.
    Workspaces may be used from any thread, several at once (each from one
    thread at a time): OpenBLAS gets its threads back when the last one closes
    (``ONE_BLAS_THREAD``), and their steps never overlap the fork of a
    worker process (``nnlib.fast.worker.FORK_GATE``).
    """

    def __init__(self, X, y, layer_dims, *, batch_size=None, chunk_size=CHUNK_SIZE, dropout_rng=None,
                 threads=None, processes=None):
        self.dims = list(layer_dims)
        self.L = len(self.dims) - 1
        self.XT = np.ascontiguousarray(X.T)  # (m, n_0): one example per row (point 2)
        self.y = np.asarray(y, dtype=np.int64)
        self.m = X.shape[1]
        self.slice_sizes = [None] + [_slice_size(n_out, n_in) for n_out, n_in in zip(self.dims[1:], self.dims[:-1])]
        if self.slice_sizes[1]:  # whole slices per chunk
            chunk_size = max(1, chunk_size // self.slice_sizes[1]) * self.slice_sizes[1]
        block_size = min(chunk_size, -(-(batch_size or self.m) // BLOCKS))
        if threads is None:
            threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        two = min(threads or 1, BLOCKS) > 1
        if processes is None:
            processes = two and batch_size is not None and worker.available()
        elif processes and not worker.available():
            raise ValueError("processes=True needs fork() on x86-64 Linux (nnlib.fast.worker.available())")
        self.processes = bool(processes)
        self.batch_size = batch_size or self.m
        self.blocks = [_Block(self.dims, block_size, X.dtype, self.slice_sizes, self.processes)
                       for _ in range(BLOCKS)]
        # the dropout masks D_l of the whole batch, drawn in this process for both blocks
        self.dropout_rng = dropout_rng
        allocate = worker.shared_empty if self.processes else np.empty
        self.masks = [None] + [allocate(n_l * self.batch_size, X.dtype) if dropout_rng else None
                               for n_l in self.dims[1:-1]]
        self.grad_vector, grads = flatten_params(_zero_params(self.dims, X.dtype))
        self.grads = {f"d{key}": value for key, value in grads.items()}
        self.n_weights = sum(self.dims[l] * self.dims[l - 1] for l in range(1, self.L + 1))
        self.param_vector = self.parts = None  # set by split()
        self.pool = ThreadPoolExecutor(1) if two and not self.processes else None
        self.worker = self.trained = None  # forked by the first train_step
        ONE_BLAS_THREAD.acquire()
        self.limited = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stop the thread or process and give OpenBLAS its threads back."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        if self.limited:
            ONE_BLAS_THREAD.release()
            self.limited = False

    def _in_parallel(self, task):
        """[task(0), task(1)]: task(1) in the other thread when there is one.

        NumPy's overflow warnings are silenced: a diverging loss is reported by
        the loop.
        """
        def quiet(k):
            with np.errstate(over="ignore", invalid="ignore"):
                return task(k)
        if self.pool is None:
            return [quiet(k) for k in range(BLOCKS)]
        other = self.pool.submit(quiet, 1)
        return [quiet(0), other.result()]

    def _draw_masks(self, dropout, B):
        """D_l = 1[u >= p] / (1 - p) for the hidden layers of a batch of B, as dropout_forward.

        The numbers come from ``dropout_rng`` in the order forward_prop draws them, so both
        engines drop the same units; each block then uses its own columns of each D_l.
        """
        scale = self.masks[1].dtype.type(1 / (1 - dropout)) if self.L > 1 else None
        for l in range(1, self.L):
            D = _view(self.masks[l], self.dims[l], B)
            self.dropout_rng.random(out=D, dtype=D.dtype)
            np.multiply(D >= dropout, scale, out=D)

    def _loss_and_gradients(self, params, columns, dropout):
        """Forward and backward pass on examples ``columns`` (None: all), block by block.

        Leaves each block's share of the gradients in ``block.grad_vector``; returns the
        mean loss and the accuracy.
        """
        with worker.FORK_GATE.computing():
            results = self._in_parallel(
                lambda k: self._block_share(k, params, columns, dropout))
        return self._mean(results, self.m if columns is None else len(columns))

    @staticmethod
    def _mean(results, m):
        """(mean loss, accuracy) from each block's (sum of losses, number correct)."""
        return sum(loss for loss, _ in results) / m, sum(correct for _, correct in results) / m

    def _block_share(self, k, params, columns, dropout):
        """Block k's forward and backward pass on its share of ``columns`` (None: all examples)."""
        m = self.m if columns is None else len(columns)
        start, stop = m * k // BLOCKS, m * (k + 1) // BLOCKS
        return self._run_block(params, columns, m, dropout, self.blocks[k], start, stop)

    def gradients(self, params):
        """Loss, accuracy and gradients on all m examples, for full-batch gradient descent.

        params: ``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}``. Returns ``(loss, accuracy,
        grads)``: the mean cross-entropy and the fraction of correct predictions of this
        forward pass (Python floats), and a dict ``dW1, db1, ...``: the same numbers as
        ``back_prop(forward_prop(X, params), params, y)``, up to rounding. ``grads`` is
        overwritten by the next call.
        """
        loss, accuracy = self._loss_and_gradients(params, None, 0.0)
        np.add(self.blocks[0].grad_vector, self.blocks[1].grad_vector, out=self.grad_vector)
        return loss, accuracy, self.grads

    def split(self, vector):
        """The parameter vector of :func:`flatten_params` cut into one part per block.

        Build one optimiser on each part; :meth:`train_step` runs them side by side. With a
        worker process, the vector must be shared: ``flatten_params(params, shared=True)``.
        """
        if self.processes and not worker.is_shared(vector):
            raise ValueError("this workspace trains in two processes: make the parameter vector "
                             "with flatten_params(params, shared=True)")
        self.param_vector = vector
        edges = [vector.size * k // BLOCKS for k in range(BLOCKS + 1)]
        self.parts = [slice(edges[k], edges[k + 1]) for k in range(BLOCKS)]
        return [vector[part] for part in self.parts]

    def weights_in_parts(self):
        """How many of the first entries of each part of :meth:`split` are weights W_l.

        The vector holds the weights first, then the biases: AdamW's decoupled decay shrinks
        those entries of each part and no others.
        """
        return [max(0, min(part.stop, self.n_weights) - part.start) for part in self.parts]

    def train_step(self, params, columns, optimizers, dropout=0.0, weight_decay=0.0):
        """One mini-batch step: forward and backward pass on ``columns``, then the optimisers.

        params: the views of :func:`flatten_params`; columns: (B,) indices of the examples;
        optimizers: one per part of :meth:`split`. The gradient is that of the batch's mean
        cross-entropy plus (λ / 2) sum_l ||W_l||² (coupled L2, λ = ``weight_decay``, weights
        only; AdamW's decoupled decay is the optimiser's own, so its loop passes 0), with
        inverted dropout: each hidden unit is zeroed with probability p = ``dropout`` and the
        kept ones are scaled by 1 / (1 - p). Returns the batch's ``(loss, accuracy)``, measured
        by its forward pass (with dropout), before the step.

        With a worker process, the first call forks it; it keeps training these ``params``
        with its copy of ``optimizers[1]``, so every later call must pass the same objects;
        each step hands it ``optimizers[1].learning_rate``, which the loop may change.
        """
        def forward_backward(k, columns, settings):
            return self._block_share(k, params, columns, settings[0])

        def optimize(k, settings):
            if k == 1:  # a worker process's copy of optimizers[1] takes the learning rate
                optimizers[1].learning_rate = settings[2]  # the loop set (a schedule)
            self._optimizer_part(k, optimizers[k], settings[1])

        if dropout:
            if self.dropout_rng is None:
                raise ValueError("dropout needs a Workspace made with a dropout_rng")
            self._draw_masks(dropout, len(columns))
        if not self.processes:
            with worker.FORK_GATE.computing():
                results = self._in_parallel(
                    lambda k: forward_backward(k, columns, (dropout,)))
                self._in_parallel(
                    lambda k: optimize(k, (dropout, weight_decay, optimizers[1].learning_rate)))
            return self._mean(results, len(columns))
        if self.worker is None:
            self.trained = (params, optimizers)
            self.worker = worker.WorkerProcess(forward_backward, optimize, self.batch_size,
                                               n_settings=3, n_results=2)
        elif self.trained[0] is not params or self.trained[1] is not optimizers:
            raise ValueError("the worker process trains the params and optimizers of the first "
                             "train_step; use a new Workspace for others")
        with np.errstate(over="ignore", invalid="ignore"), \
                worker.FORK_GATE.computing():
            results = self.worker.step(columns, (dropout, weight_decay,
                                                 optimizers[1].learning_rate),
                                       forward_backward, optimize)
        return self._mean(results, len(columns))

    def _optimizer_part(self, k, optimizer, weight_decay):
        """Optimiser k's step on its part: both blocks' gradients, plus weight decay."""
        part = self.parts[k]
        grad = np.add(self.blocks[0].grad_vector[part], self.blocks[1].grad_vector[part],
                      out=self.grad_vector[part])
        decayed = slice(part.start, min(part.stop, self.n_weights))  # weights come first
        if weight_decay and decayed.start < decayed.stop:
            grad[:decayed.stop - part.start] += weight_decay * self.param_vector[decayed]
        optimizer.step([grad])

    def _run_block(self, params, columns, m, dropout, block, start, stop):
        """Forward and backward pass over examples start..stop-1, by chunks.

        Leaves the sum over these examples of the gradients, each divided by
        m, in ``block.grads``; returns (sum of the per-example losses, number
        correct).
        """
        loss, correct = 0.0, 0
        if start == stop:
            block.grad_vector[:] = 0
        for first in range(start, stop, block.n):
            last = min(first + block.n, stop)
            if columns is None:  # one sequential copy brings the chunk into the cache (point 1)
                XT, y = block.XT[:last - first], self.y[first:last]
                np.copyto(XT, self.XT[first:last])
            else:  # gather the mini-batch's rows into the block's buffers
                XT, y = block.XT[:last - first], block.y[:last - first]
                np.take(self.XT, columns[first:last], axis=0, out=XT)
                np.take(self.y, columns[first:last], out=y)
            # the first chunk writes the block's gradients, the others add theirs
            grads = block.grads if first == start else block.chunk_grads
            # this chunk's columns of the batch's masks D_l: (n_l, m)
            masks = [None] + [_view(self.masks[l], self.dims[l], m)[:, first:last]
                              for l in range(1, self.L)] if dropout else None
            chunk_loss, chunk_correct = self._chunk(params, XT, y, m, masks, block, grads)
            if first != start:
                block.grad_vector += block.chunk_vector
            loss += chunk_loss
            correct += chunk_correct
        return loss, correct

    def _chunk(self, params, XT, y, m, masks, block, grads):
        """Forward pass, loss and backward pass on one chunk; gradients (/ m) into ``grads``.

        XT: (n, n_0), one example per row; y: (n,). Returns (sum of losses, number correct).
        """
        n, L, dims = XT.shape[0], self.L, self.dims
        # Layer 1's products skip the inputs that are 0 in every example of the chunk (point 9)
        lo, hi = _nonzero_span(XT)
        activations = [XT[:, lo:hi].T]  # A_0 = X: (n_0, n), its rows lo..hi-1, a view
        for l in range(1, L + 1):
            W = params[f"W{l}"] if l > 1 else params["W1"][:, lo:hi]
            Z, A_prev = _view(block.A[l], dims[l], n), activations[-1]
            _forward_product(W, A_prev, Z, self.slice_sizes[l])  # Z_l = W_l A_{l-1} ...
            Z += params[f"b{l}"]                           # ... + b_l
            if l < L:
                np.maximum(Z, 0, out=Z)                    # A_l = ReLU(Z_l), in place
                if masks:
                    np.multiply(Z, masks[l], out=Z)         # dropout: A_l ⊙ D_l
            activations.append(Z)

        # Softmax and cross-entropy from the logits Z_L: (n_L, n)
        Z, top, columns = activations[L], block.top[:n], block.columns[:n]
        np.max(Z, axis=0, out=top)
        Z -= top                                  # Z - max: exp never overflows
        true_logit = Z[y, columns]
        correct = _count_correct(Z, y, true_logit)
        np.exp(Z, out=Z)
        total = np.sum(Z, axis=0, out=top)
        Z /= total                                # A_L: each column sums to 1
        loss = float(np.sum(np.log(total, out=total), dtype=np.float64)
                     - np.sum(true_logit, dtype=np.float64))
        Z[y, columns] -= 1                        # dZ_L = A_L - Y
        Z *= 1 / m                                # so every gradient below is a mean over m

        dZ = Z
        for l in range(L, 0, -1):
            A_prev, dW = activations[l - 1], grads[f"W{l}"]
            if l == 1:  # inputs that are 0 in the whole chunk: dW_1's columns are 0
                dW[:, :lo] = 0
                dW[:, hi:] = 0
                dW = dW[:, lo:hi]
            _weight_gradient(dZ, A_prev, dW, block.slice_grads[l], self.slice_sizes[l])  # dW_l = dZ_l A_{l-1}^T
            np.matmul(dZ, block.ones[:n], out=grads[f"b{l}"][:, 0])  # db_l: sum over the examples
            if l > 1:
                dA = _view(block.dZ[l - 1], dims[l - 1], n)
                np.matmul(params[f"W{l}"].T, dZ, out=dA)       # dA_{l-1} = W_l^T dZ_l
                if masks:
                    np.multiply(dA, masks[l - 1], out=dA)      # dropout: dA ⊙ D_{l-1}
                np.multiply(dA, A_prev > 0, out=dA)            # ReLU'(Z) = 1 where A > 0
                dZ = dA
        return loss, correct
