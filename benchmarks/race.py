"""The race: nnlib against PyTorch (default and fused Adam) and scikit-learn's MLPClassifier.

The same network [784, 256, 128, 64, 10] with ReLU and softmax, Adam (learning rate 0.001,
betas 0.9 and 0.999, eps 1e-8), mini-batches of 128 shuffled examples, float32, all 60,000
MNIST training images, no weight decay. One process; the epochs alternate (nnlib, PyTorch
default Adam, PyTorch fused Adam, scikit-learn, then nnlib again...), so a noisy machine
slows every contender alike. Before each timed epoch the race rests SETTLE seconds, untimed:
a library's idle BLAS or OpenMP threads keep spinning on a core for a while after its epoch
(OpenBLAS's for 2^28 cycles, about 0.1 s), and without the rest whoever comes next pays for
it (measured: nnlib's epoch 0.06 s slower right after 2-thread OpenBLAS work). Each
contender uses its own default initialisation. PyTorch gets the data as tensors loaded once
(no DataLoader) and its default number of threads; scikit-learn and PyTorch get NumPy's
default BLAS threads while they run.

Prints a Markdown table: median seconds per epoch, test accuracy after the last epoch,
the training seconds until the test accuracy first reached 98.0%, and the ratios to nnlib.

``--dropout p`` runs the same race with inverted dropout on the hidden layers, for nnlib and
PyTorch (``torch.nn.Dropout``); scikit-learn's MLPClassifier has no dropout and sits it out.

    python benchmarks/race.py [--epochs 10] [--dropout 0.2]
"""
import argparse
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import nnlib
from nnlib.training import train
from common import machine, markdown_table

LAYERS = [784, 256, 128, 64, 10]
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
TARGET = 0.98
SETTLE = 0.3  # seconds of rest before each timed epoch: the previous contender's threads go to sleep


class Torch:
    """A PyTorch MLP trained one epoch at a time with torch.optim.Adam."""

    def __init__(self, X, y, X_test, y_test, fused, dropout=0.0, seed=0):
        import torch
        self.torch = torch
        torch.manual_seed(seed)
        layers = []
        for n_in, n_out in zip(LAYERS[:-2], LAYERS[1:-1]):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
            if dropout:
                layers.append(torch.nn.Dropout(dropout))
        self.model = torch.nn.Sequential(*layers, torch.nn.Linear(LAYERS[-2], LAYERS[-1]))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE, fused=fused or None)
        self.X = torch.from_numpy(np.ascontiguousarray(X.T))  # (m, 784): PyTorch puts examples in rows
        self.y = torch.from_numpy(np.array(y))  # a writable copy
        self.X_test = torch.from_numpy(np.ascontiguousarray(X_test.T))
        self.y_test = torch.from_numpy(np.array(y_test))
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self):
        torch = self.torch
        self.model.train()
        order = torch.randperm(self.X.shape[0], generator=self.generator)
        for first in range(0, self.X.shape[0], BATCH_SIZE):
            batch = order[first:first + BATCH_SIZE]
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(self.model(self.X[batch]), self.y[batch])
            loss.backward()
            self.optimizer.step()

    def test_accuracy(self):
        self.model.eval()  # no dropout at prediction
        with self.torch.no_grad():
            return float((self.model(self.X_test).argmax(dim=1) == self.y_test).float().mean())


class Sklearn:
    """scikit-learn's MLPClassifier, one epoch per partial_fit call."""

    def __init__(self, X, y, X_test, y_test, seed=0):
        from sklearn.neural_network import MLPClassifier
        self.model = MLPClassifier(hidden_layer_sizes=tuple(LAYERS[1:-1]), solver="adam", alpha=0.0,
                                   batch_size=BATCH_SIZE, learning_rate_init=LEARNING_RATE,
                                   shuffle=True, random_state=seed)
        self.X, self.y = np.ascontiguousarray(X.T), y  # (m, 784): scikit-learn's layout
        self.X_test, self.y_test = np.ascontiguousarray(X_test.T), y_test

    def epoch(self):
        self.model.partial_fit(self.X, self.y, classes=np.arange(LAYERS[-1]))

    def test_accuracy(self):
        return float(self.model.score(self.X_test, self.y_test))


