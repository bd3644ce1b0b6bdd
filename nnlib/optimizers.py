"""Optimisers (chapter "Faster training"): small objects that keep their state
and take steps, and the learning-rate schedules of ``nnlib.train``.

An optimiser is built on a list of parameter arrays and updates them in place
at each ``step(grads)`` from gradients of the same shapes, as in
scikit-learn's ``_stochastic_optimizers.py``. ``nnlib.train`` hands it the
arrays W1, b1, W2, ... of the network; the fast engine hands it one vector
holding all of them, so that a step is a dozen NumPy calls whatever the
depth. Each optimiser allocates its state and one scratch array once: a step
allocates nothing, and the ``out=`` arguments below exist for that reason
only.

With W a parameter array, dW its gradient on the mini-batch, α the learning
rate, t the number of the step (1, 2, ...) and the book's names v, s for the
moments (the Adam paper's m, v: m is the number of examples here):

- SGD:       W <- W - α dW
- Momentum:  v <- β v + (1 - β) dW;   W <- W - α v
- Adam:      v <- β1 v + (1 - β1) dW;  s <- β2 s + (1 - β2) dW²;
             W <- W - α v̂ / (sqrt(ŝ) + ε)
             with v̂ = v / (1 - β1^t), ŝ = s / (1 - β2^t)
             (Kingma and Ba 2015, Algorithm 1).
- AdamW:     Adam's step plus decoupled weight decay on the weights:
             W <- W - α (v̂ / (sqrt(ŝ) + ε) + λ W)
             (Loshchilov and Hutter 2019, in PyTorch's form).

``scheduled_learning_rate`` gives the learning rate of each epoch ("step" and
"cosine" schedules); both engines of ``nnlib.train`` call it.
"""
import math

import numpy as np


class SGD:
    """Stochastic gradient descent: W <- W - α dW for each array.

    The default learning rate is α = 0.1. ``learning_rate`` is an attribute
    the loop may change between steps (a schedule).
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

    Defaults α = 0.1, β = 0.9. v (``self.v``, one array per parameter
    array, starting at 0) is a moving average of the gradients: directions
    that agree from batch to batch add up, the noise of single batches
    averages out.
    """

    def __init__(self, params, learning_rate=None, beta=0.9):
        super().__init__(params, learning_rate)
        self.beta = beta
        self.v = [np.zeros_like(W) for W in self.params]

    def update(self, i, W, dW):
        v, scratch = self.v[i], self.scratch[i]
        v *= self.beta
        v += np.multiply(dW, 1 - self.beta, out=scratch)
        W -= np.multiply(v, self.learning_rate, out=scratch)

    def settings(self):
        return {**super().settings(), "beta": self.beta}


