"""The network file format: the architecture as JSON and the weights as arrays in one .npz, with no pickle.

A file (format version 1) is an .npz holding `architecture`, a 0-d string of JSON
``{"format": "tinygraph.network", "version": 1, "input_shape": [...], "loss": "mse" | "cross_entropy" | null,
"layers": [{"class": "FCLayer", "config": {...}}, ...]}``, and `param_0` ... `param_<n-1>`, the parameters in the
order of `Network.parameters()`. Any NumPy reads it with `np.load(path)`.

`save` refuses, before touching an existing file, anything `load` would refuse, writes a temporary file named
``.<name>.tinygraph-tmp-<pid>-<n>`` beside the target and renames it only once complete (keeping the old file's mode);
a temporary file whose process is gone is removed by the next save to that name.
`load` treats the file as untrusted: it never runs code from it, reads every array's shape and dtype from its header
before reading any data, builds each layer from the stored arrays (never drawing weights to overwrite), and stops any
malformed file with one ValueError naming the file and the reason. The limits below bound what a file may claim.
"""
import contextlib
import itertools
import json
import math
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from .grad_mode import no_grad
from .layers import LAYER_TYPES, ConvolutionalLayer, FCLayer, FlattenLayer
from .safe_npz import Malformed, NpzArchive, open_regular_file
from .tensor import Tensor

FILE_FORMAT = "tinygraph.network"
FILE_VERSION = 1
MAX_SAMPLE_SIZE = 1 << 26  # values in one input or output sample of a layer: far above any image, below memory
MAX_PARAMETERS = 1 << 28  # weights in one file: 1 GiB as float32
MAX_LAYERS = 10_000
MAX_MEMBERS = 4 * MAX_LAYERS
MAX_ARCHITECTURE_CHARS = 1 << 20  # the JSON record
MAX_NESTING = 16  # brackets inside brackets in the JSON record; a saved record needs 4
# Stored float types and what they load as: half precision widens to float32, long double narrows to float64.
LOADED_DTYPE = {2: np.float32, 4: np.float32, 8: np.float64, 10: np.float64, 12: np.float64, 16: np.float64}
# What reading a damaged archive can raise besides Malformed: all become one ValueError naming the file.
UNREADABLE = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError,
              RecursionError, struct.error, OverflowError)
_temporary_numbers = itertools.count()


# ----- save --------------------------------------------------------------------------------------------------
def save(net, path):
    """Write `net`'s architecture and weights to `path`; returns the path."""
    path = _target(path)
    text, arrays = _contents(net)
    _write_atomically(path, dict(arrays, architecture=np.array(text)))
    return path


def _target(path):
    path = os.fsdecode(path)
    if not path:
        raise ValueError("Network.save: the path is empty; give a file name such as 'model.npz'")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise IsADirectoryError(f"Network.save: {path} is a folder; give a file name such as "
                                f"{os.path.join(path, 'model.npz')}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Network.save: the folder {directory} does not exist")
    return path


