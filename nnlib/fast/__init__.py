"""nnlib's fast engine: the book's maths, computed for speed (chapter "Making it fast").

**What it computes.** Exactly what ``nnlib.gradient_descent`` and ``nnlib.train`` compute
with ``forward_prop``, ``cross_entropy_from_logits``, ``back_prop`` and the optimisers: the
same initial parameters, shuffles, dropout masks, losses, gradients and updates (the same
optimiser objects, learning-rate schedule and early stopping), so the same training run. Only
the order in which numbers are added differs, so results agree to rounding
(``tests/test_fast.py``: 50 float64 steps of every optimiser with dropout and weight decay,
with and without a schedule, agree to 1e-9, and early stopping stops at the same epoch). The loops reach it with ``engine="fast"``; it imports the maths and never the loops.

**How** (each point measured and explained in :mod:`nnlib.fast.workspace`; the chapter
"Making it fast" measures the machine's limits and demonstrates them one at a time):

1. float32 throughout, and every buffer allocated once, before the first step;
2. X stored one example per row, so a mini-batch is one gather of whole rows;
3. the examples cut into chunks of about a thousand, so that each chunk of X is read from
   memory once per step and its activations stay in the cache;
4. layer 1's products restricted to the pixels that are not blank in every image of a chunk;
5. narrow layers multiplied in slices that OpenBLAS runs without packing;
6. the two halves of each batch, and of the optimiser's step on one flat parameter vector,
   computed side by side on two cores: by a second thread for full-batch steps, whose long
   products release the GIL, and for mini-batch steps, on x86-64 Linux, by a forked worker
   process with its own GIL that meets this one at spinning barriers
   (:mod:`nnlib.fast.worker`).
"""
from .loops import gradient_descent, train

__all__ = ["gradient_descent", "train"]