class Adam(SGD):
    """Adam (Kingma and Ba 2015): bias-corrected moving averages of dW, dW².

    Defaults α = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8, the paper's. The
    moments ``v`` (of dW) and ``s`` (of dW²), the paper's m and v, start
    at 0, so early averages are too small by a factor 1 - β^t; dividing by
    it is the bias correction. The step uses the paper's equivalent
    rearrangement, which applies both corrections as scalars:
    W <- W - α_t v / (sqrt(s) + ε_t) with
    α_t = α sqrt(1 - β2^t) / (1 - β1^t) and ε_t = ε sqrt(1 - β2^t).
    """

    default_learning_rate = 0.001

    def __init__(self, params, learning_rate=None, beta1=0.9, beta2=0.999,
                 eps=1e-8):
        super().__init__(params, learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.v = [np.zeros_like(W) for W in self.params]
        self.s = [np.zeros_like(W) for W in self.params]

    def update(self, i, W, dW):
        v, s, scratch = self.v[i], self.s[i], self.scratch[i]
        beta1, beta2, t = self.beta1, self.beta2, self.t
        # v = β1 v + (1 - β1) dW
        v *= beta1
        v += np.multiply(dW, 1 - beta1, out=scratch)
        # s = β2 s + (1 - β2) dW²
        s *= beta2
        s += np.multiply(np.square(dW, out=scratch), 1 - beta2, out=scratch)
        correction = math.sqrt(1 - beta2 ** t)
        # sqrt(s) + ε_t
        denominator = np.sqrt(s, out=scratch)
        denominator += self.eps * correction
        # α_t v / (sqrt(s) + ε_t)
        step = np.divide(v, denominator, out=scratch)
        step *= self.learning_rate * correction / (1 - beta1 ** t)
        W -= step

    def settings(self):
        return {**super().settings(), "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter 2019): Adam with decoupled weight decay.

    W <- W - α (v̂ / (sqrt(ŝ) + ε) + λ W), λ = ``weight_decay``, in the form
    PyTorch's AdamW uses: each step first shrinks the weights by the factor
    1 - α λ, then takes Adam's step, which never sees λ. Adam with coupled
    L2 (``nnlib.train(optimizer="adam", weight_decay=λ)``) instead adds
    λ W to dW, so Adam's division by sqrt(ŝ) rescales the decay too:
    weights with large gradients are decayed less. Decoupled, every weight
    shrinks by the same factor, whatever its gradients. With λ = 0 this is
    Adam.

    ``decayed`` says which entries of each array the decay shrinks: one
    entry per array, True (all of it, a weight matrix), False (none, a
    bias vector) or an int k (its first k entries in memory order: the
    fast engine's parts of one flat vector, weights first). By default
    every array is decayed.
    """

    def __init__(self, params, learning_rate=None, beta1=0.9, beta2=0.999,
                 eps=1e-8, weight_decay=0.0, decayed=None):
        super().__init__(params, learning_rate, beta1, beta2, eps)
        self.weight_decay = weight_decay
        if decayed is None:
            decayed = [True] * len(self.params)
        # the decayed entries of each array, a flat view (maybe empty)
        self.decayed = [W.reshape(-1)[:_count(k, W.size)]
                        for W, k in zip(self.params, decayed)]

    def update(self, i, W, dW):
        # W <- (1 - α λ) W: the decay, outside Adam's normalisation
        if self.weight_decay:
            self.decayed[i] *= 1 - self.learning_rate * self.weight_decay
        super().update(i, W, dW)

    def settings(self):
        return {**super().settings(), "weight_decay": self.weight_decay}


def _count(decayed, size):
    """The entries of an array of ``size`` that ``decayed`` names."""
    if isinstance(decayed, (bool, np.bool_)):
        return size if decayed else 0
    return min(int(decayed), size)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam,
              "adamw": AdamW}


def make_optimizer(name, params, learning_rate=None, weight_decay=0.0,
                   decayed=None):
    """The optimiser called ``name`` on the arrays ``params``.

    ``name`` is "sgd", "momentum", "adam" or "adamw". ``weight_decay`` and
    ``decayed`` go to AdamW (its decoupled decay λ, and which entries it
    shrinks); the other optimisers take no decay: the loops add the coupled
    L2 gradient λ W to dW for them.
    """
    if name not in OPTIMIZERS:
        raise ValueError("optimizer must be one of "
                         f"{', '.join(map(repr, OPTIMIZERS))}; got {name!r}")
    if name == "adamw":
        return AdamW(params, learning_rate, weight_decay=weight_decay,
                     decayed=decayed)
    return OPTIMIZERS[name](params, learning_rate)


def adam_step(W, dW, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999,
              eps=1e-8):
    """One Adam step on one array, as a function: returns new ``(W, v, s)``.

    The inputs are left unchanged. W, dW and the moments v (of dW), s (of
    dW²): arrays of one shape; t = 1, 2, ...: the number of this step
    (v = s = 0 before step 1). The same arithmetic as :class:`Adam`, which
    it runs on copies.
    """
    adam = Adam([np.array(W, copy=True)], learning_rate, beta1, beta2, eps)
    adam.v[0][...] = v
    adam.s[0][...] = s
    adam.t = t - 1  # step() counts this step as t
    adam.step([dW])
    return adam.params[0], adam.v[0], adam.s[0]


SCHEDULES = (None, "step", "cosine")


def scheduled_learning_rate(schedule, learning_rate, epoch, epochs):
    """The learning rate of epoch e = ``epoch`` (0, 1, ..., E - 1) of E.

    With α = ``learning_rate`` and E = ``epochs``:

    - None:     α every epoch;
    - "step":   α, then α / 10 from the middle of the run (e >= E/2), then
                α / 100 for its last quarter (e >= 3E/4);
    - "cosine": α (1 + cos(π e / E)) / 2, from α at e = 0 down towards 0
                (α / 2 at e = E/2), smoothly (Loshchilov and Hutter 2017,
                without restarts).

    The rate changes between epochs, never within one.
    """
    if schedule is None:
        return learning_rate
    if schedule == "step":
        # milestones at 50% and 75% of the epochs, in integers: exact
        drops = (2 * epoch >= epochs) + (4 * epoch >= 3 * epochs)
        return learning_rate / 10 ** drops
    if schedule == "cosine":
        return learning_rate * (1 + math.cos(math.pi * epoch / epochs)) / 2
    raise ValueError("schedule must be one of "
                     f"{', '.join(map(repr, SCHEDULES))}; got {schedule!r}")
