"""The network file format: the architecture as JSON and the weights as arrays in one .npz, with no pickle.

`save` writes a temporary file beside the target and renames it only once complete, so an earlier file is never
left half-written; `load` never runs code from the file and checks every record before using it.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .layers import LAYER_TYPES

FILE_FORMAT = "tinygraph.network"
FILE_VERSION = 1
MAX_SAMPLE_SIZE = 1 << 26  # elements in one input sample: far above any image, far below what fits in memory


def save(net, path):
    """Write `net`'s architecture and weights to `path`; returns the path."""
    if not net.built:
        raise ValueError("Network.save: nothing to save yet; fit or predict once so the layers are built")
    architecture = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "input_shape": list(net.input_shape),
        "loss": net.loss_name,
        "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in net.layers],
    }
    arrays = {f"param_{i}": p.data for i, p in enumerate(net.parameters())}
    arrays["architecture"] = np.array(json.dumps(architecture))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Network.save: the folder {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=".tinygraph-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _new_file_mode())  # mkstemp's 0600 would hide the model from other users
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _new_file_mode():
    """The mode open() gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def load(network_class, path):
    """A network of `network_class` from a file written by `save`."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            architecture = json.loads(str(archive["architecture"]))
            arrays = {key: archive[key] for key in archive.files if key != "architecture"}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as err:
        raise ValueError(f"Network.load: {path} is not a tinygraph network file ({err})") from None
    return _from_architecture(network_class, path, architecture, arrays)


def _from_architecture(network_class, path, architecture, arrays):
    def fail(why):
        return ValueError(f"Network.load: {path} is not a valid tinygraph network file: {why}")

    if not isinstance(architecture, dict) or architecture.get("format") != FILE_FORMAT:
        raise fail("it has no tinygraph architecture record")
    if architecture.get("version") != FILE_VERSION:
        raise fail(f"version {architecture.get('version')!r} is not supported (this is version {FILE_VERSION})")
    layers, input_shape = architecture.get("layers"), architecture.get("input_shape")
    if not isinstance(layers, list) or not all(isinstance(spec, dict) for spec in layers):
        raise fail("its layer list is malformed")
    if not (isinstance(input_shape, list) and all(type(n) is int and 0 < n for n in input_shape)
            and int(np.prod(input_shape)) <= MAX_SAMPLE_SIZE):
        raise fail(f"its input shape {input_shape!r} is not a list of positive sizes of a sensible total")
    net = network_class()
    for spec in layers:
        layer_type = LAYER_TYPES.get(spec.get("class"))
        if layer_type is None:
            raise fail(f"unknown layer type {spec.get('class')!r}")
        config = spec.get("config", {})
        if not isinstance(config, dict):
            raise fail(f"the configuration of a {spec.get('class')} is malformed")
        try:
            net.add(layer_type(**config))
        except (TypeError, ValueError) as err:
            raise fail(f"bad configuration for {spec.get('class')}: {err}") from None
    if architecture.get("loss") in network_class.LOSSES:
        net.use(architecture["loss"])
    try:
        net._build(np.zeros((1,) + tuple(input_shape), dtype=np.float32))
    except (KeyError, TypeError, ValueError) as err:
        raise fail(f"the layers cannot be built: {err}") from None
    params = net.parameters()
    if len(arrays) != len(params):
        raise fail(f"it holds {len(arrays)} weight arrays, the architecture needs {len(params)}")
    for i, p in enumerate(params):
        array = arrays.get(f"param_{i}")
        if array is None or array.shape != p.shape or array.dtype.kind != "f":
            got = None if array is None else f"{array.shape} {array.dtype}"
            raise fail(f"{p.name} should be a float array of shape {p.shape}, got {got}")
        if not np.isfinite(array).all():
            raise fail(f"{p.name} contains NaN or infinite values")
        p.data = array.astype(p.dtype if array.dtype != np.float64 else np.float64)
    return net