def race(epochs, dropout=0.0, seed=0):
    """Train all contenders for ``epochs`` alternating epochs; return {name: (seconds, test accuracies)}."""
    X, y, X_test, y_test = nnlib.load_mnist()
    others = {
        "PyTorch, Adam (default)": Torch(X, y, X_test, y_test, fused=False, dropout=dropout, seed=seed),
        "PyTorch, Adam (fused=True)": Torch(X, y, X_test, y_test, fused=True, dropout=dropout, seed=seed),
    }
    if not dropout:
        others["scikit-learn MLPClassifier"] = Sklearn(X, y, X_test, y_test, seed=seed)
    results = {name: ([], []) for name in ["nnlib", *others]}
    blas_threads = max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    def after_nnlib_epoch(epoch, params, history):
        seconds = history["seconds"]
        results["nnlib"][0].append(seconds[-1] - (seconds[-2] if len(seconds) > 1 else 0.0))
        results["nnlib"][1].append(float(np.mean(nnlib.predict(X_test, params) == y_test)))
        # nnlib's workspace holds OpenBLAS at one thread; the others get the default back.
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            for name, contender in others.items():
                time.sleep(SETTLE)
                start = time.perf_counter()
                contender.epoch()
                results[name][0].append(time.perf_counter() - start)
                results[name][1].append(contender.test_accuracy())
        print(f"epoch {epoch}: " + ", ".join(f"{name} {times[-1]:.2f} s, {accuracies[-1]:.2%}"
                                             for name, (times, accuracies) in results.items()), flush=True)
        time.sleep(SETTLE)  # before nnlib's next epoch

    train(X, y, LAYERS, epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam", learning_rate=LEARNING_RATE,
          dropout=dropout, seed=seed, progress=False, callback=after_nnlib_epoch)
    return results


def time_to_target(times, accuracies):
    """Training seconds until the test accuracy first reached TARGET, or None."""
    for epoch, accuracy in enumerate(accuracies):
        if accuracy >= TARGET:
            return sum(times[:epoch + 1]), epoch + 1
    return None


def table(results, epochs):
    nnlib_median = np.median(results["nnlib"][0])
    rows = []
    for name, (times, accuracies) in results.items():
        median = np.median(times)
        reached = time_to_target(times, accuracies)
        rows.append([name, f"{median:.2f}", f"{median / nnlib_median:.2f}", f"{accuracies[-1]:.2%}",
                     f"{reached[0]:.1f} s (epoch {reached[1]})" if reached else f"not in {epochs} epochs"])
    header = ["contender", f"s/epoch (median of {epochs})", "÷ nnlib", f"test acc. after {epochs} epochs",
              f"training time to {TARGET:.1%} test"]
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per contender")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout on the hidden layers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with_dropout = f", dropout {args.dropout:g}" if args.dropout else ""
    print(f"# Race: {LAYERS}, Adam, batch {BATCH_SIZE}{with_dropout}, 60,000 MNIST images, float32\n")
    print(machine(), "\n", flush=True)
    results = race(args.epochs, args.dropout, args.seed)
    print()
    print(table(results, args.epochs))
    nnlib_median = np.median(results["nnlib"][0])
    default, fused = (np.median(results[name][0]) for name in ["PyTorch, Adam (default)",
                                                               "PyTorch, Adam (fused=True)"])
    print(f"\nnnlib's time per epoch is {nnlib_median / default:.2f}x PyTorch's with default Adam "
          f"and {nnlib_median / fused:.2f}x with fused Adam.")


if __name__ == "__main__":
    main()
