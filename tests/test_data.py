"""Specification of nnlib.data: MNIST files, verification, downloads, CSV, split.

Real MNIST comes from $NNLIB_DATA_DIR (the shared, read-only copy). Downloads go to
a local HTTP server on 127.0.0.1; every test runs with HOME and XDG_CACHE_HOME in
tmp_path and no default mirrors, so no test touches the user cache or the internet.
"""

import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from nnlib import data

SHARED = Path(os.environ.get("NNLIB_DATA_DIR") or "/nonexistent")
NAMES = list(data.SHA256)
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = NAMES
needs_mnist = pytest.mark.skipif(
    not all((SHARED / f"{name}.gz").is_file() for name in NAMES),
    reason="set NNLIB_DATA_DIR to the folder of the four MNIST .gz files",
)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real user cache, no NNLIB_DATA_DIR, no internet mirrors."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NNLIB_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "MIRRORS", ())


@pytest.fixture
def cache_dir(tmp_path):
    """The folder load_mnist() uses when no folder is named."""
    return tmp_path / "xdg" / "nnlib" / "mnist"


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory):
    """The four shared MNIST files, gunzipped."""
    folder = tmp_path_factory.mktemp("plain")
    for name in NAMES:
        (folder / name).write_bytes(gzip.decompress((SHARED / f"{name}.gz").read_bytes()))
    return folder


def copy_shared(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SHARED / f"{name}.gz", folder / f"{name}.gz")


def gz_bytes(name):
    return (SHARED / f"{name}.gz").read_bytes()


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def snapshot(folder):
    """Every file in folder with its content digest and mtime."""
    return {p.name: (sha256(p.read_bytes()), p.stat().st_mtime_ns) for p in folder.iterdir()}


def idx(array, magic):
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


@pytest.fixture
def tiny(monkeypatch):
    """(files, pin): a 3 + 2 image MNIST, {name: raw bytes}, its digests pinned in
    place of the real ones; pin(name, raw) replaces one file and its digest."""
    rng = np.random.default_rng(0)
    files = {
        TRAIN_IMAGES: idx(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), 0x803),
        TRAIN_LABELS: idx(np.array([5, 0, 4], np.uint8), 0x801),
        TEST_IMAGES: idx(rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), 0x803),
        TEST_LABELS: idx(np.array([7, 2], np.uint8), 0x801),
    }

    def pin(name, raw):
        monkeypatch.setitem(data.SHA256, name, sha256(raw))
        files[name] = raw

    for name, raw in list(files.items()):
        pin(name, raw)
    return files, pin


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves server.routes: path -> (mode, body); mode ok, cut or no-length."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        mode, body = self.server.routes[self.path]
        self.send_response(200)
        if mode != "no-length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve({filename: (mode, body)}) -> (mirror URL, list of requested paths)."""
    servers = []

    def start(files):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.routes = {f"/mnist/{name}": route for name, route in files.items()}
        server.requests = []
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/mnist/", server.requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- real MNIST


@pytest.fixture
def real_mnist(monkeypatch):
    monkeypatch.setenv("NNLIB_DATA_DIR", str(SHARED))
    return data.load_mnist()


@needs_mnist
def test_real_mnist_has_the_books_shapes_and_dtypes(real_mnist):
    X_train, y_train, X_test, y_test = real_mnist
    assert (X_train.shape, X_train.dtype) == ((784, 60000), np.float32)
    assert (y_train.shape, y_train.dtype) == ((60000,), np.int64)
    assert (X_test.shape, X_test.dtype) == ((784, 10000), np.float32)
    assert (y_test.shape, y_test.dtype) == ((10000,), np.int64)


@needs_mnist
def test_real_mnist_pixels_are_scaled_to_unit_interval(real_mnist):
    X_train, _, X_test, _ = real_mnist
    for X in (X_train, X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    raw = gzip.decompress(gz_bytes(TEST_IMAGES))
    first_image = np.frombuffer(raw, np.uint8, offset=16)[:784]
    np.testing.assert_array_equal(X_test[:, 0] * 255, first_image)


@needs_mnist
def test_real_mnist_first_labels_are_the_known_ones(real_mnist):
    _, y_train, _, y_test = real_mnist
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]


