"""MNIST in Keras's layout, IDX files (Fashion-MNIST and kin) and one-hot labels.

`load_mnist` returns ``((x_train, y_train), (x_test, y_test))`` with uint8 images ``(n, 28, 28)`` and uint8 labels,
from the first source that works: keras, a SHA-256-checked copy of Keras's ``mnist.npz`` (cached or downloaded with
pooch), or the sample of 5,000 real digits bundled with tinygraph, which needs no network. Set the environment
variable ``TINYGRAPH_MNIST_SOURCE=sample`` to make tests and CI use the sample without trying the network.
"""
import gzip
import math
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from . import checks
from .download import BoundedDownloader, DownloadTooSlow

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # the hash keras checks
SOURCE_ENV = "TINYGRAPH_MNIST_SOURCE"
SOURCES = ("keras", "download", "sample")
SAMPLE_FILE = "mnist_sample.npz"
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SHAPE = (28, 28)

IDX_MAX_DIMS = 32  # the axes NumPy 1.x allows (2.x: 64); real IDX files have 1 to 4
IDX_CHUNK = 1 << 20
IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_SPLITS = (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


class MnistUnavailableError(RuntimeError):
    """A source that cannot deliver MNIST on this machine (not installed, offline, checksum mismatch)."""

    def __init__(self, source, reason, fix):
        super().__init__(f"load_mnist(source={source!r}) failed: {reason}. {fix}")
        self.reason = reason


# --- load_mnist -------------------------------------------------------------------------------------------------

def load_mnist(source=None, cache_dir=None, verbose=True):
    """MNIST as ``((x_train, y_train), (x_test, y_test))``: uint8 images (n, 28, 28), uint8 labels 0..9.

    source: "keras", "download", "sample", the path of an .npz in Keras's layout, or None for the first that works
        (keras, then download, then the bundled sample). None defers to the environment variable
        TINYGRAPH_MNIST_SOURCE when it is set.
    cache_dir: where the download is kept (default: the OS cache folder of "tinygraph"). A valid mnist.npz already
        there is used without any network access, so an offline machine can be given a copy by hand.
    verbose: print one line saying which source was used and the sizes.
    """
    source, why_not_full = _chosen_source(source), ""
    if source is None:
        data, description, why_not_full = _first_available(cache_dir, verbose)
    elif source in SOURCES:
        data, description = _LOADERS[source](cache_dir, verbose)
    else:
        data, description = _from_path(source)
    if verbose:
        print(f"MNIST: {description} ({len(data[0][0])} train, {len(data[1][0])} test){why_not_full}")
    return data


def _chosen_source(source):
    """The explicit source, else the environment's, as one of SOURCES, a Path, or None for automatic."""
    from_env = source is None
    if from_env:
        source = os.environ.get(SOURCE_ENV, "").strip() or None
    if source is None or (isinstance(source, str) and source.lower() == "auto"):
        return None
    if isinstance(source, str) and source.lower() in SOURCES:
        return source.lower()
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        return Path(source)
    where = f"environment variable {SOURCE_ENV}" if from_env else "load_mnist: source"
    raise ValueError(f"{where}={source!r} is neither one of {', '.join(SOURCES)}, 'auto' nor an existing .npz file")


def _first_available(cache_dir, verbose):
    """(data, description, why the full set was not used): each source in turn, the bundled sample last."""
    reasons = []
    for source in ("keras", "download"):
        try:
            return (*_LOADERS[source](cache_dir, verbose), "")
        except MnistUnavailableError as unavailable:
            reasons.append(unavailable.reason)
    return (*_from_sample(cache_dir, verbose), f"; full set unavailable: {'; '.join(reasons)}")


def _from_keras(cache_dir, verbose):
    try:
        import keras
    except ImportError as error:
        raise MnistUnavailableError("keras", "keras is not installed",
                                    "Install it (pip install keras) or use source='download' or 'sample'.") from error
    try:
        data = keras.datasets.mnist.load_data()
    except Exception as error:  # keras reports a failed download as a bare Exception
        raise MnistUnavailableError("keras", f"keras could not load MNIST ({type(error).__name__})",
                                    f"Check the network, or use source='sample'. Cause: {error}") from error
    return _checked(data, "keras.datasets.mnist"), "keras.datasets.mnist"


def _from_download(cache_dir, verbose):
    import pooch  # only needed here: keeps `import tinygraph` light

    directory = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("tinygraph"))
    logger, level = pooch.get_logger(), pooch.get_logger().level
    if not verbose:
        logger.setLevel("WARNING")  # pooch announces each download at INFO
    try:
        path = pooch.retrieve(MNIST_URL, known_hash=f"sha256:{MNIST_SHA256}", fname="mnist.npz", path=directory,
                              downloader=BoundedDownloader(progressbar=verbose))
    except (OSError, ValueError) as error:  # requests' network errors are OSErrors; a checksum mismatch is a ValueError
        why = str(error) if isinstance(error, DownloadTooSlow) else type(error).__name__
        raise MnistUnavailableError(
            "download", f"download failed ({why})",
            f"Check the network, or save {MNIST_URL} as {directory / 'mnist.npz'} (sha256 {MNIST_SHA256}), "
            f"or use source='sample'. Cause: {error}") from error
    finally:
        logger.setLevel(level)
    return _read_npz(path), f"mnist.npz from {path}"


