"""The article's network, as published, with its defects kept.

A re-implementation, in our own words and structure, of the algorithm described
in Riccardo Andreoni, "Building a Deep Neural Network from Scratch using NumPy"
(Towards Data Science, 2023; code in
``andreoniriccardo/deep-neural-network-from-scratch``, which has no licence and
is not copied here). It exists for the Errata chapter, the gradient-check
demonstration and the benchmark: nothing else in nnlib imports it, and nothing
here should be used to train a model. The function names and signatures follow
the article, and match nnlib's where both exist, so a chapter can swap one for
the other.

Everything is float64, plain NumPy without speed tricks and without input
checks, because it is the baseline the benchmark times. Following the article,
``Y`` in this module is the vector of integer labels (the book's ``y``, shape
``(m,)``), except in :func:`cross_entropy`, which takes the one-hot matrix like
nnlib's; :func:`back_prop` and :func:`gradient_descent` build it with the
article's :func:`one_hot`.

Defects kept on purpose (numbers as in the book's list):

1. Last-layer bias gradient: :func:`back_prop` sets ``db_L = sum(dZ_L) / m``,
   one scalar (shape ``()``) over all units and examples, instead of one value
   per unit. Each column of ``A_L - Y`` sums to 0, so the scalar is ~0 and the
   output biases never learn.
2. Validation split: :func:`prepare_data` returns "validation" arrays cut from
   the whole shuffled array (rows = examples, untransposed, label column
   included); the held-out 20% is never returned on its own, and the article
   never uses the "validation" arrays.
3. Reported accuracy: :func:`gradient_descent` records accuracy and loss on the
   training data, from the forward pass *before* each update; no test accuracy
   is ever measured.
4. :func:`one_hot` sizes its matrix by ``Y.max() + 1``: labels without a 9 give
   9 rows, and ``A_L - one_hot(Y)`` in :func:`back_prop` then fails, or
   silently broadcasts (one row).
5. :func:`init_params` scales weights *and biases* by ``sqrt(1 / n_l)``
   (fan-out) instead of He's ``sqrt(2 / n_{l-1})`` (for ReLU) or Xavier's
   ``sqrt(2 / (n_{l-1} + n_l))``, and the biases start non-zero.
6. :func:`softmax` exponentiates without subtracting the column maximum: large
   logits give inf, then NaN. The loss (:func:`cross_entropy`) clips
   probabilities, which hides ``log(0)`` from underflow but not the NaN.
7. Reproducibility and tooling: the article shuffles and initialises with an
   unseeded global RNG (here ``seed=None``, the default, does the same; the
   book passes a seed). Its plotting defects (a matplotlib style name,
   ``seaborn-whitegrid``, that current matplotlib no longer has, a placeholder
   x-axis label, figures saved at 1200 dpi) are described in the book, not
   reproduced here.
"""

import numpy as np

# The loss clips probabilities into [_CLIP, 1 - _CLIP] (defect 6); the bound
# is ours.
_CLIP = 1e-15


def init_params(layer_dims, seed=None):
    """Draw the parameters the article's way (defects 5 and 7).

    ``W_l: (n_l, n_{l-1})`` and ``b_l: (n_l, 1)``, both standard normal times
    ``sqrt(1 / n_l)``: scaled by the layer's own width (fan-out), biases
    included. Drawn in float64 from ``np.random.default_rng(seed)``, ``W_l``
    then ``b_l`` for ``l = 1..L``; ``seed=None`` is unseeded, so two runs
    differ, as in the article.

    Returns ``{"W1": ..., "b1": ..., ..., f"W{L}": ..., f"b{L}": ...}``.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        scale = np.sqrt(1 / layer_dims[l])
        params[f"W{l}"] = rng.standard_normal(
            (layer_dims[l], layer_dims[l - 1])) * scale
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)) * scale
    return params


def relu(Z):
    """ReLU, ``max(Z, 0)`` element-wise. ``Z: (n_l, m)`` -> ``(n_l, m)``."""
    return np.maximum(Z, 0)


def relu_deriv(Z):
    """ReLU's derivative as the article writes it: the boolean mask ``Z > 0``.

    ``Z: (n_l, m)`` -> ``(n_l, m)`` bool; multiplying by it gives
    ``g'(Z) * dA``.
    """
    return Z > 0


def softmax(Z):
    """Softmax over each column WITHOUT the max shift (defect 6).

    ``exp(Z) / sum(exp(Z))``; ``Z: (n_L, m)`` -> ``(n_L, m)``. A logit above
    ~709 makes ``exp`` overflow to inf and the column becomes NaN. NumPy's
    overflow warnings are silenced so notebook cells stay clean; the NaN still
    comes out.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        expZ = np.exp(Z)
        return expZ / np.sum(expZ, axis=0)


