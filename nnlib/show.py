"""What chapters display: nnlib's own source code and tables of matrix
shapes.

A chapter never carries a copy of a function: it shows the package's source
with :func:`source`, so book and package cannot drift apart.
"""
import inspect

import pandas as pd
from IPython.display import Markdown

from .checks import check_layer_dims

# The widest line source() shows, in characters: the rendered book's code
# column fits 79, and a wider line would give readers a horizontal scroll bar.
COLUMN = 79


def source(obj):
    """The source of a function, class or module of nnlib as highlighted code.

    Returns a Markdown object. Raises ValueError, naming ``obj``, the line
    and its width, when a line is wider than ``COLUMN`` characters, so that a
    chapter showing it fails its test instead of reaching readers.
    """
    lines, first = inspect.getsourcelines(obj)
    for number, line in enumerate(lines, start=max(first, 1)):
        width = len(line.rstrip("\r\n"))
        if width > COLUMN:
            raise ValueError(
                f"{_name(obj)}: line {number} of {inspect.getsourcefile(obj)} "
                f"is {width} characters wide, more than the {COLUMN} of the "
                "book's code column; wrap it")
    return Markdown(f"```python\n{''.join(lines).rstrip()}\n```")


def _name(obj):
    """``obj``'s dotted name, such as nnlib.network.forward_prop."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return getattr(obj, "__name__", repr(obj))


def shape_table(layer_dims, m="m"):
    """One row per layer l = 1..L: the shapes of W_l, b_l, Z_l and A_l.

    Returns a DataFrame.

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
    """One row per layer with the shapes of dZ_l, dW_l, db_l and dA_(l-1).

    Returns a DataFrame.
    """
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
