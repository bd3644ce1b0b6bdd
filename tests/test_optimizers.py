"""nnlib.optimizers: the first steps against the formulas, written out here, steps on numbers
small enough to check by hand, and the learning-rate schedules."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import exercises
from nnlib.optimizers import (OPTIMIZERS, SCHEDULES, SGD, Adam, AdamW, Momentum, adam_step, make_optimizer,
                              scheduled_learning_rate)


def arrays(*values):
    return [np.array(v, dtype=np.float64) for v in values]


# ---------------------------------------------------------------------------------------
# The first three steps of each optimiser against its formulas, float64, on one small array.

W_0 = np.array([[1.0, -2.0, 0.5],
                [0.0, 4.0, -1.5]])
GRADIENTS = [np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]]),   # dW at t = 1 (one entry 0)
             np.array([[-0.5, -0.5, 1.0], [1e-3, 2.0, 0.25]]),  # t = 2
             np.array([[0.25, 1.5, -4.0], [-2.0, 0.0, 0.5]])]   # t = 3
TIGHT = {"rtol": 1e-12, "atol": 1e-15}


@pytest.mark.parametrize("learning_rate", [0.1, 0.5])
def test_sgd_first_three_steps_follow_its_formula(learning_rate):
    W = W_0.copy()
    sgd = SGD([W], learning_rate=learning_rate)
    expected = W_0.copy()
    for dW in GRADIENTS:
        sgd.step([dW.copy()])
        expected = expected - learning_rate * dW                    # W <- W - α dW
        np.testing.assert_allclose(W, expected, **TIGHT)


@pytest.mark.parametrize("learning_rate, beta", [(0.1, 0.9), (0.5, 0.5)])
def test_momentum_first_three_steps_follow_its_formula(learning_rate, beta):
    W = W_0.copy()
    momentum = Momentum([W], learning_rate=learning_rate, beta=beta)
    expected, v = W_0.copy(), np.zeros_like(W_0)
    for dW in GRADIENTS:
        momentum.step([dW.copy()])
        v = beta * v + (1 - beta) * dW                              # v <- β v + (1 - β) dW
        expected = expected - learning_rate * v                     # W <- W - α v
        np.testing.assert_allclose(momentum.v[0], v, **TIGHT)
        np.testing.assert_allclose(W, expected, **TIGHT)


@pytest.mark.parametrize("learning_rate, beta1, beta2, eps", [
    (0.001, 0.9, 0.999, 1e-8),   # the paper's defaults
    (0.1, 0.5, 0.75, 0.1),       # a large eps: where it is added matters
])
def test_adam_first_three_steps_follow_kingma_and_ba_algorithm_1(learning_rate, beta1, beta2, eps):
    """Algorithm 1 of Kingma and Ba (2015), with the paper's names for the moments, m_t and v_t
    (``adam.v`` and ``adam.s``: the book's v_dW and s_dW), and g_t = dW at step t."""
    W = W_0.copy()
    adam = Adam([W], learning_rate=learning_rate, beta1=beta1, beta2=beta2, eps=eps)
    expected, m, v = W_0.copy(), np.zeros_like(W_0), np.zeros_like(W_0)
    for t, g in enumerate(GRADIENTS, start=1):
        adam.step([g.copy()])
        m = beta1 * m + (1 - beta1) * g                             # m_t = β1 m_{t-1} + (1 - β1) g_t
        v = beta2 * v + (1 - beta2) * g ** 2                        # v_t = β2 v_{t-1} + (1 - β2) g_t²
        m_hat = m / (1 - beta1 ** t)                                # m̂_t = m_t / (1 - β1^t)
        v_hat = v / (1 - beta2 ** t)                                # v̂_t = v_t / (1 - β2^t)
        # W_t = W_{t-1} - α m̂_t / (√v̂_t + ε)
        expected = expected - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        assert adam.t == t
        np.testing.assert_allclose(adam.v[0], m, **TIGHT)
        np.testing.assert_allclose(adam.s[0], v, **TIGHT)
        np.testing.assert_allclose(W, expected, **TIGHT)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_array_keeps_its_own_state(name):
    """Stepping [W, b] together is stepping W and b each with its own optimiser."""
    b_0 = np.array([[0.5], [-1.0]])
    db = [np.array([[1.0], [-2.0]]), np.array([[0.5], [0.25]]), np.array([[-3.0], [1.0]])]
    together, alone_W, alone_b = [W_0.copy(), b_0.copy()], [W_0.copy()], [b_0.copy()]
    optimizers = [make_optimizer(name, params) for params in (together, alone_W, alone_b)]
    for dW, d_b in zip(GRADIENTS, db):
        optimizers[0].step([dW, d_b])
        optimizers[1].step([dW])
        optimizers[2].step([d_b])
    np.testing.assert_array_equal(together[0], alone_W[0])
    np.testing.assert_array_equal(together[1], alone_b[0])


# ---------------------------------------------------------------------------------------
# Steps on numbers small enough to check by hand.

def test_sgd_step():
    W, dW = arrays([1.0, -2.0], [0.5, 1.0])
    SGD([W], learning_rate=0.1).step([dW])
    np.testing.assert_allclose(W, [0.95, -2.1])  # W - 0.1 dW


def test_momentum_two_steps():
    W, = arrays([1.0])
    momentum = Momentum([W], learning_rate=0.1, beta=0.5)
    momentum.step(arrays([2.0]))   # v = 0.5 * 0 + 0.5 * 2 = 1;       W = 1 - 0.1 * 1 = 0.9
    np.testing.assert_allclose(momentum.v[0], [1.0])
    np.testing.assert_allclose(W, [0.9])
    momentum.step(arrays([4.0]))   # v = 0.5 * 1 + 0.5 * 4 = 2.5;     W = 0.9 - 0.25 = 0.65
    np.testing.assert_allclose(momentum.v[0], [2.5])
    np.testing.assert_allclose(W, [0.65])


def test_adam_first_step_moves_each_weight_by_the_learning_rate():
    # At t = 1 the bias-corrected averages are m̂ = dW and v̂ = dW², so the step is
    # α dW / (|dW| + ε): α in the direction of -dW, whatever the gradient's size.
    W, dW = arrays([1.0, 1.0, 1.0], [1e-3, -5.0, 300.0])
    Adam([W], learning_rate=0.01).step([dW])
    np.testing.assert_allclose(W, [0.99, 1.01, 0.99], rtol=1e-6)


def test_adam_bias_correction_by_hand():
    W, = arrays([0.0])
    adam = Adam([W], learning_rate=0.1, beta1=0.5, beta2=0.75, eps=0.0)
    adam.step(arrays([2.0]))  # v = 1, s = 1; v̂ = 1 / 0.5 = 2, ŝ = 1 / 0.25 = 4; W = -0.1 * 2 / 2 = -0.1
    np.testing.assert_allclose([adam.v[0], adam.s[0], W], [[1.0], [1.0], [-0.1]])
    adam.step(arrays([1.0]))  # v = 0.5 + 0.5 = 1, s = 0.75 + 0.25 = 1
    # v̂ = 1 / (1 - 0.25) = 4/3, ŝ = 1 / (1 - 0.5625) = 16/7; W = -0.1 - 0.1 (4/3) / sqrt(16/7)
    np.testing.assert_allclose([adam.v[0], adam.s[0]], [[1.0], [1.0]])
    np.testing.assert_allclose(W, [-0.1 - 0.1 * (4 / 3) / np.sqrt(16 / 7)])


def test_steps_update_every_array_in_place_and_keep_float32():
    params = [np.ones((2, 3), np.float32), np.ones((3, 1), np.float32)]
    grads = [np.full((2, 3), 0.5, np.float32), np.full((3, 1), -0.5, np.float32)]
    for name in OPTIMIZERS:
        arrays_before = [p.copy() for p in params]
        optimizer = make_optimizer(name, params)
        optimizer.step(grads)
        assert all(p.dtype == np.float32 for p in params)
        assert all((p < b).all() for p, b in zip(params[:1], arrays_before[:1]))
        assert all((p > b).all() for p, b in zip(params[1:], arrays_before[1:]))


def test_default_learning_rates_and_settings():
    assert make_optimizer("sgd", []).learning_rate == 0.1
    assert make_optimizer("momentum", []).settings() == {"optimizer": "momentum", "learning_rate": 0.1, "beta": 0.9}
    assert make_optimizer("adam", [], 0.01).settings() == {
        "optimizer": "adam", "learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert make_optimizer("adamw", [], weight_decay=0.1).settings() == {
        "optimizer": "adamw", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
        "weight_decay": 0.1}


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="'sgd', 'momentum', 'adam', 'adamw'; got 'rmsprop'"):
        make_optimizer("rmsprop", [])


