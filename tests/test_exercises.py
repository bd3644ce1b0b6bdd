"""The exercise checkers: the right solution passes, typical mistakes fail with a message that
names them, a stub is "not written yet", and every message is the same on every run."""
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nnlib
from nnlib import article, cnn, conv, exercises
from nnlib.images import center_digit, center_of_mass

CHECKERS = [
    "check_scale_pixels", "check_relu", "check_linear_forward", "check_softmax", "check_one_hot",
    "check_cross_entropy", "check_relu_backward", "check_linear_backward", "check_numerical_gradient",
    "check_update_params", "check_confusion_matrix", "check_adam_step", "check_center_digit",
    "check_mean_and_spread", "check_bias_gradient", "check_forward_prop", "check_back_prop",
    "check_training_loop", "check_conv_output_size", "check_conv_forward_one",
    "check_conv2d_forward", "check_maxpool_backward", "check_count_params",
    "check_receptive_field",
]


# Solutions to the exercises that nnlib has no public function for, written as a reader would.

def scale_pixels(images):
    return images.reshape(len(images), 784).T.astype(np.float32) / 255


def linear_forward(W, A_prev, b):
    return W @ A_prev + b


def linear_backward(dZ, A_prev, W):
    m = dZ.shape[1]
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = None if W is None else W.T @ dZ
    return dA_prev, dW, db


