"""MNIST loading (bundled sample, keras, checked download, fallbacks), IDX files and one_hot; no network is used."""
import gzip
import hashlib
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pooch
import pytest

from tinygraph import datasets, download
from tinygraph.datasets import MnistUnavailableError, load_idx, load_mnist, one_hot, read_idx


@pytest.fixture(scope="module")
def sample():
    return load_mnist(source="sample", verbose=False)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No keras, and any download attempt fails the way requests does offline; returns the list of attempted URLs."""
    attempts = []

    def refuse(url, *args, **kwargs):
        attempts.append(url)
        downloader = kwargs.get("downloader")
        # Offline, a real attempt must give up within a few seconds: the downloader's timeout bounds each wait, and
        # its minimum rate and deadline the whole download.
        assert isinstance(downloader, datasets.BoundedDownloader) and 0 < downloader.timeout <= 5
        assert downloader.min_rate > 0 and downloader.grace <= 30 and downloader.deadline <= 600
        raise ConnectionError(f"network blocked by the test: {url}")  # requests' ConnectionError is an OSError too

    monkeypatch.setitem(sys.modules, "keras", None)  # makes `import keras` raise ImportError
    monkeypatch.setattr(pooch, "retrieve", refuse)
    monkeypatch.delenv(datasets.SOURCE_ENV, raising=False)
    return attempts


def fake_mnist(n_train=6, n_test=4, seed=0):
    """Random uint8 images and digit labels in Keras's layout, small enough to write in every test."""
    rng = np.random.default_rng(seed)
    split = lambda n: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
    return split(n_train), split(n_test)


