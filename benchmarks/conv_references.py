"""Write tests/data/conv_reference.npz: PyTorch's conv2d and max_pool2d, with
their gradients, on small random inputs, so that CI checks nnlib.conv against
PyTorch without installing it.

    python benchmarks/conv_references.py     # needs torch (benchmarks/requirements.txt)

Each case i stores its inputs and PyTorch's outputs under keys "i/name". The
gradients are those of the mean over examples of sum(G * output) for a
random G, as the book defines dW (1/m) and dA_prev (times m) in nnlib.conv.
"""
from pathlib import Path

import numpy as np
import torch

OUT = (Path(__file__).resolve().parents[1] / "tests" / "data"
       / "conv_reference.npz")

# (m, C_prev, C, n_H, n_W, k, stride, padding)
CONV_CASES = [(2, 1, 3, 7, 7, 3, 1, 0), (2, 2, 3, 8, 6, 3, 2, 1),
              (3, 3, 2, 6, 9, 5, 1, 2), (1, 2, 4, 9, 9, 4, 3, 2),
              (2, 1, 8, 12, 12, 5, 1, 2), (2, 3, 1, 5, 5, 1, 2, 0)]
# (m, C, n_H, n_W, pool, stride, relu: ties)
POOL_CASES = [(2, 3, 8, 8, 2, 2, False), (2, 2, 7, 9, 3, 2, True),
              (1, 4, 6, 6, 2, 1, True), (3, 1, 9, 8, 3, 3, False)]


def main():
    rng = np.random.default_rng(2026)
    arrays = {}
    for i, (m, C_prev, C, H, W, k, S, P) in enumerate(CONV_CASES):
        A = torch.tensor(rng.standard_normal((m, C_prev, H, W)),
                         requires_grad=True)
        kernels = torch.tensor(rng.standard_normal((C, C_prev, k, k)),
                               requires_grad=True)
        b = torch.tensor(rng.standard_normal(C), requires_grad=True)
        Z = torch.nn.functional.conv2d(A, kernels, b, stride=S, padding=P)
        G = torch.tensor(rng.standard_normal(Z.shape))
        (torch.sum(G * Z) / m).backward()
        arrays.update({f"conv{i}/A_prev": A.detach(),
                       f"conv{i}/W": kernels.detach(),
                       f"conv{i}/b": b.detach(), f"conv{i}/stride": S,
                       f"conv{i}/padding": P, f"conv{i}/Z": Z.detach(),
                       f"conv{i}/G": G, f"conv{i}/dA_prev": A.grad * m,
                       f"conv{i}/dW": kernels.grad, f"conv{i}/db": b.grad})
    for i, (m, C, H, W, pool, S, relu) in enumerate(POOL_CASES):
        values = rng.standard_normal((m, C, H, W))
        if relu:
            values = np.maximum(values, 0)
        A = torch.tensor(values, requires_grad=True)
        out = torch.nn.functional.max_pool2d(A, pool, stride=S)
        G = torch.tensor(rng.standard_normal(out.shape))
        torch.sum(G * out).backward()
        arrays.update({f"pool{i}/A_prev": A.detach(), f"pool{i}/pool": pool,
                       f"pool{i}/stride": S, f"pool{i}/A": out.detach(),
                       f"pool{i}/dA": G, f"pool{i}/dA_prev": A.grad})
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **{key: np.asarray(value)
                                for key, value in arrays.items()})
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes,"
          f" torch {torch.__version__})")


if __name__ == "__main__":
    main()
