"""The race: nnlib's two engines against PyTorch (default and fused Adam) and scikit-learn.

The same network [784, 256, 128, 64, 10] with ReLU and softmax, Adam (learning rate 0.001,
betas 0.9 and 0.999, eps 1e-8), mini-batches of 128 shuffled examples, float32, all 60,000
MNIST training images, no weight decay. One process; the epochs alternate (nnlib's fast
engine, its plain engine, PyTorch default Adam, PyTorch fused Adam, scikit-learn, then the
fast engine again...), so a noisy machine slows every contender alike, and each timed epoch
follows an untimed rest (``common.settle``). Each contender uses its own default
initialisation. PyTorch gets the data as tensors loaded once (no DataLoader) and its
default number of threads; nnlib's plain engine, scikit-learn and PyTorch get NumPy's
default BLAS threads while they run (the fast engine holds OpenBLAS at one thread per core).
``nnlib.train`` runs its own loop, so the fast engine's call drives the race from its
callback (in the main thread, where the engine forks its worker process), and the plain
engine's call runs in a thread that waits in its callback until its next epoch.

Prints a Markdown table: median seconds per epoch, test accuracy after the last epoch,
the training seconds until the test accuracy first reached 98.0%, and the ratios to nnlib's
fast engine.

``--dropout p`` runs the same race with inverted dropout on the hidden layers, for nnlib and
PyTorch (``torch.nn.Dropout``); scikit-learn's MLPClassifier has no dropout and sits it out.

    python benchmarks/race.py [--epochs 10] [--dropout 0.2] [--train-size 60000] [--json PATH]
"""
import argparse
import threading
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import nnlib
from common import machine, markdown_table, settle, write_json

LAYERS = [784, 256, 128, 64, 10]
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
TARGET = 0.98
FAST, PLAIN = "nnlib, fast engine", "nnlib, plain engine"


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
        """Train one epoch; returns its seconds."""
        torch = self.torch
        start = time.perf_counter()
        self.model.train()
        order = torch.randperm(self.X.shape[0], generator=self.generator)
        for first in range(0, self.X.shape[0], BATCH_SIZE):
            batch = order[first:first + BATCH_SIZE]
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(self.model(self.X[batch]), self.y[batch])
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start

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
        """Train one epoch; returns its seconds."""
        start = time.perf_counter()
        self.model.partial_fit(self.X, self.y, classes=np.arange(LAYERS[-1]))
        return time.perf_counter() - start

    def test_accuracy(self):
        return float(self.model.score(self.X_test, self.y_test))


def last_epoch(seconds):
    """The seconds of the last epoch, from nnlib's cumulative history["seconds"]."""
    return seconds[-1] - (seconds[-2] if len(seconds) > 1 else 0.0)


class PlainEngine:
    """nnlib.train(engine="plain"), one epoch per call of ``epoch()``.

    ``train`` runs in a thread; after each epoch its callback hands over and waits until the
    next call. The seconds are nnlib's own clock (history["seconds"]), as for the fast engine.
    """

    def __init__(self, X, y, X_test, y_test, epochs, dropout=0.0, seed=0):
        self.X_test, self.y_test, self.epochs = X_test, y_test, epochs
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.error = None
        settings = dict(epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam", learning_rate=LEARNING_RATE,
                        dropout=dropout, seed=seed, progress=False, callback=self.pause, engine="plain")
        self.thread = threading.Thread(target=self.run, args=(X, y, settings), daemon=True)

    def run(self, X, y, settings):
        try:
            nnlib.train(X, y, LAYERS, **settings)
        except BaseException as error:  # raised again in the main thread by epoch()
            self.error = error
            self.done.release()

    def pause(self, epoch, params, history):
        """train's callback: hand the epoch over, then wait for the next call of epoch()."""
        self.params, self.seconds = params, history["seconds"]
        self.done.release()
        if epoch < self.epochs:
            self.go.acquire()

    def epoch(self):
        """Train one epoch; returns its seconds."""
        if self.thread.ident is None:
            self.thread.start()
        else:
            self.go.release()
        self.done.acquire()
        if self.error is not None:
            raise self.error
        return last_epoch(self.seconds)

    def test_accuracy(self):
        return float(np.mean(nnlib.predict(self.X_test, self.params) == self.y_test))


