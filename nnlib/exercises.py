"""Checkers for the book's coding exercises.

Each ``check_*`` function takes the reader's function, runs it on seeded random inputs of
several shapes and dtypes, edge cases included, and compares what it returns with nnlib's
own code. It returns a :class:`CheckResult`: true when every input matches, and a message
in plain words, either ``"passed: ..."`` or the first thing wrong (an exception, a shape, a
dtype, the first wrong entry with the expected and the actual value, a changed input), or,
while the reader's function still raises NotImplementedError (the stub as the book gives
it), ``"not written yet: fill in <name> ..."``.
The inputs are seeded, so the message is the same on every run.

The reader's function gets copies of the inputs: a function that changes its input in place
is reported, because nnlib's functions never do.
"""
import functools
import textwrap
import warnings

import numpy as np

from .activations import relu, relu_backward, softmax
from .cnn import LENET, Conv, Dense, Flatten, MaxPool, ReLU, count_params, layer_shapes
from .conv import conv2d_forward, conv_output_size, maxpool_backward, maxpool_forward
from .data import scale_pixels
from .gradcheck import loss_of, numerical_gradient
from .images import CENTRE, center_digit, center_of_mass
from .losses import confusion_matrix, cross_entropy, one_hot
from .network import (back_prop, bias_gradient, forward_prop, linear_backward, linear_forward,
                      update_params)
from .params import init_params

__all__ = [
    "CheckResult", "check_scale_pixels", "check_relu", "check_linear_forward", "check_softmax",
    "check_one_hot", "check_cross_entropy", "check_relu_backward", "check_linear_backward",
    "check_numerical_gradient", "check_update_params", "check_confusion_matrix", "check_adam_step",
    "check_center_digit", "check_mean_and_spread", "check_bias_gradient", "check_forward_prop",
    "check_back_prop", "check_training_loop", "check_conv_output_size", "check_conv_forward_one",
    "check_conv2d_forward", "check_maxpool_backward", "check_count_params",
    "check_receptive_field",
]


class CheckResult:
    """What a checker found: ``passed`` (also its truth value) and a plain-words ``message``.

    Its repr is the message, so a notebook cell that ends with a check shows only that text,
    wrapped to the width of the book's code column.
    """

    def __init__(self, passed, message):
        self.passed = bool(passed)
        self.message = message

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return textwrap.fill(self.message, width=79, break_long_words=False)


class _Failure(Exception):
    """The first thing wrong, worded to follow the function's name: "returned shape ..."."""


class _NotImplemented(Exception):
    """The reader's function raised NotImplementedError: the stub is still in place.

    ``args[0]`` names the function that raised it, when that is another of the reader's
    stubs called by the function under check (the training loop calls my_update_params).
    """


def _checker(check):
    """Turn ``check(fn) -> words that follow the name`` into a checker returning a CheckResult."""
    @functools.wraps(check)
    def run(fn):
        if not callable(fn):
            return CheckResult(False, f"failed: expected a function, got {type(fn).__name__}")
        name = getattr(fn, "__name__", None) or type(fn).__name__
        try:
            found = check(fn)
        except _NotImplemented as stub:
            inner = stub.args[0] if stub.args else None
            if inner and inner != name:
                return CheckResult(False, f"not written yet: fill in {inner} (called by {name}; it "
                                   "still raises NotImplementedError), then run this cell again.")
            return CheckResult(False, f"not written yet: fill in {name} (it still raises "
                               "NotImplementedError), then run this cell again.")
        except _Failure as failure:
            return CheckResult(False, f"failed: {name} {failure}.")
        return CheckResult(True, f"passed: {name} {found}.")
    return run


# ---------------------------------------------------------------------------------------
# Calling the reader's function and comparing what it returns.

def _call(fn, args, on):
    """fn(*args). NumPy's warnings are silenced: an overflow is reported by the check itself."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args)
    except NotImplementedError as error:
        raise _NotImplemented(_raised_by(error)) from None
    except Exception as error:  # any error of the reader's code becomes the message
        text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise _Failure(f"raised {type(error).__name__}{': ' + text if text else ''} for {on}") from None


def _raised_by(error):
    """The name of the reader's function whose own line raised ``error``.

    None when that line is in a lambda, a method, NumPy or nnlib: then the message names the
    function under check.
    """
    traceback = error.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    name = traceback.tb_frame.f_code.co_name
    module = str(traceback.tb_frame.f_globals.get("__name__", ""))
    ours = module.split(".")[0] in ("numpy", "nnlib")
    return name if name.isidentifier() and not name.startswith("_") and not ours else None


def _call_on_copies(fn, on, **inputs):
    """fn(*inputs.values()) on copies of the inputs; fails if the function changed one in place."""
    copies = {name: _copy(value) for name, value in inputs.items()}
    result = _call(fn, list(copies.values()), on)
    for name, original in inputs.items():
        _expect_unchanged(name, original, copies[name])
    return result


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _expect_unchanged(name, original, after):
    """Fail if the reader's function changed an input array (or an array of an input dict)."""
    if isinstance(original, dict):
        if set(after) != set(original):
            raise _Failure(f"changed the keys of its input {name} in place; return a new dict instead")
        for key in original:
            _expect_unchanged(f"{name}['{key}']", original[key], after[key])
    elif isinstance(original, np.ndarray) and not np.array_equal(original, after, equal_nan=True):
        index = _first(original != after)
        raise _Failure(
            f"changed its input {name} in place ({name}{_index(index)} went from "
            f"{_num(original[index])} to {_num(after[index])}); compute a new array and leave "
            f"{name} as it was")


def _expect_array(actual, expected, on, what, hint=None, shape_hint=None, dtype_hint=None,
                  nan_hint=None, tolerance=None):
    """Fail at the first difference between the reader's array and the expected one.

    what: the returned quantity's name ("dZ"); on: the input, "Z: (3, 4) float32".
    hint(index, actual) -> words explaining a wrong entry at ``index``; shape_hint(shape) for
    a wrong shape; dtype_hint: words, or dtype_hint(dtype) -> words, for a wrong dtype.
    Floats must agree to rtol 1e-5 (float32) or 1e-8 (float64), relative to the array's
    largest entry for entries near 0 (or to ``tolerance``, keywords of np.isclose);
    integers exactly.
    """
    if actual is None:
        raise _Failure(
            f"returned None for {on}, expected {what} of shape {expected.shape} (is a return missing?)")
    if isinstance(actual, (np.generic, int, float)) and not isinstance(actual, bool):
        actual = np.asarray(actual)  # a number where an array was expected: report its shape ()
    if not isinstance(actual, np.ndarray):
        raise _Failure(
            f"returned {what} as a {type(actual).__name__}, expected a NumPy array of shape {expected.shape}")
    if actual.shape != expected.shape:
        extra = shape_hint(actual.shape) if shape_hint else None
        raise _Failure(f"returned {what} of shape {actual.shape}, expected {expected.shape}, for {on}"
                       + _words(extra))
    integer = np.issubdtype(expected.dtype, np.integer)
    if not np.issubdtype(actual.dtype, np.integer) if integer else actual.dtype != expected.dtype:
        wanted = "integer counts" if integer else f"{expected.dtype}"
        raise _Failure(f"returned {what} of dtype {actual.dtype}, expected {wanted}, for {on}"
                       + _words(_text(dtype_hint, actual.dtype) or "keep the input's dtype"))
    if not integer and not np.all(np.isfinite(actual)):
        index = _first(~np.isfinite(actual))
        raise _Failure(f"returned {_num(actual[index])} in {what}{_index(index)} for {on}"
                       + (f": {nan_hint}" if nan_hint else ""))
    if integer:
        wrong = actual != expected
    else:
        wrong = ~np.isclose(actual, expected, **(tolerance or _tolerance(expected)))
    if wrong.any():
        index = _first(wrong)
        raise _Failure(
            f"returned {what}{_index(index)} = {_pair(actual[index], expected[index])}, for {on}"
            + _words(hint(index, actual) if hint else None))


def _expect_number(actual, expected, on, what, hint=None, nan_hint=None):
    """Fail unless the reader returned one real number close to ``expected`` (a float)."""
    if isinstance(actual, np.ndarray) and actual.ndim == 0:
        actual = actual[()]
    if isinstance(actual, np.ndarray):
        raise _Failure(f"returned an array of shape {actual.shape} for {on}, expected {what}: one number")
    if actual is None:
        raise _Failure(f"returned None for {on}, expected {what}: one number (is a return missing?)")
    if not isinstance(actual, (int, float, np.integer, np.floating)) or isinstance(actual, bool):
        raise _Failure(f"returned a {type(actual).__name__} for {on}, expected {what}: one number")
    actual = float(actual)
    if not np.isfinite(actual):
        raise _Failure(f"returned {_num(actual)} for {on}" + (f": {nan_hint}" if nan_hint else ""))
    if not np.isclose(actual, expected, rtol=1e-5, atol=0):
        raise _Failure(f"returned {what} = {_pair(actual, expected)}, for {on}"
                       + _words(hint(actual) if hint else None))


def _expect_tuple(actual, names, on):
    """Fail unless the reader returned a tuple (or list) of len(names) items; return it."""
    wanted = f"({', '.join(names)})"
    if not isinstance(actual, (tuple, list)):
        got = "None" if actual is None else f"a {type(actual).__name__}"
        raise _Failure(f"returned {got} for {on}, expected a tuple {wanted}")
    if len(actual) != len(names):
        raise _Failure(f"returned {len(actual)} values for {on}, expected {len(names)}: {wanted}")
    return actual


def _tolerance(expected):
    """rtol by dtype; atol scaled by the largest entry so entries near 0 are not held to rtol."""
    rtol = 1e-5 if expected.dtype == np.float32 else 1e-8
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return {"rtol": rtol, "atol": rtol * (scale or 1.0)}


def _close(a, b):
    """Whether two same-shape float arrays agree within the checkers' tolerance."""
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, **_tolerance(b))))


