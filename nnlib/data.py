"""MNIST and the Kaggle digits CSV as NumPy arrays, one example per column.

Every loader here returns the book's layout (see the notation table in the
Reference chapter):

- ``X: (n_0, m) float32`` with ``n_0 = 784``: column ``i`` is image
  ``x^(i)``, its 28 x 28 pixels read row by row and scaled from 0..255 to
  [0, 1]. ``X`` is C-contiguous.
- ``y: (m,) int64``: the digit 0..9 of each column.

Why columns: a layer then treats the whole batch with one matrix product,
``Z = W X + b`` with ``W: (n_1, n_0)``, ``X: (n_0, m)``, ``b: (n_1, 1)``
broadcast over the ``m`` columns, exactly as the equations are written in the
book.

MNIST comes from its four IDX files. Each file read, from disk or from a
mirror, is checked against the canonical SHA-256 of its *uncompressed* bytes
pinned in :data:`SHA256` (a gzip header differs between copies, the content
does not), so a corrupt or foreign file is never parsed. Reading stops one
byte past the file's known size, :data:`SIZES`, so a larger file or a gzip
that would inflate further (a decompression bomb) is refused with memory
bounded by that size. Errors:

- ``ValueError``: a file that is corrupt (bad gzip, too large, wrong digest,
  malformed IDX), a data folder that is a file, a CSV with bad content, or
  bad arguments. The message names the file and, for a digest, both the
  expected and the actual value.
- :class:`MNISTDownloadError` (an ``OSError``): a missing file could not be
  downloaded from any mirror. The message names each mirror tried and why it
  failed.

This module knows files and arrays, not networks: it imports no other nnlib
module.
"""

import gzip
import hashlib
import math
import numbers
import os
import struct
import tempfile
import urllib.request
import zlib
from contextlib import suppress
from http.client import HTTPException
from pathlib import Path

import numpy as np

__all__ = [
    "MIRRORS",
    "MNISTDownloadError",
    "SHA256",
    "SIZES",
    "load_digits_csv",
    "load_mnist",
    "parse_idx",
    "scale_pixels",
    "train_val_split",
]

#: Canonical SHA-256 of each MNIST file after gunzip (the same for every
#: mirror).
SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: The size in bytes of each MNIST file after gunzip (a 16-byte header then
#: 28 x 28 bytes per image, or an 8-byte header then one byte per label).
SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}

#: Public mirrors of the ``.gz`` files, tried in this order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

#: Seconds a mirror may stay silent before we give up on it.
TIMEOUT = 30

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
N_0 = 28 * 28
_CHUNK = 1 << 16  # bytes read per step of a download

# One entry, (key, arrays): a notebook that calls load_mnist again gets the
# arrays without re-reading and re-hashing 55 MB, while memory stays bounded to
# one data set.
_last_loaded = None


class MNISTDownloadError(OSError):
    """A missing MNIST file could not be downloaded from any mirror."""


# ---------------------------------------------------------------- MNIST


def load_mnist(data_dir=None, *, mirrors=None):
    """Load MNIST as ``(X_train, y_train, X_test, y_test)``.

    Returns ``X_train: (784, 60000) float32``, ``y_train: (60000,) int64``,
    ``X_test: (784, 10000) float32``, ``y_test: (10000,) int64``; pixels in
    [0, 1], one image per column, ``X`` C-contiguous.

    The folder is ``data_dir``, else ``$NNLIB_DATA_DIR``, else the user cache
    ``$XDG_CACHE_HOME/nnlib/mnist`` (``~/.cache/nnlib/mnist``). It holds
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or
    with ``.gz`` (the plain file is read when both exist). The folder may be
    read-only.

    Every file is verified against :data:`SHA256` before it is parsed. A
    missing file is downloaded into the folder from ``mirrors`` (default
    :data:`MIRRORS`), tried in order, and appears there only once complete and
    verified. A corrupt file in the user cache is deleted and downloaded again;
    one in a folder the user named (``data_dir`` or ``$NNLIB_DATA_DIR``) is
    never touched, only reported.

    The arrays of the last call are kept in memory, keyed by the files' paths,
    sizes and modification times: calling again is free. They are returned
    read-only, so no caller can alter what the next caller gets; use
    ``X.copy()`` to modify them (:func:`train_val_split` already returns fresh,
    writable arrays).

    Raises ``ValueError`` for a corrupt file or a folder that is a file, and
    :class:`MNISTDownloadError` when a missing file cannot be downloaded.
    """
    global _last_loaded
    folder, user_named = _mnist_folder(data_dir)
    _check_not_a_file(folder)
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    key = _folder_key(folder)
    if _last_loaded is None or _last_loaded[0] != key or None in key[1]:
        files = {name: _verified_file(folder, name, user_named, mirrors)
                 for name in SHA256}
        arrays = (*_examples(files, "train"), *_examples(files, "t10k"))
        for array in arrays:
            array.flags.writeable = False
        _last_loaded = (_folder_key(folder), arrays)
    # Views of read-only arrays cannot be made writable again by the caller.
    return tuple(array.view() for array in _last_loaded[1])