def race(epochs, dropout=0.0, seed=0, train_size=60000):
    """Train all contenders for ``epochs`` alternating epochs; return {name: (seconds, test accuracies)}."""
    X, y, X_test, y_test = nnlib.load_mnist()
    X, y = X[:, :train_size], y[:train_size]
    others = {
        PLAIN: PlainEngine(X, y, X_test, y_test, epochs, dropout=dropout, seed=seed),
        "PyTorch, Adam (default)": Torch(X, y, X_test, y_test, fused=False, dropout=dropout, seed=seed),
        "PyTorch, Adam (fused=True)": Torch(X, y, X_test, y_test, fused=True, dropout=dropout, seed=seed),
    }
    if not dropout:
        others["scikit-learn MLPClassifier"] = Sklearn(X, y, X_test, y_test, seed=seed)
    results = {name: ([], []) for name in [FAST, *others]}
    blas_threads = max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    def after_fast_epoch(epoch, params, history):
        results[FAST][0].append(last_epoch(history["seconds"]))
        results[FAST][1].append(float(np.mean(nnlib.predict(X_test, params) == y_test)))
        # the fast engine holds OpenBLAS at one thread; the others get the default back
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            for name, contender in others.items():
                settle()
                results[name][0].append(contender.epoch())
                results[name][1].append(contender.test_accuracy())
        print(f"epoch {epoch}: " + ", ".join(f"{name} {times[-1]:.2f} s, {accuracies[-1]:.2%}"
                                             for name, (times, accuracies) in results.items()), flush=True)
        settle()  # before the fast engine's next epoch

    nnlib.train(X, y, LAYERS, epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam", learning_rate=LEARNING_RATE,
                dropout=dropout, seed=seed, progress=False, callback=after_fast_epoch, engine="fast")
    return results


def time_to_target(times, accuracies):
    """Training seconds until the test accuracy first reached TARGET, or None."""
    for epoch, accuracy in enumerate(accuracies):
        if accuracy >= TARGET:
            return sum(times[:epoch + 1]), epoch + 1
    return None


def table(results, epochs):
    fast_median = np.median(results[FAST][0])
    rows = []
    for name, (times, accuracies) in results.items():
        median = np.median(times)
        reached = time_to_target(times, accuracies)
        rows.append([name, f"{median:.2f}", f"{median / fast_median:.2f}", f"{accuracies[-1]:.2%}",
                     f"{reached[0]:.1f} s (epoch {reached[1]})" if reached else f"not in {epochs} epochs"])
    header = ["contender", f"s/epoch (median of {epochs})", "÷ fast engine",
              f"test acc. after {epochs} epochs", f"training time to {TARGET:.1%} test"]
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per contender")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout on the hidden layers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=60000, help="fewer images for a quick test")
    parser.add_argument("--json", metavar="PATH",
                        help="also write this race to this file, under results.json's key races")
    args = parser.parse_args(argv)
    with_dropout = f", dropout {args.dropout:g}" if args.dropout else ""
    print(f"# Race: {LAYERS}, Adam, batch {BATCH_SIZE}{with_dropout}, {args.train_size:,} MNIST images, float32\n")
    print(machine(), "\n", flush=True)
    results = race(args.epochs, args.dropout, args.seed, args.train_size)
    print()
    print(table(results, args.epochs))
    medians = {name: np.median(times) for name, (times, _) in results.items()}
    default, fused = medians["PyTorch, Adam (default)"], medians["PyTorch, Adam (fused=True)"]
    print()
    for name in (FAST, PLAIN):
        print(f"{name}: time per epoch {medians[name] / default:.2f}x PyTorch's with default Adam "
              f"and {medians[name] / fused:.2f}x with fused Adam.")
    write_json(args.json, {"races": [{
        "dropout": args.dropout, "layers": LAYERS, "batch_size": BATCH_SIZE, "epochs": args.epochs,
        "contenders": [{"name": name, "epoch_seconds": [round(t, 4) for t in times], "test_accuracy": accuracies}
                       for name, (times, accuracies) in results.items()]}]})


if __name__ == "__main__":
    main()