@needs_mnist
def test_real_mnist_arrays_are_c_contiguous(real_mnist):
    assert all(array.flags["C_CONTIGUOUS"] for array in real_mnist)


@needs_mnist
def test_uncompressed_files_give_the_same_arrays_as_gz(plain_dir):
    from_gz = data.load_mnist(SHARED)
    from_plain = data.load_mnist(plain_dir)
    assert all(np.array_equal(plain, gz) for plain, gz in zip(from_plain, from_gz))


# ---------------------------------------------------------------- folders


def test_argument_is_preferred_to_env_var(tmp_path, tiny, monkeypatch):
    files, _ = tiny
    write(tmp_path / "arg", files)
    monkeypatch.setenv("NNLIB_DATA_DIR", str(tmp_path / "empty"))
    assert data.load_mnist(tmp_path / "arg")[1].tolist() == [5, 0, 4]


def test_env_var_is_used_without_argument(tmp_path, tiny, monkeypatch):
    files, _ = tiny
    write(tmp_path / "env", files)
    monkeypatch.setenv("NNLIB_DATA_DIR", str(tmp_path / "env"))
    assert data.load_mnist()[3].tolist() == [7, 2]


def test_default_folder_is_under_xdg_cache_home(cache_dir, tiny):
    files, _ = tiny
    write(cache_dir, files)
    assert data.load_mnist()[1].tolist() == [5, 0, 4]


def test_default_folder_falls_back_to_home_cache(tmp_path, tiny, monkeypatch):
    files, _ = tiny
    monkeypatch.delenv("XDG_CACHE_HOME")
    write(tmp_path / "home" / ".cache" / "nnlib" / "mnist", files)
    assert data.load_mnist()[1].tolist() == [5, 0, 4]


# ---------------------------------------------------------------- corrupt files


@needs_mnist
def test_truncated_gz_is_reported_naming_the_file(tmp_path):
    path = tmp_path / f"{TRAIN_IMAGES}.gz"
    path.write_bytes(gz_bytes(TRAIN_IMAGES)[:100_000])
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="corrupt gzip") as error:
        data.load_mnist(tmp_path)
    assert str(path) in str(error.value) and data.SHA256[TRAIN_IMAGES] in str(error.value)
    assert snapshot(tmp_path) == before


@needs_mnist
def test_flipped_byte_in_gz_is_reported_as_corrupt_gzip(tmp_path):
    damaged = bytearray(gz_bytes(TRAIN_IMAGES))
    damaged[len(damaged) // 2] ^= 0xFF
    path = tmp_path / f"{TRAIN_IMAGES}.gz"
    path.write_bytes(damaged)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="corrupt gzip") as error:
        data.load_mnist(tmp_path)
    assert str(path) in str(error.value)
    assert snapshot(tmp_path) == before


@needs_mnist
def test_flipped_byte_reports_file_and_both_digests(tmp_path):
    damaged = bytearray(gzip.decompress(gz_bytes(TRAIN_IMAGES)))
    damaged[1000] ^= 0x01
    path = tmp_path / TRAIN_IMAGES
    path.write_bytes(damaged)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as error:
        data.load_mnist(tmp_path)
    message = str(error.value)
    assert str(path) in message
    assert data.SHA256[TRAIN_IMAGES] in message and sha256(damaged) in message
    assert snapshot(tmp_path) == before


@needs_mnist
def test_wrong_file_reports_file_and_both_digests(tmp_path):
    (tmp_path / f"{TRAIN_IMAGES}.gz").write_bytes(gz_bytes(TEST_LABELS))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as error:
        data.load_mnist(tmp_path)
    message = str(error.value)
    assert str(tmp_path / f"{TRAIN_IMAGES}.gz") in message
    assert data.SHA256[TRAIN_IMAGES] in message and data.SHA256[TEST_LABELS] in message
    assert snapshot(tmp_path) == before


