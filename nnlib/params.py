"""Parameters W1, b1, ..., WL, bL: initialisation, saving and loading (chapter
"Forward propagation").
"""
import numpy as np

from .checks import check_layer_dims, check_params

INIT_METHODS = ("he", "xavier", "article")


def init_scale(method, n_in, n_out):
    """Standard deviation of the weights of a layer: n_in inputs, n_out units.

    - ``"he"`` (He et al. 2015): sqrt(2 / n_in), which keeps the variance of
      ReLU activations constant from layer to layer.
    - ``"xavier"`` (Glorot and Bengio 2010): sqrt(2 / (n_in + n_out)).
    - ``"article"``: sqrt(1 / n_out), the article's fan-out scale.
    """
    if method == "he":
        return np.sqrt(2.0 / n_in)
    if method == "xavier":
        return np.sqrt(2.0 / (n_in + n_out))
    if method == "article":
        return np.sqrt(1.0 / n_out)
    raise ValueError(f"init method must be one of {', '.join(INIT_METHODS)}; "
                     f"got {method!r}")


def init_params(layer_dims, seed=0, method="he", dtype=np.float32):
    """Random weights W_l: (n_l, n_{l-1}) and biases b_l: (n_l, 1), l = 1..L.

    Weights are standard normal times ``init_scale(method, n_{l-1}, n_l)``.
    Biases are zero, except with ``method="article"``, which reproduces the
    article's scheme: biases drawn and scaled like the weights. Numbers are
    drawn in float64 from ``np.random.default_rng(seed)`` and then cast to
    ``dtype``, so float32 and float64 networks start from the same point.
    """
    dims = check_layer_dims(layer_dims)
    init_scale(method, 1, 1)  # rejects an unknown method before any draw
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        n_in, n_out = dims[l - 1], dims[l]
        scale = init_scale(method, n_in, n_out)
        params[f"W{l}"] = (rng.standard_normal((n_out, n_in))
                           * scale).astype(dtype)
        if method == "article":
            params[f"b{l}"] = (rng.standard_normal((n_out, 1))
                               * scale).astype(dtype)
        else:
            params[f"b{l}"] = np.zeros((n_out, 1), dtype=dtype)
    return params


def save_params(path, params):
    """Save ``W1, b1, ...`` to an uncompressed .npz file.

    The shapes are checked first.
    """
    check_params(params)
    np.savez(path, **params)


def load_params(path, layer_dims=None):
    """Load parameters saved by :func:`save_params`.

    Checks the shapes, and ``layer_dims`` if given. The file is read with
    ``allow_pickle=False``: a .npz can then hold arrays only, never code.
    """
    with np.load(path, allow_pickle=False) as archive:
        params = {key: archive[key] for key in archive.files}
    try:
        dims = check_params(params)
    except ValueError as error:
        raise ValueError(f"{path} does not hold valid parameters: "
                         f"{error}") from None
    if layer_dims is not None and dims != check_layer_dims(layer_dims):
        raise ValueError(f"{path} holds a network with layers {dims}, "
                         f"expected {list(layer_dims)}")
    return params
