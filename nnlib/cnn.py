"""Convolutional networks described by a list of layers (chapter "Training a
CNN").

The network of the chapter, for MNIST images (m, 1, 28, 28)::

    LENET = [Conv(8, 5, padding=2), ReLU(), MaxPool(2),
             Conv(16, 5, padding=2), ReLU(), MaxPool(2),
             Flatten(), Dense(10)]

Layers with weights, ``Conv`` and ``Dense``, are numbered l = 1..L as in the
dense chapters, and their parameters are keyed ``W1, b1, ..., WL, bL``:
kernels W_l: (C_l, C_(l-1), k, k) and b_l: (C_l,) for a convolution, W_l:
(n_l, n_(l-1)) and b_l: (n_l, 1) for a dense layer. The steps without
weights (``ReLU``, ``MaxPool``, ``Flatten``) belong to the layer before them,
and :func:`forward_prop` names each step's output after it: ``Z{l}`` for
Conv and Dense, ``A{l}`` for ReLU, ``P{l}`` for MaxPool, ``F{l}`` for
Flatten; ``A0`` is the input and ``A{L}`` the softmax of the last ``Z{L}``.

Images keep the layout every CNN library uses, examples first:
(m, C, n_H, n_W). ``Flatten`` turns them into the dense layers' layout,
examples as columns: (C n_H n_W, m), a transpose. The last layer must be a
Dense layer with one unit per class: its Z_L are the logits of the softmax
and of ``cross_entropy_from_logits``.
"""
import re
from dataclasses import dataclass

import numpy as np

from .activations import relu, relu_backward, softmax
from .checks import all_finite, check_labels, check_positive_int
from .conv import (conv2d_backward, conv2d_forward, conv_output_size,
                   maxpool_backward, maxpool_forward)
from .gradcheck import numerical_gradient, relative_error
from .losses import cross_entropy_from_logits, get_predictions, one_hot
from .network import linear_backward, linear_forward
from .params import init_scale


@dataclass(frozen=True)
class Conv:
    """A convolution: C = ``channels`` kernels of k x k (k = ``kernel_size``)
    over all the input channels, stride S, zero padding P."""
    channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class ReLU:
    """max(Z, 0), element-wise: images or columns."""


@dataclass(frozen=True)
class MaxPool:
    """The maximum of each ``pool`` x ``pool`` window (stride: ``pool``)."""
    pool: int = 2
    stride: int | None = None


@dataclass(frozen=True)
class Flatten:
    """Images (m, C, n_H, n_W) to columns (C n_H n_W, m): a transpose."""


@dataclass(frozen=True)
class Dense:
    """Z = W A + b on columns, as in the dense chapters."""
    units: int


LAYER_TYPES = (Conv, ReLU, MaxPool, Flatten, Dense)

#: The chapter's network for MNIST, 2 convolutions, 2 poolings and 1 dense layer.
LENET = [Conv(8, 5, padding=2), ReLU(), MaxPool(2),
         Conv(16, 5, padding=2), ReLU(), MaxPool(2),
         Flatten(), Dense(10)]

#: The letter of each step's output in the activations: Z3, A1, P2, F2
_LETTER = {Conv: "Z", Dense: "Z", ReLU: "A", MaxPool: "P", Flatten: "F"}


def is_layer_list(layers):
    """True when ``layers`` is a list of layers (a CNN), not layer sizes."""
    return isinstance(layers, (list, tuple)) and any(
        isinstance(layer, LAYER_TYPES) for layer in layers)