def _first(mask):
    """The index (a tuple) of the first True entry of ``mask``, in row-major order."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _index(index):
    return "[" + ", ".join(str(i) for i in index) + "]"


def _num(x, digits=4):
    """A number with 4 significant digits: 0.5, 1.235e-05, 3; never "-0"."""
    x = float(x)
    if np.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def _pair(actual, expected):
    """"0.5, expected 0", with more digits when 4 significant ones would print the same."""
    for digits in (4, 6, 8, 10, 17):
        a, e = _num(actual, digits), _num(expected, digits)
        if a != e:
            break
    return f"{a}, expected {e}"


def _text(words, *args):
    """``words`` itself, or ``words(*args)`` when it is a function of what went wrong."""
    return words(*args) if callable(words) else words


def _words(extra):
    return f" ({extra})" if extra else ""


def _passed(reference, shapes, dtypes, extra=""):
    """The words after the name in a passing message."""
    sizes = sorted(shapes, key=lambda s: (int(np.prod(s)), s))
    kept = " and ".join(sorted({np.dtype(d).name for d in dtypes}))
    extra = f", {extra}" if extra else ""
    return (f"matches {reference} on {len(shapes)} random inputs (shapes from {sizes[0]} to "
            f"{sizes[-1]}{extra}), {kept} kept")


def _shapes(rng, fixed, count, low=1, high=13):
    """The ``fixed`` (rows, columns) edge shapes, then random ones up to ``count`` in all."""
    random = [tuple(int(n) for n in rng.integers(low, high + 1, size=2)) for _ in range(count - len(fixed))]
    return list(fixed) + random


def _dtype(i):
    """Alternate float32 and float64 over the cases."""
    return np.float32 if i % 2 == 0 else np.float64


# ---------------------------------------------------------------------------------------
# Chapter 01: data

@_checker
def check_scale_pixels(fn):
    """fn(images: (m, 28, 28) uint8) -> X: (784, m) float32 in [0, 1], one image per column.

    Column i is image i read row by row and divided by 255 (as :func:`nnlib.data.load_mnist`).
    """
    rng = np.random.default_rng(1)
    counts = [1, 2, 5, 3, 12, 7]
    for m in counts:
        images = rng.integers(0, 256, size=(m, 28, 28), dtype=np.uint8)
        images[0, :4] = 255  # a full-ink band and, below, a blank one: both ends of the range
        images[-1, -4:] = 0
        on = f"images: {images.shape} uint8"
        X = _call_on_copies(fn, on, images=images)
        expected = scale_pixels(images)

        def hint(index, X, images=images):
            k, i = index
            pixel = images[i, k // 28, k % 28]
            if np.isclose(X[index], pixel):
                return "divide by 255 to scale to [0, 1]"
            return (f"X[{k}, {i}] is pixel ({k // 28}, {k % 28}) of images[{i}], {pixel} / 255: "
                    "each column is one image read row by row, images.reshape(m, 784).T")
        _expect_array(X, expected, on, "X", hint,
                      dtype_hint="convert with .astype(np.float32) before dividing by 255")
    return (f"matches nnlib.load_mnist's scaling on {len(counts)} random batches of 1 to 12 images, "
            "float32 returned")


# ---------------------------------------------------------------------------------------
# Chapter 02: forward propagation

@_checker
def check_relu(fn):
    """fn(Z: (n_l, m)) -> A = max(Z, 0), same shape and dtype; Z is left unchanged."""
    rng = np.random.default_rng(2)
    shapes = _shapes(rng, [(1, 1), (1, 9), (9, 1), (3, 4)], 12)
    for i, shape in enumerate(shapes):
        Z = rng.standard_normal(shape).astype(_dtype(i))
        Z.flat[::3] = 0  # the kink
        on = f"Z: {shape} {Z.dtype}"
        A = _call_on_copies(fn, on, Z=Z)

        def hint(index, A, Z=Z):
            return f"Z{_index(index)} = {_num(Z[index])}, and relu gives max(Z, 0)"
        _expect_array(A, relu(Z), on, "A", hint)
    return _passed("nnlib.relu", shapes, [np.float32, np.float64], "Z = 0 included")


@_checker
def check_linear_forward(fn):
    """fn(W: (n_l, n_{l-1}), A_prev: (n_{l-1}, m), b: (n_l, 1)) -> Z = W A_prev + b: (n_l, m)."""
    rng = np.random.default_rng(3)
    # (n_l, n_prev, m); n_l == m catches a bias added along the wrong axis (b.T broadcasts).
    dims = [(1, 1, 1), (3, 4, 5), (4, 2, 4), (1, 6, 3), (5, 1, 1)] + \
        [tuple(int(n) for n in rng.integers(1, 12, size=3)) for _ in range(7)]
    for i, (n_l, n_prev, m) in enumerate(dims):
        dtype = _dtype(i)
        W = rng.standard_normal((n_l, n_prev)).astype(dtype)
        A_prev = rng.random((n_prev, m)).astype(dtype)
        b = rng.standard_normal((n_l, 1)).astype(dtype)
        on = f"W: {W.shape}, A_prev: {A_prev.shape}, b: {b.shape} {dtype.__name__}"
        Z = _call_on_copies(fn, on, W=W, A_prev=A_prev, b=b)
        expected = linear_forward(W, A_prev, b)

        def hint(index, Z, W=W, A_prev=A_prev, b=b):
            r, c = index
            if np.isclose(Z[index], (W @ A_prev)[index], **_tolerance(expected)):
                return "b was not added"
            return f"Z[{r}, {c}] = W[{r}, :] @ A_prev[:, {c}] + b[{r}, 0]"
        _expect_array(Z, expected, on, "Z", hint)
    shapes = [(n_l, m) for n_l, _, m in dims]
    return _passed("W @ A_prev + b", shapes, [np.float32, np.float64])


# ---------------------------------------------------------------------------------------
# Chapter 03: the loss

@_checker
def check_softmax(fn):
    """fn(Z: (n_L, m)) -> A: (n_L, m), each column exp(Z) / sum(exp(Z)); logits of ±1000 included."""
    rng = np.random.default_rng(4)
    shapes = _shapes(rng, [(1, 1), (10, 1), (2, 3)], 10, high=12)
    cases = [(rng.standard_normal(shape) * 3, shape) for shape in shapes]
    huge = rng.standard_normal((10, 4)) * 3
    huge[:, 0] += 1000  # exp overflows to inf: inf / inf is nan
    huge[:, 1] -= 1000  # exp underflows to 0: 0 / 0 is nan
    huge[4, 2] = 1000  # one huge logit in an ordinary column
    cases += [(huge, "huge"), (huge, "huge")]
    for i, (Z, shape) in enumerate(cases):
        Z = Z.astype(_dtype(i))
        big = shape == "huge"
        on = f"Z: {Z.shape} {Z.dtype}{' with logits of 1000 and -1000' if big else ''}"
        A = _call_on_copies(fn, on, Z=Z)

        def hint(index, A):
            sums = A.sum(axis=0)
            off = np.flatnonzero(~np.isclose(sums, 1, rtol=1e-4))
            if off.size:
                j = int(off[0])
                return f"column {j} of yours sums to {_num(sums[j])}: normalise each column on its own, axis=0"
            return f"A[:, {index[1]}] = exp(Z[:, {index[1]}]) / sum(exp(Z[:, {index[1]}]))"
        nan_hint = "subtract the column maximum before exp" if big else None
        _expect_array(A, softmax(Z), on, "A", hint, nan_hint=nan_hint)
    return _passed("nnlib.softmax", [Z.shape for Z, _ in cases], [np.float32, np.float64],
                   "logits of 1000 and -1000 included")


@_checker
def check_one_hot(fn):
    """fn(y: (m,) int64, num_classes) -> Y: (num_classes, m) float32 with Y[y[i], i] = 1."""
    rng = np.random.default_rng(5)
    cases = [(np.arange(10)[rng.permutation(10)], 10),
             (rng.integers(0, 9, size=7), 10),  # no 9 in the batch: still 10 rows
             (np.array([3]), 10),
             (rng.integers(0, 3, size=8), 3),
             (np.array([0, 0, 1]), 2),
             (rng.integers(0, 10, size=20), 10),
             (np.array([9, 9]), 10)]
    for y, num_classes in cases:
        on = f"y = {_labels(y)} and num_classes={num_classes}"
        Y = _call_on_copies(fn, on, y=y, num_classes=num_classes)

        def shape_hint(shape, y=y, num_classes=num_classes):
            if shape == (y.max() + 1, y.size) and y.max() + 1 != num_classes:
                return (f"a batch without a {num_classes - 1} still needs {num_classes} rows: "
                        "use num_classes, not y.max() + 1")
            if shape == (y.size, num_classes):
                return "one column per example: transpose"
            return None

        def hint(index, Y, y=y):
            k, i = index
            return f"y[{i}] = {y[i]}, so column {i} has its 1 in row {y[i]} and 0 elsewhere"
        _expect_array(Y, one_hot(y, num_classes), on, "Y", hint, shape_hint,
                      dtype_hint="create Y with np.zeros(..., dtype=np.float32)")
    return (f"matches nnlib.one_hot on {len(cases)} label vectors (1 to 20 labels, 2 to 10 classes, "
            "a batch without a 9 included), float32 returned")


def _labels(y):
    """y as short text: the labels themselves when few, else how many."""
    return str(y.tolist()) if y.size <= 10 else f"{y.size} labels"


@_checker
def check_cross_entropy(fn):
    """fn(Y: (n_L, m) one-hot, AL: (n_L, m) probabilities) -> the mean cross-entropy, one number."""
    rng = np.random.default_rng(6)
    cases = []
    for i, (K, m) in enumerate([(10, 1), (10, 5), (3, 4), (10, 12), (2, 7), (10, 3)]):
        y = rng.integers(0, K, size=m)
        AL = softmax(rng.standard_normal((K, m)) * 2).astype(_dtype(i))
        cases.append((one_hot(y, K, dtype=_dtype(i)), AL, ""))
    uniform = np.full((4, 3), 0.25)  # L = log 4 by hand
    cases.append((one_hot(np.array([0, 1, 3]), 4, dtype=np.float64), uniform, " (uniform, loss log 4)"))
    Y = one_hot(np.array([0, 2]), 3)
    AL = np.array([[0.9, 0.0], [0.1, 0.3], [0.0, 0.7]], dtype=np.float32)
    cases.append((Y, AL, " with AL = 0 where Y = 0"))
    for Y, AL, note in cases:
        on = f"Y, AL: {AL.shape} {AL.dtype}{note}"
        loss = _call_on_copies(fn, on, Y=Y, AL=AL)
        expected = cross_entropy(Y, AL)
        m = AL.shape[1]

        def hint(actual, expected=expected, m=m):
            if m > 1 and np.isclose(actual, expected * m, rtol=1e-4):
                return f"that is the sum over the m = {m} examples: divide by m"
            if np.isclose(actual, -expected, rtol=1e-4):
                return "the sign: L = -(1/m) sum Y log AL is >= 0"
            return "L = -(1/m) sum over i and k of Y[k, i] log AL[k, i]"
        nan_hint = ("0 * log(0) is nan; take the log only where Y is 1, or raise AL to "
                    "np.finfo(AL.dtype).tiny first") if note.startswith(" with") else None
        _expect_number(loss, expected, on, "the loss", hint, nan_hint)
    return (f"matches nnlib.cross_entropy on {len(cases)} inputs (2 to 10 classes, 1 to 12 "
            "examples, float32 and float64, AL = 0 where Y = 0 included)")


# ---------------------------------------------------------------------------------------
# Chapter 04: backpropagation

@_checker
def check_relu_backward(fn):
    """fn(dA: (n_l, m), Z: (n_l, m)) -> dZ = dA ⊙ g'(Z), with g'(0) taken as 0."""
    rng = np.random.default_rng(7)
    shapes = _shapes(rng, [(1, 1), (3, 4), (1, 8), (8, 1)], 12)
    for i, shape in enumerate(shapes):
        dtype = _dtype(i)
        Z = rng.standard_normal(shape).astype(dtype)
        Z.flat[::3] = 0  # exactly at the kink, where the derivative is taken as 0
        dA = rng.standard_normal(shape).astype(dtype)
        on = f"dA, Z: {shape} {Z.dtype}"
        dZ = _call_on_copies(fn, on, dA=dA, Z=Z)

        def hint(index, dZ, Z=Z, dA=dA):
            z = Z[index]
            if z == 0:
                why = "the derivative at 0 is taken as 0"
            elif z > 0:
                why = f"Z > 0 there, so dZ = dA = {_num(dA[index])}"
            else:
                why = "Z < 0 there, so dZ = 0"
            return f"Z{_index(index)} = {_num(z)}: {why}"
        _expect_array(dZ, relu_backward(dA, Z), on, "dZ", hint,
                      dtype_hint=lambda dtype: "multiply dA by the mask Z > 0, do not return the mask"
                      if dtype == bool else None)
    return _passed("nnlib.relu_backward", shapes, [np.float32, np.float64], "Z = 0 included")


def _db_shape_hint(n_l):
    """Explain a wrong shape of db: (n_l, 1), one value per unit."""
    def hint(shape):
        if shape == ():
            return ("one number for the whole layer is the article's bug: db needs one value per unit, "
                    "np.sum(dZ, axis=1, keepdims=True) / m")
        if shape == (n_l,):
            return "keepdims=True keeps db a column, shape (n_l, 1)"
        return "sum over the m columns of each row: np.sum(dZ, axis=1, keepdims=True) / m"
    return hint


def _mean_hint(m):
    """Explain a wrong entry of dW or db: often the sum, not the mean, over the m examples."""
    def hint(index, actual, expected):
        if m > 1 and np.isclose(actual[index], expected[index] * m, rtol=1e-4):
            return f"that is the sum over the m = {m} examples: divide by m"
        return None
    return hint


def _gradient_cases(rng, count):
    """dZ: (n_l, m) and A_prev: (n_{l-1}, m) pairs; n_l == n_{l-1} catches a transposed dW."""
    dims = [(1, 1, 1), (3, 2, 5), (4, 4, 3), (2, 5, 1), (10, 3, 6)] + \
        [tuple(int(n) for n in rng.integers(1, 12, size=3)) for _ in range(count - 5)]
    for i, (n_l, n_prev, m) in enumerate(dims):
        dtype = _dtype(i)
        yield rng.standard_normal((n_l, m)).astype(dtype), rng.random((n_prev, m)).astype(dtype)


@_checker
def check_linear_backward(fn):
    """fn(dZ: (n_l, m), A_prev: (n_{l-1}, m), W: (n_l, n_{l-1}) or None) -> (dA_prev, dW, db).

    dW = (1/m) dZ A_prev^T: (n_l, n_{l-1}); db = (1/m) sum of dZ's columns: (n_l, 1);
    dA_prev = W^T dZ: (n_{l-1}, m), or None when W is None (layer 1).
    """
    rng = np.random.default_rng(8)
    cases = list(_gradient_cases(rng, 12))
    # A square W second, right after the 1 x 1 case: W @ dZ instead of W.T @ dZ, or a
    # transposed dW, then gives numbers to explain rather than a shape error.
    cases[1], cases[2] = cases[2], cases[1]
    for i, (dZ, A_prev) in enumerate(cases):
        m = dZ.shape[1]
        W = None if i % 4 == 3 else rng.standard_normal((dZ.shape[0], A_prev.shape[0])).astype(dZ.dtype)
        if W is None:  # the hint rides in the input's description: an error on W = None needs it
            on = (f"dZ: {dZ.shape}, A_prev: {A_prev.shape} {dZ.dtype} and W = None (layer 1, whose "
                  "dA_prev would be the gradient for the pixels: return None for it)")
        else:
            on = f"dZ: {dZ.shape}, A_prev: {A_prev.shape}, W: {W.shape} {dZ.dtype}"
        dA_prev, dW, db = _expect_tuple(_call_on_copies(fn, on, dZ=dZ, A_prev=A_prev, W=W),
                                        ("dA_prev", "dW", "db"), on)
        expected_dA, expected_dW, expected_db = linear_backward(dZ, A_prev, W)
        mean = _mean_hint(m)
        if W is None:
            if dA_prev is not None:
                raise _Failure(f"returned a dA_prev for {on}, expected None")
        else:
            def dA_hint(index, dA, W=W, dZ=dZ, m=m, expected=expected_dA):
                if W.shape[0] == W.shape[1] and _close(dA, W @ dZ):
                    return "that is W @ dZ: transpose W, dA_prev = W.T @ dZ"
                if m > 1 and _close(dA * m, expected):
                    return "dA_prev = W.T @ dZ has no 1/m: only dW and db are means over the examples"
                return "dA_prev = W.T @ dZ"
            _expect_array(dA_prev, expected_dA, on, "dA_prev", dA_hint,
                          lambda shape: "dA_prev has the shape of A_prev, (n_{l-1}, m): W.T @ dZ")

        def dW_hint(index, dW, expected=expected_dW):
            if dW.shape == expected.T.shape and _close(dW, expected.T):
                return "that is dW transposed: dW = dZ @ A_prev.T / m has the shape of W, (n_l, n_{l-1})"
            return mean(index, dW, expected) or "dW = dZ @ A_prev.T / m"
        _expect_array(dW, expected_dW, on, "dW", dW_hint,
                      lambda shape: "dW has the shape of W, (n_l, n_{l-1}): dZ @ A_prev.T")
        _expect_array(db, expected_db, on, "db", lambda index, db: mean(index, db, expected_db) or
                      "db[k, 0] is the mean of row k of dZ", _db_shape_hint(dZ.shape[0]))
    return _passed("the book's dA_prev, dW and db", [dZ.shape for dZ, _ in cases],
                   [np.float32, np.float64], "W = None included")


def _networks(rng, depths):
    """One random network per depth: (layer_dims, params, X, y), dtypes alternating.

    Weights He-scaled, biases drawn too (never all 0, so a forgotten b shows), widths 2 to 6
    in the hidden layers and 2 to 5 in the last, m = 3 to 7 examples. A draw is kept when
    every hidden layer has between a quarter and 85% of its Z above 0, so that the ReLU's
    derivative matters and gradients reach the first layer.
    """
    cases = []
    for i, depth in enumerate(depths):
        dtype = _dtype(i)
        while True:
            m = int(rng.integers(3, 8))
            dims = ([int(rng.integers(2, 8))] + [int(n) for n in rng.integers(2, 7, size=depth - 1)]
                    + [int(rng.integers(2, 6))])
            params = {}
            for l in range(1, depth + 1):
                params[f"W{l}"] = (rng.standard_normal((dims[l], dims[l - 1]))
                                   * np.sqrt(2 / dims[l - 1])).astype(dtype)
                params[f"b{l}"] = (0.5 * rng.standard_normal((dims[l], 1))).astype(dtype)
            X = rng.random((dims[0], m)).astype(dtype)
            y = rng.integers(0, dims[-1], size=m)
            activations = forward_prop(X, params)
            if all(0.25 <= np.mean(activations[f"Z{l}"] > 0) <= 0.85 for l in range(1, depth)):
                break
        cases.append((dims, params, X, y))
    return cases


def _expect_keys(result, expected_keys, on, what, hint):
    """Fail unless ``result`` is a dict with exactly ``expected_keys`` (listed in their order)."""
    if not isinstance(result, dict):
        got = "None" if result is None else f"a {type(result).__name__}"
        raise _Failure(f"returned {got} for {on}, expected {what}: a dict with keys "
                       f"{', '.join(expected_keys)}")
    missing = [key for key in expected_keys if key not in result]
    extra = sorted(str(key) for key in result if key not in expected_keys)
    if missing or extra:
        words = ([f"without {', '.join(missing)}"] * bool(missing)
                 + [f"with the extra key{'s' * (len(extra) > 1)} {', '.join(extra)}"] * bool(extra))
        raise _Failure(f"returned a dict {' and '.join(words)}, for {on}"
                       + _words(hint(missing, extra)))


# The forward pass's keys, in the order they are computed: A0, Z1, A1, ..., ZL, AL.
def _forward_keys(L):
    return ["A0"] + [key for l in range(1, L + 1) for key in (f"Z{l}", f"A{l}")]


@_checker
def check_forward_prop(fn):
    """fn(X: (n_0, m), params) -> a dict of every layer's Z and A, without dropout.

    As :func:`nnlib.network.forward_prop`. params: W1, b1, ..., WL, bL for any depth
    L = len(params) // 2. The dict holds "A0" (X itself), then Z_l = W_l A_{l-1} + b_l and
    A_l = g_l(Z_l) for l = 1..L, under "Z1", "A1", ..., f"Z{L}", f"A{L}": ReLU in the hidden
    layers, softmax in the last. Checked on random networks of 1 to 4 layers with nonzero
    biases, in float32 and float64 (the dtype must be kept).
    """
    rng = np.random.default_rng(16)
    cases = _networks(rng, [2, 3, 1, 4, 2, 3])
    for dims, params, X, y in cases:
        L = len(dims) - 1
        on = f"layer_dims = {dims} {X.dtype}, X: {X.shape}"
        result = _call_on_copies(fn, on, X=X, params=params)

        def key_hint(missing, extra, L=L):
            if f"A{L}" in missing and f"A{L - 1}" not in missing:
                return (f"the loop must run over every layer, l = 1, ..., L with L = len(params) // 2 "
                        f"= {L}")
            if missing == ["A0"]:
                return 'keep X under "A0": back_prop needs it for dW1'
            return f"keys A0, then Z1, A1, ..., Z{L}, A{L}: one Z and one A per layer"
        _expect_keys(result, _forward_keys(L), on, "the activations", key_hint)
        expected = forward_prop(X, params)
        _expect_array(result["A0"], X, on, "A0",
                      lambda index, A0: 'activations["A0"] is X itself')
        for l in range(1, L + 1):
            W, b, A_prev = params[f"W{l}"], params[f"b{l}"], expected[f"A{l - 1}"]

            def z_hint(index, Z, W=W, A_prev=A_prev, l=l):
                if _close(Z, W @ A_prev):
                    return f"b{l} was not added: Z{l} = W{l} @ A{l - 1} + b{l}"
                return f"Z{l} = W{l} @ A{l - 1} + b{l}"
            Z = expected[f"Z{l}"]

            def a_hint(index, A, Z=Z, l=l):
                if l == L:
                    if _close(A, relu(Z)):
                        return (f"that is ReLU; the last layer is softmax, A{l} = softmax(Z{l}): "
                                "each column a probability distribution")
                    sums = A.sum(axis=0)
                    if not np.allclose(sums, 1, rtol=1e-4):
                        return f"the columns of A{l} must sum to 1: softmax over each column, axis=0"
                    return f"A{l} = softmax(Z{l})"
                if _close(A, softmax(Z)):
                    return f"hidden layers use ReLU, A{l} = relu(Z{l}); softmax only in layer L = {L}"
                if _close(A, Z):
                    return f"the activation is missing: A{l} = relu(Z{l})"
                return f"A{l} = relu(Z{l})"
            _expect_array(result[f"Z{l}"], Z, on, f"Z{l}", z_hint,
                          lambda shape, l=l: f"Z{l} has n_{l} rows and m columns: W{l} @ A{l - 1}")
            _expect_array(result[f"A{l}"], expected[f"A{l}"], on, f"A{l}", a_hint)
    depths = [len(dims) - 1 for dims, *_ in cases]
    return (f"matches nnlib.forward_prop on {len(cases)} random networks of {min(depths)} to "
            f"{max(depths)} layers (nonzero biases, float32 and float64 kept)")


def _reference_back_prop(activations, params, y, mean=True, mask=True, dA_mean=False,
                         transpose=True):
    """The book's back_prop, or one of the typical mistakes, to recognise them in an answer.

    mean=False: dW and db summed over the examples; mask=False: no ReLU derivative;
    dA_mean=True: dA_prev divided by m too; transpose=False: W @ dZ instead of W.T @ dZ.
    """
    L = len(params) // 2
    AL = activations[f"A{L}"]
    m = AL.shape[1]
    dZ = AL - one_hot(y, AL.shape[0], dtype=AL.dtype)
    grads = {}
    for l in range(L, 0, -1):
        scale = m if mean else 1
        grads[f"dW{l}"] = dZ @ activations[f"A{l - 1}"].T / scale
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / scale
        if l > 1:
            W = params[f"W{l}"]
            dA = (W.T if transpose else W) @ dZ / (m if dA_mean else 1)
            dZ = dA * (activations[f"Z{l - 1}"] > 0) if mask else dA
    return grads


_BACK_PROP_MISTAKES = [
    ({"mean": False}, "that is the sum over the m = {m} examples: dW and db are means, divide by m"),
    ({"dA_mean": True}, "dA{p} = W{l1}.T @ dZ{l1} has no 1/m: only dW and db are means over the "
                        "examples"),
    ({"mask": False}, "the ReLU derivative is missing: dZ{l} = dA{l} * (Z{l} > 0)"),
    ({"transpose": False}, "that is W{l1} @ dZ{l1}: transpose W, dA{l} = W{l1}.T @ dZ{l1}"),
]


@_checker
def check_back_prop(fn):
    """fn(activations, params, y: (m,) int) -> grads: a dict of dW1, db1, ..., dWL, dbL.

    As :func:`nnlib.network.back_prop` without dropout. activations: the dict of
    :func:`nnlib.network.forward_prop`; y: integer labels of n_L = params[f"W{L}"].shape[0]
    classes (Y = one_hot(y, n_L, dtype=AL.dtype)). The gradients of the mean cross-entropy:
    dZ_L = A_L - Y, then for l = L..1, dW_l = (1/m) dZ_l A_{l-1}^T, the shape of W_l;
    db_l = (1/m) times the sum of the columns of dZ_l, shape (n_l, 1), one value per unit;
    and for l > 1, dZ_{l-1} = (W_l^T dZ_l) ⊙ (Z_{l-1} > 0). Checked on random networks of 1
    to 4 layers with nonzero biases, in float32 and float64 (the dtype must be kept).
    """
    rng = np.random.default_rng(17)
    cases = _networks(rng, [2, 3, 1, 4, 3, 2])
    for dims, params, X, y in cases:
        L, m = len(dims) - 1, X.shape[1]
        activations = forward_prop(X, params)
        on = f"layer_dims = {dims} {X.dtype}, m = {m} examples"
        result = _call_on_copies(fn, on, activations=activations, params=params, y=y)
        keys = [f"d{p}{l}" for l in range(1, L + 1) for p in "Wb"]

        def key_hint(missing, extra, L=L):
            if extra and all(str(key).startswith(("dA", "dZ")) for key in extra):
                return "return only the gradients of the parameters, dW1, db1, ..., dWL, dbL"
            return f"one dW and one db per layer, l = 1, ..., L with L = len(params) // 2 = {L}"
        _expect_keys(result, keys, on, "the gradients", key_hint)
        expected = back_prop(activations, params, y)
        variants = []
        for options, words in _BACK_PROP_MISTAKES:
            if not options.get("transpose", True) and any(
                    params[f"W{l}"].shape[0] != params[f"W{l}"].shape[1] for l in range(2, L + 1)):
                continue  # W @ dZ fails on a non-square W: that raises before any number
            variants.append((_reference_back_prop(activations, params, y, **options), words))
        for l in range(L, 0, -1):
            def hint(index, value, key, l=l):
                for grads, words in variants:
                    if _close(value, grads[key]) and not _close(grads[key], expected[key]):
                        return words.format(m=m, l=l, p=l, l1=l + 1)
                if key.startswith("dW") and value.shape == value.T.shape and _close(value.T, expected[key]):
                    return f"that is dW{l} transposed: dW{l} = dZ{l} @ A{l - 1}.T / m"
                if l == L:
                    return f"dZ{L} = A{L} - Y with Y = one_hot(y, n_L); {key} follows from dZ{L}"
                return (f"dW{l + 1} and db{l + 1} are right, so look at dZ{l} = "
                        f"(W{l + 1}.T @ dZ{l + 1}) * (Z{l} > 0)")
            dtype_hint = "keep the activations' dtype: Y = one_hot(y, n_L, dtype=AL.dtype)"
            _expect_array(result[f"dW{l}"], expected[f"dW{l}"], on, f"dW{l}",
                          lambda index, value, l=l, hint=hint: hint(index, value, f"dW{l}"),
                          lambda shape, l=l: f"dW{l} has the shape of W{l}: dZ{l} @ A{l - 1}.T / m",
                          dtype_hint)
            _expect_array(result[f"db{l}"], expected[f"db{l}"], on, f"db{l}",
                          lambda index, value, l=l, hint=hint: hint(index, value, f"db{l}"),
                          _db_shape_hint(dims[l]), dtype_hint)
    depths = [len(dims) - 1 for dims, *_ in cases]
    return (f"matches nnlib.back_prop on {len(cases)} random networks of {min(depths)} to "
            f"{max(depths)} layers (nonzero biases, float32 and float64 kept)")


# ---------------------------------------------------------------------------------------
# Chapter 05: gradient checking

@_checker
def check_numerical_gradient(fn):
    """fn(f, x: float64 array, eps) -> central differences of f at x, same shape as x.

    f takes no arguments and reads x, as in :func:`nnlib.gradcheck.numerical_gradient`: the function
    changes x[i] in place to probe it and must put every entry back.
    """
    rng = np.random.default_rng(9)
    cases = []
    for shape, eps in [((3,), 1e-3), ((2, 3), 1e-3), ((4, 1), 1e-4), ((1, 1), 1e-3), ((5, 2), 1e-2)]:
        x = rng.standard_normal(shape)
        c = rng.standard_normal(shape)
        # A cubic and a sine: their curvature makes one-sided differences visibly wrong.
        f = (lambda x=x, c=c: float(np.sum(c * x ** 3) + np.sum(np.sin(x)) ** 2))
        cases.append((f, x, eps, f"x: {shape} float64, eps = {eps:g}"))
    params = init_params([4, 3, 2], seed=3, dtype=np.float64)
    X, y = rng.random((4, 5)), np.array([0, 1, 1, 0, 1])
    cases.append((lambda: loss_of(params, X, y), params["W1"], 1e-3,
                  "x = W1: (3, 4) of a small network's loss, eps = 0.001"))
    for f, x, eps, on in cases:
        before = x.copy()
        expected = numerical_gradient(f, x, eps)
        grad = _call(fn, (f, x, eps), on)
        if not np.allclose(x, before, rtol=1e-12, atol=1e-12):
            index = _first(~np.isclose(x, before, rtol=1e-12, atol=1e-12))
            raise _Failure(
                f"left x changed for {on}: x{_index(index)} is {_num(x[index] - before[index])} away "
                "from its value before the call (put each entry back after probing it)")
        x[...] = before  # a restore within rounding is fine; probe the rest from the exact x

        def hint(index, grad, f=f, x=x, eps=eps, expected=expected):
            if not np.any(grad) and np.any(expected):
                return ("all zeros: f reads x itself, so change x[i] in place (not a copy), call f(), "
                        "then restore x[i]")
            if np.isclose(grad[index], 2 * expected[index], rtol=1e-6):
                return "twice the central difference: divide by 2 eps"
            if np.isclose(grad[index], _one_sided(f, x, index, eps), rtol=1e-9):
                return ("that is the forward difference (f(x + eps) - f(x)) / eps; use central differences, "
                        "(f(x + eps) - f(x - eps)) / (2 eps)")
            return "central difference: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)"
        # Another order of the same float64 operations differs by far less than 1e-6; a
        # forward difference by about eps times the curvature, far more.
        tolerance = {"rtol": 1e-6, "atol": 1e-6 * float(np.max(np.abs(expected)))}
        _expect_array(grad, expected, on, "grad", hint, tolerance=tolerance)
    return (f"matches nnlib.numerical_gradient on {len(cases)} functions (x of shapes (1, 1) to (5, 2), "
            "a small network's loss included, eps from 1e-4 to 1e-2), x restored")


def _one_sided(f, x, index, eps):
    """The forward difference (f(x + eps e_i) - f(x)) / eps, to recognise it in a wrong answer."""
    saved = x[index]
    f_0 = f()
    x[index] = saved + eps
    f_plus = f()
    x[index] = saved
    return (f_plus - f_0) / eps


# ---------------------------------------------------------------------------------------
# Chapter 06: training

@_checker
def check_update_params(fn):
    """fn(params, grads, learning_rate) -> a new dict with W_l - α dW_l and b_l - α db_l.

    params: W1, b1, ..., WL, bL; grads: dW1, db1, ...; ``params`` is left unchanged.
    """
    rng = np.random.default_rng(10)
    cases = [([3, 2], 0.1), ([5, 4, 3], 0.5), ([1, 1], 0.01), ([4, 3, 3, 2], 0.05), ([6, 5, 4], 1.0),
             ([2, 7, 3], 0.2)]
    for i, (layer_dims, learning_rate) in enumerate(cases):
        params = init_params(layer_dims, seed=i, dtype=_dtype(i))
        def draw(like):
            return rng.standard_normal(like.shape).astype(like.dtype)
        params = {key: value + draw(value) for key, value in params.items()}  # biases not all 0
        grads = {f"d{key}": draw(value) for key, value in params.items()}
        on = f"layer_dims = {layer_dims} {_dtype(i).__name__}, learning_rate = {learning_rate}"
        new = _call_on_copies(fn, on, params=params, grads=grads, learning_rate=learning_rate)
        if not isinstance(new, dict):
            got = "None" if new is None else f"a {type(new).__name__}"
            raise _Failure(f"returned {got} for {on}, expected a dict with keys {sorted(params)}")
        if set(new) != set(params):
            missing, extra = sorted(set(params) - set(new)), sorted(set(new) - set(params))
            words = [f"missing {missing}"] * bool(missing) + [f"extra {extra}"] * bool(extra)
            raise _Failure(f"returned a dict with keys {sorted(new)} for {on}, expected {sorted(params)}"
                           + _words(", ".join(words)))
        expected = update_params(params, grads, learning_rate)
        for key in params:
            def hint(index, value, key=key):
                if np.isclose(value[index], params[key][index]):
                    return f"{key} was not updated"
                if np.isclose(value[index], params[key][index] + learning_rate * grads[f"d{key}"][index]):
                    return f"that moves up the gradient: subtract, {key} - learning_rate * d{key}"
                return f"{key} - learning_rate * d{key}"
            _expect_array(new[key], expected[key], on, key, hint)
    return (f"matches nnlib.update_params on {len(cases)} networks of 1 to 3 layers (float32 and "
            "float64 kept), params left unchanged")


def _reference_loop(X, y, layer_dims, learning_rate, iterations, seed):
    """nnlib.gradient_descent's (params, losses), He initialisation, without a progress bar."""
    from .training import gradient_descent  # here: nnlib.training imports this module's neighbours
    params, history = gradient_descent(X, y, layer_dims, learning_rate, iterations, init="he",
                                       seed=seed, progress=False)
    return params, np.array(history["loss"])


