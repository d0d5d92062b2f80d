"""MNIST in Keras's layout, IDX files (Fashion-MNIST and kin) and one-hot labels.

`load_mnist` returns ``((x_train, y_train), (x_test, y_test))`` with uint8 images ``(n, 28, 28)`` and uint8 labels,
from the first source that works: keras, a SHA-256-checked copy of Keras's ``mnist.npz`` (cached or downloaded with
pooch), or the sample of 5,000 real digits bundled with tinygraph, which needs no network. Set the environment
variable ``TINYGRAPH_MNIST_SOURCE=sample`` to make tests and CI use the sample without trying the network.
"""
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from . import checks
from .download import BoundedDownloader, DownloadTooSlow
from .idx import load_idx, read_idx

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # the hash keras checks
__all__ = ["load_mnist", "load_idx", "read_idx", "one_hot", "MnistUnavailableError"]

SOURCE_ENV = "TINYGRAPH_MNIST_SOURCE"
SOURCES = ("keras", "download", "sample")
SAMPLE_FILE = "mnist_sample.npz"
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SHAPE = (28, 28)



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
            # When the bundled sample is the fallback, a failed attempt is reported once, in the closing line, not
            # announced by pooch before it starts.
            loader = _from_download_quietly if source == "download" else _LOADERS[source]
            return (*loader(cache_dir, verbose), "")
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


def _from_download_quietly(cache_dir, verbose):
    return _from_download(cache_dir, verbose, announce=False)


def _from_download(cache_dir, verbose, announce=True):
    import pooch  # only needed here: keeps `import tinygraph` light

    directory = Path(cache_dir) if cache_dir is not None else Path(pooch.os_cache("tinygraph"))
    logger, level = pooch.get_logger(), pooch.get_logger().level
    if not (verbose and announce):
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