def layer_shapes(layers, input_shape=(1, 28, 28)):
    """Check a list of layers; one row per step, what it makes.

    input_shape: (C_0, n_H, n_W), one image. Returns a list of dicts with
    ``step`` (1, 2, ...), ``layer``, ``l`` (the layer with weights it
    belongs to), ``input`` and ``key`` (the names of its input and its
    output in the activations), ``shape``
    (its output's shape without m: (C, n_H, n_W) for images, (n,) for
    columns), ``W`` and ``b`` (parameter shapes, or None); the last row is
    the softmax. Raises ValueError naming the step, the layer and the shapes
    when a layer does not fit its input.
    """
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers must be a non-empty list of layers such as"
                         f" nnlib.cnn.LENET, got {layers!r}")
    shape = _check_input_shape(input_shape)
    rows, keys, l, previous = [], {"A0"}, 0, "A0"
    for step, layer in enumerate(layers, start=1):
        where = f"layer {step} of {len(layers)}, {layer!r}"
        if not isinstance(layer, LAYER_TYPES):
            raise ValueError(f"{where}: not a layer; use Conv, ReLU, MaxPool,"
                             f" Flatten or Dense of nnlib.cnn")
        W = b = None
        if isinstance(layer, (Conv, MaxPool)) and len(shape) != 3:
            raise ValueError(f"{where} takes images (m, C, n_H, n_W), but its"
                             f" input is columns {_show(shape)}: convolutions"
                             f" and pooling go before Flatten()")
        if isinstance(layer, Conv):
            l += 1
            shape, W, b = _conv_shape(layer, shape, where)
        elif isinstance(layer, MaxPool):
            shape = _pool_shape(layer, shape, where)
        elif isinstance(layer, Flatten):
            if len(shape) != 3:
                raise ValueError(f"{where}: its input {_show(shape)} is"
                                 f" already flat")
            shape = (shape[0] * shape[1] * shape[2],)
        elif isinstance(layer, Dense):
            if len(shape) != 1:
                raise ValueError(f"{where} takes columns (n, m), but its"
                                 f" input is images {_show(shape)}: put"
                                 f" Flatten() before it")
            l += 1
            units = _positive(layer.units, "units", where)
            shape, W, b = (units,), (units, shape[0]), (units, 1)
        key = f"{_LETTER[type(layer)]}{l}"
        if key in keys:
            raise ValueError(f"{where}: a second {type(layer).__name__} after"
                             f" layer l = {l} (its output would be {key}"
                             f" twice); merge them into one")
        keys.add(key)
        rows.append({"step": step, "layer": layer, "l": l, "input": previous,
                     "key": key, "shape": shape, "W": W, "b": b})
        previous = key
    if not isinstance(layers[-1], Dense):
        raise ValueError(f"the last layer is {layers[-1]!r}; it must be"
                         f" Dense(n_classes): its Z_L are the logits")
    rows.append({"step": len(layers) + 1, "layer": "softmax", "l": l,
                 "input": previous, "key": f"A{l}", "shape": shape,
                 "W": None, "b": None})
    return rows


def _check_input_shape(input_shape):
    shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) \
        else None
    if shape is None or len(shape) != 3 or not all(
            isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"input_shape must be (C, n_H, n_W) of one image,"
                         f" such as (1, 28, 28); got {input_shape!r}")
    return tuple(int(n) for n in shape)


def _positive(value, name, where, minimum=1):
    try:
        return check_positive_int(value, name, minimum)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _conv_shape(layer, shape, where):
    C = _positive(layer.channels, "channels", where)
    k = _positive(layer.kernel_size, "kernel_size", where)
    S = _positive(layer.stride, "stride", where)
    P = _positive(layer.padding, "padding", where, minimum=0)
    C_prev, H, W = shape
    if k > min(H, W) + 2 * P:
        raise ValueError(f"{where}: its {k} x {k} kernel is larger than its"
                         f" input {_show(shape)} padded by {P}:"
                         f" {H + 2 * P} x {W + 2 * P}")
    out = (C, conv_output_size(H, k, S, P), conv_output_size(W, k, S, P))
    return out, (C, C_prev, k, k), (C,)


def _pool_shape(layer, shape, where):
    pool = _positive(layer.pool, "pool", where)
    stride = pool if layer.stride is None else _positive(
        layer.stride, "stride", where)
    C, H, W = shape
    if pool > min(H, W):
        raise ValueError(f"{where}: its {pool} x {pool} window is larger than"
                         f" its input {_show(shape)}")
    return (C, conv_output_size(H, pool, stride),
            conv_output_size(W, pool, stride))


def _show(shape, m="m"):
    """(m, C, n_H, n_W) for an image shape, (n, m) for columns."""
    return str((m, *shape) if len(shape) == 3 else (*shape, m)).replace(
        "'", "")


