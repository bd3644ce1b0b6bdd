"""What chapters display: nnlib's own source code and tables of matrix shapes.

A chapter never carries a copy of a function: it shows the package's source with
:func:`source`, so book and package cannot drift apart.
"""
import inspect

import pandas as pd
from IPython.display import Markdown

from .checks import check_layer_dims


def source(obj):
    """The source of a function, class or module of nnlib as highlighted code (a Markdown object)."""
    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")


def shape_table(layer_dims, m="m"):
    """One row per layer l = 1..L with the shapes of W_l, b_l, Z_l and A_l, as a DataFrame.

    ``m`` is the number of examples, a number or the symbol "m".
    """
    dims = check_layer_dims(layer_dims)
    L = len(dims) - 1
    rows = []
    for l in range(1, L + 1):
        rows.append({
            "layer l": l,
            "units n_l": dims[l],
            "W_l": f"({dims[l]}, {dims[l - 1]})",
            "b_l": f"({dims[l]}, 1)",
            "Z_l = W_l A_(l-1) + b_l": f"({dims[l]}, {m})",
            "A_l": f"({dims[l]}, {m})",
            "g_l": "softmax" if l == L else "ReLU",
            "parameters": dims[l] * dims[l - 1] + dims[l],
        })
    return pd.DataFrame(rows).set_index("layer l")


def gradient_shape_table(layer_dims, m="m"):
    """One row per layer with the shapes of dZ_l, dW_l, db_l and dA_(l-1), as a DataFrame."""
    dims = check_layer_dims(layer_dims)
    L = len(dims) - 1
    rows = []
    for l in range(L, 0, -1):
        rows.append({
            "layer l": l,
            "dZ_l": f"({dims[l]}, {m})",
            "dW_l = (1/m) dZ_l A_(l-1)^T": f"({dims[l]}, {dims[l - 1]})",
            "db_l": f"({dims[l]}, 1)",
            "dA_(l-1) = W_l^T dZ_l": f"({dims[l - 1]}, {m})",
        })
    return pd.DataFrame(rows).set_index("layer l")