@needs_mnist
def test_corrupt_file_in_named_folder_is_neither_removed_nor_downloaded(tmp_path, serve, monkeypatch):
    mirror, requests = serve({f"{TRAIN_IMAGES}.gz": ("ok", gz_bytes(TRAIN_IMAGES))})
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / f"{TRAIN_IMAGES}.gz").write_bytes(gz_bytes(TRAIN_IMAGES)[:5000])
    before = snapshot(folder)
    monkeypatch.setenv("NNLIB_DATA_DIR", str(folder))
    with pytest.raises(ValueError, match="left in place"):
        data.load_mnist(mirrors=[mirror])
    assert snapshot(folder) == before and requests == []


@needs_mnist
def test_corrupt_file_in_cache_is_replaced_by_a_download(cache_dir, serve):
    copy_shared(cache_dir, NAMES)
    (cache_dir / f"{TEST_LABELS}.gz").write_bytes(b"not gzip at all")
    mirror, requests = serve({f"{TEST_LABELS}.gz": ("ok", gz_bytes(TEST_LABELS))})
    y_test = data.load_mnist(mirrors=[mirror])[3]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert (cache_dir / f"{TEST_LABELS}.gz").read_bytes() == gz_bytes(TEST_LABELS)
    assert requests == [f"/mnist/{TEST_LABELS}.gz"]


# ---------------------------------------------------------------- downloads


@needs_mnist
def test_missing_file_is_downloaded_into_the_folder(cache_dir, serve):
    copy_shared(cache_dir, [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES])
    mirror, _ = serve({f"{TEST_LABELS}.gz": ("ok", gz_bytes(TEST_LABELS))})
    y_test = data.load_mnist(mirrors=[mirror])[3]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(f"{n}.gz" for n in NAMES)


@needs_mnist
def test_download_with_wrong_digest_names_both_digests_and_leaves_no_file(cache_dir, serve):
    mirror, _ = serve({f"{TRAIN_IMAGES}.gz": ("ok", gz_bytes(TEST_LABELS))})
    with pytest.raises(data.MNISTDownloadError) as error:
        data.load_mnist(mirrors=[mirror])
    message = str(error.value)
    assert f"{mirror}{TRAIN_IMAGES}.gz" in message
    assert data.SHA256[TRAIN_IMAGES] in message and data.SHA256[TEST_LABELS] in message
    assert files_under(cache_dir) == []


@needs_mnist
def test_connection_cut_halfway_falls_over_to_the_next_mirror(tmp_path, serve):
    copy_shared(tmp_path, [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES])
    body = gz_bytes(TEST_LABELS)
    cut, cut_requests = serve({f"{TEST_LABELS}.gz": ("cut", body)})
    good, good_requests = serve({f"{TEST_LABELS}.gz": ("ok", body)})
    assert data.load_mnist(tmp_path, mirrors=[cut, good])[3][:2].tolist() == [7, 2]
    assert len(cut_requests) == len(good_requests) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.gz" for n in NAMES)


def test_connection_cut_on_every_mirror_raises_and_leaves_nothing(cache_dir, tiny, serve):
    files, _ = tiny
    body = gzip.compress(files[TRAIN_IMAGES])
    first, _ = serve({f"{TRAIN_IMAGES}.gz": ("cut", body)})
    second, _ = serve({f"{TRAIN_IMAGES}.gz": ("cut", body)})
    with pytest.raises(data.MNISTDownloadError) as error:
        data.load_mnist(mirrors=[first, second])
    message = str(error.value)
    assert message.count("connection closed after") == 2
    assert first in message and second in message
    assert files_under(cache_dir) == []


def test_cut_without_content_length_is_caught_by_the_gzip_check(cache_dir, tiny, serve):
    files, _ = tiny
    mirror, _ = serve({f"{TRAIN_IMAGES}.gz": ("no-length", gzip.compress(files[TRAIN_IMAGES]))})
    with pytest.raises(data.MNISTDownloadError, match="corrupt gzip"):
        data.load_mnist(mirrors=[mirror])
    assert files_under(cache_dir) == []


def test_download_error_names_each_mirror_and_its_failure(tmp_path, serve):
    missing, _ = serve({})
    with pytest.raises(OSError) as error:
        data.load_mnist(tmp_path, mirrors=[missing, "http://127.0.0.1:9/"])
    message = str(error.value)
    assert isinstance(error.value, data.MNISTDownloadError)
    assert f"{missing}{TRAIN_IMAGES}.gz: HTTP Error 404" in message
    assert f"http://127.0.0.1:9/{TRAIN_IMAGES}.gz: " in message
    assert list(tmp_path.iterdir()) == []