def save_npz(path, data, **replace):
    (x_train, y_train), (x_test, y_test) = data
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    arrays.update(replace)
    np.savez_compressed(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


# --- the bundled sample -------------------------------------------------------------------------------------------

def test_sample_shapes_and_dtypes(sample):
    (x_train, y_train), (x_test, y_test) = sample
    assert x_train.shape == (4000, 28, 28) and y_train.shape == (4000,)
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    assert all(array.dtype == np.uint8 for array in (x_train, y_train, x_test, y_test))


def test_sample_holds_real_ink(sample):
    (x_train, _), (x_test, _) = sample
    for images in (x_train, x_test):
        assert images.min() == 0 and images.max() == 255
        assert 20 < images.mean() < 50  # MNIST's mean pixel is about 33: mostly background, strokes near 255
        assert (images > 128).mean() > 0.05  # real strokes, not a faint or rescaled copy
        assert np.all(images[:, 0, :] == 0)  # MNIST digits are centred with an empty border row


def test_sample_is_balanced_and_in_a_random_order(sample):
    (_, y_train), (_, y_test) = sample
    assert np.bincount(y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [100] * 10
    # Any slice is a fair sample, as in the real MNIST files: the tutorial's x_train[0:1000] holds every digit.
    for labels, first in ((y_train, 1000), (y_test, 100)):
        counts = np.bincount(labels[:first], minlength=10)
        assert counts.min() >= first // 20 and counts.max() <= first // 5
        assert (np.diff(labels.astype(int)) != 0).mean() > 0.8  # not grouped by class


def test_sample_builder_stores_a_fixed_random_order():
    """tools/build_mnist_sample.py shuffles each class-sorted split with a fixed permutation: the bundled file."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "tools" / "build_mnist_sample.py"
    spec = importlib.util.spec_from_file_location("build_mnist_sample", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    order = tool.shuffled(np.arange(4000))
    assert sorted(order.tolist()) == list(range(4000)) and not np.array_equal(order, np.arange(4000))
    assert np.array_equal(order, tool.shuffled(np.arange(4000)))


def test_sample_train_and_test_share_no_image(sample):
    (x_train, _), (x_test, _) = sample
    train, test = ({image.tobytes() for image in images} for images in (x_train, x_test))
    assert len(train) == 4000 and len(test) == 1000  # no duplicates inside a split either
    assert not train & test


# --- choosing a source --------------------------------------------------------------------------------------------

def test_sample_source_prints_one_line(capsys):
    load_mnist(source="sample")
    assert capsys.readouterr().out == "MNIST: bundled sample of real digits (4000 train, 1000 test)\n"


def test_quiet_prints_nothing(capsys):
    load_mnist(source="sample", verbose=False)
    assert capsys.readouterr().out == ""


def test_environment_variable_picks_the_sample_without_network(offline, monkeypatch, capsys):
    monkeypatch.setenv(datasets.SOURCE_ENV, "sample")
    (x_train, _), (x_test, _) = load_mnist()
    assert (len(x_train), len(x_test)) == (4000, 1000)
    assert not offline
    assert "bundled sample" in capsys.readouterr().out


def test_environment_variable_with_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv(datasets.SOURCE_ENV, "kaggle")
    with pytest.raises(ValueError, match=datasets.SOURCE_ENV):
        load_mnist()


def test_explicit_source_overrides_the_environment(offline, monkeypatch):
    monkeypatch.setenv(datasets.SOURCE_ENV, "sample")
    with pytest.raises(MnistUnavailableError, match="keras is not installed"):
        load_mnist(source="keras")


def test_unknown_source_is_a_value_error():
    with pytest.raises(ValueError, match="smaple"):
        load_mnist(source="smaple")


def test_auto_falls_back_to_the_sample_quickly_when_offline(offline, tmp_path, capsys):
    (x_train, y_train), (x_test, y_test) = load_mnist(cache_dir=tmp_path)
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert offline == [datasets.MNIST_URL]  # keras was skipped, the download tried once
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("MNIST: bundled sample of real digits (4000 train, 1000 test)")
    assert "keras is not installed" in out and "download failed (ConnectionError)" in out


def test_auto_prefers_keras_when_it_works(offline, monkeypatch, capsys):
    data = fake_mnist()
    fake_keras = SimpleNamespace(datasets=SimpleNamespace(mnist=SimpleNamespace(load_data=lambda: data)))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    assert load_mnist() is data
    assert not offline
    assert capsys.readouterr().out == "MNIST: keras.datasets.mnist (6 train, 4 test)\n"


def test_auto_falls_through_when_keras_cannot_download(offline, monkeypatch, tmp_path, capsys):
    def no_network():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")  # what keras raises offline

    fake_keras = SimpleNamespace(datasets=SimpleNamespace(mnist=SimpleNamespace(load_data=no_network)))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    (x_train, _), _ = load_mnist(cache_dir=tmp_path)
    assert len(x_train) == 4000
    assert "keras could not load MNIST" in capsys.readouterr().out
    with pytest.raises(MnistUnavailableError, match="URL fetch failure"):
        load_mnist(source="keras")


def test_explicit_download_that_fails_says_how_to_fix(offline, tmp_path):
    with pytest.raises(MnistUnavailableError) as raised:
        load_mnist(source="download", cache_dir=tmp_path)
    message = str(raised.value)
    assert "download failed (ConnectionError)" in message
    assert datasets.MNIST_URL in message and str(tmp_path / "mnist.npz") in message and datasets.MNIST_SHA256 in message
    assert isinstance(raised.value, RuntimeError)


def test_download_uses_a_cached_file_whose_hash_matches_without_network(monkeypatch, tmp_path, capsys):
    cached = save_npz(tmp_path / "mnist.npz", fake_mnist())
    monkeypatch.setattr(datasets, "MNIST_SHA256", hashlib.sha256(cached.read_bytes()).hexdigest())

    def refuse(self, *args, **kwargs):
        raise AssertionError("a valid cached file must not be downloaded again")

    monkeypatch.setattr(datasets.BoundedDownloader, "__call__", refuse)
    (x_train, y_train), (x_test, _) = load_mnist(source="download", cache_dir=tmp_path)
    np.testing.assert_array_equal(x_train, fake_mnist()[0][0])
    assert (len(x_train), len(x_test)) == (6, 4)
    assert "mnist.npz from" in capsys.readouterr().out


def test_download_asks_for_the_file_and_hash_keras_publishes(offline, monkeypatch, tmp_path):
    requests = []

    def record(url, known_hash=None, **kwargs):
        requests.append((url, known_hash, kwargs.get("fname")))
        raise ConnectionError("network blocked by the test")

    monkeypatch.setattr(pooch, "retrieve", record)
    with pytest.raises(MnistUnavailableError):
        load_mnist(source="download", cache_dir=tmp_path)
    # The URL and sha256 that keras.datasets.mnist uses: a download with any other hash is refused by pooch.
    assert requests == [("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                         "sha256:731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", "mnist.npz")]


@pytest.fixture
def trickling_server(monkeypatch):
    """A local HTTP server sending MNIST's headers, then a byte every 50 ms, or (with "slow headers" in the path)
    its headers a byte at a time; MNIST_URL points at it. No read ever waits long enough to time out."""
    import http.server

    stop = threading.Event()

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 11490434\r\n\r\n"
            pieces = [head[i:i + 1] for i in range(len(head))] if "slow" in self.path else [head]
            try:
                while not stop.is_set():
                    self.wfile.write(pieces.pop(0) if pieces else b"\x00")
                    self.wfile.flush()
                    stop.wait(0.05)
            except OSError:  # the client gave up
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.delenv(datasets.SOURCE_ENV, raising=False)
    monkeypatch.setattr(download, "DOWNLOAD_GRACE", 0.5)
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist.npz"
    stop.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["mnist.npz", "slow-headers/mnist.npz"])
def test_a_trickling_download_gives_up_and_falls_back_with_one_line(trickling_server, monkeypatch, tmp_path, capsys,
                                                                     path):
    """Item 12: a server trickling bytes never trips the per-read timeout; the minimum rate stops it."""
    monkeypatch.setattr(datasets, "MNIST_URL", trickling_server.replace("mnist.npz", path))
    started = time.monotonic()
    with pytest.raises(MnistUnavailableError, match=r"download failed \(too slow: 0.00 MB in \d s, below 50 kB/s\)"):
        load_mnist(source="download", cache_dir=tmp_path, verbose=False)
    (x_train, _), _ = load_mnist(cache_dir=tmp_path)
    assert len(x_train) == 4000 and time.monotonic() - started < 10
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "bundled sample" in out and "download failed (too slow" in out
    assert not list(tmp_path.iterdir()) or all(p.stat().st_size < 1000 for p in tmp_path.iterdir())


def test_a_download_past_its_deadline_gives_up(trickling_server, monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "MNIST_URL", trickling_server)
    monkeypatch.setattr(download, "DOWNLOAD_MIN_RATE", 0)
    monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 1.5)
    with pytest.raises(MnistUnavailableError, match=r"download failed \(not finished within 2 s\)"):
        load_mnist(source="download", cache_dir=tmp_path, verbose=False)


def test_import_does_not_pull_in_keras_or_mlxtend():
    import subprocess

    code = "import sys, tinygraph.datasets; print(any(m in sys.modules for m in ('keras', 'mlxtend', 'tensorflow')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


# --- npz files ----------------------------------------------------------------------------------------------------

def test_a_valid_npz_path_is_a_source(tmp_path, capsys):
    path = save_npz(tmp_path / "mine.npz", fake_mnist())
    (x_train, _), (x_test, _) = load_mnist(source=path)
    assert (len(x_train), len(x_test)) == (6, 4)
    assert capsys.readouterr().out == f"MNIST: {path} (6 train, 4 test)\n"


@pytest.mark.parametrize("corrupt, message", [
    (lambda path: path.write_bytes(b"this is not a zip file at all"), "not a readable MNIST .npz"),
    (lambda path: path.write_bytes(b"PK\x03\x04 cut short"), "not a readable MNIST .npz"),
    (lambda path: np.save(path.with_suffix(".npy"), np.zeros(3)) or path.with_suffix(".npy").rename(path),
     "single array"),
    (lambda path: np.savez(path, a=np.zeros(3)), r"lacks \['x_train'"),
    (lambda path: save_npz(path, fake_mnist(), y_test=None), r"lacks \['y_test'\]"),
    (lambda path: save_npz(path, fake_mnist(), x_train=np.zeros((6, 28, 28), np.float32)), "x_train should be uint8"),
    (lambda path: save_npz(path, fake_mnist(), x_test=np.zeros((4, 32, 32), np.uint8)), r"x_test .*\(4, 32, 32\)"),
    (lambda path: save_npz(path, fake_mnist(), y_train=np.zeros(5, np.uint8)), r"y_train should be uint8 \(6,\)"),
    (lambda path: save_npz(path, fake_mnist(), y_test=np.full(4, 10, np.uint8)), "label 10"),
    (lambda path: save_npz(path, fake_mnist(), x_train=np.array([{}], dtype=object)), "not a readable MNIST .npz"),
])
def test_corrupt_or_foreign_npz_is_a_value_error_naming_the_file(tmp_path, corrupt, message):
    path = tmp_path / "broken.npz"
    corrupt(path)
    with pytest.raises(ValueError, match=message) as raised:
        load_mnist(source=path, verbose=False)
    assert str(path) in str(raised.value)


def test_a_corrupt_bundled_sample_is_reported(monkeypatch, tmp_path):
    broken = tmp_path / "data" / datasets.SAMPLE_FILE
    broken.parent.mkdir()
    broken.write_bytes(b"garbage")
    monkeypatch.setattr(datasets, "_sample_resource", lambda: broken)
    with pytest.raises(ValueError, match=datasets.SAMPLE_FILE):
        load_mnist(source="sample")


# --- IDX files ----------------------------------------------------------------------------------------------------

def idx_bytes(array, dtype_code=0x08):
    header = bytes([0, 0, dtype_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def write_idx_set(directory, data, gzipped):
    (x_train, y_train), (x_test, y_test) = data
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    for name, array in zip(names, (x_train, y_train, x_test, y_test)):
        if gzipped:
            with gzip.open(directory / f"{name}.gz", "wb") as stream:
                stream.write(idx_bytes(array))
        else:
            (directory / name).write_bytes(idx_bytes(array))
    return directory


@pytest.mark.parametrize("gzipped", [False, True])
def test_load_idx_round_trips(tmp_path, gzipped):
    data = fake_mnist(n_train=7, n_test=3)
    (x_train, y_train), (x_test, y_test) = load_idx(write_idx_set(tmp_path, data, gzipped))
    for loaded, written in zip((x_train, y_train, x_test, y_test), (*data[0], *data[1])):
        np.testing.assert_array_equal(loaded, written)
        assert loaded.dtype == np.uint8 and loaded.flags.writeable


def test_read_idx_handles_big_endian_types(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    path = tmp_path / "ints.idx"
    path.write_bytes(idx_bytes(values.astype(">i4"), dtype_code=0x0C))
    loaded = read_idx(path)
    np.testing.assert_array_equal(loaded, values)
    assert loaded.dtype == np.int32 and loaded.dtype.isnative


def test_load_idx_bad_magic(tmp_path):
    write_idx_set(tmp_path, fake_mnist(), gzipped=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x1f\x8b" + path.read_bytes()[2:])  # looks like gzip, is not an IDX header
    with pytest.raises(ValueError, match="not an IDX file") as raised:
        load_idx(tmp_path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("cut", [3, 10, 100])
def test_load_idx_truncated(tmp_path, cut):
    write_idx_set(tmp_path, fake_mnist(), gzipped=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:cut]))
    with pytest.raises(ValueError, match="truncated|not an IDX") as raised:
        load_idx(tmp_path)
    assert str(path) in str(raised.value)


def test_load_idx_cut_gzip_stream(tmp_path):
    write_idx_set(tmp_path, fake_mnist(), gzipped=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match="gzip") as raised:
        load_idx(tmp_path)
    assert str(path) in str(raised.value)


def test_load_idx_trailing_bytes(tmp_path):
    write_idx_set(tmp_path, fake_mnist(), gzipped=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="longer than its header says"):
        load_idx(tmp_path)


def test_load_idx_count_mismatch(tmp_path):
    (x_train, y_train), test = fake_mnist(n_train=6)
    write_idx_set(tmp_path, ((x_train, y_train[:5]), test), gzipped=False)
    with pytest.raises(ValueError, match="6 images but .*train-labels-idx1-ubyte has 5 labels"):
        load_idx(tmp_path)


def test_load_idx_wrong_rank(tmp_path):
    (x_train, y_train), test = fake_mnist()
    write_idx_set(tmp_path, ((x_train.reshape(6, -1), y_train), test), gzipped=False)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte should hold images .*\(6, 784\)"):
        load_idx(tmp_path)


def test_load_idx_missing_file_and_directory(tmp_path):
    write_idx_set(tmp_path, fake_mnist(), gzipped=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte\.gz"):
        load_idx(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_idx(tmp_path / "nowhere")


def test_read_idx_stops_a_gzip_bomb_at_the_declared_size(tmp_path):
    """Item 6: a header declaring 10 bytes, then 30 MB of zeros deflated to about 30 KB; never inflated."""
    import tracemalloc

    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(idx_bytes(np.zeros(10, np.uint8)))
        for _ in range(30):
            stream.write(bytes(1_000_000))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"longer than its header says: shape \(10,\) of uint8 needs 10") as raised:
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(path) in str(raised.value) and peak < 2_000_000 and time.perf_counter() - started < 1


@pytest.mark.parametrize("gzipped", [False, True])
def test_read_idx_never_allocates_what_a_header_only_claims(tmp_path, gzipped):
    """A header declaring 2**96 bytes over 10 bytes of data is truncated, found without reserving the 2**96."""
    raw = bytes([0, 0, 0x08, 3]) + np.array([2**32 - 1] * 3, ">u4").tobytes() + bytes(10)
    path = tmp_path / ("huge.gz" if gzipped else "huge")
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    with pytest.raises(ValueError, match="is truncated: shape .* needs 79228162458924105385300197375 bytes of data, "
                                         "found 10") as raised:
        read_idx(path)
    assert str(path) in str(raised.value)


def test_read_idx_names_the_file_whose_header_declares_255_dimensions(tmp_path):
    """Item 13: NumPy's own "maximum supported dimension" error named no file."""
    path = tmp_path / "deep-idx255-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 255]) + np.ones(255, ">u4").tobytes() + b"\x07")
    with pytest.raises(ValueError, match="declares 255 dimensions") as raised:
        read_idx(path)
    assert str(path) in str(raised.value)


# --- one_hot ------------------------------------------------------------------------------------------------------

def test_one_hot_values():
    encoded = one_hot(np.array([2, 0, 1, 2], dtype=np.uint8))
    assert encoded.dtype == np.float32 and encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded, np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])