def test_adam_step_returns_new_arrays_and_leaves_inputs_alone():
    W, dW, v, s = arrays([1.0, 2.0], [0.1, -0.2], [0.0, 0.0], [0.0, 0.0])
    copies = [a.copy() for a in (W, dW, v, s)]
    new_W, new_v, new_s = adam_step(W, dW, v, s, t=1)
    for before, after in zip(copies, (W, dW, v, s)):
        assert np.array_equal(before, after)
    np.testing.assert_allclose(new_v, 0.1 * dW)
    np.testing.assert_allclose(new_s, 0.001 * dW ** 2)
    np.testing.assert_allclose(new_W, W - 0.001 * np.sign(dW), rtol=1e-6)


def test_adam_step_passes_the_chapter_exercise_checker():
    assert exercises.check_adam_step(adam_step)


def test_adam_step_keeps_the_moment_names_of_the_book():
    assert list(adam_step.__code__.co_varnames[:5]) == ["W", "dW", "v", "s", "t"]
    adam, momentum = Adam([W_0.copy()]), Momentum([W_0.copy()])
    assert len(adam.v) == len(adam.s) == len(momentum.v) == 1
    assert not hasattr(adam, "m") and not hasattr(momentum, "velocity")


# ---------------------------------------------------------------------------------------
# AdamW: Adam plus decoupled weight decay, W <- W - α (v̂ / (√ŝ + ε) + λ W).