def _mnist_folder(data_dir):
    """Return (folder, user_named).

    Where MNIST lives, and whether the user chose that folder.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve(), True
    if os.environ.get("NNLIB_DATA_DIR"):
        return Path(os.environ["NNLIB_DATA_DIR"]).expanduser().resolve(), True
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return (Path(cache).expanduser() / "nnlib" / "mnist").resolve(), False


def _check_not_a_file(folder):
    """Raise ValueError if ``folder`` is a file, or would sit below one.

    MNIST could neither be read from it nor downloaded into it.
    """
    existing = next(path for path in (folder, *folder.parents)
                    if path.exists())
    if existing.is_dir():
        return
    if existing == folder:
        raise ValueError(f"MNIST folder {folder} is a file, not a folder: "
                         "name the folder that holds the MNIST files")
    raise ValueError(f"MNIST folder {folder} cannot be created: {existing} "
                     "is a file, not a folder")


def _find(folder, name):
    """Path of ``name`` in ``folder``, plain before ``.gz``.

    None if neither exists.
    """
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _folder_key(folder):
    """What identifies the folder's current files.

    The path, size and mtime of each.
    """
    stamps = []
    for name in SHA256:
        path = _find(folder, name)
        stat = path.stat() if path else None
        stamps.append(path and (path.name, stat.st_size, stat.st_mtime_ns))
    return folder, tuple(stamps)


def _verified_file(folder, name, user_named, mirrors):
    """``(path, raw)``: MNIST file ``name``, its verified uncompressed bytes.

    Downloads the file when it is missing, or corrupt in the user cache.
    """
    path = _find(folder, name)
    if path is None:
        return _download(name, folder, mirrors)
    try:
        return path, _read_verified(path, name, path.suffix == ".gz", path)
    except ValueError as corrupt:
        if user_named:
            raise ValueError(
                f"{corrupt}\nThe file was left in place: replace it with a "
                "good copy, or delete it to have it downloaded again."
            ) from None
        path.unlink()
        try:
            return _download(name, folder, mirrors)
        except MNISTDownloadError as failed:
            raise MNISTDownloadError(
                f"{corrupt}\nThe corrupt file was removed from the cache; "
                f"downloading it again failed:\n{failed}"
            ) from None


def _read_verified(path, name, gzipped, source):
    """Uncompressed bytes of MNIST file ``name`` at ``path``, checked.

    Gunzipped first if ``gzipped``; at most ``SIZES[name]`` bytes, checked by
    SHA-256. Errors name the file as ``source``.
    """
    size = SIZES[name]
    with open(path, "rb") as file:
        # One byte more than the size tells a larger file from an exact one.
        raw = (_gunzip(file, size + 1, source, name) if gzipped
               else file.read(size + 1))
    if len(raw) > size:
        if gzipped:
            raise ValueError(
                f"{source}: inflates past the {size} bytes of {name}, where "
                "reading stopped: a corrupt gzip file, another file, or a "
                "decompression bomb"
            )
        raise ValueError(f"{source}: more than the {size} bytes of {name}, "
                         "where reading stopped: a corrupt file or another "
                         "file")
    _check_sha256(raw, name, source)
    return raw


def _gunzip(file, size, source, name):
    """At most ``size`` bytes inflated from the gzip stream in ``file``.

    GzipFile inflates chunk by chunk and stops at ``size``, so memory stays
    bounded however far the stream would inflate. A truncated or damaged
    stream is a ValueError.
    """
    try:
        with gzip.GzipFile(fileobj=file) as stream:
            return stream.read(size)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{source}: corrupt gzip file ({err}); expected {name} whose "
            f"uncompressed SHA-256 is {SHA256[name]}"
        ) from None


def _check_sha256(raw, name, source):
    """Raise ValueError unless SHA-256(raw) is ``name``'s canonical digest."""
    actual = hashlib.sha256(raw).hexdigest()
    if actual != SHA256[name]:
        raise ValueError(
            f"{source}: SHA-256 of the uncompressed data is {actual}, "
            f"expected {SHA256[name]} (canonical {name}); the file is corrupt "
            "or not that file"
        )