def test_failed_download_does_not_leave_the_folder_it_created(tmp_path, serve):
    mirror, _ = serve({})
    with pytest.raises(data.MNISTDownloadError):
        data.load_mnist(tmp_path / "new", mirrors=[mirror])
    assert not (tmp_path / "new").exists()


def test_failed_first_download_leaves_no_new_folders_and_keeps_old_ones(tmp_path, monkeypatch):
    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    (tmp_path / "old").mkdir()
    for folder in (tmp_path / "old" / "new" / "deeper", None):  # None: the user cache
        with pytest.raises(data.MNISTDownloadError, match="no route to host"):
            data.load_mnist(folder, mirrors=["http://mirror.invalid/"])
    assert [p.name for p in tmp_path.rglob("*")] == ["old"]


@pytest.mark.parametrize("below", ["", "sub"])
def test_data_dir_that_is_a_file_is_named_as_a_file(tmp_path, below):
    path = tmp_path / "mnist.tar"
    path.write_bytes(b"not a folder")
    with pytest.raises(ValueError, match=f"{path} is a file, not a folder") as error:
        data.load_mnist(path / below, mirrors=["http://127.0.0.1:9/"])
    assert str(path / below) in str(error.value)
    assert path.read_bytes() == b"not a folder"


def test_no_mirror_means_a_clear_error(tmp_path):
    with pytest.raises(data.MNISTDownloadError, match="missing from .* no mirror"):
        data.load_mnist(tmp_path, mirrors=[])


# ---------------------------------------------------------------- bounded reading


def gzip_bomb(size):
    """A gzip of ``size`` MiB of zeros, ~1 kB per MiB: one member repeated."""
    return gzip.compress(bytes(2**20)) * size