def forward_prop(X, params):
    """Forward pass: ``Z_l = W_l A_{l-1} + b_l``, then ``A_l = g(Z_l)``.

    g is ReLU for ``l < L``, softmax for ``l = L``. ``X: (n_0, m)``. Returns
    ``{"A0": X, "Z1": ..., "A1": ..., ..., f"Z{L}", f"A{L}"}``, with
    ``Z_l, A_l: (n_l, m)``; ``A_L`` holds the class probabilities.
    """
    L = len(params) // 2
    activations = {"A0": X}
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ activations[f"A{l - 1}"] + params[f"b{l}"]
        activations[f"Z{l}"] = Z
        activations[f"A{l}"] = softmax(Z) if l == L else relu(Z)
    return activations


def one_hot(Y):
    """One-hot matrix of integer labels, sized by the largest label (defect 4).

    ``Y: (m,)`` integers -> ``(Y.max() + 1, m)`` float64, a 1 in row ``Y[i]``
    of column ``i``. A batch without a 9 gets fewer than 10 rows.
    """
    one_hot_Y = np.zeros((Y.max() + 1, Y.size))
    one_hot_Y[Y, np.arange(Y.size)] = 1
    return one_hot_Y


def back_prop(activations, params, Y):
    """Gradients of the mean cross-entropy, with the article's last-layer bias.

    That bias gradient is defect 1. ``activations``: the dict of
    :func:`forward_prop`; ``Y: (m,)`` integer labels, one-hot encoded here with
    :func:`one_hot` (defect 4). Output layer: ``dZ_L = A_L - one_hot(Y)``,
    ``dW_L = dZ_L A_{L-1}^T / m`` and ``db_L = sum(dZ_L) / m``, ONE scalar of
    shape ``()`` that is ~0 (each column of ``dZ_L`` sums to 0). Hidden layers
    are right: ``dZ_l = (W_{l+1}^T dZ_{l+1}) * relu'(Z_l)``,
    ``dW_l = dZ_l A_{l-1}^T / m`` and ``db_l: (n_l, 1)``, the per-unit mean
    over examples.

    Returns ``{"dW1": ..., "db1": ..., ..., f"dW{L}": ..., f"db{L}": ...}``.
    """
    L = len(params) // 2
    m = Y.size
    grads = {}
    dZ = activations[f"A{L}"] - one_hot(Y)
    grads[f"dW{L}"] = dZ @ activations[f"A{L - 1}"].T / m
    grads[f"db{L}"] = np.sum(dZ) / m
    for l in range(L - 1, 0, -1):
        dZ = params[f"W{l + 1}"].T @ dZ * relu_deriv(activations[f"Z{l}"])
        grads[f"dW{l}"] = dZ @ activations[f"A{l - 1}"].T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
    return grads