def _examples(files, prefix):
    """``(X, y)`` from the images and labels files of ``prefix``.

    ``files[name] = (path, raw)`` for the names ``{prefix}-images`` and
    ``{prefix}-labels``. ``X: (784, m) float32`` C-contiguous in [0, 1];
    ``y: (m,) int64`` in 0..9.
    """
    images_source, images_raw = files[f"{prefix}-images-idx3-ubyte"]
    labels_source, labels_raw = files[f"{prefix}-labels-idx1-ubyte"]
    images = parse_idx(images_raw, images_source)
    labels = parse_idx(labels_raw, labels_source)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_source}: expected images of shape "
                         f"(m, 28, 28), got {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{labels_source}: expected labels of shape (m,), "
                         f"got {labels.shape}")
    if labels.size and labels.max() > 9:
        index = int(np.argmax(labels > 9))
        raise ValueError(f"{labels_source}: labels must be 0..9, label "
                         f"{index} is {labels[index]}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_source} holds {len(images)} images but {labels_source} "
            f"holds {len(labels)} labels"
        )
    return scale_pixels(images), labels.astype(np.int64)


def scale_pixels(images):
    """``X: (784, m) float32`` C-contiguous in [0, 1] from ``m`` images.

    The images' pixels are 0..255. ``images``: ``(m, 28, 28)`` or
    ``(m, 784)`` uint8; each image becomes one column, its pixels read row by
    row.
    """
    rows = images.reshape(len(images), -1)
    # One copy both transposes and casts; dividing in place needs no other.
    X = np.ascontiguousarray(rows.T, dtype=np.float32)
    X /= np.float32(255)
    return X