def _from_sample(cache_dir, verbose):
    with resources.as_file(_sample_resource()) as path:
        return _read_npz(path), "bundled sample of real digits"


def _sample_resource():
    """The bundled sample, found through the package so it works from a wheel, a zip or a checkout."""
    return resources.files("tinygraph") / "data" / SAMPLE_FILE


def _from_path(path):
    return _read_npz(path), str(path)


_LOADERS = {"keras": _from_keras, "download": _from_download, "sample": _from_sample}


def _read_npz(path):
    """The four arrays of an .npz in Keras's layout, checked; ValueError naming the file if it is anything else."""
    with _open_npz(path) as arrays:
        missing = [key for key in NPZ_KEYS if key not in arrays.files]
        if missing:
            raise ValueError(f"{path} is not an MNIST .npz: it lacks {missing} (it has {arrays.files})")
        try:
            x_train, y_train, x_test, y_test = (arrays[key] for key in NPZ_KEYS)
        except _UNREADABLE as error:
            raise ValueError(f"{path} is not a readable MNIST .npz: {error}") from error
    return _checked(((x_train, y_train), (x_test, y_test)), path)


_UNREADABLE = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)  # what np.load raises on junk


def _open_npz(path):
    try:
        arrays = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _UNREADABLE as error:
        raise ValueError(f"{path} is not a readable MNIST .npz: {error}") from error
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not an MNIST .npz: it holds a single array")
    return arrays


def _checked(data, origin):
    """`data` unchanged if it has MNIST's shapes, dtypes and label range; ValueError naming `origin` otherwise."""
    for split, (images, labels) in zip(("train", "test"), data):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"{origin}: x_{split} should be uint8 (n, 28, 28), got {images.dtype} {images.shape}")
        if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
            raise ValueError(f"{origin}: y_{split} should be uint8 ({len(images)},) to match x_{split}, "
                             f"got {labels.dtype} {labels.shape}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{origin}: y_{split} holds label {labels.max()}, digits are 0..9")
    return data


# --- IDX files ----------------------------------------------------------------------------------------------------

