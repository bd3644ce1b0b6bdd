"""Validation at the public boundary: one place, one message style.

Every public function of nnlib calls these before doing any maths, so a wrong
shape or dtype becomes a ``ValueError`` that names the problem and the values
involved, instead of a NumPy traceback three frames deep. Inner code trusts its
inputs.
"""
import math
from numbers import Integral, Real

import numpy as np

from .optimizers import OPTIMIZERS, SCHEDULES


def check_layer_dims(layer_dims):
    """Return ``layer_dims`` as a list of at least two positive ints."""
    try:
        dims = list(layer_dims)
    except TypeError:
        raise ValueError("layer_dims must be a list of layer sizes such as "
                         f"[784, 10, 10], got {layer_dims!r}") from None
    if len(dims) < 2:
        raise ValueError(
            "layer_dims needs at least 2 sizes (inputs and outputs), got "
            f"{dims}; for example [784, 10, 10]")
    for l, n in enumerate(dims):
        if isinstance(n, bool) or not isinstance(n, Integral) or n <= 0:
            raise ValueError(f"layer_dims[{l}] must be a positive integer, "
                             f"got {n!r} in {dims}")
    return [int(n) for n in dims]


def memory_needed(layer_dims, dtype, examples):
    """A lower bound on the bytes training needs.

    The parameters W_l, b_l and their gradients, and Z_l, A_l of every
    layer for ``examples`` columns; layer_dims: [n_0, ..., n_L].
    """
    weights = sum(n_in * n_out + n_out
                  for n_in, n_out in zip(layer_dims, layer_dims[1:]))
    units = sum(layer_dims[1:])
    return (2 * weights + 2 * units * examples) * np.dtype(dtype).itemsize


def available_memory():
    """Bytes of memory free for new arrays (Linux), or None when unknown.

    MemAvailable of /proc/meminfo: free memory plus the caches the kernel
    can drop.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(layer_dims, dtype, examples, name="layer_dims"):
    """Refuse layer sizes whose training would not fit in memory.

    A ValueError naming ``name`` and the GiB needed and available, before
    any array is made, instead of NumPy's MemoryError (or swapping) later.
    """
    needed = memory_needed(layer_dims, dtype, examples)
    available = available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"{name} {layer_dims} needs at least {needed / 2**30:,.1f} GiB "
            f"of memory ({np.dtype(dtype)} parameters, their gradients and "
            f"the activations of {examples} examples) but "
            f"{available / 2**30:,.1f} GiB are available: use smaller layers")


def check_learning_rate(learning_rate, name="learning_rate"):
    """Return ``learning_rate`` as a float, positive and finite."""
    if isinstance(learning_rate, bool) \
            or not isinstance(learning_rate, Real) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"{name} must be a positive finite number, "
                         f"got {learning_rate!r}")
    return float(learning_rate)


def check_positive_int(value, name, minimum=1):
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) \
            or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, "
                         f"got {value!r}")
    return int(value)


def check_seed(seed, name="seed"):
    """Return ``seed``: None (a fresh random start) or an integer >= 0."""
    if seed is None:
        return None
    return check_positive_int(seed, name, minimum=0)


def check_X(X, n_0=None, name="X"):
    """Check that X is a float32 or float64 array (n_0, m) with m >= 1.

    float16 is refused: Adam's eps (1e-8) and small squared gradients round
    to 0 in it, so its step divides by zero and training turns to NaN.
    """
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array of shape (n_0, m), "
                         f"got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with one example per column, shape (n_0, m); "
            f"got shape {X.shape}")
    if X.dtype.type not in (np.float32, np.float64):
        todo = (f"scale pixels with {name}.astype(np.float32) / 255"
                if np.issubdtype(X.dtype, np.integer)
                else f"convert it with {name}.astype(np.float32)")
        raise ValueError(f"{name} must hold floats (float32 or float64), got "
                         f"dtype {X.dtype}; {todo}")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns (examples): shape {X.shape}")
    if n_0 is not None and X.shape[0] != n_0:
        raise ValueError(f"{name} has {X.shape[0]} rows but layer 1 expects "
                         f"{n_0}")
    return X


def all_finite(array):
    """True when no value of ``array`` is NaN or infinite."""
    with np.errstate(over="ignore", invalid="ignore"):
        # A sum is finite only if every term is: one pass over the array,
        # twice as fast as np.isfinite on MNIST's training set. Only when it
        # is not (a NaN, an inf, or large values that overflow) do we look
        # at each value.
        return bool(np.isfinite(array.sum()) or np.isfinite(array).all())


def check_finite(X, name="X"):
    """Refuse NaN and infinite values in X, naming the first one.

    Training on them turns the loss to NaN at the first step.
    """
    if all_finite(X):
        return X
    bad = ~np.isfinite(X)
    count, (row, column) = np.count_nonzero(bad), np.argwhere(bad)[0]
    values = "values" if count > 1 else "value"
    raise ValueError(
        f"{name} holds {count} NaN or infinite {values}, the "
        f"first {name}[{row}, {column}] = {X[row, column]}; training on it "
        "gives NaN: fix or drop those examples (columns)")


def check_labels(y, m=None, num_classes=None, name="y"):
    """Check integer labels y of shape (m,) with values in [0, num_classes)."""
    if not isinstance(y, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array of integer labels, "
                         f"got {type(y).__name__}")
    if y.ndim != 1:
        hint = (" (integer labels, not the one-hot matrix Y)"
                if y.ndim == 2 else "")
        raise ValueError(f"{name} must be 1-D of shape (m,){hint}, got shape "
                         f"{y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype "
                         f"{y.dtype}")
    if m is not None and y.shape[0] != m:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {m} "
                         "columns (examples)")
    if y.size and num_classes is not None:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} holds label {bad}, outside 0..{num_classes - 1} "
                f"({num_classes} output units)")
    return y


def num_layers(params):
    """L, the number of layers with weights.

    ``params`` is a dict ``W1, b1, ..., WL, bL``.
    """
    if not isinstance(params, dict):
        raise ValueError("params must be a dict with keys W1, b1, ..., got "
                         f"{type(params).__name__}")
    L = sum(1 for key in params if key.startswith("W"))
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    if L == 0 or set(params) != expected:
        raise ValueError(
            f"params must hold W1, b1, ..., WL, bL; got keys {sorted(params)}")
    return L


def check_params(params):
    """Check consecutive shapes ``W_l: (n_l, n_{l-1})``, ``b_l: (n_l, 1)``.

    Returns layer_dims.
    """
    L = num_layers(params)
    dims = [None]
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        for key, array in ((f"W{l}", W), (f"b{l}", b)):
            if not isinstance(array, np.ndarray) or array.ndim != 2:
                raise ValueError(
                    f"{key} must be a 2-D array, got "
                    f"{getattr(array, 'shape', type(array).__name__)}")
            if not np.issubdtype(array.dtype, np.floating):
                raise ValueError(f"{key} must hold floats, got dtype "
                                 f"{array.dtype}")
        if l == 1:
            dims[0] = W.shape[1]
        elif W.shape[1] != dims[-1]:
            raise ValueError(
                f"W{l} has shape {W.shape} but layer {l - 1} has "
                f"{dims[-1]} units: expected ({W.shape[0]}, {dims[-1]})")
        if b.shape != (W.shape[0], 1):
            raise ValueError(f"b{l} has shape {b.shape} but W{l} has shape "
                             f"{W.shape}: expected ({W.shape[0]}, 1)")
        dims.append(W.shape[0])
    return dims


def check_fraction(value, name):
    """Return ``value`` as a float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, Real) \
            or not math.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_dropout(dropout, rng):
    """Return ``dropout`` as a float in [0, 1).

    A dropout above 0 needs ``rng``, a np.random.Generator.
    """
    dropout = check_fraction(dropout, "dropout")
    if dropout and not isinstance(rng, np.random.Generator):
        raise ValueError(f"dropout={dropout} draws its masks from rng, which "
                         "must be a np.random.Generator such as "
                         f"np.random.default_rng(0); got {rng!r}")
    return dropout