small_arrays = hnp.arrays(np.float64, (2, 3), elements=st.floats(-4, 4))


@settings(max_examples=60, deadline=None)
@given(W_start=small_arrays, gradients=st.lists(small_arrays, min_size=3, max_size=3),
       learning_rate=st.sampled_from([0.001, 0.01, 0.1]), weight_decay=st.sampled_from([0.0, 0.01, 0.5, 2.0]),
       beta1=st.sampled_from([0.9, 0.5]), beta2=st.sampled_from([0.999, 0.75]), eps=st.sampled_from([1e-8, 0.1]))
def test_adamw_first_three_steps_follow_loshchilov_and_hutter(W_start, gradients, learning_rate, weight_decay,
                                                             beta1, beta2, eps):
    """The decoupled decay in PyTorch's form: λ W, from W before the step, added to Adam's
    normalised step, all times α; the moments never see λ."""
    W = W_start.copy()
    adamw = AdamW([W], learning_rate=learning_rate, beta1=beta1, beta2=beta2, eps=eps,
                  weight_decay=weight_decay)
    expected, v, s = W_start.copy(), np.zeros_like(W), np.zeros_like(W)
    for t, dW in enumerate(gradients, start=1):
        adamw.step([dW.copy()])
        v = beta1 * v + (1 - beta1) * dW                            # v = β1 v + (1 - β1) dW
        s = beta2 * s + (1 - beta2) * dW ** 2                       # s = β2 s + (1 - β2) dW²
        v_hat, s_hat = v / (1 - beta1 ** t), s / (1 - beta2 ** t)   # bias correction
        # W <- W - α (v̂ / (√ŝ + ε) + λ W)
        expected = expected - learning_rate * (v_hat / (np.sqrt(s_hat) + eps) + weight_decay * expected)
        np.testing.assert_allclose(adamw.v[0], v, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(adamw.s[0], s, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(W, expected, rtol=1e-10, atol=1e-12)


def test_adamw_without_decay_is_adam_bit_for_bit():
    adam_W, adamw_W = W_0.copy(), W_0.copy()
    adam, adamw = Adam([adam_W], learning_rate=0.1), AdamW([adamw_W], learning_rate=0.1, weight_decay=0.0)
    for dW in GRADIENTS:
        adam.step([dW])
        adamw.step([dW])
    assert np.array_equal(adam_W, adamw_W)


def test_adamw_decays_only_the_entries_named_by_decayed():
    """True: the whole array (a weight matrix); False: none (a bias); k: its first k entries
    (the fast engine's part of the flat vector, weights first)."""
    zeros = [np.zeros((2, 3)), np.zeros((2, 1)), np.zeros(5)]
    params = [np.ones((2, 3)), np.ones((2, 1)), np.ones(5)]
    AdamW(params, learning_rate=0.1, weight_decay=0.5, decayed=[True, False, 2]).step(zeros)
    np.testing.assert_allclose(params[0], 0.95)          # (1 - α λ) W with dW = 0
    np.testing.assert_allclose(params[1], 1.0)
    np.testing.assert_allclose(params[2], [0.95, 0.95, 1, 1, 1])


def test_adamw_decay_is_the_same_fraction_for_every_weight_where_coupled_l2_is_not():
    """Decoupled decay shrinks every weight by 1 - α λ whatever its size; coupled L2 goes
    through Adam's normalisation, which moves each weight by about α."""
    W = np.array([0.01, 1.0, 100.0])
    decoupled = W.copy()
    AdamW([decoupled], learning_rate=0.01, weight_decay=0.1).step([np.zeros(3)])
    np.testing.assert_allclose(decoupled / W, 1 - 0.01 * 0.1)
    coupled, _, _ = adam_step(W, 0.1 * W, np.zeros(3), np.zeros(3), t=1, learning_rate=0.01)
    np.testing.assert_allclose(W - coupled, 0.01, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# Learning-rate schedules: the rate of epoch e = 0, ..., E - 1.

@pytest.mark.parametrize("epochs", [4, 10, 11, 100])
def test_schedules_at_the_start_the_middle_and_the_end(epochs):
    alpha, middle, last = 0.5, -(-epochs // 2), epochs - 1  # middle: the first e >= E/2
    assert [scheduled_learning_rate(None, alpha, e, epochs) for e in (0, middle, last)] == [alpha] * 3
    # step: α, α/10 from e >= E/2, α/100 from e >= 3E/4
    assert scheduled_learning_rate("step", alpha, 0, epochs) == alpha
    assert scheduled_learning_rate("step", alpha, middle, epochs) == (alpha / 10 if 4 * middle < 3 * epochs
                                                                     else alpha / 100)
    assert scheduled_learning_rate("step", alpha, last, epochs) == alpha / 100
    # cosine: α (1 + cos(π e / E)) / 2
    assert scheduled_learning_rate("cosine", alpha, 0, epochs) == alpha
    assert scheduled_learning_rate("cosine", alpha, middle, epochs) == pytest.approx(
        alpha * (1 + math.cos(math.pi * middle / epochs)) / 2, rel=1e-15)
    assert scheduled_learning_rate("cosine", alpha, last, epochs) == pytest.approx(
        alpha * (1 - math.cos(math.pi / epochs)) / 2, rel=1e-12)


def test_cosine_is_half_the_rate_in_the_middle_and_step_drops_at_50_and_75_percent():
    assert scheduled_learning_rate("cosine", 0.2, 5, 10) == pytest.approx(0.1, rel=1e-15)
    assert [scheduled_learning_rate("step", 1.0, e, 8) for e in range(8)] == [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01]
    assert [scheduled_learning_rate("step", 1.0, e, 1) for e in range(1)] == [1]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_never_raise_the_rate(schedule):
    rates = [scheduled_learning_rate(schedule, 0.01, e, 17) for e in range(17)]
    assert rates[0] == 0.01 and all(0 < b <= a for a, b in zip(rates, rates[1:]))


def test_an_unknown_schedule_is_named():
    with pytest.raises(ValueError, match="schedule must be one of None, 'step', 'cosine'; got 'linear'"):
        scheduled_learning_rate("linear", 0.1, 0, 10)
