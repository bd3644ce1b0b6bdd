"""The article's code against nnlib's two engines: full-batch gradient descent, the article's networks.

The article's algorithm (``nnlib.article``: float64, its defects kept) and nnlib's plain and
fast engines (float32, run through its command line exactly as a user types it,
``python -m nnlib train --engine plain|fast``) train the same networks on the first 33,600
MNIST training images with learning rate 0.1, the article's initialisation and seed 0:
[784, 10, 10] for 1000 iterations and [784, 256, 128, 64, 10] for 500. Each run is a fresh
process; the three alternate, and who goes first turns each round, so a busy machine slows
them alike. Seconds are the training loop's (data loading and evaluation excluded), the
median of the rounds; accuracies are those of the final parameters on the training images
and on MNIST's 10,000 test images.

    python benchmarks/article_vs_nnlib.py [--runs 2] [--big-runs 1] [--nets small,big]
                                          [--iterations N] [--json PATH]
"""
import argparse
import json
import subprocess
import sys
import time

import numpy as np

from common import machine, markdown_table, write_json

NETS = {"small": ([784, 10, 10], 1000), "big": ([784, 256, 128, 64, 10], 500)}
CODES = ["article", "plain", "fast"]  # nnlib.article, then nnlib's two engines
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


def run(code, layers, iterations, init):
    """One training run of ``code`` (a name in CODES) in a fresh process; returns the JSON it printed."""
    text = ",".join(map(str, layers))
    if code == "article":
        command = [sys.executable, __file__, "--article-run", text, str(iterations)]
    else:
        command = [sys.executable, "-m", "nnlib", "train", "--engine", code, "--layers", text,
                   "--learning-rate", str(LEARNING_RATE), "--iterations", str(iterations),
                   "--train-size", str(TRAIN_SIZE), "--init", init, "--seed", str(SEED), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def compare(layers, iterations, rounds, init, rows):
    """Alternating rounds of the three codes on one network; returns its record for results.json."""
    seconds, last = {code: [] for code in CODES}, {}
    for round_ in range(rounds):
        for code in CODES[round_ % 3:] + CODES[:round_ % 3]:  # who goes first turns each round
            last[code] = result = run(code, layers, iterations, init)
            seconds[code].append(result["seconds"])
            rows.append([str(layers), str(iterations), code, str(round_ + 1), f"{result['seconds']:.1f}",
                         f"{result['train_accuracy']:.1%}", f"{result['test_accuracy']:.1%}"])
            print(" ".join(rows[-1]), flush=True)
    # the accuracies are the same in every round (seeded); the seconds are medians
    return {"layers": layers, "iterations": iterations, "train_size": TRAIN_SIZE,
            "seconds": {code: round(float(np.median(times)), 3) for code, times in seconds.items()},
            **{key: {code: last[code][key] for code in CODES} for key in ("train_accuracy", "test_accuracy")}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds for the small network")
    parser.add_argument("--big-runs", type=int, default=1, help="rounds for the big network (~9 min each)")
    parser.add_argument("--nets", default="small,big", help="small, big or small,big")
    parser.add_argument("--iterations", type=int, help="iterations of every network (a quick test)")
    parser.add_argument("--init", default="article", help="nnlib's --init (the article's by default)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the records to this file, under results.json's key article")
    parser.add_argument("--article-run", nargs=2, metavar=("LAYERS", "ITERATIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.article_run:
        article_run([int(n) for n in args.article_run[0].split(",")], int(args.article_run[1]))
        return
    print(f"# The article's code (float64) against nnlib's plain and fast engines (float32, "
          f"--init {args.init}), full-batch, {TRAIN_SIZE} images\n")
    print(machine(), "\n", flush=True)
    rows, records = [], []
    for net in args.nets.split(","):
        layers, iterations = NETS[net]
        records.append(compare(layers, args.iterations or iterations,
                               args.runs if net == "small" else args.big_runs, args.init, rows))
    print()
    print(markdown_table(["layers", "iterations", "code", "round", "seconds", "train acc.", "test acc."], rows))
    print()
    summary = [[str(r["layers"]), str(r["iterations"]), *(f"{r['seconds'][code]:.1f}" for code in CODES),
                *(f"{r['seconds']['article'] / r['seconds'][code]:.1f}x" for code in CODES[1:])]
               for r in records]
    print(markdown_table(["layers", "iterations", "article s", "plain s", "fast s",
                          "plain faster by", "fast faster by"], summary))
    print("\n(seconds: medians of the rounds; faster by: the article's seconds over the engine's)")
    write_json(args.json, {"article": records})


if __name__ == "__main__":
    main()
