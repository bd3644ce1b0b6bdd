"""The fast engine against itself at commit 7533798, and the plain engine against the article.

1. Is the fast engine still as fast as before the plain engine existed? nnlib at commit 7533798
   (whose loops always ran the fast workspace) is extracted with ``git archive`` into a
   temporary folder as the package ``nnlib_7533798`` (its imports are relative), and its
   ``train`` / ``gradient_descent`` alternate with today's ``engine="fast"`` in this process
   on four workloads: the race (Adam, [784, 256, 128, 64, 10], B = 128, one epoch on the
   60,000 training images), the race with dropout p = 0.2, and full-batch gradient descent on
   the first 33,600 images, [784, 10, 10] x 100 iterations and [784, 256, 128, 64, 10] x 20.
   The goal: no workload more than 5% slower (new / old, the median of the ratios per pair).
2. Is the plain engine (float32) at least 1.5x faster than ``nnlib.article`` (float64) on
   [784, 10, 10]? The same alternating pairs, 100 iterations each.

Each pair alternates who goes first, after an untimed rest (``common.settle``); seconds are the
wall time of the whole call. A benchmark reports: it exits 0 whatever it measures.

    python benchmarks/engine_regression.py [--pairs 5] [--quick] [--json PATH]
"""
import argparse
import importlib
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

import nnlib
from nnlib import article
from common import machine, markdown_table, settle, write_json

OLD = "7533798"
REPO = pathlib.Path(__file__).resolve().parent.parent
SMALL, BIG = [784, 10, 10], [784, 256, 128, 64, 10]
TRAIN_SIZE, LEARNING_RATE = 33600, 0.1
LIMIT = 1.05  # the most new / old may be


def old_nnlib(folder):
    """nnlib as at commit OLD, imported as the package nnlib_7533798 from ``folder``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD, "nnlib"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    (pathlib.Path(folder) / "nnlib").rename(pathlib.Path(folder) / f"nnlib_{OLD}")
    sys.path.insert(0, folder)
    return importlib.import_module(f"nnlib_{OLD}")


def alternate(first, second, pairs):
    """Time the calls first() and second() ``pairs`` times each, alternating who goes first."""
    seconds = ([], [])
    for pair in range(pairs):
        for k in (0, 1) if pair % 2 == 0 else (1, 0):
            settle()
            start = time.perf_counter()
            (first, second)[k]()
            seconds[k].append(round(time.perf_counter() - start, 4))
    return seconds


def workloads(X, y, tenth):
    """{name: run(package, **engine)}: one training run with ``package``'s loops."""
    m, small, big = 60000 // tenth, 100 // tenth, 20 // tenth
    race = dict(epochs=1, batch_size=128, optimizer="adam", seed=0, progress=False)
    X_gd, y_gd = X[:, :TRAIN_SIZE], y[:TRAIN_SIZE]
    return {
        f"race: Adam, {BIG}, B=128, 1 epoch, {m} images":
            lambda nn, **engine: nn.train(X[:, :m], y[:m], BIG, **race, **engine),
        "race with dropout 0.2":
            lambda nn, **engine: nn.train(X[:, :m], y[:m], BIG, dropout=0.2, **race, **engine),
        f"full batch {SMALL} x {small}, {TRAIN_SIZE} images":
            lambda nn, **engine: nn.gradient_descent(X_gd, y_gd, SMALL, LEARNING_RATE, small,
                                                     progress=False, **engine),
        f"full batch {BIG} x {big}":
            lambda nn, **engine: nn.gradient_descent(X_gd, y_gd, BIG, LEARNING_RATE, big,
                                                     progress=False, **engine),
    }


def regression(X, y, pairs, tenth):
    """The fast engine, old against new, on each workload; returns the records for results.json."""
    records = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            old = old_nnlib(folder)
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"commit {OLD} is not in this clone ({error}): no regression check\n")
            return records
        for name, run in workloads(X, y, tenth).items():
            old_seconds, new_seconds = alternate(lambda: run(old), lambda: run(nnlib, engine="fast"), pairs)
            ratio = round(float(np.median(np.divide(new_seconds, old_seconds))), 4)
            records.append({"workload": name, "old_seconds": old_seconds, "new_seconds": new_seconds,
                            "ratio_median": ratio})
            print(f"{name}: old {np.median(old_seconds):.2f} s, new {np.median(new_seconds):.2f} s, "
                  f"new/old {ratio:.3f}", flush=True)
    return records


def plain_vs_article(X, y, pairs, tenth):
    """The plain engine (float32) against nnlib.article (float64) on [784, 10, 10]."""
    iterations = 100 // tenth
    X_gd, y_gd = X[:, :TRAIN_SIZE], y[:TRAIN_SIZE]
    X64 = X_gd.astype(np.float64)  # the article works in float64 (converted once, untimed)
    article_seconds, plain_seconds = alternate(
        lambda: article.gradient_descent(X64, y_gd, SMALL, LEARNING_RATE, iterations, seed=0, verbose=False),
        lambda: nnlib.gradient_descent(X_gd, y_gd, SMALL, LEARNING_RATE, iterations, init="article",
                                       progress=False, engine="plain"),
        pairs)
    return {"layers": SMALL, "iterations": iterations, "train_size": TRAIN_SIZE,
            "article_seconds": article_seconds, "plain_seconds": plain_seconds,
            "speedup_median": round(float(np.median(np.divide(article_seconds, plain_seconds))), 4)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs per workload")
    parser.add_argument("--quick", action="store_true",
                        help="test the script: a tenth of the images and iterations")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the records to this file, under results.json's keys")
    args = parser.parse_args(argv)
    tenth = 10 if args.quick else 1
    print(f"# The fast engine now against commit {OLD}; the plain engine against the article\n")
    print(machine(), "\n", flush=True)
    X, y, _, _ = nnlib.load_mnist()
    records = regression(X, y, args.pairs, tenth)
    speed = plain_vs_article(X, y, args.pairs, tenth)
    print()
    print(markdown_table(
        ["workload", "old s (median)", "new s (median)", "new / old (median of pairs)", f"within {LIMIT - 1:.0%}"],
        [[r["workload"], f"{np.median(r['old_seconds']):.2f}", f"{np.median(r['new_seconds']):.2f}",
          f"{r['ratio_median']:.3f}", "yes" if r["ratio_median"] <= LIMIT else "NO"] for r in records]))
    print(f"\n(fast engine; {args.pairs} alternating pairs per workload; old = nnlib at commit {OLD})\n")
    print(markdown_table(
        ["layers", "iterations", "article s (median)", "plain s (median)", "plain faster by (median of pairs)"],
        [[str(SMALL), str(speed["iterations"]), f"{np.median(speed['article_seconds']):.2f}",
          f"{np.median(speed['plain_seconds']):.2f}", f"{speed['speedup_median']:.2f}x"]]))
    print("\n(the goal: the plain engine at least 1.5x faster than the article's code)")
    write_json(args.json, {"engine_regression": records, "plain_vs_article": speed})


if __name__ == "__main__":
    main()
