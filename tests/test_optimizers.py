"""nnlib.optimizers: each step on numbers small enough to check by hand."""
import numpy as np
import pytest

from nnlib import exercises
from nnlib.optimizers import OPTIMIZERS, SGD, Adam, Momentum, adam_step, make_optimizer


def arrays(*values):
    return [np.array(v, dtype=np.float64) for v in values]


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
