"""The choices of the chapter "Training a CNN", made on the validation split.

    python benchmarks/cnn_choices.py [--epochs 6] [--seeds 0] [--json benchmarks/cnn_choices.json]

Every pair of a network and an Adam learning rate below is trained as the chapter trains its
network: ``nnlib.train`` on the chapter's 48,000 training images (``train_val_split(...,
val_size=0.2, seed=0)``), mini-batches of 128, the cosine schedule, ``--epochs`` epochs. Each
run records its validation accuracy and loss after every epoch, and its seconds; the test set
is never read. Two runs at a time, each on one BLAS thread (the 2 cores of the machine this was
written on), a few minutes per run. The chapter reads the JSON file and trains the best pair.
"""
import argparse
import datetime
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.common import environment, markdown_table, write_json  # noqa: E402
from nnlib import cnn, load_mnist, train, train_val_split  # noqa: E402

#: the candidates: the network of the chapter "Convolutions", and the same with one hidden dense
#: layer of 64 units before the output, as LeNet-5 has hidden dense layers
NETWORKS = {
    "LENET": cnn.LENET,
    "LENET + Dense(64)": cnn.LENET[:-1] + [cnn.Dense(64), cnn.ReLU(), cnn.Dense(10)],
}
LEARNING_RATES = [0.001, 0.003, 0.01]


def run(network, learning_rate, epochs, seed):
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    X, y, _, _ = load_mnist()
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_size=0.2, seed=0)
    _, history = train(cnn.as_images(X_train), y_train, NETWORKS[network], epochs=epochs,
                       batch_size=128, optimizer="adam", learning_rate=learning_rate,
                       schedule="cosine", X_val=cnn.as_images(X_val), y_val=y_val, seed=seed,
                       progress=False)
    return {"network": network, "layers": cnn.layers_text(NETWORKS[network]),
            "learning_rate": learning_rate, "epochs": epochs, "seed": seed,
            "val_accuracy": history["val_accuracy"], "val_loss": history["val_loss"],
            "seconds": history["seconds"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", type=Path, default=HERE / "cnn_choices.json")
    args = parser.parse_args(argv)
    grid = [(network, rate, args.epochs, seed) for network in NETWORKS
            for rate in LEARNING_RATES for seed in args.seeds]
    with ProcessPoolExecutor(2) as pool:
        runs = list(pool.map(run, *zip(*grid)))
    rows = [[r["network"], f"{r['learning_rate']:g}", str(r["seed"]),
             " ".join(f"{a:.2%}" for a in r["val_accuracy"])] for r in runs]
    print(markdown_table(["network", "learning rate", "seed", "validation accuracy by epoch"],
                         rows))
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    write_json(args.json, {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python benchmarks/cnn_choices.py " + " ".join(argv or sys.argv[1:]),
        "commit": commit or None, **environment(), "runs": runs})
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