def adam_step(W, dW, v, s, t, learning_rate, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * dW
    s = beta2 * s + (1 - beta2) * dW ** 2
    v_hat, s_hat = v / (1 - beta1 ** t), s / (1 - beta2 ** t)
    return W - learning_rate * v_hat / (np.sqrt(s_hat) + eps), v, s


def mean_and_spread(values):
    return values.mean(axis=1), values.std(axis=1, ddof=1)


def bias_gradient(dZ):
    return np.sum(dZ, axis=1, keepdims=True) / dZ.shape[1]


def forward_prop(X, params):
    """The capstone of chapter 4, as a reader writes it: any depth, no dropout."""
    L = len(params) // 2
    activations = {"A0": X}
    A = X
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        if l < L:
            A = np.maximum(Z, 0)
        else:
            E = np.exp(Z - Z.max(axis=0, keepdims=True))
            A = E / E.sum(axis=0, keepdims=True)
        activations[f"Z{l}"], activations[f"A{l}"] = Z, A
    return activations


def back_prop(activations, params, y):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    m = AL.shape[1]
    dZ = AL - nnlib.one_hot(y, AL.shape[0], dtype=AL.dtype)
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ activations[f"A{l - 1}"].T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            dZ = (params[f"W{l}"].T @ dZ) * (activations[f"Z{l - 1}"] > 0)
    return grads


# The solution of chapter 6's capstone, as its dropdown shows it (test_the_chapters_solution
# checks that the two stay the same).
TRAINING_LOOP_SOLUTION = """\
def my_training_loop(X, y, layer_dims, learning_rate, iterations, seed):
    params = nnlib.init_params(layer_dims, seed=seed, dtype=X.dtype)
    L = len(layer_dims) - 1
    Y = nnlib.one_hot(y, layer_dims[-1], dtype=X.dtype)
    losses = []
    for _ in range(iterations):
        activations = my_forward_prop(X, params)
        losses.append(nnlib.cross_entropy(Y, activations[f"A{L}"]))
        grads = my_back_prop(activations, params, y)
        params = my_update_params(params, grads, learning_rate)
    return params, losses
"""


def _solution(my_forward_prop=forward_prop, my_back_prop=back_prop,
              my_update_params=nnlib.update_params):
    namespace = {"nnlib": nnlib, "my_forward_prop": my_forward_prop,
                 "my_back_prop": my_back_prop, "my_update_params": my_update_params}
    exec(TRAINING_LOOP_SOLUTION, namespace)
    return namespace["my_training_loop"]


my_training_loop = _solution()


# The solutions of chapter 10a's exercises, as its dropdowns show them (test_the_chapters_
# solutions_of_the_convolution_exercises checks that the two stay the same).
CONV_SOLUTIONS = {
    "my_conv_output_size": """\
def my_conv_output_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1
""",
    "my_conv_forward_one": """\
def my_conv_forward_one(a_prev, W, b, stride, padding):
    C, C_prev, k, _ = W.shape
    P, S = padding, stride
    a_pad = np.pad(a_prev, ((0, 0), (P, P), (P, P)))
    n_H = (a_prev.shape[1] + 2 * P - k) // S + 1
    n_W = (a_prev.shape[2] + 2 * P - k) // S + 1
    z = np.zeros((C, n_H, n_W), dtype=a_prev.dtype)
    for c in range(C):
        for h in range(n_H):
            for w in range(n_W):
                window = a_pad[:, h * S:h * S + k, w * S:w * S + k]
                z[c, h, w] = np.sum(W[c] * window) + b[c]
    return z
""",
    "my_conv2d_forward": """\
def my_conv2d_forward(A_prev, W, b, stride, padding):
    k, P, S = W.shape[2], padding, stride
    A_pad = np.pad(A_prev, ((0, 0), (0, 0), (P, P), (P, P)))
    # every k x k window: (m, C_prev, n_H, n_W, k, k), a view
    windows = np.lib.stride_tricks.sliding_window_view(
        A_pad, (k, k), axis=(2, 3))[:, :, ::S, ::S]
    # sum over c', p, q: (m, n_H, n_W, C)
    Z = np.tensordot(windows, W, axes=([1, 4, 5], [1, 2, 3]))
    return Z.transpose(0, 3, 1, 2) + b[:, None, None]
""",
    "my_maxpool_backward": """\
def my_maxpool_backward(dA, A_prev, pool):
    m, C, n_H, n_W = dA.shape
    dA_prev = np.zeros_like(A_prev)
    for h in range(n_H):
        for w in range(n_W):
            rows = slice(h * pool, (h + 1) * pool)
            cols = slice(w * pool, (w + 1) * pool)
            window = A_prev[:, :, rows, cols].reshape(m, C, -1)
            first = window.argmax(axis=2)  # the first maximum
            mask = np.zeros_like(window)
            np.put_along_axis(mask, first[..., None], 1, axis=2)
            mask = mask.reshape(m, C, pool, pool)
            dA_prev[:, :, rows, cols] += mask * dA[:, :, h:h + 1, w:w + 1]
    return dA_prev
""",
}


def _conv_solution(name):
    namespace = {"np": np}
    exec(CONV_SOLUTIONS[name], namespace)
    return namespace[name]


my_conv_output_size = _conv_solution("my_conv_output_size")
my_conv_forward_one = _conv_solution("my_conv_forward_one")
my_conv2d_forward = _conv_solution("my_conv2d_forward")
my_maxpool_backward = _conv_solution("my_maxpool_backward")


# The solutions of chapter 10b's exercises, as its dropdowns show them (test_the_chapters_
# solutions_of_the_cnn_exercises checks that the two stay the same).
CNN_SOLUTIONS = {
    "my_count_params": """\
def my_count_params(layers, input_shape):
    C, n_H, n_W = input_shape
    total = 0
    for layer in layers:
        if isinstance(layer, cnn.Conv):
            k, S, P = layer.kernel_size, layer.stride, layer.padding
            total += layer.channels * C * k * k + layer.channels
            C = layer.channels
            n_H = (n_H + 2 * P - k) // S + 1
            n_W = (n_W + 2 * P - k) // S + 1
        elif isinstance(layer, cnn.MaxPool):
            S = layer.stride or layer.pool
            n_H = (n_H - layer.pool) // S + 1
            n_W = (n_W - layer.pool) // S + 1
        elif isinstance(layer, cnn.Flatten):
            n = C * n_H * n_W  # the inputs of the first Dense layer
        elif isinstance(layer, cnn.Dense):
            total += layer.units * n + layer.units
            n = layer.units
    return total
""",
    "my_receptive_field": """\
def my_receptive_field(layers):
    r, j = 1, 1  # one pixel; neighbouring units 1 pixel apart
    for layer in layers:
        if isinstance(layer, cnn.Conv):
            k, S = layer.kernel_size, layer.stride
        elif isinstance(layer, cnn.MaxPool):
            k, S = layer.pool, layer.stride or layer.pool
        else:
            continue  # ReLU: one unit in, one unit out
        r, j = r + (k - 1) * j, j * S
    return r
""",
}


def _cnn_solution(name):
    namespace = {"np": np, "cnn": cnn}
    exec(CNN_SOLUTIONS[name], namespace)
    return namespace[name]


my_count_params = _cnn_solution("my_count_params")
my_receptive_field = _cnn_solution("my_receptive_field")


SOLUTIONS = {
    "check_scale_pixels": scale_pixels,
    "check_relu": nnlib.relu,
    "check_linear_forward": linear_forward,
    "check_softmax": nnlib.softmax,
    "check_one_hot": nnlib.one_hot,
    "check_cross_entropy": nnlib.cross_entropy,
    "check_relu_backward": nnlib.relu_backward,
    "check_linear_backward": linear_backward,
    "check_numerical_gradient": nnlib.numerical_gradient,
    "check_update_params": nnlib.update_params,
    "check_confusion_matrix": nnlib.confusion_matrix,
    "check_adam_step": adam_step,
    "check_center_digit": center_digit,
    "check_mean_and_spread": mean_and_spread,
    "check_bias_gradient": bias_gradient,
    "check_forward_prop": forward_prop,
    "check_back_prop": back_prop,
    "check_training_loop": my_training_loop,
    "check_conv_output_size": my_conv_output_size,
    "check_conv_forward_one": my_conv_forward_one,
    "check_conv2d_forward": my_conv2d_forward,
    "check_maxpool_backward": my_maxpool_backward,
    "check_count_params": my_count_params,
    "check_receptive_field": my_receptive_field,
}


def stub(*args):
    raise NotImplementedError


def test_every_checker_of_the_api_exists_and_takes_the_readers_function():
    assert sorted(SOLUTIONS) == sorted(CHECKERS)
    assert sorted(exercises.__all__) == sorted(CHECKERS + ["CheckResult"])
    for name in CHECKERS:
        assert list(inspect.signature(getattr(exercises, name)).parameters) == ["fn"]


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_right_solution_passes(checker):
    solution = SOLUTIONS[checker]
    result = getattr(exercises, checker)(solution)
    assert result.passed and bool(result), result.message
    assert result.message.startswith(f"passed: {solution.__name__} matches ")


@pytest.mark.parametrize("checker", CHECKERS)
def test_a_stub_is_not_implemented_yet(checker):
    result = getattr(exercises, checker)(stub)
    assert not result
    assert result.message == ("not written yet: fill in stub (it still raises NotImplementedError), "
                              "then run this cell again.")
    assert len(repr(result).split("\n")) == 2


@pytest.mark.parametrize("checker", CHECKERS)
def test_a_function_without_return_is_told_so(checker):
    def my_fn(*args):
        pass
    result = getattr(exercises, checker)(my_fn)
    assert not result
    assert result.message.startswith("failed: my_fn returned None for ")


def test_something_that_is_not_a_function_fails_plainly():
    result = exercises.check_relu(np.zeros((2, 2)))
    assert not result and result.message == "failed: expected a function, got ndarray"


# Typical mistakes, one or more per checker, and the words their message must contain.

def scale_pixels_float64(images):
    return images.reshape(len(images), 784).T / 255


def scale_pixels_without_transpose(images):
    return (images.reshape(784, len(images)) / 255).astype(np.float32)


def scale_pixels_not_divided(images):
    return images.reshape(len(images), 784).T.astype(np.float32)


def relu_in_place(Z):
    Z[Z < 0] = 0
    return Z


def relu_float64(Z):
    return np.maximum(Z, 0).astype(np.float64)


def relu_abs(Z):
    return np.abs(Z)


def linear_forward_without_bias(W, A_prev, b):
    return W @ A_prev


def linear_forward_transposed(W, A_prev, b):
    return (W @ A_prev + b).T


def softmax_over_whole_matrix(Z):
    E = np.exp(Z - Z.max())
    return E / E.sum()


def one_hot_article(y, num_classes):
    return article.one_hot(y).astype(np.float32)


def one_hot_float64(y, num_classes):
    Y = np.zeros((num_classes, y.size))
    Y[y, np.arange(y.size)] = 1
    return Y


def one_hot_transposed(y, num_classes):
    return nnlib.one_hot(y, num_classes).T


def cross_entropy_naive(Y, AL):
    return -np.sum(Y * np.log(AL)) / AL.shape[1]


def cross_entropy_summed(Y, AL):
    return -np.sum(Y * np.log(np.maximum(AL, 1e-30)))


def cross_entropy_per_example(Y, AL):
    return -np.sum(Y * np.log(np.maximum(AL, 1e-30)), axis=0)


def relu_backward_at_zero(dA, Z):
    return dA * (Z >= 0)


def relu_backward_mask_only(dA, Z):
    return Z > 0


def linear_backward_article_db(dZ, A_prev, W):
    dA_prev, dW, _ = linear_backward(dZ, A_prev, W)
    return dA_prev, dW, np.sum(dZ) / dZ.shape[1]


def linear_backward_db_without_keepdims(dZ, A_prev, W):
    dA_prev, dW, _ = linear_backward(dZ, A_prev, W)
    return dA_prev, dW, np.sum(dZ, axis=1) / dZ.shape[1]


def linear_backward_summed(dZ, A_prev, W):
    dA_prev, _, db = linear_backward(dZ, A_prev, W)
    return dA_prev, dZ @ A_prev.T, db


def linear_backward_dW_transposed(dZ, A_prev, W):
    dA_prev, _, db = linear_backward(dZ, A_prev, W)
    return dA_prev, A_prev @ dZ.T / dZ.shape[1], db


def linear_backward_dA_prev_for_layer_1(dZ, A_prev, W):
    dA_prev, dW, db = linear_backward(dZ, A_prev, W)
    return np.zeros_like(A_prev) if W is None else dA_prev, dW, db


def linear_backward_W_None_forgotten(dZ, A_prev, W):
    _, dW, db = linear_backward(dZ, A_prev, W)
    return W.T @ dZ, dW, db


def linear_backward_W_not_transposed(dZ, A_prev, W):
    _, dW, db = linear_backward(dZ, A_prev, W)
    return None if W is None else W @ dZ, dW, db


def linear_backward_dA_prev_averaged(dZ, A_prev, W):
    dA_prev, dW, db = linear_backward(dZ, A_prev, W)
    return None if W is None else dA_prev / dZ.shape[1], dW, db


def numerical_gradient_forward(f, x, eps):
    grad, f_0 = np.zeros_like(x), f()
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        grad[i] = (f() - f_0) / eps
        x[i] = saved
    return grad


def numerical_gradient_not_restored(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        f_plus = f()
        x[i] -= 2 * eps
        grad[i] = (f_plus - f()) / (2 * eps)
    return grad


def numerical_gradient_on_a_copy(f, x, eps):
    grad, probe = np.zeros_like(x), x.copy()
    for i in np.ndindex(x.shape):
        probe[i] += eps
        f_plus = f()
        probe[i] -= 2 * eps
        grad[i] = (f_plus - f()) / (2 * eps)
        probe[i] += eps
    return grad


def numerical_gradient_by_eps(f, x, eps):
    return 2 * nnlib.numerical_gradient(f, x, eps)


def numerical_gradient_restored_within_rounding(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        f_plus = f()
        x[i] -= 2 * eps
        f_minus = f()
        x[i] += eps
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def update_params_plus(params, grads, learning_rate):
    return {key: value + learning_rate * grads[f"d{key}"] for key, value in params.items()}


def update_params_weights_only(params, grads, learning_rate):
    return {key: value - learning_rate * grads[f"d{key}"] if key.startswith("W") else value
            for key, value in params.items()}


def update_params_in_place(params, grads, learning_rate):
    for key in params:
        params[key] -= learning_rate * grads[f"d{key}"]
    return params


def update_params_two_layers(params, grads, learning_rate):
    keys = [key for key in ("W1", "b1", "W2", "b2") if key in params]
    return {key: params[key] - learning_rate * grads[f"d{key}"] for key in keys}


def confusion_matrix_transposed(y, predictions, num_classes):
    return nnlib.confusion_matrix(predictions, y, num_classes)


def confusion_matrix_fancy_index(y, predictions, num_classes):
    C = np.zeros((num_classes, num_classes), dtype=np.int64)
    C[y, predictions] += 1
    return C


def confusion_matrix_sized_by_max(y, predictions, num_classes):
    K = max(y.max(), predictions.max()) + 1
    C = np.zeros((K, K), dtype=np.int64)
    np.add.at(C, (y, predictions), 1)
    return C


def confusion_matrix_float(y, predictions, num_classes):
    return nnlib.confusion_matrix(y, predictions, num_classes).astype(np.float64)


def adam_without_bias_correction(W, dW, v, s, t, learning_rate, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * dW
    s = beta2 * s + (1 - beta2) * dW ** 2
    return W - learning_rate * v / (np.sqrt(s) + eps), v, s


def adam_returns_corrected_moments(W, dW, v, s, t, learning_rate, beta1, beta2, eps):
    W, v, s = adam_step(W, dW, v, s, t, learning_rate, beta1, beta2, eps)
    return W, v / (1 - beta1 ** t), s / (1 - beta2 ** t)


def adam_eps_inside_sqrt(W, dW, v, s, t, learning_rate, beta1, beta2, eps):
    v = beta1 * v + (1 - beta1) * dW
    s = beta2 * s + (1 - beta2) * dW ** 2
    return W - learning_rate * (v / (1 - beta1 ** t)) / np.sqrt(s / (1 - beta2 ** t) + eps), v, s


def linear_backward_with_np_dot_and_mean(dZ, A_prev, W):
    dW = np.dot(dZ, A_prev.T) / A_prev.shape[1]
    db = dZ.mean(axis=1, keepdims=True)
    return (np.dot(W.T, dZ) if W is not None else None), dW, db


def center_digit_truncated(image):
    rows, cols = center_of_mass(image) if image.any() else (14, 14)
    return np.roll(image, (int(14 - rows), int(14 - cols)), axis=(0, 1))


def center_digit_with_roll(image):
    rows, cols = center_of_mass(image) if image.any() else (14, 14)
    return np.roll(image, (round(14 - rows), round(14 - cols)), axis=(0, 1))


def center_digit_blank_fails(image):
    total = image.sum()
    rows = (np.arange(28) @ image.sum(axis=1)) / total
    cols = (np.arange(28) @ image.sum(axis=0)) / total
    return np.roll(image, (int(round(14 - rows)), int(round(14 - cols))), axis=(0, 1))


def mean_and_spread_ddof0(values):
    return values.mean(axis=1), values.std(axis=1)


def mean_and_spread_over_points(values):
    return values.mean(axis=0), values.std(axis=0, ddof=1)


def bias_gradient_article(dZ):
    return np.sum(dZ) / dZ.shape[1]


def bias_gradient_summed(dZ):
    return np.sum(dZ, axis=1, keepdims=True)


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def forward_prop_without_bias(X, params):
    L = len(params) // 2
    activations, A = {"A0": X}, X
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A
        A = np.maximum(Z, 0) if l < L else _softmax(Z)
        activations[f"Z{l}"], activations[f"A{l}"] = Z, A
    return activations


def forward_prop_relu_last(X, params):
    L = len(params) // 2
    activations, A = {"A0": X}, X
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = np.maximum(Z, 0)
        activations[f"Z{l}"], activations[f"A{l}"] = Z, A
    return activations


def forward_prop_skips_last_layer(X, params):
    L = len(params) // 2
    activations, A = {"A0": X}, X
    for l in range(1, L):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = np.maximum(Z, 0)
        activations[f"Z{l}"], activations[f"A{l}"] = Z, A
    return activations


def forward_prop_two_layers_only(X, params):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"A0": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": _softmax(Z2)}


def forward_prop_softmax_over_whole_matrix(X, params):
    activations = forward_prop(X, params)
    L = len(params) // 2
    Z = activations[f"Z{L}"]
    E = np.exp(Z - Z.max())
    activations[f"A{L}"] = E / E.sum()
    return activations


def forward_prop_without_A0(X, params):
    activations = forward_prop(X, params)
    del activations["A0"]
    return activations


def forward_prop_returns_AL_and_cache(X, params):
    activations = forward_prop(X, params)
    return activations[f"A{len(params) // 2}"], activations


def back_prop_db_scalar(activations, params, y):
    grads = back_prop(activations, params, y)
    L = len(params) // 2
    AL = activations[f"A{L}"]
    grads[f"db{L}"] = np.sum(AL - nnlib.one_hot(y, AL.shape[0], dtype=AL.dtype)) / AL.shape[1]
    return grads


def _back_prop_with(activations, params, y, mean=True, transpose=True, mask=True):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    m = AL.shape[1] if mean else 1
    dZ = AL - nnlib.one_hot(y, AL.shape[0], dtype=AL.dtype)
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ activations[f"A{l - 1}"].T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            W = params[f"W{l}"]
            dA = (W.T if transpose else W) @ dZ
            dZ = dA * (activations[f"Z{l - 1}"] > 0) if mask else dA
    return grads


def back_prop_without_1_over_m(activations, params, y):
    return _back_prop_with(activations, params, y, mean=False)


def back_prop_W_not_transposed(activations, params, y):
    return _back_prop_with(activations, params, y, transpose=False)


def back_prop_without_relu_derivative(activations, params, y):
    return _back_prop_with(activations, params, y, mask=False)


def back_prop_dW_transposed(activations, params, y):
    return {key: value.T if key.startswith("dW") else value
            for key, value in back_prop(activations, params, y).items()}


def back_prop_keeps_dA(activations, params, y):
    grads = back_prop(activations, params, y)
    grads["dA1"] = activations["A1"]
    return grads


def back_prop_float64_Y(activations, params, y):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    Y = np.eye(AL.shape[0])[:, y]  # float64 whatever AL's dtype
    activations = dict(activations, **{f"A{L}": AL - Y + Y})
    return back_prop(activations, params, y)


def back_prop_ten_classes(activations, params, y):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    m = AL.shape[1]
    dZ = AL - nnlib.one_hot(y, 10, dtype=AL.dtype)
    return {f"dW{L}": dZ @ activations[f"A{L - 1}"].T / m}


def _training_loop_with(update_first=False, layers=None, seed=None, dtype=None, steps=None):
    def loop(X, y, layer_dims, learning_rate, iterations, seed_=None):
        params = nnlib.init_params(layer_dims, seed=seed_ if seed is None else seed,
                                   dtype=dtype or X.dtype)
        L = len(layer_dims) - 1
        losses = []
        for i in range(iterations):
            activations = forward_prop(X, params)
            if not update_first:
                losses.append(nnlib.cross_entropy_from_logits(activations[f"Z{L}"], y))
            grads = back_prop(activations, params, y)
            if steps is None or i < steps(iterations):
                for l in range(1, (layers or (lambda L: L))(L) + 1):
                    for p in "Wb":
                        params[f"{p}{l}"] = params[f"{p}{l}"] - learning_rate * grads[f"d{p}{l}"]
            if update_first:
                activations = forward_prop(X, params)
                losses.append(nnlib.cross_entropy_from_logits(activations[f"Z{L}"], y))
        return params, losses
    return loop


def training_loop_updates_before_the_loss(X, y, layer_dims, learning_rate, iterations, seed):
    return _training_loop_with(update_first=True)(X, y, layer_dims, learning_rate, iterations, seed)


def training_loop_forgets_the_last_layer(X, y, layer_dims, learning_rate, iterations, seed):
    loop = _training_loop_with(layers=lambda L: L - 1)
    return loop(X, y, layer_dims, learning_rate, iterations, seed)


def training_loop_with_seed_0(X, y, layer_dims, learning_rate, iterations, seed):
    return _training_loop_with(seed=0)(X, y, layer_dims, learning_rate, iterations, seed)


def training_loop_in_float32(X, y, layer_dims, learning_rate, iterations, seed):
    loop = _training_loop_with(dtype=np.float32)
    return loop(X, y, layer_dims, learning_rate, iterations, seed)


def training_loop_one_step_short(X, y, layer_dims, learning_rate, iterations, seed):
    loop = _training_loop_with(steps=lambda iterations: iterations - 1)
    return loop(X, y, layer_dims, learning_rate, iterations, seed)


def training_loop_returns_the_history(X, y, layer_dims, learning_rate, iterations, seed):
    return nnlib.gradient_descent(X, y, layer_dims, learning_rate, iterations, seed=seed,
                                  progress=False)


def training_loop_with_one_loss_too_many(X, y, layer_dims, learning_rate, iterations, seed):
    params, losses = my_training_loop(X, y, layer_dims, learning_rate, iterations, seed)
    L = len(layer_dims) - 1
    return params, losses + [nnlib.cross_entropy_from_logits(forward_prop(X, params)[f"Z{L}"], y)]


def conv_output_size_divided(n, k, stride, padding):
    return (n + 2 * padding - k) / stride + 1


def conv_output_size_padded_once(n, k, stride, padding):
    return (n + padding - k) // stride + 1


def conv_output_size_without_one(n, k, stride, padding):
    return (n + 2 * padding - k) // stride


def conv_forward_one_flipped(a_prev, W, b, stride, padding):
    return my_conv_forward_one(a_prev, W[:, :, ::-1, ::-1], b, stride, padding)


def conv_forward_one_without_bias(a_prev, W, b, stride, padding):
    return my_conv_forward_one(a_prev, W, np.zeros_like(b), stride, padding)


def conv_forward_one_unpadded(a_prev, W, b, stride, padding):
    return my_conv_forward_one(a_prev, W, b, stride, 0)


def conv2d_forward_every_position(A_prev, W, b, stride, padding):
    return my_conv2d_forward(A_prev, W, b, 1, padding)


def conv2d_forward_in_float64(A_prev, W, b, stride, padding):
    return my_conv2d_forward(A_prev.astype(np.float64), W, b, stride, padding)


def maxpool_backward_every_maximum(dA, A_prev, pool):
    m, C, n_H, n_W = dA.shape
    dA_prev = np.zeros_like(A_prev)
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = slice(h * pool, (h + 1) * pool), slice(w * pool, (w + 1) * pool)
            window = A_prev[:, :, rows, cols]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dA_prev[:, :, rows, cols] += mask * dA[:, :, h:h + 1, w:w + 1]
    return dA_prev


def maxpool_backward_mask_only(dA, A_prev, pool):
    return (my_maxpool_backward(dA, A_prev, pool) != 0).astype(A_prev.dtype)


def _count_params_with(name, biases="channel", depth=True, pooled=True, padded=True,
                       strided=True, flat_channels=True):
    """my_count_params with one typical mistake, called ``name``."""
    def count(layers, input_shape):
        C, n_H, n_W = input_shape
        total = n = 0
        for layer in layers:
            if isinstance(layer, cnn.Conv):
                k = layer.kernel_size
                S, P = (layer.stride if strided else 1), (layer.padding if padded else 0)
                n_H, n_W = (n_H + 2 * P - k) // S + 1, (n_W + 2 * P - k) // S + 1
                weights = layer.channels * (C if depth else 1) * k * k
                total += weights + {"channel": layer.channels, "none": 0, "weight": weights,
                                    "pixel": layer.channels * n_H * n_W}[biases]
                C = layer.channels
            elif isinstance(layer, cnn.MaxPool) and pooled:
                S = layer.stride or layer.pool
                n_H, n_W = (n_H - layer.pool) // S + 1, (n_W - layer.pool) // S + 1
            elif isinstance(layer, cnn.Flatten):
                n = (C if flat_channels else 1) * n_H * n_W
            elif isinstance(layer, cnn.Dense):
                total += layer.units * n + (0 if biases == "none" else layer.units)
                n = layer.units
        return total
    count.__name__ = name
    return count


count_params_without_biases = _count_params_with("count_params_without_biases", biases="none")
count_params_bias_per_kernel_weight = _count_params_with(
    "count_params_bias_per_kernel_weight", biases="weight")
count_params_bias_per_pixel = _count_params_with("count_params_bias_per_pixel", biases="pixel")
count_params_kernels_without_input_channels = _count_params_with(
    "count_params_kernels_without_input_channels", depth=False)
count_params_flatten_without_channels = _count_params_with(
    "count_params_flatten_without_channels", flat_channels=False)
count_params_unpooled = _count_params_with("count_params_unpooled", pooled=False)
count_params_unpadded = _count_params_with("count_params_unpadded", padded=False)
count_params_without_stride = _count_params_with("count_params_without_stride", strided=False)


def count_params_pool_stride_ignored(layers, input_shape):
    return my_count_params([cnn.MaxPool(layer.pool) if isinstance(layer, cnn.MaxPool) else layer
                            for layer in layers], input_shape)


def count_params_emptying_the_list(layers, input_shape):
    total = my_count_params(layers, input_shape)
    layers.clear()
    return total


def count_params_as_a_float(layers, input_shape):
    return my_count_params(layers, input_shape) + 0.5


def _receptive_field_with(name, grow=lambda k: k - 1, jump=True, pool_jump=True,
                          conv_jump=True, jump_first=False, start=1, pools=True):
    """my_receptive_field with one typical mistake, called ``name``."""
    def field(layers):
        r, j = start, 1
        for layer in layers:
            if isinstance(layer, cnn.Conv):
                k, S = layer.kernel_size, layer.stride if conv_jump else 1
            elif isinstance(layer, cnn.MaxPool) and pools:
                k, S = layer.pool, (layer.stride or layer.pool) if pool_jump else 1
            else:
                continue
            if not jump:
                S = 1
            if jump_first:
                j *= S
            r += grow(k) * j
            if not jump_first:
                j *= S
        return r
    field.__name__ = name
    return field


receptive_field_adding_k = _receptive_field_with("receptive_field_adding_k", grow=lambda k: k)
receptive_field_without_jump = _receptive_field_with("receptive_field_without_jump", jump=False)
receptive_field_pooling_does_not_jump = _receptive_field_with(
    "receptive_field_pooling_does_not_jump", pool_jump=False)
receptive_field_conv_stride_does_not_jump = _receptive_field_with(
    "receptive_field_conv_stride_does_not_jump", conv_jump=False)
receptive_field_jump_first = _receptive_field_with("receptive_field_jump_first", jump_first=True)
receptive_field_from_0 = _receptive_field_with("receptive_field_from_0", start=0)
receptive_field_without_pooling = _receptive_field_with(
    "receptive_field_without_pooling", pools=False)


def receptive_field_multiplied(layers):
    r = 1
    for layer in layers:
        if isinstance(layer, (cnn.Conv, cnn.MaxPool)):
            r *= layer.kernel_size if isinstance(layer, cnn.Conv) else layer.pool
    return r


def receptive_field_pool_stride_ignored(layers):
    return my_receptive_field([cnn.MaxPool(layer.pool) if isinstance(layer, cnn.MaxPool)
                               else layer for layer in layers])


def receptive_field_with_padding(layers):
    return my_receptive_field(layers) + sum(2 * layer.padding for layer in layers
                                            if isinstance(layer, cnn.Conv))


def receptive_field_of_relu(layers):
    r, j = 1, 1
    for layer in layers:
        k = layer.kernel_size if isinstance(layer, cnn.Conv) else layer.pool
        r, j = r + (k - 1) * j, j * (layer.stride or k)
    return r


MISTAKES = [
    ("check_scale_pixels", scale_pixels_float64, ["X of dtype float64, expected float32",
                                                  ".astype(np.float32)"]),
    ("check_scale_pixels", scale_pixels_without_transpose, ["X[0, 1] = ", "read row by row"]),
    ("check_scale_pixels", scale_pixels_not_divided, ["X[0, 0] = 255, expected 1", "divide by 255"]),
    ("check_relu", relu_in_place, ["changed its input Z in place"]),
    ("check_relu", relu_float64, ["A of dtype float64, expected float32", "keep the input's dtype"]),
    ("check_relu", relu_abs, ["expected 0", "max(Z, 0)"]),
    ("check_linear_forward", linear_forward_without_bias, ["Z[0, 0] = ", "b was not added"]),
    ("check_linear_forward", linear_forward_transposed, ["Z of shape (5, 3), expected (3, 5)"]),
    ("check_softmax", article.softmax, ["returned nan in A[0, 0]", "logits of 1000",
                                        "subtract the column maximum before exp"]),
    ("check_softmax", softmax_over_whole_matrix, ["sums to", "normalise each column on its own"]),
    ("check_one_hot", one_hot_article, ["Y of shape (9, 7), expected (10, 7)", "not y.max() + 1"]),
    ("check_one_hot", one_hot_float64, ["Y of dtype float64, expected float32", "dtype=np.float32"]),
    ("check_one_hot", one_hot_transposed, ["so column 6 has its 1 in row 0"]),
    ("check_cross_entropy", cross_entropy_naive, ["returned nan", "AL = 0 where Y = 0", "0 * log(0) is nan"]),
    ("check_cross_entropy", cross_entropy_summed, ["the loss = ", "the sum over the m = 5 examples"]),
    ("check_cross_entropy", cross_entropy_per_example, ["an array of shape (1,)", "one number"]),
    ("check_relu_backward", relu_backward_at_zero, ["dZ[0, 0] = ", "expected 0",
                                                    "Z[0, 0] = 0: the derivative at 0 is taken as 0"]),
    ("check_relu_backward", relu_backward_mask_only, ["dtype bool", "do not return the mask"]),
    ("check_linear_backward", linear_backward_article_db, ["db of shape (), expected (1, 1)",
                                                           "the article's bug"]),
    ("check_linear_backward", linear_backward_db_without_keepdims, ["db of shape (1,)", "keepdims=True"]),
    ("check_linear_backward", linear_backward_summed, ["dW[0, 0] = ", "sum over the m = 3 examples",
                                                       "divide by m"]),
    ("check_linear_backward", linear_backward_dW_transposed, ["dW[0, 1] = ", "that is dW transposed",
                                                              "dW = dZ @ A_prev.T / m"]),
    ("check_linear_backward", linear_backward_dA_prev_for_layer_1, ["returned a dA_prev for ",
                                                                    "W = None (layer 1",
                                                                    "return None for it), expected None"]),
    ("check_linear_backward", linear_backward_W_None_forgotten, [
        "raised AttributeError: 'NoneType' object has no attribute 'T'", "W = None (layer 1",
        "return None for it"]),
    ("check_linear_backward", linear_backward_W_not_transposed, ["dA_prev[0, 0] = ", "that is W @ dZ",
                                                                 "dA_prev = W.T @ dZ"]),
    ("check_linear_backward", linear_backward_dA_prev_averaged, ["dA_prev[0, 0] = ", "has no 1/m"]),
    ("check_numerical_gradient", numerical_gradient_forward, ["grad[0] = ", "forward difference",
                                                              "central differences"]),
    ("check_numerical_gradient", numerical_gradient_not_restored, ["left x changed", "put each entry back"]),
    ("check_numerical_gradient", numerical_gradient_on_a_copy, ["all zeros", "f reads x itself"]),
    ("check_numerical_gradient", numerical_gradient_by_eps, ["divide by 2 eps"]),
    ("check_update_params", update_params_plus, ["W1[0, 0] = ", "moves up the gradient"]),
    ("check_update_params", update_params_weights_only, ["b1[0, 0] = ", "b1 was not updated"]),
    ("check_update_params", update_params_in_place, ["changed its input params['W1'] in place"]),
    ("check_update_params", update_params_two_layers, ["missing ['W3', 'b3']"]),
    ("check_confusion_matrix", confusion_matrix_transposed, ["transposed: rows are the true labels"]),
    ("check_confusion_matrix", confusion_matrix_fancy_index, ["counts a repeated pair once", "np.add.at"]),
    ("check_confusion_matrix", confusion_matrix_sized_by_max, ["C of shape (8, 8), expected (10, 10)",
                                                               "use num_classes"]),
    ("check_confusion_matrix", confusion_matrix_float, ["dtype float64, expected integer counts"]),
    ("check_adam_step", adam_without_bias_correction, ["W[0, 0] = ", "t = 1", "without bias correction"]),
    ("check_adam_step", adam_returns_corrected_moments, ["v[0, 0] = ", "the moving average itself"]),
    ("check_adam_step", adam_eps_inside_sqrt, ["eps = 0.1", "eps goes outside the square root"]),
    ("check_center_digit", center_digit_truncated, ["centre of mass at", "within half a pixel of (14, 14)",
                                                    "round(14 - row)"]),
    ("check_center_digit", center_digit_blank_fails, ["no ink", "return it unchanged"]),
    ("check_mean_and_spread", mean_and_spread_ddof0, ["std[0] = ", "ddof=1"]),
    ("check_mean_and_spread", mean_and_spread_over_points, ["mean of shape (2,), expected (1,)", "axis=1"]),
    ("check_bias_gradient", bias_gradient_article, ["db of shape (), expected (1, 1)", "the article's bug"]),
    ("check_bias_gradient", bias_gradient_summed, ["db[0, 0] = ", "divide by m"]),
    ("check_forward_prop", forward_prop_without_bias, ["Z1[0, 0] = ", "b1 was not added"]),
    ("check_forward_prop", forward_prop_relu_last, ["A2[0, 0] = ", "the last layer is softmax"]),
    ("check_forward_prop", forward_prop_skips_last_layer, ["a dict without Z2, A2",
                                                           "every layer, l = 1, ..., L"]),
    ("check_forward_prop", forward_prop_two_layers_only, ["a dict without Z3, A3",
                                                          "layer_dims = [2, 4, 2, 2]"]),
    ("check_forward_prop", forward_prop_softmax_over_whole_matrix, ["A2[0, 0] = ", "sum to 1",
                                                                    "axis=0"]),
    ("check_forward_prop", forward_prop_without_A0, ["a dict without A0", 'keep X under "A0"']),
    ("check_forward_prop", forward_prop_returns_AL_and_cache, ["returned a tuple", "a dict with keys "
                                                               "A0, Z1, A1, Z2, A2"]),
    ("check_back_prop", back_prop_db_scalar, ["db2 of shape (), expected (5, 1)", "the article's bug"]),
    ("check_back_prop", back_prop_without_1_over_m, ["dW2[0, 0] = ", "sum over the m = 6 examples",
                                                     "divide by m"]),
    ("check_back_prop", back_prop_W_not_transposed, ["dW1[0, 0] = ", "that is W2 @ dZ2",
                                                     "dA1 = W2.T @ dZ2"]),
    ("check_back_prop", back_prop_without_relu_derivative, ["dW1[0, 0] = ", "dZ1 = dA1 * (Z1 > 0)"]),
    ("check_back_prop", back_prop_dW_transposed, ["dW2[0, 1] = ", "that is dW2 transposed"]),
    ("check_back_prop", back_prop_keeps_dA, ["with the extra key dA1", "only the gradients"]),
    ("check_back_prop", back_prop_float64_Y, ["dW2 of dtype float64, expected float32",
                                              "dtype=AL.dtype"]),
    ("check_back_prop", back_prop_ten_classes, ["raised ValueError", "layer_dims = [4, 5, 5]"]),
    ("check_training_loop", training_loop_updates_before_the_loss, [
        "losses[0] = ", "(the loss before step 1)", "the loss after the first step"]),
    ("check_training_loop", training_loop_forgets_the_last_layer, [
        "W2[0, 0] = ", "iterations = 1,", "W2 was not updated"]),
    ("check_training_loop", training_loop_with_seed_0, ["losses[0] = ", "seed = 3",
                                                        "init_params(layer_dims, seed=seed"]),
    ("check_training_loop", training_loop_in_float32, ["losses[0] = ", "not to float64's precision",
                                                       "dtype=X.dtype"]),
    ("check_training_loop", training_loop_one_step_short, ["W1[0, 0] = ", "before the last step"]),
    ("check_training_loop", training_loop_returns_the_history, ["losses as a dict", "history['loss']"]),
    ("check_training_loop", training_loop_with_one_loss_too_many, ["returned 5 losses", "expected 4"]),
    ("check_conv_output_size", conv_output_size_divided, ["returned 3.5 for n = 6", "round down"]),
    ("check_conv_output_size", conv_output_size_padded_once, ["returned 26, expected 28",
                                                              "padded on both sides"]),
    ("check_conv_output_size", conv_output_size_without_one, ["returned 27, expected 28", "+ 1"]),
    ("check_conv_forward_one", conv_forward_one_flipped, ["Z[0, 0, 0] = ", "the kernel flipped"]),
    ("check_conv_forward_one", conv_forward_one_without_bias, ["Z[0, 0, 0] = ", "b was not added"]),
    ("check_conv_forward_one", conv_forward_one_unpadded, ["Z of shape (2, 5, 5), expected (2, 7, 7)",
                                                           "pad the image with P = 1 zeros"]),
    ("check_conv2d_forward", conv2d_forward_every_position, [
        "Z of shape (2, 4, 5, 7), expected (2, 4, 3, 4)", "moves 2 pixels at a time"]),
    ("check_conv2d_forward", conv2d_forward_in_float64, ["dtype float64, expected float32"]),
    ("check_maxpool_backward", maxpool_backward_every_maximum, ["dA_prev[0, 0, 0, 1] = ",
                                                                "first maximum only"]),
    ("check_maxpool_backward", maxpool_backward_mask_only, ["dA_prev[0, 0, 0, 0] = ",
                                                            "multiply it by the window's dA"]),
    ("check_count_params", count_params_without_biases, [
        "returned 11240, expected 11274, for layers = cnn.LENET, input_shape = (1, 28, 28)",
        "the biases count too"]),
    ("check_count_params", count_params_bias_per_kernel_weight, [
        "returned 14650, expected 11274", "not one per kernel weight"]),
    ("check_count_params", count_params_bias_per_pixel, [
        "returned 20658, expected 11274", "shared by every pixel"]),
    ("check_count_params", count_params_kernels_without_input_channels, [
        "returned 8474, expected 11274", "C C_prev k k weights"]),
    ("check_count_params", count_params_flatten_without_channels, [
        "returned 3924, expected 11274", "Flatten keeps every channel"]),
    ("check_count_params", count_params_unpooled, [
        "returned 128874, expected 11274", "after every pooling"]),
    ("check_count_params", count_params_unpadded, [
        "returned 5994, expected 11274", "pads its input by P zeros"]),
    ("check_count_params", count_params_without_stride, [
        "returned 19458, expected 5346, for layers = [Conv(6, 5, stride=2, padding=1), ReLU(), "
        "MaxPool(3, stride=2), Flatten(), Dense(16), ReLU(), Dense(10)], input_shape = (3, 32, 32)",
        "moves S pixels at a time: n_H = (n_H_prev + 2P - k) // S + 1"]),
    ("check_count_params", count_params_pool_stride_ignored, [
        "returned 3042, expected 5346", "MaxPool(pool, stride=S) moves S pixels",
        "stride None means S = pool"]),
    ("check_count_params", count_params_emptying_the_list, [
        "changed its input list layers in place"]),
    ("check_count_params", count_params_as_a_float, ["returned 11274.5 for layers = cnn.LENET",
                                                     "expected the integer 11274"]),
    ("check_receptive_field", receptive_field_adding_k, [
        "returned 22, expected 16, for layers = cnn.LENET[:6]", "add (k - 1) j, not k j"]),
    ("check_receptive_field", receptive_field_without_jump, [
        "returned 11, expected 16", "the jump j grows", "j_l = j_(l-1) S_l"]),
    ("check_receptive_field", receptive_field_pooling_does_not_jump, [
        "returned 11, expected 16", "the jump j grows", "a Conv's or a MaxPool's"]),
    ("check_receptive_field", receptive_field_conv_stride_does_not_jump, [
        "returned 5, expected 7, for layers = [Conv(4, 3, stride=2), ReLU(), Conv(8, 3), ReLU()]",
        "the jump j grows"]),
    ("check_receptive_field", receptive_field_pool_stride_ignored, [
        "returned 21, expected 17", "MaxPool(3, stride=2)", "stride None means S = pool"]),
    ("check_receptive_field", receptive_field_jump_first, [
        "returned 19, expected 16", "the jump before it"]),
    ("check_receptive_field", receptive_field_from_0, ["returned 15, expected 16", "r_0 = 1"]),
    ("check_receptive_field", receptive_field_multiplied, [
        "returned 100, expected 16", "by adding, not multiplying"]),
    ("check_receptive_field", receptive_field_without_pooling, [
        "returned 9, expected 16", "a MaxPool window of pool x pool widens the field too"]),
    ("check_receptive_field", receptive_field_with_padding, [
        "returned 24, expected 16", "leave P out"]),
    ("check_receptive_field", receptive_field_of_relu, [
        "raised AttributeError: 'ReLU' object has no attribute 'pool' for layers = "
        "cnn.LENET[:6]"]),
]


@pytest.mark.parametrize("checker, wrong, words", MISTAKES,
                         ids=[wrong.__name__ if wrong.__module__ == __name__ else f"article.{wrong.__name__}"
                              for _, wrong, _ in MISTAKES])
def test_a_typical_mistake_fails_with_a_message_that_names_it(checker, wrong, words):
    result = getattr(exercises, checker)(wrong)
    assert not result
    assert result.message.startswith(f"failed: {wrong.__name__} "), result.message
    for word in words:
        assert word in result.message, result.message


def test_every_checker_has_a_typical_mistake():
    assert {checker for checker, _, _ in MISTAKES} == set(CHECKERS)


def forward_prop_from_nnlib_parts(X, params):
    activations = {"A0": X}
    L = len(params) // 2
    for l in range(1, L + 1):
        Z = nnlib.linear_forward(params[f"W{l}"], activations[f"A{l - 1}"], params[f"b{l}"])
        activations[f"Z{l}"] = Z
        activations[f"A{l}"] = nnlib.softmax(Z) if l == L else nnlib.relu(Z)
    return activations


def forward_prop_naive_softmax(X, params):
    activations = forward_prop(X, params)
    L = len(params) // 2
    E = np.exp(activations[f"Z{L}"])
    activations[f"A{L}"] = E / np.sum(E, axis=0)
    return activations


def back_prop_from_nnlib_parts(activations, params, y):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    dZ = AL - nnlib.one_hot(y, AL.shape[0], dtype=AL.dtype)
    grads = {}
    for l in reversed(range(1, L + 1)):
        dA_prev, grads[f"dW{l}"], grads[f"db{l}"] = nnlib.linear_backward(
            dZ, activations[f"A{l - 1}"], params[f"W{l}"])
        if l > 1:
            dZ = nnlib.relu_backward(dA_prev, activations[f"Z{l - 1}"])
    return grads


def back_prop_divided_first(activations, params, y):
    L = len(params) // 2
    AL = activations[f"A{L}"]
    dZ = (AL - nnlib.one_hot(y, AL.shape[0], dtype=AL.dtype)) / AL.shape[1]  # dZ of the mean loss
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = np.dot(dZ, activations[f"A{l - 1}"].T)
        grads[f"db{l}"] = dZ.sum(axis=1).reshape(-1, 1)
        if l > 1:
            dZ = np.where(activations[f"Z{l - 1}"] > 0, np.dot(params[f"W{l}"].T, dZ), 0)
    return grads


def training_loop_with_nnlib(X, y, layer_dims, learning_rate, iterations, seed):
    params = nnlib.init_params(layer_dims, seed=seed, dtype=X.dtype)
    losses = np.zeros(iterations)
    for i in range(iterations):
        activations = nnlib.forward_prop(X, params)
        losses[i] = nnlib.cross_entropy(nnlib.one_hot(y, layer_dims[-1]),
                                        activations[f"A{len(layer_dims) - 1}"])
        params = nnlib.update_params(params, nnlib.back_prop(activations, params, y),
                                     learning_rate)
    return params, losses


def count_params_from_init_params(layers, input_shape):
    return sum(array.size for array in cnn.init_params(layers, input_shape).values())


def receptive_field_from_the_top(layers):
    """The same side, from the last step down: one unit is r = 1 pixel of its step; a window
    of k units S apart in the step below spans (r - 1) S + k of them."""
    r = 1
    for layer in reversed(layers):
        if isinstance(layer, cnn.Conv):
            r = (r - 1) * layer.stride + layer.kernel_size
        elif isinstance(layer, cnn.MaxPool):
            r = (r - 1) * (layer.stride or layer.pool) + layer.pool
    return r


def receptive_field_by_gradient(layers):
    """The receptive field found without any recursion, through nnlib.conv.

    The gradient of one central unit of the last step, sent back with conv2d_backward and
    kernels of ones, is nonzero exactly on the input pixels the unit depends on: a max-pooling
    window depends on all its pixels, as one channel convolved with ones at the pool's stride
    does, and ReLU changes no positive number. The image grows until no window on the way
    reaches into the padding (a window cut by the image's border would see fewer pixels);
    the side of the square is returned, checked to be filled.
    """
    steps = [(layer.kernel_size, layer.stride, layer.padding) if isinstance(layer, cnn.Conv)
             else (layer.pool, layer.stride or layer.pool, 0)
             for layer in layers if isinstance(layer, (cnn.Conv, cnn.MaxPool))]
    n = 8
    while True:
        sizes = [n]
        for k, S, P in steps:
            sizes.append(conv.conv_output_size(sizes[-1], k, S, P))
        inside = min(sizes) >= 1
        if inside:
            grad = np.zeros((1, 1, sizes[-1], sizes[-1]))
            grad[0, 0, sizes[-1] // 2, sizes[-1] // 2] = 1.0
            for (k, S, P), size in zip(reversed(steps), reversed(sizes[:-1])):
                rows = np.flatnonzero(grad[0, 0].any(axis=1))  # the units that matter
                inside &= rows.min() * S - P >= 0 and rows.max() * S - P + k - 1 < size
                grad = conv.conv2d_backward(grad, np.zeros((1, 1, size, size)),
                                            np.ones((1, 1, k, k)), S, P)[0]
        if inside:
            rows, cols = np.nonzero(grad[0, 0])
            side = int(rows.max() - rows.min() + 1)
            assert cols.max() - cols.min() + 1 == side and len(rows) == side ** 2
            return side
        n *= 2


@pytest.mark.parametrize("checker, right", [
    ("check_numerical_gradient", numerical_gradient_restored_within_rounding),
    ("check_linear_backward", linear_backward_with_np_dot_and_mean),
    ("check_center_digit", center_digit_with_roll),
    ("check_forward_prop", nnlib.forward_prop),
    ("check_forward_prop", forward_prop_from_nnlib_parts),
    ("check_forward_prop", forward_prop_naive_softmax),
    ("check_back_prop", nnlib.back_prop),
    ("check_back_prop", back_prop_from_nnlib_parts),
    ("check_back_prop", back_prop_divided_first),
    ("check_training_loop", training_loop_with_nnlib),
    ("check_training_loop", _solution(my_forward_prop=forward_prop_from_nnlib_parts,
                                      my_back_prop=back_prop_divided_first)),
    ("check_count_params", cnn.count_params),
    ("check_count_params", count_params_from_init_params),
    ("check_receptive_field", receptive_field_from_the_top),
    ("check_receptive_field", receptive_field_by_gradient),
])
def test_an_equally_good_variant_passes(checker, right):
    result = getattr(exercises, checker)(right)
    assert result, result.message


def test_the_chapters_solution_of_the_training_loop_is_the_one_tested_here():
    """Chapter 6's dropdown shows TRAINING_LOOP_SOLUTION, which passes the checker above."""
    chapter = json.loads((Path(__file__).parents[1] / "book" / "06_training.ipynb").read_text())
    text = "".join("".join(cell["source"]) for cell in chapter["cells"]
                   if "{solution} ex-training-loop" in "".join(cell["source"]))
    assert "```python\n" + TRAINING_LOOP_SOLUTION + "```" in text


def test_a_stub_called_by_the_training_loop_is_named():
    def my_update_params(params, grads, learning_rate):
        raise NotImplementedError("write my_update_params, then check it below")
    result = exercises.check_training_loop(_solution(my_update_params=my_update_params))
    assert not result
    assert result.message == ("not written yet: fill in my_update_params (called by "
                              "my_training_loop; it still raises NotImplementedError), then run "
                              "this cell again.")
    assert len(repr(result).split("\n")) == 2


def test_a_not_implemented_error_from_inside_numpy_or_a_lambda_names_the_function_checked():
    def my_relu(Z):
        return (lambda Z: (_ for _ in ()).throw(NotImplementedError))(Z)
    assert exercises.check_relu(my_relu).message.startswith("not written yet: fill in my_relu (it")


def test_a_wrong_entry_reports_expected_and_actual_values_to_four_digits():
    message = exercises.check_relu(relu_abs).message
    assert message == ("failed: relu_abs returned A[0, 2] = 0.3106, expected 0, for Z: (1, 9) float64 "
                       "(Z[0, 2] = -0.3106, and relu gives max(Z, 0)).")


def test_values_that_agree_to_four_digits_are_printed_with_more():
    message = exercises.check_adam_step(adam_eps_inside_sqrt).message
    actual, expected = message.split(" = ")[1].split(", for")[0].split(", expected ")
    assert actual != expected


def test_an_exception_is_reported_with_its_input():
    def my_linear_forward(W, A_prev, b):
        return A_prev @ W + b
    message = exercises.check_linear_forward(my_linear_forward).message
    assert message.startswith("failed: my_linear_forward raised ValueError: ")
    assert message.endswith("for W: (3, 4), A_prev: (4, 5), b: (3, 1) float64.")


@pytest.mark.parametrize("checker, wrong", [(c, w) for c, w, _ in MISTAKES[::3]] + list(SOLUTIONS.items()))
def test_messages_are_the_same_on_every_call(checker, wrong):
    check = getattr(exercises, checker)
    assert check(wrong).message == check(wrong).message


@pytest.mark.parametrize("checker, fn", [(c, w) for c, w, _ in MISTAKES[::2]] + list(SOLUTIONS.items()))
def test_a_result_shows_its_message_in_lines_that_fit_the_book(checker, fn):
    """A notebook cell that ends with a check shows the message, wrapped at 79 characters."""
    result = getattr(exercises, checker)(fn)
    lines = repr(result).split("\n")
    assert " ".join(lines) == result.message
    assert max(len(line) for line in lines) <= 79, repr(result)


def test_a_naive_softmax_is_checked_without_printing_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not exercises.check_softmax(article.softmax)


def test_the_chapters_solutions_of_the_convolution_exercises_are_the_ones_tested_here():
    """Chapter 10a's dropdowns show CONV_SOLUTIONS, which pass the checkers above."""
    chapter = json.loads((Path(__file__).parents[1] / "book" / "10a_convolutions.ipynb").read_text())
    text = "".join("".join(cell["source"]) for cell in chapter["cells"])
    for solution in CONV_SOLUTIONS.values():
        assert "```python\n" + solution + "```" in text


def test_the_batched_convolution_of_nnlib_passes_both_convolution_checkers():
    assert exercises.check_conv2d_forward(nnlib.conv.conv2d_forward)

    def one(a_prev, W, b, stride, padding):
        return nnlib.conv.conv2d_forward(a_prev[None], W, b, stride, padding)[0]
    assert exercises.check_conv_forward_one(one)


def test_the_chapters_solutions_of_the_cnn_exercises_are_the_ones_tested_here():
    """Chapter 10b's dropdowns show CNN_SOLUTIONS, which pass the checkers above."""
    path = Path(__file__).parents[1] / "book" / "10b_training_a_cnn.ipynb"
    if not path.exists():
        pytest.skip("book/10b_training_a_cnn.ipynb is not written yet")
    text = "".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
    for solution in CNN_SOLUTIONS.values():
        assert "```python\n" + solution + "```" in text


def test_the_receptive_field_of_lenets_convolutions_is_16_pixels():
    """5 x 5 conv: 1 + 4 = 5; pool 2: 5 + 1 = 6, jump 2; 5 x 5 conv: 6 + 4 * 2 = 14; pool 2:
    14 + 1 * 2 = 16."""
    assert exercises._receptive_field(cnn.LENET[:6]) == 16
    assert receptive_field_by_gradient(cnn.LENET[:6]) == 16
    assert exercises._receptive_field([cnn.Conv(8, 5, padding=2), cnn.ReLU()]) == 5
    assert exercises._receptive_field(cnn.LENET[:3]) == 6


_conv_step = st.integers(1, 5).flatmap(lambda k: st.tuples(
    st.just(k), st.integers(1, min(k, 3)), st.integers(0, 2), st.booleans())).map(
    lambda t: [cnn.Conv(2, t[0], t[1], t[2])] + ([cnn.ReLU()] if t[3] else []))
_pool_step = st.integers(2, 3).flatmap(lambda pool: st.tuples(
    st.just(pool), st.sampled_from([None] + list(range(1, pool + 1))))).map(
    lambda t: [cnn.MaxPool(*t)])


@given(st.lists(st.one_of(_conv_step, _pool_step), min_size=1, max_size=3))
@settings(max_examples=40, deadline=None)
def test_the_receptive_field_is_the_square_a_units_gradient_reaches(steps):
    """The checker's reference, the book's recursion, against the pixels one unit depends on."""
    layers = [layer for step in steps for layer in step]
    assert exercises._receptive_field(layers) == receptive_field_by_gradient(layers)


def test_the_reference_count_of_the_checker_is_nnlibs():
    for layers, input_shape in exercises._count_cases():
        assert exercises._count(layers, input_shape) == cnn.count_params(layers, input_shape)


def test_the_checkers_layer_lists_are_valid_and_varied():
    """Every network of check_count_params passes nnlib's shape check; the lists of
    check_receptive_field hold only Conv, ReLU and MaxPool, with strides no wider than the
    kernel (so the field is a filled square, as the docstring says)."""
    cases = exercises._count_cases()
    for layers, input_shape in cases:
        cnn.layer_shapes(layers, input_shape)
    assert any(isinstance(layer, cnn.Conv) and layer.stride > 1
               for layers, _ in cases for layer in layers)
    assert any(isinstance(layer, cnn.MaxPool) and layer.stride not in (None, layer.pool)
               for layers, _ in cases for layer in layers)
    for layers in exercises._receptive_cases():
        assert all(isinstance(layer, (cnn.Conv, cnn.ReLU, cnn.MaxPool)) for layer in layers)
        assert all(layer.stride <= layer.kernel_size for layer in layers
                   if isinstance(layer, cnn.Conv))