def test_one_hot_with_explicit_classes_and_lists():
    encoded = one_hot([1, 3], classes=10)
    assert encoded.shape == (2, 10) and encoded.sum() == 2 and encoded[1, 3] == 1
    assert one_hot(np.array([], dtype=np.int64), classes=4).shape == (0, 4)


def test_one_hot_on_the_sample(sample):
    (_, y_train), _ = sample
    encoded = one_hot(y_train)
    assert encoded.shape == (4000, 10)
    np.testing.assert_array_equal(encoded.argmax(axis=1), y_train)
    np.testing.assert_array_equal(encoded.sum(axis=1), 1)


@pytest.mark.parametrize("labels, classes, message", [
    ([0, 3], 3, r"0\.\.2, got 0\.\.3"),
    ([-1, 2], None, r"got -1\.\.2"),
    ([[0, 1]], None, r"1-D .*\(1, 2\)"),
    ([0, 1], 0, "positive int"),
    ([0, 1], 2.0, "positive int"),
])
def test_one_hot_errors(labels, classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, classes)


def test_one_hot_of_float_labels_is_a_type_error_and_of_nothing_is_empty():
    with pytest.raises(TypeError, match="one_hot: labels should be integers, got dtype float64"):
        one_hot([0.0, 1.5])
    assert one_hot([], 3).shape == (0, 3)


def test_load_mnist_in_auto_mode_does_not_announce_a_download_it_falls_back_from(tmp_path, capsys, monkeypatch):
    import importlib.util

    if importlib.util.find_spec("keras") is not None:
        pytest.skip("keras prints its own download notice before failing")
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens, so every request fails at once
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("TINYGRAPH_MNIST_SOURCE", raising=False)
    load_mnist(cache_dir=tmp_path)
    out = capsys.readouterr()
    assert "Downloading" not in out.out + out.err
    assert "bundled sample" in out.out and "download failed" in out.out