def _expect_losses(losses, iterations, on):
    """The reader's losses as a float array of length ``iterations``, or a failure saying why."""
    if isinstance(losses, dict):
        raise _Failure(f"returned losses as a dict for {on}, expected a list of {iterations} numbers"
                       + (" (history['loss'] of gradient_descent's history)" if "loss" in losses else ""))
    try:
        values = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1:
        raise _Failure(f"returned losses that are not a list of numbers for {on}, expected a list "
                       f"of {iterations}: one loss per iteration")
    if values.size != iterations:
        raise _Failure(f"returned {values.size} losses for {on}, expected {iterations}: one per "
                       "iteration, the loss of its forward pass before its step")
    if not np.all(np.isfinite(values)):
        i = int(np.flatnonzero(~np.isfinite(values))[0])
        raise _Failure(f"returned losses[{i}] = {_num(values[i])} for {on}")
    return values


def _expect_params(params, expected, on, start=None, before_last=None):
    """Fail at the first wrong key, shape, dtype or entry of the returned parameters."""
    keys = list(expected)
    _expect_keys(params, keys, on, "the parameters", lambda missing, extra: (
        f"one W and one b per layer: {', '.join(keys)}"))
    for key in keys:
        def hint(index, value, key=key):
            if start is not None and _close(value, start[key]):
                return f"{key} was not updated: every layer takes the step"
            if before_last is not None and _close(value, before_last[key]):
                return "these are the parameters before the last step: return them after it"
            return f"each iteration: {key} <- {key} - learning_rate * d{key}"
        _expect_array(params[key], expected[key], on, key, hint, dtype_hint=(
            "start from nnlib.init_params(layer_dims, seed=seed, dtype=X.dtype)"))