def describe(layers, input_shape=(1, 28, 28), m="m"):
    """The shape table of a CNN: one dict per step, for a DataFrame.

    Keys: ``step``, ``layer`` (its text), ``output`` (the name in the
    activations), ``shape`` (with ``m``, a number or the symbol "m"),
    ``W``, ``b`` and ``parameters``.
    """
    rows = []
    for row in layer_shapes(layers, input_shape):
        W, b = row["W"], row["b"]
        rows.append({
            "step": row["step"], "layer": _text(row["layer"]),
            "output": row["key"], "shape": _show(row["shape"], m),
            "W": "" if W is None else str(W), "b": "" if b is None else str(b),
            "parameters": 0 if W is None else int(np.prod(W) + np.prod(b))})
    return rows


def _text(layer):
    if isinstance(layer, Conv):
        return (f"conv {layer.channels}, {layer.kernel_size}x"
                f"{layer.kernel_size}, S={layer.stride}, P={layer.padding}")
    if isinstance(layer, MaxPool):
        stride = "" if layer.stride is None else f", S={layer.stride}"
        return f"max pool {layer.pool}{stride}"
    if isinstance(layer, Dense):
        return f"dense {layer.units}"
    return layer if isinstance(layer, str) else type(layer).__name__


def count_params(layers, input_shape=(1, 28, 28)):
    """The number of weights and biases of the network."""
    return sum(row["parameters"] for row in describe(layers, input_shape))


def init_params(layers, input_shape=(1, 28, 28), seed=0, method="he",
                dtype=np.float32):
    """Random kernels and weights, zero biases, for the layers with weights.

    W_l is standard normal times ``init_scale(method, fan_in, fan_out)`` of
    nnlib.params, with fan_in = C_(l-1) k k for a convolution (the inputs of
    one output pixel) and n_(l-1) for a dense layer; He by default. Biases
    are zero, except with ``method="article"`` (drawn like the weights). As
    ``nnlib.init_params``: drawn in float64 from ``default_rng(seed)``, then
    cast to ``dtype``.
    """
    init_scale(method, 1, 1)  # rejects an unknown method before any draw
    rng = np.random.default_rng(seed)
    params = {}
    for row in layer_shapes(layers, input_shape):
        if row["W"] is None:
            continue
        W_shape, l = row["W"], row["l"]
        fan_in = int(np.prod(W_shape[1:]))
        fan_out = W_shape[0] * int(np.prod(W_shape[2:]))
        scale = init_scale(method, fan_in, fan_out)
        params[f"W{l}"] = (rng.standard_normal(W_shape)
                           * scale).astype(dtype)
        if method == "article":
            params[f"b{l}"] = (rng.standard_normal(row["b"])
                               * scale).astype(dtype)
        else:
            params[f"b{l}"] = np.zeros(row["b"], dtype=dtype)
    return params


def check_params(params, layers, input_shape=(1, 28, 28)):
    """Raise ValueError unless ``params`` holds W1, b1, ..., WL, bL of the
    shapes the layers give for images of ``input_shape``. Returns the rows
    of :func:`layer_shapes`."""
    rows = layer_shapes(layers, input_shape)
    shapes = {f"{name}{row['l']}": row[name] for row in rows
              for name in "Wb" if row[name] is not None}
    if not isinstance(params, dict) or set(params) != set(shapes):
        got = sorted(params) if isinstance(params, dict) else type(params)
        raise ValueError(f"params must hold {', '.join(shapes)} for these"
                         f" layers; got {got}")
    for key, shape in shapes.items():
        array = params[key]
        if not isinstance(array, np.ndarray) or array.shape != shape:
            got = getattr(array, "shape", type(array).__name__)
            raise ValueError(f"{key} has shape {got}, but the layers give"
                             f" {shape} for images {input_shape}")
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{key} must hold floats, got {array.dtype}")
    return rows


def is_cnn_params(params):
    """True when ``params`` look like a CNN's: a kernel W_l with 4 axes
    or a bias b_l with 1 (a dense network's are all 2-D)."""
    return isinstance(params, dict) and any(
        getattr(value, "ndim", 2) != 2 for value in params.values())


