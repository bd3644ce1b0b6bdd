"""The article's code against nnlib: full-batch gradient descent, the article's two networks.

The article's algorithm (``nnlib.article``: float64, its defects kept) and nnlib (float32, run
through its command line exactly as a user types it) train the same networks on the first
33,600 MNIST training images with learning rate 0.1, the article's initialisation and seed 0:
[784, 10, 10] for 1000 iterations and [784, 256, 128, 64, 10] for 500. Each run is a fresh
process; article and nnlib alternate (and swap who goes first each round), so a busy machine
slows both alike. Seconds are the training loop's (data loading and evaluation excluded);
accuracies are those of the final parameters on the training images and on MNIST's 10,000
test images.

    python benchmarks/article_vs_nnlib.py [--runs 2] [--big-runs 1] [--nets small,big]
"""
import argparse
import json
import subprocess
import sys
import time

import numpy as np

from common import machine, markdown_table

NETS = {"small": ([784, 10, 10], 1000), "big": ([784, 256, 128, 64, 10], 500)}
TRAIN_SIZE, LEARNING_RATE, SEED = 33600, 0.1, 0


def article_run(layers, iterations):
    """Train with nnlib.article in this process; print one JSON object like nnlib's CLI."""
    import nnlib
    from nnlib import article
    X_train, y_train, X_test, y_test = nnlib.load_mnist()
    X = X_train[:, :TRAIN_SIZE].astype(np.float64)  # the article works in float64
    y = y_train[:TRAIN_SIZE]
    start = time.perf_counter()
    params, _ = article.gradient_descent(X, y, layers, LEARNING_RATE, iterations, seed=SEED, verbose=False)
    seconds = time.perf_counter() - start
    L = len(layers) - 1

    def accuracy(X, y):
        return float(np.mean(article.get_predictions(article.forward_prop(X, params)[f"A{L}"]) == y))

    print(json.dumps({"seconds": round(seconds, 3), "train_accuracy": accuracy(X, y),
                      "test_accuracy": accuracy(X_test.astype(np.float64), y_test)}))


def run(who, layers, iterations, init):
    """One training run in a fresh process; returns the JSON it printed."""
    text = ",".join(map(str, layers))
    if who == "nnlib":
        command = [sys.executable, "-m", "nnlib", "train", "--layers", text, "--learning-rate", str(LEARNING_RATE),
                   "--iterations", str(iterations), "--train-size", str(TRAIN_SIZE), "--init", init,
                   "--seed", str(SEED), "--json"]
    else:
        command = [sys.executable, __file__, "--article-run", text, str(iterations)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds for the small network")
    parser.add_argument("--big-runs", type=int, default=1, help="rounds for the big network (~7 min each)")
    parser.add_argument("--nets", default="small,big", help="small, big or small,big")
    parser.add_argument("--init", default="article", help="nnlib's --init (the article's by default)")
    parser.add_argument("--article-run", nargs=2, metavar=("LAYERS", "ITERATIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.article_run:
        article_run([int(n) for n in args.article_run[0].split(",")], int(args.article_run[1]))
        return
    print(f"# The article's code (float64) against nnlib (float32, --init {args.init}), "
          f"full-batch, {TRAIN_SIZE} images\n")
    print(machine(), "\n", flush=True)
    rows, summary = [], []
    for net in args.nets.split(","):
        layers, iterations = NETS[net]
        seconds = {"article": [], "nnlib": []}
        for round_ in range(args.runs if net == "small" else args.big_runs):
            order = ["article", "nnlib"] if round_ % 2 == 0 else ["nnlib", "article"]
            for who in order:
                result = run(who, layers, iterations, args.init)
                seconds[who].append(result["seconds"])
                rows.append([str(layers), str(iterations), who, str(round_ + 1), f"{result['seconds']:.1f}",
                             f"{result['train_accuracy']:.1%}", f"{result['test_accuracy']:.1%}"])
                print(" ".join(rows[-1]), flush=True)
        article, ours = np.median(seconds["article"]), np.median(seconds["nnlib"])
        summary.append([str(layers), f"{article:.1f}", f"{ours:.1f}", f"{article / ours:.1f}x"])
    print()
    print(markdown_table(["layers", "iterations", "code", "round", "seconds", "train acc.", "test acc."], rows))
    print()
    print(markdown_table(["layers", "article s (median)", "nnlib s (median)", "nnlib is faster by"], summary))


if __name__ == "__main__":
    main()