def check_weight_decay(value, name="weight_decay"):
    """Return ``value`` as a float >= 0, finite."""
    if isinstance(value, bool) or not isinstance(value, Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, "
                         f"got {value!r}")
    return float(value)


def check_decoupled_decay(weight_decay, learning_rate, names=(
        "weight_decay", "learning_rate")):
    """Refuse an AdamW decay that does not shrink the weights: α λ >= 1.

    Each step multiplies the weights by 1 - α λ, which must stay in (0, 1].
    ``names``: how the message names λ and α (the CLI's flags).
    """
    if learning_rate * weight_decay >= 1:
        decay, rate = names
        raise ValueError(
            f"{decay}={weight_decay:g} with optimizer 'adamw' and "
            f"{rate}={learning_rate:g} multiplies the weights by "
            f"1 - {learning_rate:g} * {weight_decay:g} = "
            f"{1 - learning_rate * weight_decay:g} at every step: use a "
            f"{decay} below {1 / learning_rate:g} (1 / {rate})")


def check_choice(value, choices, name):
    """Return ``value`` if it is one of ``choices`` (strings, maybe None)."""
    if value is None and None in choices:
        return value
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of "
                         f"{', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_training_data(X, y, layer_dims, name="X"):
    """Validate a training or evaluation pair against the network.

    X must match the first layer's size and hold finite values, y the last
    layer's.
    """
    check_X(X, layer_dims[0], name=name)
    check_finite(X, name=name)
    check_labels(y, m=X.shape[1], num_classes=layer_dims[-1],
                 name="y" if name == "X" else f"y{name[1:]}")


def check_pair(X, y, layer_dims, name):
    """Validate an optional evaluation pair (both given, or neither).

    Returns True when it is given.
    """
    if (X is None) != (y is None):
        raise ValueError(f"give both {name} and y{name[1:]}, or neither")
    if X is not None:
        check_training_data(X, y, layer_dims, name=name)
    return X is not None