def _contents(net):
    """(the JSON record, {param_i: array}), after every check `load` makes, so a saved file always loads back."""
    if not net.built:
        raise ValueError("Network.save: nothing to save yet; fit or predict once so the layers are built")
    for layer in net.layers:
        if LAYER_TYPES.get(type(layer).__name__) is not type(layer):
            raise ValueError(f"Network.save: {layer.name} is a {type(layer).__name__}, not one of the layer types a "
                             f"file can rebuild ({', '.join(LAYER_TYPES)}); save its weights with np.savez(path, "
                             f"*[p.data for p in net.parameters()]) and rebuild the network in code")
    record = {"format": FILE_FORMAT, "version": FILE_VERSION, "input_shape": list(net.input_shape),
              "loss": net.loss_name,
              "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in net.layers]}
    params = net.parameters()
    for p in params:
        if p.dtype not in (np.float32, np.float64) or not np.isfinite(p.data).all():
            problem = f"is {p.dtype}" if p.dtype not in (np.float32, np.float64) else "holds NaN or infinite values"
            raise ValueError(f"Network.save: {p.name} {problem}; such a file could not be loaded back, so nothing "
                             f"was written")
    try:
        text = json.dumps(record)
        _checked_record(_parsed(text), type(net))
        _check_parameter_total([p.shape for p in params])
        for spec in record["layers"]:
            _layer(spec)
    except (Malformed, TypeError) as err:
        raise ValueError(f"Network.save: the network cannot be written as a file that loads back: {err}") from None
    return text, {f"param_{i}": p.data for i, p in enumerate(params)}


def _write_atomically(path, arrays):
    directory, name = os.path.split(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o777  # replacing a file keeps its mode (a private model stays private)
    except FileNotFoundError:
        mode = None  # a new file gets the mode open() gives: 0666 less the umask
    _remove_stale_temporaries(directory, name)
    temporary = os.path.join(directory, f".{name}.tinygraph-tmp-{os.getpid()}-{next(_temporary_numbers)}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o600 if mode is not None else 0o666)
    try:
        with os.fdopen(handle, "wb") as file:
            if mode is not None:
                os.chmod(temporary, mode)  # before any byte is written: the data is never more visible than before
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _remove_stale_temporaries(directory, name):
    """Remove `.<name>.tinygraph-tmp-<pid>-<n>` files whose process no longer runs (left by a killed save)."""
    pattern = re.compile(re.escape(f".{name}.tinygraph-tmp-") + r"(\d+)-\d+")
    with os.scandir(directory) as entries:
        stale = [entry.path for entry in entries
                 if (match := pattern.fullmatch(entry.name)) and not _process_exists(int(match.group(1)))]
    for path in stale:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _process_exists(pid):
    if os.name != "posix" or pid == os.getpid():
        return True  # on Windows os.kill(pid, 0) would terminate the process: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's running process
        pass
    return True


# ----- load --------------------------------------------------------------------------------------------------
def load(network_class, path):
    """A network of `network_class` from a file written by `save`."""
    try:
        file, size = open_regular_file(path)
        with file:
            archive = NpzArchive(file, size, MAX_MEMBERS)
            try:
                return _network(network_class, archive)
            finally:
                archive.close()
    except (FileNotFoundError, PermissionError):
        raise
    except Malformed as err:
        raise ValueError(f"Network.load: {os.fspath(path)} is not a tinygraph network file: {err}") from None
    except UNREADABLE as err:
        kind = type(err).__qualname__
        kind = kind if type(err).__module__ == "builtins" else f"{type(err).__module__}.{kind}"  # zlib.error
        raise ValueError(f"Network.load: {os.fspath(path)} is not a tinygraph network file: its data cannot be read "
                         f"({kind}: {err})") from None


def _network(network_class, archive):
    if "architecture" not in archive.headers:
        raise Malformed(f"it has no tinygraph architecture record (it holds {', '.join(sorted(archive.headers))})")
    input_shape, specs, loss = _checked_record(_parsed(_architecture_text(archive)), network_class)
    names = [f"param_{i}" for i in range(len(archive.headers) - 1)]
    if sorted(names + ["architecture"]) != sorted(archive.headers):
        raise Malformed(f"its members {sorted(archive.headers)} are not architecture and param_0 ... param_<n>")
    headers = [archive.headers[name] for name in names]
    for name, (shape, dtype) in zip(names, headers):
        if dtype.kind != "f" or dtype.itemsize not in LOADED_DTYPE:
            raise Malformed(f"{name} should hold floats, it holds {dtype}")
    _check_parameter_total([shape for shape, _ in headers])
    net = network_class()
    for spec in specs:
        net.add(_layer(spec))
    if loss is not None:
        net.use(loss)
    shape, stored = input_shape, iter(zip(names, headers))
    for layer in net.layers:
        shape = _load_layer(layer, shape, stored, archive, net.rng)
    if next(stored, None) is not None:
        raise Malformed(f"it holds {len(names)} weight arrays, more than the architecture needs")
    return net


def _architecture_text(archive):
    shape, dtype = archive.headers["architecture"]
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_ARCHITECTURE_CHARS:
        raise Malformed(f"its architecture record is {dtype} of shape {shape}, not a string of at most "
                        f"{MAX_ARCHITECTURE_CHARS} characters")
    return str(archive.read("architecture")[()])


def _parsed(text):
    """The JSON record, refused if longer or deeper than a saved one could be (deep nesting exhausts the parser)."""
    if len(text) > MAX_ARCHITECTURE_CHARS:
        raise Malformed(f"its architecture record has {len(text)} characters, more than {MAX_ARCHITECTURE_CHARS}")
    skeleton = np.frombuffer(re.sub(r'"(?:[^"\\]|\\.)*"', "", text).encode("utf-8", "replace"), np.uint8)
    depth = np.cumsum(np.isin(skeleton, (ord("["), ord("{"))).astype(np.int64) -
                      np.isin(skeleton, (ord("]"), ord("}"))))
    if depth.size and depth.max() > MAX_NESTING:
        raise Malformed(f"its architecture record nests {depth.max()} brackets deep (at most {MAX_NESTING})")
    try:
        return json.loads(text)
    except ValueError as err:
        raise Malformed(f"its architecture record is not valid JSON ({err})") from None


def _checked_record(record, network_class):
    """(input shape, layer specs, loss name) from the parsed record, each checked."""
    if not isinstance(record, dict) or record.get("format") != FILE_FORMAT:
        raise Malformed("it has no tinygraph architecture record")
    if record.get("version") != FILE_VERSION:
        raise Malformed(f"version {record.get('version')!r} is not supported (this is version {FILE_VERSION})")
    layers, input_shape, loss = record.get("layers"), record.get("input_shape"), record.get("loss")
    if not isinstance(layers, list) or not all(
            isinstance(spec, dict) and isinstance(spec.get("config", {}), dict) for spec in layers):
        raise Malformed("its layer list is malformed")
    if not 0 < len(layers) <= MAX_LAYERS:
        raise Malformed(f"it lists {len(layers)} layers (1 to {MAX_LAYERS} are loaded)")
    if not (isinstance(input_shape, list) and len(input_shape) <= 32 and all(
            type(n) is int and 0 < n for n in input_shape) and math.prod(input_shape) <= MAX_SAMPLE_SIZE):
        raise Malformed(f"its input shape {input_shape!r} is not a list of positive sizes with at most "
                        f"{MAX_SAMPLE_SIZE} values in all")
    if loss is not None and loss not in network_class.LOSSES:
        raise Malformed(f"its loss {loss!r} is not one this tinygraph knows ({', '.join(network_class.LOSSES)})")
    return tuple(input_shape), layers, loss


def _check_parameter_total(shapes):
    total = sum(math.prod(shape) for shape in shapes)
    if total > MAX_PARAMETERS:
        raise Malformed(f"it claims {total} weights, more than the {MAX_PARAMETERS} a file may hold "
                        f"(tinygraph.saving.MAX_PARAMETERS)")


def _layer(spec):
    layer_type = LAYER_TYPES.get(spec.get("class"))
    if layer_type is None:
        raise Malformed(f"unknown layer type {spec.get('class')!r}")
    try:
        return layer_type(**spec.get("config", {}))
    except (TypeError, ValueError) as err:
        raise Malformed(f"bad configuration for {spec.get('class')}: {err}") from None


def _parameter_shapes(layer, shape):
    """[(key, shape)] of the parameters `layer` builds for samples of `shape`, known before anything is built."""
    if isinstance(layer, FCLayer):
        return [("weights", (math.prod(shape), layer.output_size)), ("bias", (layer.output_size,))]
    if isinstance(layer, ConvolutionalLayer):
        if len(shape) != 3:
            raise Malformed(f"{layer.name} needs samples of shape (H, W, C), it would get {shape}")
        return [("filters", (layer.filters_count, *layer.filter_shape, shape[-1])), ("bias", (layer.filters_count,))]
    return []


def _load_layer(layer, shape, stored, archive, rng):
    """Build `layer` for samples of `shape` on its stored arrays; returns the shape of its output samples."""
    expected = _parameter_shapes(layer, shape)
    arrays = []
    for key, want in expected:
        name, (got, dtype) = next(stored, (None, (None, None)))
        if got != want:
            raise Malformed(f"{layer.name}.{key} should be a float array of shape {want}, got "
                            f"{'nothing' if got is None else f'{got} {dtype}'}")
        arrays.append(_loaded_values(f"{layer.name}.{key}", archive.read(name)))
    layer.input_shape = shape  # what Layer.__call__ does on a first batch, without running the layer on one
    try:
        layer.build(shape, _ZeroDraws() if expected else rng)
        layer.built = True
        if [p.name for p in layer.parameters()] != [f"{layer.name}.{key}" for key, _ in expected]:
            raise Malformed(f"{layer.name} builds parameters this reader does not know; update "
                            f"saving._parameter_shapes")  # a layer type changed without this reader
        for p, values in zip(layer.parameters(), arrays):
            p.data = values
        out = _output_shape(layer, shape)
    except (ValueError, TypeError) as err:
        raise Malformed(f"the layers cannot be built: {err}") from None
    if math.prod(out) > MAX_SAMPLE_SIZE:
        raise Malformed(f"{layer.name} would output samples of shape {out}, more than {MAX_SAMPLE_SIZE} values")
    return out


def _output_shape(layer, shape):
    """The layer's own forward over an empty batch: its shape checks and arithmetic, with no memory or work."""
    if isinstance(layer, FCLayer):  # these reshape to (0, -1), which an empty batch leaves ambiguous
        return (layer.output_size,)
    if isinstance(layer, FlattenLayer):
        return (math.prod(shape),)
    with no_grad():
        return tuple(layer.forward(Tensor(np.zeros((0,) + shape, dtype=np.float32))).shape[1:])


def _loaded_values(name, array):
    """A stored array in the dtype the network computes in, checked finite after the cast (a long double above
    the float64 range becomes inf)."""
    target = LOADED_DTYPE[array.dtype.itemsize]
    with np.errstate(over="ignore"):
        values = array.astype(target)
    if not np.isfinite(values).all():
        raise Malformed(f"{name} contains NaN or infinite values (as {np.dtype(target).name})")
    return values


class _ZeroDraws:
    """Stands in for the random generator while a loaded layer is built: zeros, replaced at once by the file's
    arrays, so loading draws no random numbers and touches no memory the stored arrays do not need."""

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.zeros(size, dtype=np.float32)

    def __getattr__(self, name):  # normal, standard_normal ...: any draw an initialiser might make
        return lambda *args, size=None, **kwargs: np.zeros(size, dtype=np.float32)