def check_param_shapes(params):
    """The shapes a CNN's parameters must have whatever its layers:
    W1, b1, ..., WL, bL; kernels W_l: (C_l, C_(l-1), k, k) with
    b_l: (C_l,), dense W_l: (n_l, n_(l-1)) with b_l: (n_l, 1); consecutive
    kernels agree on their channels, and so do consecutive dense layers.
    ValueError names the first array at fault."""
    L = sum(1 for key in params if key.startswith("W"))
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    if L == 0 or set(params) != expected:
        raise ValueError(f"params must hold W1, b1, ..., WL, bL; got keys"
                         f" {sorted(params)}")
    previous = None
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        for key, array in ((f"W{l}", W), (f"b{l}", b)):
            if not np.issubdtype(array.dtype, np.floating):
                raise ValueError(f"{key} must hold floats, got {array.dtype}")
        if W.ndim not in (2, 4) or W.ndim == 4 and W.shape[2] != W.shape[3]:
            raise ValueError(f"W{l} has shape {W.shape}: expected kernels"
                             f" (C, C_prev, k, k) or weights (n, n_prev)")
        bias = (W.shape[0],) if W.ndim == 4 else (W.shape[0], 1)
        if b.shape != bias:
            raise ValueError(f"b{l} has shape {b.shape} but W{l} has shape"
                             f" {W.shape}: expected {bias}")
        if previous is not None and previous.ndim == W.ndim and (
                previous.shape[0] != W.shape[1]):
            raise ValueError(f"W{l} has shape {W.shape} but layer {l - 1}"
                             f" has {previous.shape[0]} outputs")
        previous = W
    return L