@_checker
def check_training_loop(fn):
    """fn(X, y, layer_dims, learning_rate, iterations, seed) -> (params, losses).

    Full-batch gradient descent as :func:`nnlib.training.gradient_descent` with its
    defaults: start from ``nnlib.init_params(layer_dims, seed=seed, dtype=X.dtype)`` (He
    initialisation, zero biases, in X's dtype), then ``iterations`` times: the forward pass
    on all of X, the mean cross-entropy of that pass (appended to ``losses``, so losses[0] is
    the loss before any step), the backward pass and the step W_l <- W_l - α dW_l,
    b_l <- b_l - α db_l. Returns the final parameters (after the last step) and the list of
    losses. Checked in float64 on a few small random networks for a few iterations, loss by
    loss, then parameter by parameter, so that rounding cannot hide a mistake.
    """
    rng = np.random.default_rng(18)
    # (depth, learning_rate, iterations, seed): seeds other than 0 catch a fixed seed
    settings = [(2, 0.5, 4, 3), (1, 1.0, 3, 11), (3, 0.3, 5, 7), (2, 0.2, 3, 5)]
    for depth, learning_rate, iterations, seed in settings:
        m = int(rng.integers(8, 13))
        dims = ([int(rng.integers(3, 8))] + [int(n) for n in rng.integers(2, 7, size=depth - 1)]
                + [int(rng.integers(2, 5))])
        X = rng.random((dims[0], m))
        y = rng.integers(0, dims[-1], size=m)
        on = (f"X: {X.shape} float64, layer_dims = {dims}, learning_rate = {learning_rate}, "
              f"iterations = {iterations}, seed = {seed}")
        result = _call_on_copies(fn, on, X=X, y=y, layer_dims=dims, learning_rate=learning_rate,
                                 iterations=iterations, seed=seed)
        params, losses = _expect_tuple(result, ("params", "losses"), on)
        losses = _expect_losses(losses, iterations, on)
        expected_params, expected = _reference_loop(X, y, dims, learning_rate, iterations, seed)
        # float64 by other routes (cross_entropy of A_L, another order of the sums) agrees
        # to about 1e-15; a float32 start or a missed step is far from it.
        wrong = ~np.isclose(losses, expected, rtol=1e-10, atol=0)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            pair = _pair(losses[i], expected[i])
            where = f"returned losses[{i}] = {pair} (the loss before step {i + 1}), for {on}"
            if i == 0:
                if iterations > 1 and np.isclose(losses[0], expected[1], rtol=1e-10):
                    raise _Failure(where + " (that is the loss after the first step: compute the "
                                   "loss of each forward pass before its step)")
                if np.isclose(losses[0], expected[0], rtol=1e-4):
                    raise _Failure(where + " (close, but not to float64's precision: start in "
                                   "X's dtype, init_params(layer_dims, seed=seed, dtype=X.dtype))")
                raise _Failure(where + " (the first loss is that of the starting point: "
                               "params = nnlib.init_params(layer_dims, seed=seed, dtype=X.dtype))")
            # Losses 0..i-1 are right, so the parameters after i steps are not: find out which.
            again = _expect_tuple(_call_on_copies(fn, on, X=X, y=y, layer_dims=dims,
                                                  learning_rate=learning_rate, iterations=i,
                                                  seed=seed), ("params", "losses"), on)
            after = on.replace(f"iterations = {iterations}", f"iterations = {i}")
            start = init_params(dims, seed=seed, dtype=X.dtype)
            _expect_params(again[0], _reference_loop(X, y, dims, learning_rate, i, seed)[0], after,
                           start=start)
            raise _Failure(where + f" (the parameters after {i} steps are right: compute the loss "
                           "of each forward pass, the mean cross-entropy, before the step)")
        before_last = (_reference_loop(X, y, dims, learning_rate, iterations - 1, seed)[0]
                       if iterations > 1 else None)
        _expect_params(params, expected_params, on, start=init_params(dims, seed=seed, dtype=X.dtype),
                       before_last=before_last)
    depths = [s[0] for s in settings]
    return (f"matches nnlib.gradient_descent on {len(settings)} random networks of {min(depths)} "
            f"to {max(depths)} layers, loss by loss and parameter by parameter (float64, "
            f"{min(s[2] for s in settings)} to {max(s[2] for s in settings)} iterations)")


