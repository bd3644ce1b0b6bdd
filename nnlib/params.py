"""Parameters W1, b1, ..., WL, bL: initialisation, saving and loading (chapter
"Forward propagation").
"""
import math
import zipfile
import zlib

import numpy as np

from .checks import all_finite, check_layer_dims, check_params

INIT_METHODS = ("he", "xavier", "article")

#: How many times its compressed size a member of a .npz may inflate to
#: when no ``layer_dims`` bounds its shape (members up to 1 MiB aside).
MAX_INFLATION = 100
_ANY_INFLATION = 1 << 20  # bytes: zero biases compress a thousandfold

# What a damaged or foreign zip archive raises while it is read.
_ARCHIVE_ERRORS = (OSError, EOFError, ValueError, RuntimeError,
                   NotImplementedError, zipfile.BadZipFile, zlib.error)


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

    The shapes are checked first. A convolutional network's parameters
    (nnlib.cnn) are saved alike; its layers are not saved: give them to
    :func:`load_params`.
    """
    if _is_cnn(params):
        from .cnn import check_param_shapes
        check_param_shapes(params)
    else:
        check_params(params)
    np.savez(path, **params)


def _is_cnn(params):
    from .cnn import is_cnn_params  # nnlib.cnn imports this module
    return is_cnn_params(params)


def load_params(path, layer_dims=None, input_shape=(1, 28, 28)):
    """Load parameters saved by :func:`save_params`.

    Returns ``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}`` as saved. Reading is
    bounded: every member's shape and dtype are read from its .npy header
    and checked first (consistent layers; ``layer_dims`` if given), so no
    array is inflated that the checks refuse. A convolutional network
    loads with its list of layers as ``layer_dims`` (such as
    ``nnlib.cnn.LENET``), the shapes checked for images of ``input_shape``
    (C, n_H, n_W); without it, a file that holds kernels is refused with a
    message that says so. Without ``layer_dims``, a
    member over 1 MiB may inflate to at most ``MAX_INFLATION`` times its
    compressed size: weights compress little, a decompression bomb a
    thousandfold. Arrays are read with ``allow_pickle=False``: a .npz can
    then hold arrays only, never code.

    Raises ValueError naming ``path`` (and the member at fault) for a file
    that is not an .npz archive of floating arrays with finite values and
    those shapes.
    """
    wanted = layer_dims
    if layer_dims is not None and not _is_layer_list(layer_dims):
        wanted = check_layer_dims(layer_dims)
    with _open_npz(path) as archive:
        members = {_key(info.filename): info for info in archive.infolist()}
        stand_ins = {key: _stand_in(archive, info, path)
                     for key, info in members.items()}
        _check_shapes(path, stand_ins, wanted, input_shape)
        if wanted is None:
            _check_inflation(path, members.values())
        params = {key: _read_member(archive, info, path)
                  for key, info in members.items()}
    _check_finite(path, params)
    return params


def _open_npz(path):
    """The .npz at ``path`` as an open ZipFile.

    Reads only the archive's directory: names and declared sizes.
    """
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError,
            NotImplementedError) as error:
        raise ValueError(f"{path} is {_what_instead(path, error)}, not an "
                         ".npz archive of parameters W1, b1, ... "
                         "(save_params writes one)") from None


def _what_instead(path, error):
    """What the file at ``path`` is, which zipfile refused with ``error``."""
    with open(path, "rb") as file:
        start = file.read(len(np.lib.format.MAGIC_PREFIX))
    if not start:
        return "an empty file"
    if start == np.lib.format.MAGIC_PREFIX:
        return "a single .npy array (np.save)"
    if start.startswith(b"PK"):
        return f"a zip archive that cannot be read ({error})"
    return "another kind of file"


def _key(filename):
    """The key of a member, as np.load names it: ``W1.npy`` is ``W1``."""
    return filename.removesuffix(".npy")


def _stand_in(archive, info, path):
    """A stand-in for the member's array, read from its .npy header only.

    It has the array's shape and dtype, as a view of a single zero, so checks
    can run before any data is inflated. ValueError naming the member unless
    the header describes floats whose size is the member's declared size.
    """
    where = f"{path}: member {info.filename}"
    try:
        with archive.open(info) as member:
            shape, dtype = _read_npy_header(member)
            header_size = member.tell()
    except _ARCHIVE_ERRORS as error:
        raise ValueError(f"{where} is not a .npy array ({error})") from None
    if dtype.hasobject:
        raise ValueError(f"{where} holds Python objects, which would need "
                         "allow_pickle=True: refused, parameters are arrays "
                         "of floats")
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"{where} holds {dtype}, expected floats")
    size = header_size + math.prod(shape) * dtype.itemsize
    if info.file_size != size:
        raise ValueError(
            f"{where} declares {info.file_size} bytes, but its header "
            f"(shape {shape}, dtype {dtype}) makes {size}")
    return np.broadcast_to(np.zeros((), dtype), shape)


def _read_npy_header(member):
    """``(shape, dtype)`` from the .npy header at the start of ``member``.

    ValueError for another kind of data or a header that np.save does not
    write (a version other than 1.0 or 2.0, a negative dimension).
    """
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f".npy version {version} is not supported")
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(member)
    if min(shape, default=0) < 0:
        raise ValueError(f"shape {shape} has a negative dimension")
    return shape, dtype


def _is_layer_list(layer_dims):
    from .cnn import is_layer_list
    return is_layer_list(layer_dims)


def _check_shapes(path, stand_ins, wanted, input_shape=None):
    """Raise ValueError naming ``path`` unless ``stand_ins`` make a network.

    ``stand_ins`` are the members' :func:`_stand_in`; the network must have
    layer sizes ``wanted`` (or be the CNN of those layers) unless it is None.
    """
    if _is_layer_list(wanted):
        from .cnn import check_params as check_cnn_params
        try:
            check_cnn_params(stand_ins, wanted, input_shape)
        except ValueError as error:
            raise ValueError(f"{path} does not hold the parameters of these"
                             f" layers: {error}") from None
        return
    if _is_cnn(stand_ins):
        W1 = stand_ins.get("W1")
        raise ValueError(
            f"{path} holds a convolutional network (W1 has shape "
            f"{getattr(W1, 'shape', None)}): load it with its layers, "
            "load_params(path, layers), such as nnlib.cnn.LENET")
    try:
        dims = check_params(stand_ins)
    except ValueError as error:
        raise ValueError(f"{path} does not hold valid parameters: "
                         f"{error}") from None
    if wanted is not None and dims != wanted:
        raise ValueError(f"{path} holds a network with layers {dims}, "
                         f"expected {wanted}")


def _check_inflation(path, infos):
    """Raise ValueError at a member that would inflate too far.

    Too far is over ``MAX_INFLATION`` times its compressed size, and over
    1 MiB.
    """
    for info in infos:
        limit = max(_ANY_INFLATION, MAX_INFLATION * info.compress_size)
        if info.file_size > limit:
            raise ValueError(
                f"{path}: member {info.filename} would inflate from "
                f"{info.compress_size} to {info.file_size} bytes, over "
                f"{MAX_INFLATION} times: refused as a decompression bomb "
                "(pass layer_dims to load a network of that size)")


def _read_member(archive, info, path):
    """The member's array; ValueError naming it if it is damaged."""
    try:
        with archive.open(info) as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except _ARCHIVE_ERRORS as error:
        raise ValueError(f"{path}: member {info.filename} is damaged "
                         f"({error})") from None


def _check_finite(path, params):
    """Raise ValueError at the first array holding NaN or infinity."""
    for key, array in params.items():
        if not all_finite(array):
            bad = array.size - np.count_nonzero(np.isfinite(array))
            raise ValueError(
                f"{path}: {key} holds {bad} NaN or "
                f"infinite values out of {array.size}; were they saved "
                "after the training diverged?")