def load_idx(directory):
    """The four MNIST-format IDX files in `directory` (each plain or .gz) as ``((x_train, y_train), (x_test, y_test))``.

    Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, as
    shipped by MNIST, Fashion-MNIST, KMNIST; FileNotFoundError or ValueError naming the file when one is missing or bad.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"load_idx: {directory} is not a directory")
    return tuple(_idx_split(directory, images_name, labels_name) for images_name, labels_name in IDX_SPLITS)


def _idx_split(directory, images_name, labels_name):
    images_path, labels_path = _idx_file(directory, images_name), _idx_file(directory, labels_name)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"load_idx: {images_path} should hold images (n, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"load_idx: {labels_path} should hold labels (n,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"load_idx: {images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


def _idx_file(directory, name):
    """`name` in `directory`, else `name`.gz."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"load_idx: neither {name} nor {name}.gz in {directory}")


def read_idx(path):
    """One IDX file (plain or gzipped) as an ndarray of the shape and dtype its header gives, in native byte order.

    The file is streamed and read no further than its header declares: a .gz that inflates to more is refused
    without inflating the rest.
    """
    path = Path(path)
    if path.suffix != ".gz":
        with open(path, "rb") as stream:
            return _idx_array(path, stream, os.fstat(stream.fileno()).st_size)
    try:
        with gzip.open(path, "rb") as stream:
            return _idx_array(path, stream, None)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:  # a cut stream raises EOFError
        raise ValueError(f"read_idx: {path} is not a readable gzip file: {error}") from error


def _idx_array(path, stream, file_size):
    """The array of an IDX stream, checking its header and size (against `file_size` too, when known)."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic bytes {magic.hex() or 'missing'})")
    ndim, dtype = magic[3], np.dtype(IDX_DTYPES[magic[2]])
    if ndim > IDX_MAX_DIMS:
        raise ValueError(f"read_idx: {path} declares {ndim} dimensions; IDX files of images and labels have 1 to 4, "
                         f"read_idx reads at most {IDX_MAX_DIMS}")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"read_idx: {path} is truncated inside its header ({4 + len(sizes)} of {4 + 4 * ndim} "
                         f"bytes)")
    shape = tuple(int(size) for size in np.frombuffer(sizes, ">u4"))
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a crafted header cannot overflow the product
    if file_size is not None and file_size - 4 - 4 * ndim != expected:
        _size_error(path, shape, dtype, expected, file_size - 4 - 4 * ndim)
    data = _read_at_most(stream, expected)
    if len(data) < expected or stream.read(1):
        _size_error(path, shape, dtype, expected, len(data) if len(data) < expected else None)
    array = np.frombuffer(data, dtype).reshape(shape)  # over a bytearray: writable, no copy
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))  # native-endian, like Keras's arrays


def _size_error(path, shape, dtype, expected, found):
    """The error for data of `found` bytes (None: more than expected, still coming) after the header."""
    problem = "truncated" if found is not None and found < expected else "longer than its header says"
    found = "more" if found is None else found
    raise ValueError(f"read_idx: {path} is {problem}: shape {shape} of {dtype.name} needs {expected} bytes of data, "
                     f"found {found}")


def _read_at_most(stream, size):
    """Up to `size` bytes of `stream`, in chunks: memory follows the bytes that exist, not a header's claim."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(size - len(data), IDX_CHUNK))
        if not chunk:
            break
        data += chunk
    return data


# --- labels -------------------------------------------------------------------------------------------------------

def one_hot(labels, classes=None):
    """Integer labels (n,) as float32 rows (n, classes) with a single 1 at each label; classes defaults to max + 1."""
    labels = np.asarray(labels)
    if labels.size == 0:
        labels = labels.astype(np.int64)  # an empty list arrives as float64
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels should be 1-D (n,), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot: labels should be integers, got dtype {labels.dtype}")
    if classes is None:
        classes = int(labels.max()) + 1 if labels.size else 0
    else:
        classes = checks.positive_int("one_hot", "classes", classes)
    checks.label_range("one_hot", labels, classes)
    encoded = np.zeros((labels.size, classes), dtype=np.float32)
    encoded[np.arange(labels.size), labels] = 1
    return encoded