# ---------------------------------------------------------------------------------------
# Chapter 07: what the network learned

@_checker
def check_confusion_matrix(fn):
    """fn(y: (m,), predictions: (m,), num_classes) -> C: (K, K) integer counts.

    C[k, j] counts the examples with label k predicted as j: rows are true labels.
    """
    rng = np.random.default_rng(11)
    cases = [(rng.integers(0, 10, size=40), rng.integers(0, 10, size=40), 10),
             (rng.integers(0, 3, size=30), rng.integers(0, 3, size=30), 3),
             (np.array([2]), np.array([0]), 3),
             (np.arange(10), np.arange(10), 10),
             (rng.integers(0, 8, size=25), rng.integers(0, 8, size=25), 10),  # no 8 or 9 anywhere
             (np.array([0, 1, 1, 1]), np.array([1, 1, 1, 0]), 2)]
    for y, predictions, K in cases:
        on = f"{y.size} labels and num_classes={K}"
        C = _call_on_copies(fn, on, y=y, predictions=predictions, num_classes=K)
        expected = confusion_matrix(y, predictions, K)

        def hint(index, C, expected=expected):
            if np.array_equal(C, expected.T):
                return "transposed: rows are the true labels y, columns the predictions"
            if np.array_equal(C, (expected > 0).astype(C.dtype)):
                return ("C[y, predictions] += 1 counts a repeated pair once; use "
                        "np.add.at(C, (y, predictions), 1) or a loop")
            k, j = index
            return f"C[{k}, {j}] counts the examples with label {k} predicted as {j}"

        def shape_hint(shape, K=K):
            return f"{K} x {K} whatever labels the batch holds: use num_classes" if shape != (K, K) else None
        _expect_array(C, expected, on, "C", hint, shape_hint,
                      dtype_hint="counts are integers: np.zeros((K, K), dtype=np.int64)")
    return (f"matches nnlib.confusion_matrix on {len(cases)} label vectors (1 to 40 labels, 2 to 10 "
            "classes, absent classes included)")


# ---------------------------------------------------------------------------------------
# Chapter 08: faster training

def _adam_step(W, dW, v, s, t, learning_rate, beta1, beta2, eps, bias_correction=True):
    """One Adam step (Kingma and Ba 2015, algorithm 1) -> (W, v, s), the reference of the checker.

    v = β1 v + (1 - β1) dW; s = β2 s + (1 - β2) dW²; v̂ = v / (1 - β1^t); ŝ = s / (1 - β2^t);
    W = W - α v̂ / (sqrt(ŝ) + ε). ``bias_correction=False`` drops the two divisions, to
    recognise that mistake.
    """
    v = beta1 * v + (1 - beta1) * dW
    s = beta2 * s + (1 - beta2) * dW ** 2
    v_hat = v / (1 - beta1 ** t) if bias_correction else v
    s_hat = s / (1 - beta2 ** t) if bias_correction else s
    return W - learning_rate * v_hat / (np.sqrt(s_hat) + eps), v, s


@_checker
def check_adam_step(fn):
    """fn(W, dW, v, s, t, learning_rate, beta1, beta2, eps) -> (W, v, s) after one Adam step.

    W, dW, v, s: the same shape; t = 1, 2, ...: the step's number (for the bias correction).
    Returns new arrays: v and s are the moving averages themselves, not the corrected v̂, ŝ.
    (The paper calls them m and v; the book's m is the number of examples.)
    """
    rng = np.random.default_rng(12)
    # (shape, t, learning_rate, beta1, beta2, eps, fresh state v = s = 0)
    settings = [((3, 4), 1, 1e-3, 0.9, 0.999, 1e-8, True), ((1, 1), 1, 1e-2, 0.9, 0.999, 1e-8, True),
                ((5, 1), 2, 1e-3, 0.9, 0.999, 1e-8, False), ((3, 2), 5, 1e-3, 0.9, 0.999, 0.1, False),
                ((2, 6), 3, 1e-2, 0.8, 0.99, 1e-8, False), ((4, 4), 10, 1e-3, 0.9, 0.999, 1e-8, False),
                ((7, 3), 100, 5e-3, 0.95, 0.9, 1e-7, False), ((6, 5), 1000, 1e-3, 0.9, 0.999, 1e-8, False)]
    for i, (shape, t, learning_rate, beta1, beta2, eps, fresh) in enumerate(settings):
        dtype = _dtype(i)
        W, dW = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
        v = np.zeros(shape, dtype) if fresh else (0.1 * rng.standard_normal(shape)).astype(dtype)
        s = np.zeros(shape, dtype) if fresh else (0.01 * rng.random(shape)).astype(dtype)
        on = (f"W: {shape} {dtype.__name__}, t = {t}, learning_rate = {learning_rate:g}, "
              f"beta1 = {beta1}, beta2 = {beta2}, eps = {eps:g}")
        result = _call_on_copies(fn, on, W=W, dW=dW, v=v, s=s, t=t, learning_rate=learning_rate,
                                 beta1=beta1, beta2=beta2, eps=eps)
        new_W, new_v, new_s = _expect_tuple(result, ("W", "v", "s"), on)
        expected_W, expected_v, expected_s = _adam_step(W, dW, v, s, t, learning_rate, beta1, beta2, eps)

        def moment_hint(corrected, formula):
            def hint(index, value):
                if _close(value, corrected):
                    return "return the moving average itself; the bias correction only enters the step on W"
                return formula
            return hint

        def step_hint(index, value):
            plain = _adam_step(W, dW, v, s, t, learning_rate, beta1, beta2, eps, bias_correction=False)[0]
            if _close(value, plain):
                return ("that is Adam without bias correction: divide v by (1 - beta1**t) and s by "
                        "(1 - beta2**t) before the step")
            if _close(value, W - learning_rate * (expected_v / (1 - beta1 ** t))
                      / np.sqrt(expected_s / (1 - beta2 ** t) + eps)):
                return "eps goes outside the square root: sqrt(s_hat) + eps"
            return "W - learning_rate * v_hat / (sqrt(s_hat) + eps)"
        _expect_array(new_v, expected_v, on, "v",
                      moment_hint(expected_v / (1 - beta1 ** t), "v = beta1 * v + (1 - beta1) * dW"))
        _expect_array(new_s, expected_s, on, "s",
                      moment_hint(expected_s / (1 - beta2 ** t), "s = beta2 * s + (1 - beta2) * dW**2"))
        _expect_array(new_W, expected_W, on, "W", step_hint)
    return _passed("Adam's update (Kingma and Ba 2015)", [c[0] for c in settings], [np.float32, np.float64],
                   "t from 1 to 1000, v = s = 0 at t = 1 included")


