"""Optimisers (chapter "Faster training"): small objects that keep their state
and take steps.

An optimiser is built on a list of parameter arrays and updates them in place
at each ``step(grads)`` from gradients of the same shapes, as in
scikit-learn's ``_stochastic_optimizers.py``. ``nnlib.train`` hands it the
arrays W1, b1, W2, ... of the network; the fast engine hands it one vector
holding all of them, so that a step is a dozen NumPy calls whatever the
depth. Each optimiser allocates its state and one scratch array once: a step
allocates nothing, and the ``out=`` arguments below exist for that reason
only.

With W a parameter array, dW its gradient on the mini-batch, α the learning
rate and t the number of the step (1, 2, ...):

- SGD:       W <- W - α dW
- Momentum:  v <- β v + (1 - β) dW;   W <- W - α v
- Adam:      m <- β1 m + (1 - β1) dW;  v <- β2 v + (1 - β2) dW²;
             W <- W - α m̂ / (sqrt(v̂) + ε)
             with m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t)
             (Kingma and Ba 2015, Algorithm 1).
"""
import math

import numpy as np


class SGD:
    """Stochastic gradient descent: W <- W - α dW for each array.

    The default learning rate is α = 0.1.
    """

    default_learning_rate = 0.1

    def __init__(self, params, learning_rate=None):
        self.params = list(params)
        self.learning_rate = (self.default_learning_rate
                              if learning_rate is None else learning_rate)
        self.t = 0  # steps taken so far
        self.scratch = [np.empty_like(W) for W in self.params]

    def step(self, grads):
        """Update every parameter array in place from its gradient.

        ``grads`` is a list, in the order of the parameter arrays.
        """
        self.t += 1
        for i, (W, dW) in enumerate(zip(self.params, grads)):
            self.update(i, W, dW)

    def update(self, i, W, dW):
        W -= np.multiply(dW, self.learning_rate, out=self.scratch[i])

    def settings(self):
        """The optimiser's name and hyperparameters, a dict.

        The CLI prints it with --json.
        """
        return {"optimizer": type(self).__name__.lower(),
                "learning_rate": self.learning_rate}


class Momentum(SGD):
    """Momentum: v <- β v + (1 - β) dW, W <- W - α v.

    Defaults α = 0.1, β = 0.9. v is a moving average of the gradients:
    directions that agree from batch to batch add up, the noise of single
    batches averages out.
    """

    def __init__(self, params, learning_rate=None, beta=0.9):
        super().__init__(params, learning_rate)
        self.beta = beta
        self.velocity = [np.zeros_like(W) for W in self.params]

    def update(self, i, W, dW):
        v, scratch = self.velocity[i], self.scratch[i]
        v *= self.beta
        v += np.multiply(dW, 1 - self.beta, out=scratch)
        W -= np.multiply(v, self.learning_rate, out=scratch)

    def settings(self):
        return {**super().settings(), "beta": self.beta}


class Adam(SGD):
    """Adam (Kingma and Ba 2015): bias-corrected moving averages of dW, dW².

    Defaults α = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8, the paper's. ``m``
    and ``v`` start at 0, so early averages are too small by a factor
    1 - β^t; dividing by it is the bias correction. The step uses the
    paper's equivalent rearrangement, which applies both corrections as
    scalars: W <- W - α_t m / (sqrt(v) + ε_t) with
    α_t = α sqrt(1 - β2^t) / (1 - β1^t) and ε_t = ε sqrt(1 - β2^t).
    """

    default_learning_rate = 0.001

    def __init__(self, params, learning_rate=None, beta1=0.9, beta2=0.999,
                 eps=1e-8):
        super().__init__(params, learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(W) for W in self.params]
        self.v = [np.zeros_like(W) for W in self.params]

    def update(self, i, W, dW):
        m, v, scratch = self.m[i], self.v[i], self.scratch[i]
        beta1, beta2, t = self.beta1, self.beta2, self.t
        # m = β1 m + (1 - β1) dW
        m *= beta1
        m += np.multiply(dW, 1 - beta1, out=scratch)
        # v = β2 v + (1 - β2) dW²
        v *= beta2
        v += np.multiply(np.square(dW, out=scratch), 1 - beta2, out=scratch)
        correction = math.sqrt(1 - beta2 ** t)
        # sqrt(v) + ε_t
        denominator = np.sqrt(v, out=scratch)
        denominator += self.eps * correction
        # α_t m / (sqrt(v) + ε_t)
        step = np.divide(m, denominator, out=scratch)
        step *= self.learning_rate * correction / (1 - beta1 ** t)
        W -= step

    def settings(self):
        return {**super().settings(), "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps}


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name, params, learning_rate=None):
    """The optimiser called ``name`` on the arrays ``params``.

    ``name`` is "sgd", "momentum" or "adam".
    """
    if name not in OPTIMIZERS:
        raise ValueError("optimizer must be one of "
                         f"{', '.join(map(repr, OPTIMIZERS))}; got {name!r}")
    return OPTIMIZERS[name](params, learning_rate)


def adam_step(W, dW, m, v, t, learning_rate=0.001, beta1=0.9, beta2=0.999,
              eps=1e-8):
    """One Adam step on one array, as a function: returns new ``(W, m, v)``.

    The inputs are left unchanged. W, dW, m, v: arrays of one shape;
    t = 1, 2, ...: the number of this step (m = v = 0 before step 1). The same
    arithmetic as :class:`Adam`, which it runs on copies.
    """
    adam = Adam([np.array(W, copy=True)], learning_rate, beta1, beta2, eps)
    adam.m[0][...] = m
    adam.v[0][...] = v
    adam.t = t - 1  # step() counts this step as t
    adam.step([dW])
    return adam.params[0], adam.m[0], adam.v[0]