def read_peak_and_seconds(folder):
    """(load_mnist's ValueError, peak bytes allocated, seconds)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError) as error:
            data.load_mnist(folder)
        return error.value, tracemalloc.get_traced_memory()[1], time.perf_counter() - start
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", NAMES)
def test_gzip_bomb_is_refused_past_the_files_size_with_bounded_memory(tmp_path, tiny, name):
    files, _ = tiny
    write(tmp_path, {other: raw for other, raw in files.items() if other != name})
    (tmp_path / f"{name}.gz").write_bytes(gzip_bomb(1024))  # 1 MB inflating to 1 GiB
    error, peak, seconds = read_peak_and_seconds(tmp_path)
    assert str(error).startswith(f"{tmp_path / name}.gz: inflates past the "
                                 f"{data.SIZES[name]} bytes of {name}")
    # Reading stops at 47 MB at most (the largest file), not the bomb's 1 GiB.
    assert peak < 100 * 2**20 and seconds < 5


def test_plain_file_larger_than_the_mnist_file_is_refused(tmp_path, tiny):
    files, _ = tiny
    write(tmp_path, {**files, TEST_LABELS: bytes(data.SIZES[TEST_LABELS] + 1)})
    with pytest.raises(ValueError, match=f"{TEST_LABELS}: more than the 10008 bytes of {TEST_LABELS}"):
        data.load_mnist(tmp_path)


@needs_mnist
def test_the_mnist_sizes_are_those_of_the_real_files(plain_dir):
    assert {name: (plain_dir / name).stat().st_size for name in NAMES} == data.SIZES


# ---------------------------------------------------------------- IDX parsing


def test_idx_with_unknown_magic_is_rejected():
    with pytest.raises(ValueError, match="magic number is 0x00000802"):
        data.parse_idx(struct.pack(">II", 0x802, 0) + bytes(0), "f")


def test_idx_with_extra_bytes_is_rejected():
    with pytest.raises(ValueError, match=r"f: 4 data bytes, expected 3 for dimensions \(3,\)"):
        data.parse_idx(idx(np.zeros(3, np.uint8), 0x801) + b"\0", "f")


def test_idx_with_missing_bytes_is_rejected():
    with pytest.raises(ValueError, match="2 data bytes, expected 3"):
        data.parse_idx(idx(np.zeros(3, np.uint8), 0x801)[:-1], "f")


def test_idx_with_truncated_header_is_rejected():
    with pytest.raises(ValueError, match="too short for 3 IDX dimensions"):
        data.parse_idx(struct.pack(">II", 0x803, 2), "f")


def test_labels_outside_0_to_9_are_rejected_naming_the_file(tmp_path, tiny):
    files, pin = tiny
    pin(TRAIN_LABELS, idx(np.array([5, 10, 4], np.uint8), 0x801))
    write(tmp_path, files)
    with pytest.raises(ValueError, match=f"{TRAIN_LABELS}: labels must be 0..9, label 1 is 10"):
        data.load_mnist(tmp_path)


def test_image_and_label_counts_must_agree(tmp_path, tiny):
    files, pin = tiny
    pin(TEST_LABELS, idx(np.array([7, 2, 1], np.uint8), 0x801))
    write(tmp_path, files)
    with pytest.raises(ValueError, match="holds 2 images but .* holds 3 labels"):
        data.load_mnist(tmp_path)


def test_images_must_be_28_by_28(tmp_path, tiny):
    files, pin = tiny
    pin(TEST_IMAGES, idx(np.zeros((2, 27, 28), np.uint8), 0x803))
    write(tmp_path, files)
    with pytest.raises(ValueError, match=r"shape \(m, 28, 28\), got \(2, 27, 28\)"):
        data.load_mnist(tmp_path)


# ---------------------------------------------------------------- in-process cache


def test_second_call_is_served_from_memory(tmp_path, tiny, monkeypatch):
    files, _ = tiny
    write(tmp_path, files)
    first = data.load_mnist(tmp_path)
    monkeypatch.setattr(data, "_read_verified", lambda *args: pytest.fail("file read again"))
    second = data.load_mnist(tmp_path)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_changed_file_is_read_again(tmp_path, tiny):
    files, pin = tiny
    write(tmp_path, files)
    data.load_mnist(tmp_path)
    pin(TRAIN_LABELS, idx(np.array([1, 2, 3], np.uint8), 0x801))
    write(tmp_path, {TRAIN_LABELS: files[TRAIN_LABELS]})
    os.utime(tmp_path / TRAIN_LABELS, ns=(1, 1))  # a new mtime even on a coarse clock
    assert data.load_mnist(tmp_path)[1].tolist() == [1, 2, 3]


def test_returned_arrays_cannot_alter_the_cache(tmp_path, tiny):
    files, _ = tiny
    write(tmp_path, files)
    X_train, y_train, _, _ = data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="read-only"):
        X_train[0, 0] = 7.0
    with pytest.raises(ValueError):
        y_train.flags.writeable = True
    assert data.load_mnist(tmp_path)[1].tolist() == [5, 0, 4]


# ---------------------------------------------------------------- Kaggle CSV


def write_csv(path, labels, pixels, header=None):
    header = header or ["label"] + [f"pixel{i}" for i in range(pixels.shape[1])]
    rows = [",".join(header)]
    rows += [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_round_trip_gives_columns_scaled_to_unit_interval(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (4, 784))
    path = write_csv(tmp_path / "train.csv", [3, 1, 4, 1], pixels)
    X, y = data.load_digits_csv(path)
    assert (X.shape, X.dtype, X.flags["C_CONTIGUOUS"]) == ((784, 4), np.float32, True)
    assert (y.dtype, y.tolist()) == (np.int64, [3, 1, 4, 1])
    np.testing.assert_array_equal(X * 255, pixels.T)


def test_csv_without_label_column_is_rejected(tmp_path):
    path = write_csv(tmp_path / "test.csv", [0], np.zeros((1, 784), int))
    path.write_text("\n".join(line.split(",", 1)[1] for line in path.read_text().splitlines()))
    with pytest.raises(ValueError, match="no 'label' column"):
        data.load_digits_csv(path)


def test_csv_with_wrong_pixel_count_is_rejected(tmp_path):
    path = write_csv(tmp_path / "train.csv", [0], np.zeros((1, 783), int))
    with pytest.raises(ValueError, match="783 pixel columns, expected 784"):
        data.load_digits_csv(path)


@pytest.mark.parametrize("value", [256, -1, 12.5])
def test_csv_pixel_outside_0_to_255_is_rejected(tmp_path, value):
    pixels = np.zeros((2, 784), object)
    pixels[1, 7] = value
    path = write_csv(tmp_path / "train.csv", [0, 1], pixels)
    with pytest.raises(ValueError, match="pixel values must be whole numbers in 0..255.* pixel7 on line 3"):
        data.load_digits_csv(path)


def test_csv_label_outside_0_to_9_is_rejected(tmp_path):
    path = write_csv(tmp_path / "train.csv", [0, 10], np.zeros((2, 784), int))
    with pytest.raises(ValueError, match="labels must be whole numbers in 0..9, found 10"):
        data.load_digits_csv(path)


def test_csv_with_text_is_rejected(tmp_path):
    pixels = np.zeros((1, 784), object)
    pixels[0, 0] = "dark"
    path = write_csv(tmp_path / "train.csv", [0], pixels)
    with pytest.raises(ValueError, match="not a CSV of numbers"):
        data.load_digits_csv(path)


# ---------------------------------------------------------------- train_val_split


def columns_of(m):
    """X whose column i holds i, so a column's origin can be read off it."""
    return np.tile(np.arange(m, dtype=np.float32), (3, 1)), np.arange(m, dtype=np.int64)


