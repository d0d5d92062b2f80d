"""IDX files, the format of MNIST, Fashion-MNIST and kin: read with full header validation, never inflating or
allocating more than the header declares."""
import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

IDX_MAX_DIMS = 32  # the axes NumPy 1.x allows (2.x: 64); real IDX files have 1 to 4
IDX_CHUNK = 1 << 20
IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_SPLITS = (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


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