def parse_idx(raw, source="<bytes>"):
    """Parse one IDX file of unsigned bytes into a ``uint8`` array.

    ``raw`` is the uncompressed content: a big-endian magic 0x00000803 (images,
    3 dimensions) or 0x00000801 (labels, 1 dimension), one big-endian uint32
    per dimension, then exactly their product of bytes. Anything else is a
    ValueError naming ``source``. The array, of the file's dimensions, is a
    read-only view of ``raw``.
    """
    if len(raw) < 4:
        raise ValueError(f"{source}: {len(raw)} bytes, too short for an IDX "
                         "header")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise ValueError(
            f"{source}: IDX magic number is 0x{magic:08x}, expected "
            f"0x{IMAGES_MAGIC:08x} (images) or 0x{LABELS_MAGIC:08x} (labels)"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{source}: {len(raw)} bytes, too short for {ndim} "
                         "IDX dimensions")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(
            f"{source}: {len(raw) - header} data bytes, expected {expected} "
            f"for dimensions {dims}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


# ---------------------------------------------------------------- download


def _download(name, folder, mirrors):
    """Download ``name.gz`` into ``folder`` from the first mirror that works.

    A mirror works when it serves the file intact. Returns ``(path, raw)``:
    the new file and its uncompressed, verified bytes. Raises
    MNISTDownloadError naming each mirror and its failure; nothing is left in
    ``folder`` after a failure, nor any folder created for the download.
    """
    filename = f"{name}.gz"
    if not mirrors:
        raise MNISTDownloadError(f"{filename} is missing from {folder} and no "
                                 "mirror is given")
    new_folders = [path for path in (folder, *folder.parents)
                   if not path.exists()]  # deepest first
    try:
        _make_writable_folder(folder, filename)
        return _download_from_mirrors(name, folder, mirrors)
    except BaseException:
        # Leave no trace of a failed first download (a typo in the path,
        # say); a folder someone else has filled meanwhile stays.
        for path in new_folders:
            with suppress(OSError):
                path.rmdir()
        raise


def _make_writable_folder(folder, filename):
    """Create ``folder`` if needed; MNISTDownloadError unless writable."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MNISTDownloadError(
            f"{filename} is missing and {folder} cannot be created "
            f"({err.strerror}): name a writable folder with data_dir"
        ) from None
    if not os.access(folder, os.W_OK):
        raise MNISTDownloadError(
            f"{filename} is missing from {folder}, which is not writable: "
            "put the file there, or name a writable folder with data_dir"
        )


def _download_from_mirrors(name, folder, mirrors):
    """``(path, raw)`` from the first of ``mirrors`` that serves ``name``.

    Raises MNISTDownloadError naming each mirror and its failure.
    """
    filename = f"{name}.gz"
    failures = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{filename}"
        try:
            return _download_from(url, folder / filename, name)
        except (OSError, ValueError, HTTPException) as err:
            failures.append(f"  {url}: {err}")
    raise MNISTDownloadError(
        f"could not download {filename} into {folder}; mirrors tried:\n"
        + "\n".join(failures)
    )


def _download_from(url, target, name):
    """Fetch ``url`` into a temporary file beside ``target``.

    Then verify it and rename it to ``target`` atomically.
    """
    # Imported here: only a download needs it, and it costs ~0.1 s at
    # `import nnlib`.
    from tqdm.auto import tqdm

    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                suffix=".part")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "nnlib"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
                request, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True,
                      unit_divisor=1024, desc=target.name) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        # http.client returns short data, not an error, when the server hangs
        # up early.
        if total is not None and received != total:
            raise ValueError(f"connection closed after {received} of {total} "
                             "bytes")
        raw = _read_verified(Path(temp), name, True, "downloaded data")
        os.replace(temp, target)
        return target, raw
    finally:
        with suppress(FileNotFoundError):
            os.remove(temp)


# ---------------------------------------------------------------- Kaggle CSV


def load_digits_csv(path):
    """Load Kaggle's "Digit Recognizer" ``train.csv`` as ``(X, y)``.

    The CSV has a header ``label,pixel0,...,pixel783`` and one image per row,
    pixels 0..255. Returns ``X: (784, m) float32`` C-contiguous in [0, 1], one
    image per column, and ``y: (m,) int64`` in 0..9, as :func:`load_mnist`
    does.

    Raises ValueError naming ``path`` for a missing ``label`` column, a pixel
    count other than 784, a pixel that is not a whole number in 0..255, or a
    label outside 0..9.
    """
    # Imported here: pandas costs ~0.4 s, and only this reader needs it.
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=np.float32)
    except ValueError as err:  # pandas' parser errors and non-numbers alike
        raise ValueError(f"{path}: not a CSV of numbers ({err})") from None
    if "label" not in frame.columns:
        raise ValueError(
            f"{path}: no 'label' column (columns are "
            f"{', '.join(map(str, frame.columns[:3]))}, ...); "
            "Kaggle's test.csv has no labels, use train.csv"
        )
    pixels = frame.drop(columns="label")
    if pixels.shape[1] != N_0:
        raise ValueError(f"{path}: {pixels.shape[1]} pixel columns, expected "
                         f"{N_0} (pixel0..pixel783)")
    values = pixels.to_numpy()
    _check_whole_in_range(values, 255, path, "pixel values", pixels.columns)
    labels = frame["label"].to_numpy()
    _check_whole_in_range(labels[:, None], 9, path, "labels", ["label"])
    return scale_pixels(values), labels.astype(np.int64)


def _check_whole_in_range(values, top, path, what, columns):
    """Raise ValueError at the first entry of ``values`` not in 0..top.

    ``values`` has shape (rows, cols).
    """
    bad = ~((values >= 0) & (values <= top) & (values == np.floor(values)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{path}: {what} must be whole numbers in 0..{top}, found "
            f"{values[row, col]} in column {columns[col]} on line {row + 2}"
        )


# ---------------------------------------------------------------- split


def train_val_split(X, y, val_size=0.2, seed=0):
    """Shuffle the columns of ``X`` into a training and a validation part.

    ``X: (n_0, m)``, ``y: (m,)`` integer labels. ``val_size`` is a fraction in
    (0, 1) of ``m`` (rounded half up to a count) or a count in [1, m - 1].
    Columns are permuted by ``np.random.default_rng(seed)``, so a seed gives
    one split.

    Returns ``X_train: (n_0, m - k)``, ``y_train: (m - k,)``,
    ``X_val: (n_0, k)``, ``y_val: (k,)``: fresh C-contiguous arrays of
    ``X``'s and ``y``'s dtypes. Every column lands in exactly one part (the
    article's "validation" rows were taken from its training rows).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_0, m), got shape {X.shape}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError("y must be 1-D integer labels (m,), got shape "
                         f"{y.shape} dtype {y.dtype}")
    m = X.shape[1]
    if len(y) != m:
        raise ValueError(f"X has {m} columns (examples) but y has {len(y)} "
                         "labels")
    k = _validation_count(val_size, m)
    order = np.random.default_rng(seed).permutation(m)
    train, val = order[k:], order[:k]
    # np.take along axis 1 returns C-contiguous columns; X[:, idx] would not.
    return np.take(X, train, axis=1), y[train], np.take(X, val, axis=1), y[val]


def _validation_count(val_size, m):
    """Number of validation columns out of ``m``.

    ``val_size`` is a fraction or a count.
    """
    if (isinstance(val_size, numbers.Integral)
            and not isinstance(val_size, bool)):
        k = int(val_size)
    elif isinstance(val_size, numbers.Real) and 0 < val_size < 1:
        # half up: 0.25 of 50 is 13, not round()'s 12
        k = math.floor(val_size * m + 0.5)
    else:
        raise ValueError(
            "val_size must be a fraction in (0, 1) or a count in [1, m - 1], "
            f"got {val_size!r} (m = {m})"
        )
    if not 1 <= k <= m - 1:
        raise ValueError(
            f"val_size={val_size!r} gives {k} validation examples out of "
            f"m = {m}; both parts need at least one"
        )
    return k
