"""Forward + backward of one batch through the chapter's CNN: nnlib against PyTorch.

    python benchmarks/cnn_speed.py [--rounds 40] [--batch 128] [--threads N]

The network (nnlib.cnn.LENET): conv(8, 5x5, P=2) -> ReLU -> pool 2 -> conv(16, 5x5, P=2) ->
ReLU -> pool 2 -> dense 10, float32, a batch of 128 MNIST-sized random images. One step is the
forward pass, the loss (softmax cross-entropy from the logits) and every parameter's gradient
(no optimiser step, no gradient for the pixels) in both libraries. The contenders alternate in
one process, round after round (the machine may be loaded by other work: the ratio of the
medians is the fair comparison), each with its library's default threads, or both with
``--threads N`` (1 is steadier on a loaded machine, where idle BLAS threads spin). Then nnlib's time
split by step (forward and backward of each layer kind), to name the bottleneck. Needs torch
(benchmarks/requirements.txt).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, markdown_table  # noqa: E402
from nnlib import cnn, conv  # noqa: E402
from nnlib.losses import cross_entropy_from_logits  # noqa: E402


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


def profile(X, y, params, rounds):
    """Median CPU ms of each conv/pool/relu/dense function inside nnlib's step, by wrapping
    the functions nnlib.cnn calls, and im2col and col2im inside the convolutions (CPU time:
    steadier than wall time on a loaded machine). Returns them and the step's median."""
    names = ["conv2d_forward", "conv2d_backward", "maxpool_forward", "maxpool_backward",
             "relu", "relu_backward", "linear_forward", "linear_backward", "softmax"]
    inner = ["im2col", "col2im"]  # called by conv2d_forward and conv2d_backward
    spent = {name: [] for name in names + inner}
    originals = {name: getattr(cnn, name) for name in names}
    originals.update({name: getattr(conv, name) for name in inner})
    per_round = {}

    def wrap(name):
        def wrapper(*args, **kwargs):
            start = time.process_time()
            result = originals[name](*args, **kwargs)
            per_round[name] = per_round.get(name, 0.0) + time.process_time() - start
            return result
        return wrapper

    steps = []
    for name in names:
        setattr(cnn, name, wrap(name))
    for name in inner:
        setattr(conv, name, wrap(name))
    try:
        for _ in range(rounds):
            per_round.clear()
            steps.append(timed(nnlib_step, X, y, params)[1])
            for name in spent:
                spent[name].append(per_round.get(name, 0.0))
    finally:
        for name, original in originals.items():
            setattr(conv if name in inner else cnn, name, original)
    medians = {name: 1000 * statistics.median(times) for name, times in spent.items()}
    return medians, 1000 * statistics.median(steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of both libraries (default: each library's own)")
    args = parser.parse_args(argv)
    import torch
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    X = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    params = cnn.init_params(cnn.LENET, seed=0)
    model = torch_model(params)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    # the same numbers: the loss and the first kernels' gradient
    loss, grads = nnlib_step(X, y, params)
    torch_loss = torch_step(model, X_t, y_t)
    agree = np.abs(grads["dW1"] - model[0].weight.grad.numpy()).max()
    print(f"loss: nnlib {loss:.6f}, PyTorch {torch_loss.item():.6f};"
          f" largest difference of dW1 {agree:.1e}")
    times = {"nnlib": [], "PyTorch": []}
    for _ in range(3):  # warm up
        nnlib_step(X, y, params)
        torch_step(model, X_t, y_t)
    for _ in range(args.rounds):
        times["nnlib"].append(timed(nnlib_step, X, y, params))
        times["PyTorch"].append(timed(torch_step, model, X_t, y_t))
    wall = {name: 1000 * statistics.median(t[0] for t in values)
            for name, values in times.items()}
    cpu = {name: 1000 * statistics.median(t[1] for t in values)
           for name, values in times.items()}
    print(machine())
    print(f"forward + backward of one batch of {args.batch}, float32, median of "
          f"{args.rounds} alternating rounds, torch threads {torch.get_num_threads()}\n")
    rows = [[name, f"{wall[name]:.1f}", f"{1000 * min(t[0] for t in times[name]):.1f}",
             f"{wall[name] / wall['PyTorch']:.2f}", f"{cpu[name]:.1f}",
             f"{cpu[name] / cpu['PyTorch']:.2f}"] for name in times]
    print(markdown_table(["contender", "ms per batch (median)", "ms (best)", "÷ PyTorch",
                          "CPU ms (median)", "CPU ÷ PyTorch"], rows))
    split, step = profile(X, y, params, args.rounds)
    print(f"\nnnlib's step by function: median CPU ms over {args.rounds} more rounds, in which "
          f"the whole step took {step:.1f} ms (the rest is the loss, the checks and reshapes)\n")
    print(markdown_table(["function", "CPU ms", "share of the step"],
                         [[name if name in cnn.__dict__ else f"(inside the convolutions) {name}",
                           f"{ms:.1f}", f"{ms / step:.0%}"]
                          for name, ms in sorted(split.items(), key=lambda item: -item[1])]))


if __name__ == "__main__":
    main()
