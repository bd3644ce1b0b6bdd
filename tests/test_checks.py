"""nnlib.checks: the refusals at the public boundary that issue 10 added (non-finite X, dtypes
other than float32 and float64, layers too large for memory, negative seeds) and issue 11's
(schedule, patience, AdamW's decay), each naming the argument and the values involved."""
import os
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import checks
from nnlib.checks import (all_finite, check_choice, check_decoupled_decay, check_finite, check_memory,
                          check_positive_int, check_seed, check_X, memory_needed)
from nnlib.optimizers import SCHEDULES


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_x_of_float16_or_longdouble_is_refused_naming_the_dtype_and_the_fix(dtype):
    X = np.zeros((3, 4), dtype)
    with pytest.raises(ValueError) as caught:
        check_X(X, name="X_val")
    message = str(caught.value)
    assert message.startswith("X_val must hold floats (float32 or float64)")
    assert f"got dtype {X.dtype}" in message and "X_val.astype(np.float32)" in message


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.dtype(">f4")])
def test_x_of_float32_or_float64_is_accepted_in_either_byte_order(dtype):
    X = np.zeros((3, 4), dtype)
    assert check_X(X) is X


def test_integer_x_is_told_to_scale_its_pixels():
    with pytest.raises(ValueError, match=r"got dtype uint8; scale pixels with X.astype\(np.float32\) / 255"):
        check_X(np.zeros((3, 4), np.uint8))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["X", "X_val", "X_test"])
def test_non_finite_x_is_refused_naming_the_array_and_the_first_bad_value(value, name):
    X = np.ones((4, 6), np.float32)
    X[2, 5] = value
    X[3, 5] = value
    with pytest.raises(ValueError) as caught:
        check_finite(X, name)
    assert str(caught.value).startswith(f"{name} holds 2 NaN or infinite values, the first "
                                        f"{name}[2, 5] = {value}")


def test_large_finite_values_whose_sum_overflows_are_accepted():
    X = np.full((784, 100), 3e38, np.float32)  # the sum overflows to inf; each value is finite
    with np.errstate(over="raise"):  # and no overflow warning escapes the check
        assert check_finite(X) is X


@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(max_dims=2, max_side=6),
                  elements=st.floats(width=32) | st.sampled_from([3e38, -3e38, np.inf, -np.inf, np.nan])))
def test_all_finite_agrees_with_isfinite_everywhere(X):
    assert all_finite(X) == bool(np.isfinite(X).all())


def test_memory_needed_counts_parameters_gradients_and_the_activations_of_the_examples():
    # [784, 10, 10]: 7,960 weights and biases; Z and A of 20 units for 100 examples
    assert memory_needed([784, 10, 10], np.float32, 100) == (2 * 7960 + 2 * 20 * 100) * 4
    assert memory_needed([784, 10, 10], np.float64, 100) == (2 * 7960 + 2 * 20 * 100) * 8


def test_layers_too_large_for_memory_are_refused_with_the_gib_needed_and_available(monkeypatch):
    monkeypatch.setattr(checks, "available_memory", lambda: 4 * 2**30)
    with pytest.raises(ValueError) as caught:
        check_memory([784, 10**9, 10], np.float32, 128)
    message = str(caught.value)
    needed = memory_needed([784, 10**9, 10], np.float32, 128) / 2**30
    assert message.startswith(f"layer_dims [784, 1000000000, 10] needs at least {needed:,.1f} GiB")
    assert "but 4.0 GiB are available" in message and "activations of 128 examples" in message


def test_layers_that_fit_in_memory_are_accepted(monkeypatch):
    monkeypatch.setattr(checks, "available_memory", lambda: 4 * 2**30)
    check_memory([784, 4096, 10], np.float32, 60000)  # about 2 GiB


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="Linux only")
def test_the_available_memory_is_read_from_proc_meminfo():
    available = checks.available_memory()
    assert 2**20 < available < 2**50


@pytest.mark.parametrize("seed", [-1, 2.5, "0", True])
def test_a_seed_that_is_not_an_integer_at_least_0_is_refused(seed):
    with pytest.raises(ValueError, match=rf"seed must be an integer >= 0, got {seed!r}"):
        check_seed(seed)


@pytest.mark.parametrize("seed", [None, 0, 2**64, np.int64(7)])
def test_none_and_integers_at_least_0_are_seeds(seed):
    check_seed(seed)


@pytest.mark.parametrize("value", [None, "step", "cosine"])
def test_a_choice_may_be_none_when_none_is_one_of_the_choices(value):
    assert check_choice(value, SCHEDULES, "schedule") is value


@pytest.mark.parametrize("value", ["linear", "Step", 0, ""])
def test_a_choice_outside_the_choices_is_named_with_them(value):
    with pytest.raises(ValueError, match=f"schedule must be one of None, 'step', 'cosine'; got {value!r}"):
        check_choice(value, SCHEDULES, "schedule")


def test_none_is_refused_where_it_is_not_a_choice():
    with pytest.raises(ValueError, match="engine must be one of 'plain', 'fast'; got None"):
        check_choice(None, ("plain", "fast"), "engine")


@pytest.mark.parametrize("value", [0, -3, 2.5, "3", True, None])
def test_patience_must_be_an_integer_at_least_1(value):
    with pytest.raises(ValueError, match=f"patience must be an integer >= 1, got {re.escape(repr(value))}"):
        check_positive_int(value, "patience")


def test_an_adamw_decay_that_does_not_shrink_the_weights_is_refused_naming_the_limit():
    check_decoupled_decay(9.99, 0.1)  # 1 - α λ = 0.001: shrinks
    with pytest.raises(ValueError, match=r"weight_decay=10 with optimizer 'adamw' and learning_rate=0.1 "
                                         r"multiplies the weights by 1 - 0.1 \* 10 = 0 at every step: use a "
                                         r"weight_decay below 10 \(1 / learning_rate\)"):
        check_decoupled_decay(10.0, 0.1)