# ---------------------------------------------------------------------------------------
# Chapter 09: explore the network

@_checker
def check_center_digit(fn):
    """fn(image: (28, 28) float) -> the image shifted by whole pixels, centre of mass at (14, 14).

    As :func:`nnlib.images.center_digit`: shift by round(14 - centre of mass) along each
    axis (np.roll or slicing into zeros: no ink reaches the border here); an image without
    ink comes back unchanged.
    """
    rng = np.random.default_rng(13)
    cases = [_digit_like(rng, size) for size in [3, 8, 12, 5, 10, 14, 6]]
    dot = np.zeros((28, 28))
    dot[0, 0] = 1  # a single pixel in a corner: the largest shift
    centred = np.zeros((28, 28))
    centred[12:17, 13:16] = 0.5  # already centred: no shift
    cases += [dot, centred, np.zeros((28, 28))]
    for i, image in enumerate(cases):
        image = image.astype(_dtype(i))
        blank = not image.any()
        # The hint rides in the input's description: any failure on a blank image needs it.
        on = "an image with no ink, all zeros (it has no centre of mass: return it unchanged)" if blank else \
            f"image: (28, 28) {image.dtype} with centre of mass ({_com_text(image)})"
        moved = _call_on_copies(fn, on, image=image)
        if not blank:
            _expect_centred(moved, image, on)
        _expect_array(moved, center_digit(image), on, "image", lambda index, moved: (
            "shift by whole pixels, so every value is kept: np.roll or slicing into an array of zeros"))
    return (f"matches nnlib.images.center_digit on {len(cases)} images (float32 and float64 kept, "
            "a corner pixel and a blank image included)")


def _expect_centred(moved, image, on):
    """Fail if an image like ``image`` came back with its centre of mass off (14, 14).

    Only checked when the reader's image can have a centre of mass; :func:`_expect_array`
    reports any other problem.
    """
    usable = (isinstance(moved, np.ndarray) and moved.shape == image.shape and moved.dtype == image.dtype
              and np.all(np.isfinite(moved)) and moved.min() >= 0 and moved.any())
    if not usable:
        return
    rows, cols = center_of_mass(moved)
    if max(abs(rows - CENTRE), abs(cols - CENTRE)) > 0.5 + 1e-6:
        raise _Failure(
            f"returned an image with centre of mass at ({rows:.2f}, {cols:.2f}) for {on}, expected "
            f"within half a pixel of ({CENTRE}, {CENTRE}) (shift by round({CENTRE} - row) rows "
            f"and round({CENTRE} - column) columns; rows are axis 0)")


def _digit_like(rng, size):
    """A (28, 28) image with a random blob of ink in a size x size square placed at random.

    The centre of mass is kept away from half-pixels, where rounding conventions differ.
    """
    while True:
        patch = rng.random((size, size)) * (rng.random((size, size)) < 0.5)
        if not patch.any():
            continue
        top, left = (int(n) for n in rng.integers(0, 29 - size, size=2))
        image = np.zeros((28, 28))
        image[top:top + size, left:left + size] = patch
        if all(abs(c % 1 - 0.5) > 0.05 for c in center_of_mass(image)):
            return image


def _com_text(image):
    return ", ".join(f"{c:.2f}" for c in center_of_mass(image))


# ---------------------------------------------------------------------------------------
# Chapter 10: sweeps

@_checker
def check_mean_and_spread(fn):
    """fn(values: (n_points, n_seeds)) -> (mean: (n_points,), std: (n_points,)) over the seeds.

    std is the sample standard deviation (ddof=1, as pandas' ``.std()``): a few seeds are a
    sample of all the seeds one could run.
    """
    rng = np.random.default_rng(14)
    shapes = [(1, 2), (5, 3), (3, 3), (8, 3), (4, 5), (2, 4), (6, 2)]
    cases = [(0.9 + 0.05 * rng.standard_normal(shape)).astype(_dtype(i + 1)) for i, shape in enumerate(shapes)]
    cases.append(np.full((3, 3), 0.97))  # identical seeds: no spread
    for values in cases:
        on = f"values: {values.shape} {values.dtype}"
        mean, std = _expect_tuple(_call_on_copies(fn, on, values=values), ("mean", "std"), on)
        n_points = values.shape[0]

        def shape_hint(shape, n_points=n_points):
            if shape == (n_points, 1):
                return "a 1-D array of one value per point: no keepdims"
            return "one value per point (row): reduce over the seeds, axis=1"

        def std_hint(index, std, values=values):
            if _close(std, values.std(axis=1)):
                return ("that is np.std's default ddof=0; the spread of a few seeds is the sample "
                        "standard deviation, ddof=1")
            return "the standard deviation over the seeds of each point, ddof=1"
        _expect_array(mean, values.mean(axis=1), on, "mean",
                      lambda index, mean: "the mean over the seeds of each point, axis=1", shape_hint)
        _expect_array(std, values.std(axis=1, ddof=1), on, "std", std_hint, shape_hint)
    return _passed("the mean and sample standard deviation over seeds", [v.shape for v in cases],
                   [np.float32, np.float64], "identical seeds included")


# ---------------------------------------------------------------------------------------
# Chapter 11: errata

@_checker
def check_bias_gradient(fn):
    """fn(dZ: (n_l, m)) -> db = (1/m) sum over the m columns of dZ: (n_l, 1), one value per unit.

    The article returns one number for the last layer instead; as the columns of
    dZ_L = A_L - Y sum to 0, that number is about 0 and the output biases never learn.
    """
    rng = np.random.default_rng(15)
    cases = [dZ for dZ, _ in _gradient_cases(rng, 9)]
    y = rng.integers(0, 10, size=6)
    cases.append((softmax(rng.standard_normal((10, 6))) - one_hot(y, 10, dtype=np.float64)))  # dZ_L
    for dZ in cases:
        on = f"dZ: {dZ.shape} {dZ.dtype}"
        db = _call_on_copies(fn, on, dZ=dZ)
        expected = bias_gradient(dZ)
        mean = _mean_hint(dZ.shape[1])
        _expect_array(db, expected, on, "db", lambda index, db: mean(index, db, expected) or
                      "db[k, 0] is the mean of row k of dZ", _db_shape_hint(dZ.shape[0]))
    return _passed("the book's db", [dZ.shape for dZ in cases], [np.float32, np.float64],
                   "a last layer's dZ = A - Y included")


# ---------------------------------------------------------------------------------------
# Chapter 10a: convolutions