def update_params(params, grads, learning_rate):
    """One gradient-descent step: ``W_l - alpha dW_l``, ``b_l - alpha db_l``.

    Returns a new dict. With the scalar ``db_L`` of :func:`back_prop`, every
    output bias moves by the same ~0.
    """
    L = len(params) // 2
    updated = {}
    for l in range(1, L + 1):
        updated[f"W{l}"] = params[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        updated[f"b{l}"] = params[f"b{l}"] - learning_rate * grads[f"db{l}"]
    return updated


def cross_entropy(Y, AL):
    """Mean cross-entropy ``-(1/m) sum_i sum_k Y[k, i] log AL[k, i]``, clipped.

    The clipping is defect 6. ``Y: (n_L, m)`` one-hot labels (the book's ``Y``,
    as in nnlib's ``cross_entropy``); ``AL: (n_L, m)`` probabilities. Clipping
    to ``[1e-15, 1 - 1e-15]`` turns the ``log(0)`` of an underflowed
    probability into a finite ~34.5, hiding it; a NaN from an overflowed
    :func:`softmax` passes through clipping and the loss is NaN.
    """
    AL_clipped = np.clip(AL, _CLIP, 1 - _CLIP)
    return -np.sum(Y * np.log(AL_clipped)) / AL.shape[1]


def get_predictions(AL):
    """Predicted digit of each example, the row of its largest probability.

    ``AL: (n_L, m)`` -> ``(m,)`` integers.
    """
    return np.argmax(AL, axis=0)


def get_accuracy(predictions, Y):
    """Fraction of ``predictions: (m,)`` equal to the labels ``Y: (m,)``.

    A number in [0, 1].
    """
    return np.sum(predictions == Y) / Y.size


def prepare_data(data, seed=None):
    """Shuffle and split the Kaggle ``train.csv`` array the article's way.

    It carries defects 2 and 7. ``data: (rows, 785)``, one example per row,
    column 0 the label, then 784 pixels 0-255. The rows of a copy are shuffled
    with ``np.random.default_rng(seed)`` (unseeded when ``seed=None``, as in
    the article); the first 80% become the training set.

    Returns ``(X_train, Y_train, X_val, Y_val)``:

    - ``X_train: (784, m)`` float64 pixels divided by 255, ``Y_train: (m,)``
      labels, with ``m = int(0.8 * rows)``;
    - ``X_val: (rows, 785)``, the WHOLE shuffled array, untransposed, unscaled,
      label column included, and ``Y_val: (rows,)`` its column 0 (defect 2): it
      contains every training example, and the held-out 20% is never returned
      on its own.
    """
    data = np.array(data)
    np.random.default_rng(seed).shuffle(data)
    m = int(0.8 * data.shape[0])
    train = data[:m].T
    Y_train = train[0]
    X_train = train[1:] / 255
    X_val = data
    Y_val = data[:, 0]
    return X_train, Y_train, X_val, Y_val


def gradient_descent(X, Y, layer_dims, learning_rate=0.1, iterations=1000,
                     seed=None, verbose=True):
    """Full-batch gradient descent, the article's training loop.

    Defects 1-7 all apply. ``X: (n_0, m)`` float64 (cast nnlib's float32 images
    with ``X.astype(np.float64)``: a float32 ``X`` would be converted again in
    every product), ``Y: (m,)`` integer labels,
    ``layer_dims = [n_0, ..., n_L]``. Parameters come from :func:`init_params`
    with ``seed``. Each iteration runs one forward pass, back-propagates,
    updates, and records the accuracy and loss of THAT forward pass: the
    parameters before the update, on the training data (defect 3). With
    ``verbose``, prints ``Iteration: 10, accuracy: 0.123`` every 10 iterations.

    Returns ``(params, history)``; ``history`` holds lists ``"iteration"``
    (1, 2, ..., ``iterations``: iteration ``i`` measures the parameters after
    ``i - 1`` updates, as in nnlib's ``gradient_descent``), ``"loss"`` and
    ``"train_accuracy"``. The returned parameters, one update further on, are
    never measured.
    """
    L = len(layer_dims) - 1
    params = init_params(layer_dims, seed)
    history = {"iteration": [], "loss": [], "train_accuracy": []}
    for iteration in range(1, iterations + 1):
        activations = forward_prop(X, params)
        grads = back_prop(activations, params, Y)
        params = update_params(params, grads, learning_rate)
        AL = activations[f"A{L}"]
        accuracy = get_accuracy(get_predictions(AL), Y)
        history["iteration"].append(iteration)
        history["loss"].append(cross_entropy(one_hot(Y), AL))
        history["train_accuracy"].append(accuracy)
        if verbose and iteration % 10 == 0:
            print(f"Iteration: {iteration}, accuracy: {accuracy:.3f}")
    return params, history
