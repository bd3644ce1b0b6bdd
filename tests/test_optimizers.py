"""nnlib.optimizers: the first steps against the formulas, written out here, and steps on numbers
small enough to check by hand."""
import numpy as np
import pytest

from nnlib import exercises
from nnlib.optimizers import OPTIMIZERS, SGD, Adam, Momentum, adam_step, make_optimizer


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
        np.testing.assert_allclose(momentum.velocity[0], v, **TIGHT)
        np.testing.assert_allclose(W, expected, **TIGHT)


@pytest.mark.parametrize("learning_rate, beta1, beta2, eps", [
    (0.001, 0.9, 0.999, 1e-8),   # the paper's defaults
    (0.1, 0.5, 0.75, 0.1),       # a large eps: where it is added matters
])
def test_adam_first_three_steps_follow_kingma_and_ba_algorithm_1(learning_rate, beta1, beta2, eps):
    """Algorithm 1 of Kingma and Ba (2015), with the paper's names for the moments, m_t and v_t
    (``adam.m`` and ``adam.v``; the book's v_dW and s_dW), and g_t = dW at step t."""
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
        np.testing.assert_allclose(adam.m[0], m, **TIGHT)
        np.testing.assert_allclose(adam.v[0], v, **TIGHT)
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
    np.testing.assert_allclose(momentum.velocity[0], [1.0])
    np.testing.assert_allclose(W, [0.9])
    momentum.step(arrays([4.0]))   # v = 0.5 * 1 + 0.5 * 4 = 2.5;     W = 0.9 - 0.25 = 0.65
    np.testing.assert_allclose(momentum.velocity[0], [2.5])
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
    adam.step(arrays([2.0]))  # m = 1, v = 1; m̂ = 1 / 0.5 = 2, v̂ = 1 / 0.25 = 4; W = -0.1 * 2 / 2 = -0.1
    np.testing.assert_allclose([adam.m[0], adam.v[0], W], [[1.0], [1.0], [-0.1]])
    adam.step(arrays([1.0]))  # m = 0.5 + 0.5 = 1, v = 0.75 + 0.25 = 1
    # m̂ = 1 / (1 - 0.25) = 4/3, v̂ = 1 / (1 - 0.5625) = 16/7; W = -0.1 - 0.1 (4/3) / sqrt(16/7)
    np.testing.assert_allclose([adam.m[0], adam.v[0]], [[1.0], [1.0]])
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


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="'sgd', 'momentum', 'adam'; got 'rmsprop'"):
        make_optimizer("rmsprop", [])


def test_adam_step_returns_new_arrays_and_leaves_inputs_alone():
    W, dW, m, v = arrays([1.0, 2.0], [0.1, -0.2], [0.0, 0.0], [0.0, 0.0])
    copies = [a.copy() for a in (W, dW, m, v)]
    new_W, new_m, new_v = adam_step(W, dW, m, v, t=1)
    for before, after in zip(copies, (W, dW, m, v)):
        assert np.array_equal(before, after)
    np.testing.assert_allclose(new_m, 0.1 * dW)
    np.testing.assert_allclose(new_v, 0.001 * dW ** 2)
    np.testing.assert_allclose(new_W, W - 0.001 * np.sign(dW), rtol=1e-6)


def test_adam_step_passes_the_chapter_exercise_checker():
    assert exercises.check_adam_step(adam_step)