def test_split_parts_are_disjoint_and_cover_every_column():
    X, y = columns_of(50)
    X_train, y_train, X_val, y_val = data.train_val_split(X, y)
    assert set(y_train) & set(y_val) == set()
    assert sorted([*y_train, *y_val]) == list(range(50))
    np.testing.assert_array_equal(X_train[0], y_train)
    np.testing.assert_array_equal(X_val[0], y_val)


def test_split_fraction_is_rounded_share_of_m():
    X, y = columns_of(50)
    X_train, _, X_val, _ = data.train_val_split(X, y, val_size=0.25)
    assert (X_train.shape, X_val.shape) == ((3, 37), (3, 13))


def test_split_count_is_exact():
    X, y = columns_of(50)
    _, y_train, _, y_val = data.train_val_split(X, y, val_size=7)
    assert (len(y_train), len(y_val)) == (43, 7)


def test_split_is_fixed_by_the_seed():
    X, y = columns_of(50)
    same = data.train_val_split(X, y, seed=1)[3], data.train_val_split(X, y, seed=1)[3]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], data.train_val_split(X, y, seed=2)[3])


def test_split_returns_fresh_c_contiguous_arrays_of_the_input_dtype():
    X, y = columns_of(10)
    X_train, y_train, X_val, _ = data.train_val_split(X, y)
    assert X_train.flags["C_CONTIGUOUS"] and X_val.flags["C_CONTIGUOUS"]
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert not np.shares_memory(X_train, X)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros(5), np.zeros(5, int), r"X must be 2-D \(n_0, m\), got shape \(5,\)"),
        (np.zeros((2, 5)), np.zeros((5, 1), int), r"y must be 1-D integer labels"),
        (np.zeros((2, 5)), np.zeros(5), r"dtype float64"),
        (np.zeros((2, 5)), np.zeros(4, int), "X has 5 columns .* y has 4 labels"),
    ],
)
def test_split_rejects_bad_arrays(X, y, message):
    with pytest.raises(ValueError, match=message):
        data.train_val_split(X, y)


@pytest.mark.parametrize("val_size", [0, 10, -1, 0.0, 1.0, 1.5, True, "0.2"])
def test_split_rejects_bad_val_size_naming_it_and_m(val_size):
    X, y = columns_of(10)
    with pytest.raises(ValueError, match=rf"{val_size!r}.*m = 10"):
        data.train_val_split(X, y, val_size=val_size)


def test_split_rejects_fraction_that_leaves_no_validation_example():
    X, y = columns_of(10)
    with pytest.raises(ValueError, match="0.01 gives 0 validation examples out of m = 10"):
        data.train_val_split(X, y, val_size=0.01)