def as_images(X, input_shape=(1, 28, 28)):
    """Columns X: (C n_H n_W, m), the dense chapters' layout, as images
    (m, C, n_H, n_W) of ``input_shape`` (C, n_H, n_W), examples first: a
    C-contiguous copy, so that a mini-batch of images is one block of memory.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] != int(np.prod(input_shape)):
        raise ValueError(f"X must be columns ({int(np.prod(input_shape))}, m)"
                         f" for images {tuple(input_shape)}, got shape"
                         f" {X.shape}")
    return np.ascontiguousarray(X.T.reshape(-1, *input_shape))


def check_images(X, input_shape=None, name="X"):
    """X must be float32 or float64 images (m, C, n_H, n_W) with m >= 1
    (of ``input_shape`` (C, n_H, n_W) when given)."""
    if not isinstance(X, np.ndarray) or X.ndim != 4:
        shape = getattr(X, "shape", type(X).__name__)
        hint = (f"; for MNIST columns (784, m) use nnlib.cnn.as_images({name})"
                if getattr(X, "ndim", 0) == 2 else "")
        raise ValueError(f"{name} must be images of shape (m, C, n_H, n_W),"
                         f" got {shape}{hint}")
    if X.dtype.type not in (np.float32, np.float64):
        raise ValueError(f"{name} must hold floats (float32 or float64), got"
                         f" dtype {X.dtype}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no examples: shape {X.shape}")
    if input_shape is not None and X.shape[1:] != tuple(input_shape):
        raise ValueError(f"{name} holds images {X.shape[1:]}, but the network"
                         f" was built for {tuple(input_shape)}")
    return X


def check_training_images(X, y, layers, name="X", input_shape=None):
    """Images X: (m, C, n_H, n_W) and labels y: (m,) to train ``layers``
    on (of ``input_shape`` when given): finite floats, labels 0..n_L - 1.
    ValueError names the problem; returns the rows of layer_shapes."""
    check_images(X, input_shape, name=name)
    rows = layer_shapes(layers, X.shape[1:])
    if not all_finite(X):
        raise ValueError(f"{name} holds NaN or infinite values; training on"
                         " them gives NaN: fix or drop those images")
    y_name = "y" if name == "X" else f"y{name[1:]}"
    check_labels(y, num_classes=rows[-1]["shape"][0], name=y_name)
    if len(y) != len(X):
        raise ValueError(f"{y_name} has {len(y)} labels but {name} has"
                         f" {len(X)} images")
    return rows


def forward_prop(X, params, layers):
    """The forward pass of a CNN, one layer after the other.

    X: (m, C_0, n_H, n_W) images -> dict with "A0" = X and each step's
    output under its key (module docstring): Z_l = conv2d_forward(...) or
    W_l A + b_l, A_l = ReLU(Z_l), P_l = max pool, F_l = the flattened
    columns (C n_H n_W, m), and A_L = softmax(Z_L): (n_L, m).
    """
    check_images(X)
    rows = check_params(params, layers, X.shape[1:])
    activations = {"A0": X}
    A = X
    for row in rows[:-1]:
        layer, l = row["layer"], row["l"]
        if isinstance(layer, Conv):  # (m, C_l, n_H, n_W)
            A = conv2d_forward(A, params[f"W{l}"], params[f"b{l}"],
                               layer.stride, layer.padding)
        elif isinstance(layer, ReLU):
            A = relu(A)
        elif isinstance(layer, MaxPool):
            A = maxpool_forward(A, layer.pool, layer.stride)
        elif isinstance(layer, Flatten):  # examples become columns
            A = A.reshape(A.shape[0], -1).T  # (C n_H n_W, m)
        else:  # Dense: (n_l, m)
            A = linear_forward(params[f"W{l}"], A, params[f"b{l}"])
        activations[row["key"]] = A
    activations[rows[-1]["key"]] = softmax(A)  # A_L: (n_L, m)
    return activations


def back_prop(activations, params, layers, y):
    """Gradients of the mean cross-entropy for every W_l and b_l of a CNN.

    activations: the dict of :func:`forward_prop`; y: (m,) integer labels.
    The steps in reverse, each turning dA, the gradient of m times the loss
    with respect to its output, into the gradient for its input; the
    layers with weights also give dW_l and db_l (with the 1/m). Starts from
    dZ_L = A_L - Y; stops after layer 1 (no gradient for the pixels).
    """
    rows = check_params(params, layers, activations["A0"].shape[1:])
    L = rows[-1]["l"]
    AL = activations[f"A{L}"]
    check_labels(y, m=AL.shape[1], num_classes=AL.shape[0])
    grads = {}
    dA = AL - one_hot(y, AL.shape[0], dtype=AL.dtype)  # dZ_L: (n_L, m)
    for row in reversed(rows[:-1]):  # the steps, last first
        layer, l, A_prev = row["layer"], row["l"], activations[row["input"]]
        if isinstance(layer, Dense):
            W = params[f"W{l}"] if l > 1 else None  # no dA_0 (the pixels)
            dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(
                dA, A_prev, W)
        elif isinstance(layer, Conv):
            dA, grads[f"dW{l}"], grads[f"db{l}"] = conv2d_backward(
                dA, A_prev, params[f"W{l}"], layer.stride, layer.padding,
                need_dA_prev=l > 1)
        elif isinstance(layer, ReLU):
            dA = relu_backward(dA, A_prev)
        elif isinstance(layer, MaxPool):
            dA = maxpool_backward(dA, A_prev, layer.pool, layer.stride)
        else:  # Flatten: columns back to images
            dA = dA.T.reshape(A_prev.shape)
        if l == 1 and isinstance(layer, (Conv, Dense)):
            break  # every gradient is known
    return grads


def predict(X, params, layers, batch_size=1000):
    """Predicted class of each image: X: (m, C, n_H, n_W) -> (m,) int64.

    The forward pass runs on ``batch_size`` images at a time: im2col's
    columns of 10,000 MNIST images would take 0.8 GB.
    """
    L = len(params) // 2
    return np.concatenate([
        get_predictions(forward_prop(X[first:first + batch_size], params,
                                     layers)[f"A{L}"])
        for first in range(0, len(X), batch_size)])


def evaluate(X, y, params, layers, batch_size=1000):
    """``(loss, accuracy)`` of the network on X: (m, C, n_H, n_W), y: (m,).

    The mean cross-entropy and the fraction of correct predictions, from
    the forward pass on ``batch_size`` images at a time.
    """
    L = len(params) // 2
    check_labels(y, m=len(X))
    loss_sum = correct = 0.0
    for first in range(0, len(X), batch_size):
        X_t, y_t = X[first:first + batch_size], y[first:first + batch_size]
        activations = forward_prop(X_t, params, layers)
        loss_sum += cross_entropy_from_logits(activations[f"Z{L}"], y_t) * (
            len(y_t))
        correct += np.count_nonzero(
            get_predictions(activations[f"A{L}"]) == y_t)
    return loss_sum / len(y), float(correct / len(y))


class Network:
    """A CNN as ``nnlib.train`` trains it: this module's functions on its
    layers, called as train calls the dense network's (the functions of
    nnlib.network, gathered in ``nnlib.training.DenseNetwork``).

    layers: a list of layers; input_shape: (C, n_H, n_W), one image.
    """

    def __init__(self, layers, input_shape):
        self.layers, self.input_shape = layers, tuple(input_shape)

    def init_params(self, seed, method, dtype):
        """:func:`init_params` for the layers and images of this shape."""
        return init_params(self.layers, self.input_shape, seed=seed,
                           method=method, dtype=dtype)

    def batch(self, X, batch):
        """The images ``batch`` of X: (B, C, n_H, n_W), examples first."""
        return X[batch]

    def forward_prop(self, X, params, dropout=0.0, rng=None):
        """:func:`forward_prop`; ``dropout`` must be 0 (train checks it)."""
        return forward_prop(X, params, self.layers)

    def back_prop(self, activations, params, y):
        """:func:`back_prop` on the layers."""
        return back_prop(activations, params, self.layers, y)

    def scores(self, params, X, y):
        """``(loss, accuracy)`` on images X and labels y: :func:`evaluate`."""
        return evaluate(X, y, params, self.layers)


def gradient_errors(params, X, y, layers, eps=1e-6):
    """Relative error of :func:`back_prop`'s gradient for each parameter
    array, against central differences of the mean cross-entropy.

    Computed in float64 (as nnlib.gradient_errors for dense networks):
    ``{"W1": error, "b1": error, ...}``, about 1e-7 or less when right.
    Each entry costs two forward passes: use a few small images.
    """
    params64 = {key: value.astype(np.float64)
                for key, value in params.items()}
    X64 = check_images(X).astype(np.float64)
    L = len(params) // 2
    grads = back_prop(forward_prop(X64, params64, layers), params64, layers,
                      y)

    def loss():
        return cross_entropy_from_logits(
            forward_prop(X64, params64, layers)[f"Z{L}"], y)

    return {key: relative_error(grads[f"d{key}"],
                                numerical_gradient(loss, value, eps))
            for key, value in params64.items()}


_TOKENS = {
    "conv": (r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?",
             lambda C, k, S, P: Conv(int(C), int(k), int(S or 1),
                                     int(P or 0))),
    "pool": (r"pool(\d+)(?:s(\d+))?",
             lambda n, S: MaxPool(int(n), None if S is None else int(S))),
    "relu": (r"relu", ReLU),
    "flatten": (r"flatten", Flatten),
    "dense": (r"dense(\d+)", lambda n: Dense(int(n))),
}


def parse_layers(text):
    """Layers from text, the command line's form of a CNN.

    "conv8k5p2,relu,pool2,flatten,dense10" is [Conv(8, 5, padding=2),
    ReLU(), MaxPool(2), Flatten(), Dense(10)]: conv{C}k{k}[s{S}][p{P}],
    relu, pool{n}[s{S}], flatten, dense{n}. ValueError names a part it
    cannot read.
    """
    layers = []
    for part in text.replace(" ", "").lower().split(","):
        for pattern, make in _TOKENS.values():
            match = re.fullmatch(pattern, part)
            if match:
                layers.append(make(*match.groups()))
                break
        else:
            raise ValueError(
                f"cannot read {part!r} in {text!r}: use conv{{C}}k{{k}}"
                f"[s{{S}}][p{{P}}], relu, pool{{n}}[s{{S}}], flatten or"
                f" dense{{n}}, such as {layers_text(LENET)}")
    return layers


def layers_text(layers):
    """The text :func:`parse_layers` reads back into ``layers``."""
    parts = []
    for layer in layers:
        if isinstance(layer, Conv):
            parts.append(f"conv{layer.channels}k{layer.kernel_size}"
                         + (f"s{layer.stride}" if layer.stride != 1 else "")
                         + (f"p{layer.padding}" if layer.padding else ""))
        elif isinstance(layer, MaxPool):
            parts.append(f"pool{layer.pool}" + (
                "" if layer.stride is None else f"s{layer.stride}"))
        elif isinstance(layer, Dense):
            parts.append(f"dense{layer.units}")
        else:
            parts.append(type(layer).__name__.lower())
    return ",".join(parts)