def check_gradient_descent(X, y, layer_dims, learning_rate, iterations,
                           eval_every, X_test, y_test, seed):
    """The arguments of ``gradient_descent`` (both engines), checked once.

    Returns ``(layer_dims, learning_rate, iterations, eval_every, evaluate)``,
    where ``evaluate`` says whether test accuracy is recorded.
    """
    dims = check_layer_dims(layer_dims)
    learning_rate = check_learning_rate(learning_rate)
    iterations = check_positive_int(iterations, "iterations")
    eval_every = check_positive_int(eval_every, "eval_every", minimum=0)
    check_seed(seed)
    check_training_data(X, y, dims)
    evaluate = check_pair(X_test, y_test, dims, "X_test") and eval_every > 0
    # the forward pass on all m examples, or on X_test to evaluate
    examples = max(X.shape[1], X_test.shape[1] if evaluate else 0)
    check_memory(dims, X.dtype, examples)
    return dims, learning_rate, iterations, eval_every, evaluate


def check_train(X, y, layer_dims, epochs, batch_size, optimizer, learning_rate,
                weight_decay, dropout, X_val, y_val, seed, schedule=None,
                patience=None):
    """The arguments of ``train`` (both engines), checked once.

    ``learning_rate=None`` becomes the optimiser's default. Returns
    ``(layer_dims, epochs, batch_size, learning_rate, weight_decay, dropout,
    validate, patience)``, where ``validate`` says whether the validation
    loss and accuracy are recorded and ``patience`` is None or an int >= 1.
    ``layer_dims`` may be a CNN's list of layers (nnlib.cnn), returned as a
    list: then X and X_val are images, and ``dropout`` must be 0.
    """
    from . import cnn  # here, not at the top: nnlib.cnn imports this module
    if cnn.is_layer_list(layer_dims):
        return _check_train_cnn(
            X, y, list(layer_dims), epochs, batch_size, optimizer,
            learning_rate, weight_decay, dropout, X_val, y_val, seed,
            schedule, patience)
    dims = check_layer_dims(layer_dims)
    epochs, batch_size, learning_rate, weight_decay, dropout, patience = (
        check_train_settings(epochs, batch_size, optimizer, learning_rate,
                             weight_decay, dropout, seed, schedule,
                             patience))
    check_training_data(X, y, dims)
    validate = check_pair(X_val, y_val, dims, "X_val")
    check_patience(patience, validate)
    # the forward pass on a mini-batch, or on X_val to validate
    examples = max(min(batch_size, X.shape[1]),
                   X_val.shape[1] if validate else 0)
    check_memory(dims, X.dtype, examples)
    return (dims, epochs, batch_size, learning_rate, weight_decay, dropout,
            validate, patience)


def _check_train_cnn(X, y, layers, epochs, batch_size, optimizer,
                     learning_rate, weight_decay, dropout, X_val, y_val, seed,
                     schedule, patience):
    """check_train for a CNN: the same settings, images that fit layers."""
    from . import cnn
    epochs, batch_size, learning_rate, weight_decay, dropout, patience = (
        check_train_settings(epochs, batch_size, optimizer, learning_rate,
                             weight_decay, dropout, seed, schedule,
                             patience))
    if dropout:
        raise ValueError(f"dropout={dropout}: nnlib.cnn has no dropout;"
                         " train a CNN with dropout=0")
    cnn.check_training_images(X, y, layers)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    validate = X_val is not None
    if validate:
        cnn.check_training_images(X_val, y_val, layers, "X_val",
                                  X.shape[1:])
    check_patience(patience, validate)
    return (layers, epochs, batch_size, learning_rate, weight_decay, dropout,
            validate, patience)


def check_train_settings(epochs, batch_size, optimizer, learning_rate,
                         weight_decay, dropout, seed, schedule, patience):
    """The settings of ``train`` that do not depend on the network.

    Returns ``(epochs, batch_size, learning_rate, weight_decay, dropout,
    patience)``; ``learning_rate=None`` becomes the optimiser's default.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_choice(optimizer, list(OPTIMIZERS), "optimizer")
    if learning_rate is None:
        learning_rate = OPTIMIZERS[optimizer].default_learning_rate
    learning_rate = check_learning_rate(learning_rate)
    weight_decay = check_weight_decay(weight_decay)
    if optimizer == "adamw":
        check_decoupled_decay(weight_decay, learning_rate)
    dropout = check_fraction(dropout, "dropout")
    check_choice(schedule, SCHEDULES, "schedule")
    if patience is not None:
        patience = check_positive_int(patience, "patience")
    check_seed(seed)
    return epochs, batch_size, learning_rate, weight_decay, dropout, patience


def check_patience(patience, validate):
    """Early stopping watches the validation loss: it needs X_val, y_val."""
    if patience is not None and not validate:
        raise ValueError(
            f"patience={patience} stops training when the validation loss "
            "stops falling: give X_val and y_val too")