@_checker
def check_conv_output_size(fn):
    """fn(n, k, stride, padding) -> n_out = floor((n + 2P - k) / S) + 1, an int.

    The number of positions of a k-wide window on n pixels padded by P on each side, moved S
    pixels at a time (the book's eq-conv-size, ``nnlib.conv.conv_output_size``).
    """
    # (n, k, S, P): strides that do not divide n + 2P - k catch a missing floor
    cases = [(28, 5, 1, 2), (28, 5, 1, 0), (5, 3, 1, 0), (7, 3, 2, 0), (28, 2, 2, 0),
             (6, 3, 2, 1), (14, 5, 3, 2), (1, 1, 1, 0), (3, 3, 1, 0), (10, 4, 3, 0), (28, 5, 2, 0)]
    for n, k, stride, padding in cases:
        on = f"n = {n}, k = {k}, stride = {stride}, padding = {padding}"
        size = _call(fn, (n, k, stride, padding), on)
        expected = conv_output_size(n, k, stride, padding)
        if isinstance(size, np.integer):
            size = int(size)
        if isinstance(size, float) and size == int(size):
            size = int(size)
        if not isinstance(size, int) or isinstance(size, bool):
            got = "None" if size is None else repr(size)
            extra = (" (round down: // instead of /)" if isinstance(size, float) else "")
            raise _Failure(f"returned {got} for {on}, expected the integer {expected}{extra}")
        if size != expected:
            ideas = [((n + padding - k) // stride + 1, "the image is padded on both sides: n + 2P"),
                     ((n + 2 * padding - k) // stride, "count the first position too: + 1"),
                     (n + 2 * padding - k + 1, "the window moves S pixels at a time: divide by S"),
                     (-(-(n + 2 * padding - k) // stride) + 1,
                      "round down: a window that would stick out of the padded image is not counted")]
            why = next((words for value, words in ideas if value == size),
                       "n_out = (n + 2 P - k) // S + 1")
            raise _Failure(f"returned {size}, expected {expected}, for {on} ({why})")
    return (f"matches the book's output size on {len(cases)} cases (strides 1 to 3, padding 0 to 2, "
            "a window as wide as the image included)")


def _conv_cases(rng, batched):
    """(A_prev, W, b, stride, padding) for the convolution checkers, dtypes alternating.

    A_prev: (m, C_prev, n_H, n_W) when ``batched``, else one example (C_prev, n_H, n_W);
    n_H != n_W in some cases (catches swapped axes), C = C_prev in some (catches a transposed
    kernel), biases never 0, strides that leave pixels out.
    """
    # (m, C_prev, n_H, n_W, C, k, S, P)
    settings = [(1, 1, 5, 5, 1, 3, 1, 0), (2, 2, 6, 5, 2, 3, 1, 0), (3, 1, 7, 7, 2, 3, 1, 1),
                (2, 3, 6, 8, 4, 2, 2, 0), (1, 2, 9, 7, 3, 3, 2, 1), (4, 1, 8, 8, 1, 5, 1, 2),
                (2, 2, 5, 6, 3, 1, 1, 0), (3, 3, 7, 9, 2, 4, 3, 2)]
    cases = []
    for i, (m, C_prev, n_H, n_W, C, k, S, P) in enumerate(settings):
        dtype = _dtype(i)
        shape = (m, C_prev, n_H, n_W) if batched else (C_prev, n_H, n_W)
        A_prev = rng.standard_normal(shape).astype(dtype)
        W = rng.standard_normal((C, C_prev, k, k)).astype(dtype)
        b = (0.5 + rng.random(C)).astype(dtype)
        cases.append((A_prev, W, b, S, P))
    return cases


def _conv_check(fn, batched):
    """The checks shared by the one-example and the batched convolution: the words after
    the name in a passing message. The result is called Z in the messages in both cases."""
    rng = np.random.default_rng(19 if batched else 20)
    cases = _conv_cases(rng, batched)
    for A_prev, W, b, stride, padding in cases:
        name = "A_prev" if batched else "a_prev"
        on = (f"{name}: {A_prev.shape}, W: {W.shape}, b: {b.shape} {A_prev.dtype}, "
              f"stride = {stride}, padding = {padding}")
        Z = _call_on_copies(fn, on, A_prev=A_prev, W=W, b=b, stride=stride, padding=padding)
        images = A_prev if batched else A_prev[None]
        expected = conv2d_forward(images, W, b, stride, padding)
        expected = np.ascontiguousarray(expected if batched else expected[0])
        flipped = conv2d_forward(images, W[:, :, ::-1, ::-1].copy(), b, stride, padding)
        unbiased = conv2d_forward(images, W, np.zeros_like(b), stride, padding)
        if not batched:
            flipped, unbiased = flipped[0], unbiased[0]
        k = W.shape[2]
        n_H, n_W = expected.shape[-2:]

        def hint(index, Z, flipped=flipped, unbiased=unbiased):
            if _close(Z, flipped) and not _close(flipped, expected):
                return ("that is the kernel flipped, the convolution of the maths books; CNNs "
                        "slide the kernel as it is (a correlation): W[c, :, p, q] meets pixel "
                        "(h S + p, w S + q)")
            if _close(Z, unbiased):
                return "b was not added: each output channel c gets b[c]"
            return ("Z[c, h, w] = sum of W[c] times the k x k window of the padded image at rows "
                    "h S .. h S + k - 1, columns w S .. w S + k - 1, plus b[c]")

        def shape_hint(shape, n_H=n_H, n_W=n_W, k=k, stride=stride, padding=padding,
                       A_prev=A_prev):
            height, width = A_prev.shape[-2:]
            if shape[-2:] == (height - k + 1, width - k + 1) and padding:
                return f"pad the image with P = {padding} zeros on each side first"
            if shape[-2:] == (height + 2 * padding - k + 1, width + 2 * padding - k + 1):
                return f"the window moves {stride} pixels at a time: n_H = (n_H_prev + 2P - k) // S + 1"
            return f"n_H = (n_H_prev + 2P - k) // S + 1 = {n_H}, n_W alike = {n_W}"
        _expect_array(Z, expected, on, "Z", hint, shape_hint)
    shapes = [A_prev.shape for A_prev, *_ in cases]
    return _passed("nnlib.conv.conv2d_forward", shapes, [np.float32, np.float64],
                   "strides 1 to 3, padding 0 to 2")


@_checker
def check_conv_forward_one(fn):
    """fn(a_prev: (C_prev, n_H_prev, n_W_prev), W: (C, C_prev, k, k), b: (C,), stride, padding)
    -> z: (C, n_H, n_W), the convolution of ONE example.

    z[c, h, w] = sum over c', p, q of W[c, c', p, q] a_pad[c', h S + p, w S + q] + b[c], with
    a_pad the example padded by P zeros on each side: nnlib.conv.conv2d_forward of
    a_prev[None], first example. The kernel is not flipped (a correlation, as in every CNN
    library). Checked on 8 random cases, float32 and float64 kept.
    """
    return _conv_check(fn, batched=False)


@_checker
def check_conv2d_forward(fn):
    """fn(A_prev: (m, C_prev, n_H_prev, n_W_prev), W: (C, C_prev, k, k), b: (C,), stride,
    padding) -> Z: (m, C, n_H, n_W), as ``nnlib.conv.conv2d_forward``.

    The exercise asks for it without a loop over examples or pixels (im2col and one matrix
    product, or a loop over the k x k offsets only); the checker compares the numbers.
    """
    return _conv_check(fn, batched=True)


def _pool_cases(rng):
    """(dA, A_prev, pool) for the max-pool checker: ties in every case (ReLU's zeros, repeated
    values), odd sizes whose last row or column no window covers."""
    settings = [(1, 1, 4, 4, 2), (2, 3, 6, 6, 2), (2, 2, 5, 7, 2), (1, 2, 6, 9, 3), (3, 1, 8, 8, 2),
                (2, 2, 4, 6, 2), (1, 1, 6, 6, 3)]
    cases = []
    for i, (m, C, n_H, n_W, pool) in enumerate(settings):
        dtype = _dtype(i)
        A_prev = np.maximum(rng.standard_normal((m, C, n_H, n_W)), 0)  # after ReLU: zeros tie
        A_prev[..., :pool, :pool] = 0.0  # one all-zero window: every entry a maximum
        A_prev[..., pool:2 * pool, :pool] = np.round(A_prev[..., pool:2 * pool, :pool])
        A_prev = A_prev.astype(dtype)
        n_out = (n_H // pool, n_W // pool)
        dA = rng.standard_normal((m, C) + n_out).astype(dtype)
        cases.append((dA, A_prev, pool))
    return cases


@_checker
def check_maxpool_backward(fn):
    """fn(dA: (m, C, n_H, n_W), A_prev: (m, C, n_H_prev, n_W_prev), pool) -> dA_prev.

    Windows of pool x pool, side by side (stride = pool): each window's dA goes to the FIRST
    position of its maximum, row by row, and the rest of the window gets 0, as
    ``nnlib.conv.maxpool_backward``. Ties are common after ReLU (a window of zeros):
    every case has some.
    """
    rng = np.random.default_rng(21)
    cases = _pool_cases(rng)
    for dA, A_prev, pool in cases:
        on = f"dA: {dA.shape}, A_prev: {A_prev.shape} {A_prev.dtype}, pool = {pool}"
        dA_prev = _call_on_copies(fn, on, dA=dA, A_prev=A_prev, pool=pool)
        expected = maxpool_backward(dA, A_prev, pool)
        maxima = np.repeat(np.repeat(maxpool_forward(A_prev, pool), pool, axis=2), pool, axis=3)
        n_H, n_W = maxima.shape[2:]
        at_max = np.zeros(A_prev.shape, dtype=bool)
        at_max[..., :n_H, :n_W] = A_prev[..., :n_H, :n_W] == maxima
        spread = np.zeros_like(A_prev)
        spread[..., :n_H, :n_W] = np.repeat(np.repeat(dA, pool, axis=2), pool, axis=3)

        def hint(index, dA_prev, at_max=at_max, spread=spread):
            if _close(dA_prev, np.where(at_max, spread, 0)):
                return ("the gradient went to every maximum of a window with ties: send it to the "
                        "first maximum only (row by row), the others get 0")
            if _close(dA_prev, at_max.astype(dA_prev.dtype)) or _close(
                    dA_prev, (expected != 0).astype(dA_prev.dtype)):
                return "that is the mask of the maxima: multiply it by the window's dA"
            i, c, h, w = index
            return (f"pixel ({h}, {w}) lies in window ({h // pool}, {w // pool}); it gets that "
                    "window's dA if it is the window's first maximum, else 0")
        _expect_array(dA_prev, expected, on, "dA_prev", hint,
                      lambda shape: "dA_prev has the shape of A_prev")
    return _passed("nnlib.conv.maxpool_backward", [A.shape for _, A, _ in cases],
                   [np.float32, np.float64], "windows of 2 and 3, ties in every case")


# ---------------------------------------------------------------------------------------
# Chapter 10b: training a CNN

def _layers_text(layers):
    """The layers as the book writes them: [Conv(8, 5, padding=2), ReLU(), MaxPool(2)]."""
    if list(layers) == LENET:
        return "cnn.LENET"
    if list(layers) == LENET[:6]:
        return "cnn.LENET[:6]"
    parts = []
    for layer in layers:
        if isinstance(layer, Conv):
            parts.append(f"Conv({layer.channels}, {layer.kernel_size}"
                         + (f", stride={layer.stride}" if layer.stride != 1 else "")
                         + (f", padding={layer.padding}" if layer.padding else "") + ")")
        elif isinstance(layer, MaxPool):
            stride = "" if layer.stride is None else f", stride={layer.stride}"
            parts.append(f"MaxPool({layer.pool}{stride})")
        elif isinstance(layer, Dense):
            parts.append(f"Dense({layer.units})")
        else:
            parts.append(f"{type(layer).__name__}()")
    return "[" + ", ".join(parts) + "]"


def _span(values):
    """"1 to 3" for the smallest and the largest of ``values``."""
    values = sorted(values)
    return f"{values[0]} to {values[-1]}"


def _call_on_layers(fn, on, layers, *rest):
    """fn(layers, *rest) on a copy of the list; fails if the function changed the list."""
    copy = list(layers)
    result = _call(fn, [copy, *rest], on)
    if copy != list(layers):
        raise _Failure("changed its input list layers in place; read it and leave it as it was")
    return result


def _expect_int(actual, expected, on, ideas, otherwise, float_hint=None):
    """Fail unless the reader returned the integer ``expected`` (an integral float passes).

    ideas: (value, words) of typical mistakes; the first whose value is the reader's gives
    the hint, else ``otherwise``. float_hint: words for a float that is not a whole number.
    """
    if isinstance(actual, np.ndarray) and actual.ndim == 0:
        actual = actual[()]
    if isinstance(actual, np.integer):
        actual = int(actual)
    if isinstance(actual, np.floating):
        actual = float(actual)
    if isinstance(actual, float) and actual.is_integer():
        actual = int(actual)
    if not isinstance(actual, int) or isinstance(actual, bool):
        got = "None" if actual is None else repr(actual)
        extra = float_hint if isinstance(actual, float) else None
        raise _Failure(f"returned {got} for {on}, expected the integer {expected}{_words(extra)}")
    if actual != expected:
        why = next((words for value, words in ideas if value == actual), otherwise)
        raise _Failure(f"returned {actual}, expected {expected}, for {on} ({why})")


def _count(layers, input_shape, biases="channel", depth=True, pooled=True, padded=True,
           strided=True, pool_strided=True, flat_channels=True):
    """cnn.count_params with the defaults; a typical mistake with one of them changed.

    None when the mistaken shapes shrink below one pixel.
    """
    C, n_H, n_W = input_shape
    n, total = None, 0
    for layer in layers:
        if isinstance(layer, Conv):
            k = layer.kernel_size
            S, P = (layer.stride if strided else 1), (layer.padding if padded else 0)
            n_H, n_W = conv_output_size(n_H, k, S, P), conv_output_size(n_W, k, S, P)
            weights = layer.channels * (C if depth else 1) * k * k
            total += weights + {"channel": layer.channels, "none": 0, "weight": weights,
                                "pixel": layer.channels * n_H * n_W}[biases]
            C = layer.channels
        elif isinstance(layer, MaxPool) and pooled:
            S = layer.pool if layer.stride is None or not pool_strided else layer.stride
            n_H, n_W = conv_output_size(n_H, layer.pool, S), conv_output_size(n_W, layer.pool, S)
        elif isinstance(layer, Flatten):
            n = (C if flat_channels else 1) * n_H * n_W
        elif isinstance(layer, Dense):
            total += layer.units * n + (0 if biases == "none" else layer.units)
            n = layer.units
        if n_H < 1 or n_W < 1:
            return None
    return total


_COUNT_MISTAKES = [
    ({"biases": "none"}, "the biases count too: one per output channel of a Conv, one per unit "
                         "of a Dense layer"),
    ({"biases": "weight"}, "a Conv has one bias per output channel, b: (C,), not one per kernel "
                           "weight"),
    ({"biases": "pixel"}, "a Conv has one bias per output channel, b: (C,), shared by every "
                          "pixel of that channel"),
    ({"depth": False}, "each kernel spans all the input channels: W: (C, C_prev, k, k) holds "
                       "C C_prev k k weights"),
    ({"flat_channels": False}, "Flatten keeps every channel: the first Dense layer has "
                               "C n_H n_W inputs"),
    ({"pooled": False}, "MaxPool shrinks the images: count the first Dense layer's inputs after "
                        "every pooling, n_H = (n_H_prev - pool) // stride + 1"),
    ({"padded": False}, "a Conv pads its input by P zeros on each side before sliding: "
                        "n_H = (n_H_prev + 2P - k) // S + 1"),
    ({"strided": False}, "a Conv with stride S moves S pixels at a time: "
                         "n_H = (n_H_prev + 2P - k) // S + 1"),
    ({"pool_strided": False}, "MaxPool(pool, stride=S) moves S pixels at a time; stride None "
                              "means S = pool"),
]


def _random_layers(rng, input_shape=None, blocks=(1, 3)):
    """A random valid list of nnlib.cnn layers: blocks of a Conv (kernel 1 to 5, stride 1 to 3
    but no wider than the kernel, padding 0 to 2), maybe ReLU, maybe MaxPool (pool 2 or 3,
    stride None or 1 to pool); then, given images of ``input_shape``, Flatten and one or two
    Dense layers, drawn until the shapes fit."""
    while True:
        layers = []
        for _ in range(int(rng.integers(blocks[0], blocks[1] + 1))):
            k = int(rng.integers(1, 6))
            stride = min(int(rng.choice([1, 1, 2, 3])), k)
            layers.append(Conv(int(rng.integers(1, 9)), k, stride, int(rng.integers(0, min(k, 3)))))
            if rng.random() < 0.8:
                layers.append(ReLU())
            if rng.random() < 0.5:
                pool = int(rng.integers(2, 4))
                stride = None if rng.random() < 0.6 else int(rng.integers(1, pool + 1))
                layers.append(MaxPool(pool, stride))
        if input_shape is None:
            return layers
        layers.append(Flatten())
        if rng.random() < 0.5:
            layers += [Dense(int(rng.integers(2, 17))), ReLU()]
        layers.append(Dense(int(rng.integers(2, 11))))
        try:
            layer_shapes(layers, input_shape)
        except ValueError:
            continue
        return layers


def _count_cases():
    """(layers, input_shape) for check_count_params: LENET first, then networks that tell the
    typical mistakes apart, then random ones."""
    cases = [
        (LENET, (1, 28, 28)),
        ([Flatten(), Dense(10)], (1, 28, 28)),  # a dense network on images
        ([Conv(4, 3), ReLU(), Flatten(), Dense(5)], (3, 8, 8)),
        ([Conv(6, 5, stride=2, padding=1), ReLU(), MaxPool(3, stride=2), Flatten(), Dense(16),
          ReLU(), Dense(10)], (3, 32, 32)),
        ([MaxPool(2), Conv(2, 3, padding=1), ReLU(), Flatten(), Dense(3)], (2, 9, 7)),
    ]
    rng = np.random.default_rng(22)
    shapes = [(1, 28, 28), (3, 32, 32), (2, 9, 7), (1, 12, 12), (4, 10, 13), (1, 28, 28),
              (3, 16, 11)]
    cases += [(_random_layers(rng, shape), shape) for shape in shapes]
    return cases


@_checker
def check_count_params(fn):
    """fn(layers, input_shape) -> the number of trainable parameters, an int, as
    ``nnlib.cnn.count_params``.

    layers: a list of nnlib.cnn layers (Conv, ReLU, MaxPool, Flatten, Dense) ending with
    Dense; input_shape: (C, n_H, n_W) of one image. A Conv(C, k) on C_prev channels has
    C C_prev k k weights and C biases; a Dense(n) on n_prev inputs has n n_prev weights and
    n biases, and the first Dense layer's n_prev is C n_H n_W of the images that reach
    Flatten, after every convolution and pooling. Checked on LENET and on random networks
    (strides, padding, overlapping pools, several input shapes).
    """
    cases = _count_cases()
    for layers, input_shape in cases:
        on = f"layers = {_layers_text(layers)}, input_shape = {input_shape}"
        count = _call_on_layers(fn, on, layers, input_shape)
        ideas = [(_count(layers, input_shape, **mistake), words)
                 for mistake, words in _COUNT_MISTAKES]
        _expect_int(count, count_params(layers, input_shape), on, ideas,
                    "a Conv has C C_prev k k + C parameters, a Dense layer n n_prev + n; follow "
                    "the images' shape through every layer to find n_prev after Flatten")
    shapes = sorted({shape for _, shape in cases}, key=lambda s: (int(np.prod(s)), s))
    convs = [layer for layers, _ in cases for layer in layers if isinstance(layer, Conv)]
    return (f"matches nnlib.cnn.count_params on {len(cases)} networks (cnn.LENET included, strides "
            f"{_span(c.stride for c in convs)}, padding {_span(c.padding for c in convs)}, "
            f"overlapping pools, input shapes from {shapes[0]} to {shapes[-1]})")


def _windows(layers, pool_strided=True):
    """(k, S) of each Conv and MaxPool step, in order; ReLU has no window."""
    windows = []
    for layer in layers:
        if isinstance(layer, Conv):
            windows.append((layer.kernel_size, layer.stride))
        elif isinstance(layer, MaxPool):
            stride = layer.pool if layer.stride is None or not pool_strided else layer.stride
            windows.append((layer.pool, stride))
    return windows


def _receptive_field(layers):
    """The side r of the square of input pixels one unit of the last Conv or MaxPool step
    sees: r_l = r_(l-1) + (k_l - 1) j_(l-1) and j_l = j_(l-1) S_l from r_0 = j_0 = 1, where j
    is the distance between neighbouring units in input pixels (tests/test_exercises.py
    checks it against the pixels a unit's gradient reaches through nnlib.conv)."""
    r, j = 1, 1
    for k, S in _windows(layers):
        r, j = r + (k - 1) * j, j * S
    return r


def _receptive_field_mistakes(layers):
    """(value, words) of the typical mistakes for these layers."""
    windows = _windows(layers)

    def field(windows, grow=lambda k: k - 1, jump=lambda j, S: j * S, after=False, r=1):
        j = 1
        for k, S in windows:
            if after:
                j = jump(j, S)
            r += grow(k) * j
            if not after:
                j = jump(j, S)
        return r

    pools = [isinstance(layer, MaxPool) for layer in layers if isinstance(layer, (Conv, MaxPool))]
    padding = sum(2 * layer.padding for layer in layers if isinstance(layer, Conv))
    product = int(np.prod([k for k, _ in windows]))
    return [
        (field(windows, grow=lambda k: k), "a window of k units reaches k - 1 units past the "
         "first, whose field is already counted: add (k - 1) j, not k j"),
        (field(windows, jump=lambda j, S: 1), "the jump j grows: after a step of stride S, a "
         "Conv's or a MaxPool's, neighbouring units are S times further apart in the input, "
         "j_l = j_(l-1) S_l"),
        (field(windows, after=True), "step l adds (k_l - 1) j_(l-1), the jump before it: its "
         "kernel slides over the units of the step before"),
        (field(windows, r=0), "start from r_0 = 1: before any step, a unit is one pixel"),
        (product, "the fields grow by adding, not multiplying: r_l = r_(l-1) + "
         "(k_l - 1) j_(l-1)"),
        (field([w for w, pool in zip(windows, pools) if not pool]),
         "a MaxPool window of pool x pool widens the field too: k = pool, S = its stride"),
        (field(_windows(layers, pool_strided=False)), "MaxPool(pool, stride=S) moves S pixels at "
         "a time; stride None means S = pool"),
        (field(windows) + padding, "padding adds zeros around the image, not pixels a unit sees: "
         "leave P out"),
    ]


def _receptive_cases():
    """Layer lists of Conv, ReLU and MaxPool for check_receptive_field: LENET's first six
    layers first, then lists that tell the typical mistakes apart, then random ones."""
    cases = [
        LENET[:6],
        [Conv(4, 3)],
        [Conv(4, 3), ReLU(), Conv(4, 3), ReLU()],
        [MaxPool(2)],
        [Conv(4, 1), ReLU()],
        [Conv(4, 3, stride=2), ReLU(), Conv(8, 3), ReLU()],
        [Conv(6, 5, stride=2, padding=2), ReLU(), MaxPool(3, stride=2), Conv(8, 3, padding=1)],
    ]
    rng = np.random.default_rng(23)
    cases += [_random_layers(rng, blocks=(2, 3)) for _ in range(6)]
    return cases


@_checker
def check_receptive_field(fn):
    """fn(layers) -> r, the side of the square of input pixels that one unit of the last
    step can see (its receptive field), an int.

    layers: a list of Conv, ReLU and MaxPool layers of nnlib.cnn. From r = 1 and j = 1 (the
    distance between neighbouring units, in input pixels), each Conv or MaxPool with a window
    of k (``kernel_size`` or ``pool``) and a stride S gives r <- r + (k - 1) j, then
    j <- j S; ReLU changes neither, and padding does not either. LENET's first six layers
    give 16. Checked on LENET's first six layers and on random lists; every stride is at most
    its window, so the field is a filled square.
    """
    cases = _receptive_cases()
    for layers in cases:
        on = f"layers = {_layers_text(layers)}"
        r = _call_on_layers(fn, on, layers)
        _expect_int(r, _receptive_field(layers), on, _receptive_field_mistakes(layers),
                    "from r = 1, j = 1, each Conv or MaxPool step with window k and stride S "
                    "does r = r + (k - 1) j, then j = j S",
                    float_hint="the field is a whole number of pixels")
    windows = [window for layers in cases for window in _windows(layers)]
    pools = [layer.pool for layers in cases for layer in layers if isinstance(layer, MaxPool)]
    return (f"matches the book's recursion on {len(cases)} lists of layers (cnn.LENET[:6]: "
            f"{_receptive_field(LENET[:6])} pixels; windows {_span(k for k, _ in windows)}, "
            f"strides {_span(S for _, S in windows)}, pools {_span(pools)})")
