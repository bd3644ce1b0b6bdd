"""The exercise checkers: the right solution passes, typical mistakes fail with a message that
names them, a stub is "not implemented yet", and every message is the same on every run."""
import inspect
import warnings

import numpy as np
import pytest

import nnlib
from nnlib import article, exercises
from nnlib.images import center_digit, center_of_mass

CHECKERS = [
    "check_scale_pixels", "check_relu", "check_linear_forward", "check_softmax", "check_one_hot",
    "check_cross_entropy", "check_relu_backward", "check_linear_backward", "check_numerical_gradient",
    "check_update_params", "check_confusion_matrix", "check_adam_step", "check_center_digit",
    "check_mean_and_spread", "check_bias_gradient",
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


def adam_step(W, dW, m, v, t, learning_rate, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dW
    v = beta2 * v + (1 - beta2) * dW ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return W - learning_rate * m_hat / (np.sqrt(v_hat) + eps), m, v


def mean_and_spread(values):
    return values.mean(axis=1), values.std(axis=1, ddof=1)


def bias_gradient(dZ):
    return np.sum(dZ, axis=1, keepdims=True) / dZ.shape[1]


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
    assert result.message == "not implemented yet: stub raised NotImplementedError."


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


def adam_without_bias_correction(W, dW, m, v, t, learning_rate, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dW
    v = beta2 * v + (1 - beta2) * dW ** 2
    return W - learning_rate * m / (np.sqrt(v) + eps), m, v


def adam_returns_corrected_moments(W, dW, m, v, t, learning_rate, beta1, beta2, eps):
    W, m, v = adam_step(W, dW, m, v, t, learning_rate, beta1, beta2, eps)
    return W, m / (1 - beta1 ** t), v / (1 - beta2 ** t)


def adam_eps_inside_sqrt(W, dW, m, v, t, learning_rate, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dW
    v = beta2 * v + (1 - beta2) * dW ** 2
    return W - learning_rate * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), m, v


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
    ("check_adam_step", adam_returns_corrected_moments, ["m[0, 0] = ", "the moving average itself"]),
    ("check_adam_step", adam_eps_inside_sqrt, ["eps = 0.1", "eps goes outside the square root"]),
    ("check_center_digit", center_digit_truncated, ["centre of mass at", "within half a pixel of (14, 14)",
                                                    "round(14 - row)"]),
    ("check_center_digit", center_digit_blank_fails, ["no ink", "return it unchanged"]),
    ("check_mean_and_spread", mean_and_spread_ddof0, ["std[0] = ", "ddof=1"]),
    ("check_mean_and_spread", mean_and_spread_over_points, ["mean of shape (2,), expected (1,)", "axis=1"]),
    ("check_bias_gradient", bias_gradient_article, ["db of shape (), expected (1, 1)", "the article's bug"]),
    ("check_bias_gradient", bias_gradient_summed, ["db[0, 0] = ", "divide by m"]),
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


@pytest.mark.parametrize("checker, right", [
    ("check_numerical_gradient", numerical_gradient_restored_within_rounding),
    ("check_linear_backward", linear_backward_with_np_dot_and_mean),
    ("check_center_digit", center_digit_with_roll),
])
def test_an_equally_good_variant_passes(checker, right):
    assert getattr(exercises, checker)(right)


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
