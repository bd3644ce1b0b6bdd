"""Forward + backward of one batch through the chapter's CNN: nnlib against PyTorch.

    python benchmarks/cnn_speed.py [--rounds 100] [--batch 128] [--threads 0 1] [--json PATH]

The network (nnlib.cnn.LENET): conv(8, 5x5, P=2) -> ReLU -> pool 2 -> conv(16, 5x5, P=2) ->
ReLU -> pool 2 -> dense 10, float32, a batch of 128 MNIST-sized random images. One step is the
forward pass, the loss (softmax cross-entropy from the logits) and every parameter's gradient
(no optimiser step, no gradient for the pixels) in both libraries. The contenders alternate in
one process, round after round (the machine may be loaded by other work: the ratio of the
medians is the fair comparison). ``--threads`` lists the thread settings to measure, one after
the other in the same run: 0 is each library's default (PyTorch's threads and OpenBLAS's, one
per core), N limits both libraries to N threads (1 is steadier on a loaded machine, where idle
BLAS threads spin). For each setting, nnlib's time is then split by function (forward and
backward of each layer kind, im2col and col2im inside the convolutions, and the convolutions'
matrix products timed alone on the same arrays), in wall time, to name the bottleneck (CPU time
would count the idle BLAS threads that spin after each product). ``--json`` writes the
records under the key "cnn_speed" of results.json. Needs torch (benchmarks/requirements.txt).
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from common import machine, markdown_table, settle, write_json  # noqa: E402
from nnlib import cnn, conv  # noqa: E402
from nnlib.losses import cross_entropy_from_logits  # noqa: E402

# the functions nnlib.cnn calls in a step, and the two that the convolutions call
NAMES = ["conv2d_forward", "conv2d_backward", "maxpool_forward", "maxpool_backward",
         "relu", "relu_backward", "linear_forward", "linear_backward", "softmax"]
INNER = ["im2col", "col2im"]


def nnlib_step(X, y, params):
    activations = cnn.forward_prop(X, params, cnn.LENET)
    loss = cross_entropy_from_logits(activations["Z3"], y)
    return loss, cnn.back_prop(activations, params, cnn.LENET, y)


def torch_model(params):
    """PyTorch's LeNet with nnlib's initial parameters (so both compute the same numbers)."""
    import torch
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(784, 10))
    with torch.no_grad():
        for index, l in ((0, 1), (3, 2), (7, 3)):
            model[index].weight.copy_(torch.from_numpy(params[f"W{l}"]))
            model[index].bias.copy_(torch.from_numpy(params[f"b{l}"].ravel()))
    return model


def torch_step(model, X, y):
    import torch
    model.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(X), y)
    loss.backward()
    return loss


def timed(step, *args):
    """(wall seconds, CPU seconds of all the process's threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    step(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def wall_ms(call):
    start = time.perf_counter()
    call()
    return 1000 * (time.perf_counter() - start)


def conv_products(X, params):
    """The matrix products of LeNet's convolutions, as conv2d_forward and conv2d_backward
    compute them (W times im2col's columns; dZ times the columns transposed; W transposed
    times dZ, but not for layer 1), on arrays of the same shapes: one call runs them all."""
    activations = cnn.forward_prop(X, params, cnn.LENET)
    rng = np.random.default_rng(1)
    operands = []
    for row in cnn.check_params(params, cnn.LENET, X.shape[1:]):
        layer, l = row["layer"], row["l"]
        if isinstance(layer, cnn.Conv):
            W = params[f"W{l}"].reshape(layer.channels, -1)
            cols = conv.im2col(activations[row["input"]], layer.kernel_size,
                               layer.stride, layer.padding)
            dZ = rng.standard_normal((W.shape[0], cols.shape[1]), dtype=np.float32)
            operands.append((W, cols, dZ, l > 1))

    def products():
        for W, cols, dZ, need_dA_prev in operands:
            W @ cols
            dZ @ cols.T
            if need_dA_prev:
                W.T @ dZ
    return products


def profile(X, y, params, rounds):
    """Median wall ms of each conv/pool/relu/dense function inside nnlib's step, by wrapping
    the functions nnlib.cnn calls, and im2col and col2im inside the convolutions; the
    convolutions' matrix products timed alone, alternating with the steps. Returns them and
    the step's median."""
    spent = {name: [] for name in NAMES + INNER + ["products"]}
    originals = {name: getattr(cnn, name) for name in NAMES}
    originals.update({name: getattr(conv, name) for name in INNER})
    products = conv_products(X, params)
    per_round = {}

    def wrap(name):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = originals[name](*args, **kwargs)
            per_round[name] = per_round.get(name, 0.0) + time.perf_counter() - start
            return result
        return wrapper

    steps = []
    for name in NAMES:
        setattr(cnn, name, wrap(name))
    for name in INNER:
        setattr(conv, name, wrap(name))
    try:
        for _ in range(rounds):
            per_round.clear()
            steps.append(timed(nnlib_step, X, y, params)[0])
            for name in NAMES + INNER:
                spent[name].append(1000 * per_round.get(name, 0.0))
            spent["products"].append(wall_ms(products))
    finally:
        for name, original in originals.items():
            setattr(conv if name in INNER else cnn, name, original)
    return ({name: statistics.median(times) for name, times in spent.items()},
            1000 * statistics.median(steps))


def breakdown(split, step):
    """nnlib's step in parts that add up to it (wall ms): im2col and col2im (inside the
    convolutions), the convolutions' matrix products, the rest of the convolutions (copies of
    dZ, bias, checks), max pooling, ReLU, the dense layer with softmax, and the rest."""
    parts = {
        "im2col": split["im2col"],
        "col2im": split["col2im"],
        "convolutions: matrix products": split["products"],
        "convolutions: the rest": split["conv2d_forward"] + split["conv2d_backward"]
        - split["im2col"] - split["col2im"] - split["products"],
        "max pool backward": split["maxpool_backward"],
        "max pool forward": split["maxpool_forward"],
        "ReLU forward and backward": split["relu"] + split["relu_backward"],
        "dense layer and softmax": split["linear_forward"] + split["linear_backward"]
        + split["softmax"],
    }
    parts["loss, checks, reshapes"] = step - sum(parts.values())
    return {name: round(ms, 2) for name, ms in parts.items()}


def measure(threads, rounds, X, y, params, model, X_t, y_t):
    """One thread setting (0: the libraries' defaults): alternating rounds, then the profile."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits
    default_torch = torch.get_num_threads()
    limits = threadpool_limits(threads) if threads else None
    if threads:
        torch.set_num_threads(threads)
    try:
        blas_threads = next((lib["num_threads"] for lib in threadpool_info()
                             if lib["user_api"] == "blas"), None)
        torch_threads = torch.get_num_threads()
        load = os.getloadavg()[0]
        times = {"nnlib": [], "PyTorch": []}
        for _ in range(3):  # warm up
            nnlib_step(X, y, params)
            torch_step(model, X_t, y_t)
        for _ in range(rounds):
            times["nnlib"].append(timed(nnlib_step, X, y, params))
            times["PyTorch"].append(timed(torch_step, model, X_t, y_t))
        split, step = profile(X, y, params, rounds)
    finally:
        if limits is not None:
            limits.restore_original_limits()
        torch.set_num_threads(default_torch)
    wall = {name: 1000 * statistics.median(t[0] for t in values) for name, values in times.items()}
    cpu = {name: 1000 * statistics.median(t[1] for t in values) for name, values in times.items()}
    best = {name: 1000 * min(t[0] for t in values) for name, values in times.items()}
    return {
        "threads": "default" if not threads else threads,
        "blas_threads": blas_threads, "torch_threads": torch_threads,
        "load_average_at_start": round(load, 2),
        "wall_ms": {name: round(ms, 2) for name, ms in wall.items()},
        "best_wall_ms": {name: round(ms, 2) for name, ms in best.items()},
        "cpu_ms": {name: round(ms, 2) for name, ms in cpu.items()},
        "ratio": round(wall["nnlib"] / wall["PyTorch"], 3),
        "cpu_ratio": round(cpu["nnlib"] / cpu["PyTorch"], 3),
        "profile_ms": {name: round(ms, 2) for name, ms in split.items()},
        "profile_step_ms": round(step, 2),
        "breakdown_ms": breakdown(split, step),
    }


def report(record, batch, rounds):
    print(f"\n## Threads: {record['threads']} (OpenBLAS {record['blas_threads']}, PyTorch "
          f"{record['torch_threads']}), load average {record['load_average_at_start']:.1f} at "
          f"the start\n")
    print(f"forward + backward of one batch of {batch}, float32, median of {rounds} alternating "
          "rounds\n")
    wall, cpu, best = record["wall_ms"], record["cpu_ms"], record["best_wall_ms"]
    print(markdown_table(
        ["contender", "ms per batch (median)", "ms (best)", "÷ PyTorch", "CPU ms (median)",
         "CPU ÷ PyTorch"],
        [[name, f"{wall[name]:.1f}", f"{best[name]:.1f}", f"{wall[name] / wall['PyTorch']:.2f}",
          f"{cpu[name]:.1f}", f"{cpu[name] / cpu['PyTorch']:.2f}"] for name in wall]))
    step = record["profile_step_ms"]
    print(f"\nnnlib's step by function: median ms over {rounds} more rounds, in which the "
          f"whole step took {step:.1f} ms (the convolutions' products timed alone)\n")
    print(markdown_table(["part", "ms", "share of the step"],
                         [[name, f"{ms:.1f}", f"{ms / step:.0%}"] for name, ms in
                          sorted(record["breakdown_ms"].items(), key=lambda item: -item[1])]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, nargs="+", default=[0, 1],
                        help="thread settings to measure in turn; 0: each library's default")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the records to this file, under results.json's key cnn_speed")
    args = parser.parse_args(argv)
    import torch
    command = ("python benchmarks/cnn_speed.py --rounds "
               f"{args.rounds} --batch {args.batch} --threads {' '.join(map(str, args.threads))}")
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or None
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    load = [round(value, 2) for value in os.getloadavg()]
    print(f"# LeNet, forward + backward of one batch: nnlib against PyTorch\n\n{machine()}\n")

    rng = np.random.default_rng(0)
    X = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    params = cnn.init_params(cnn.LENET, seed=0)
    model = torch_model(params)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    # the same numbers: the loss and the first kernels' gradient
    loss, grads = nnlib_step(X, y, params)
    torch_loss = torch_step(model, X_t, y_t)
    agree = float(np.abs(grads["dW1"] - model[0].weight.grad.numpy()).max())
    print(f"loss: nnlib {loss:.6f}, PyTorch {torch_loss.item():.6f};"
          f" largest difference of dW1 {agree:.1e}")
    records = []
    for threads in args.threads:
        settle()
        record = measure(threads, args.rounds, X, y, params, model, X_t, y_t)
        report(record, args.batch, args.rounds)
        records.append({"network": "LeNet: conv(8, 5x5, P=2) -> ReLU -> pool 2 -> conv(16, 5x5, "
                                   "P=2) -> ReLU -> pool 2 -> dense 10",
                        "batch_size": args.batch, "dtype": "float32", "rounds": args.rounds,
                        **record, "dW1_largest_difference": agree, "date": date,
                        "commit": commit, "command": command, "load_average": load})
    write_json(args.json, {"cnn_speed": records})


if __name__ == "__main__":
    main()
