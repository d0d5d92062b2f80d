"""Network: the tutorial's add / use / fit / predict, driving layers, a loss and an optimizer."""
import contextlib
import json
import os
import tempfile
import time
import zipfile

import numpy as np

from . import ops
from .grad_mode import no_grad
from .layers import LAYER_TYPES, Layer
from .layers.base import make_rng
from .optim import Optimizer, make_optimizer
from .tensor import Tensor

LOSSES = {"mse": ops.mse, "cross_entropy": ops.cross_entropy}
FILE_FORMAT = "tinygraph.network"
FILE_VERSION = 1
_MAX_SAMPLE_SIZE = 1 << 26  # elements in one input sample: far above any image, far below what fits in memory


def _float_inputs(where, x):
    """Inputs as a float array (float32 unless float64), checked for NaN and infinities."""
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    if x.dtype.kind in "biu":
        x = x.astype(np.float32)
    elif x.dtype.kind == "f":
        if x.dtype != np.float64 and x.dtype != np.float32:
            x = x.astype(np.float32)
    else:
        raise TypeError(f"{where}: inputs must be numbers, got dtype {x.dtype}")
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"{where}: expected a non-empty batch of samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: the inputs of shape {x.shape} contain NaN or infinite values")
    return x


def _new_file_mode():
    """The mode open() gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _positive_int(where, what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive int, got {value!r}")
    return int(value)


def _labels(where, y, classes):
    """Class labels from integer labels (N,) or one-hot/probability rows (N, classes), checked."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.ndim == 2 and y.shape[1] == classes and y.dtype.kind in "biuf":
        return y.argmax(axis=-1)
    if y.ndim == 1 and y.dtype.kind in "iu":
        if len(y) and (y.min() < 0 or y.max() >= classes):
            raise ValueError(f"{where}: labels must lie in [0, {classes}) for {classes} outputs, "
                             f"got {y.min()}..{y.max()}")
        return y
    raise ValueError(
        f"{where}: expected integer labels of shape (N,) or one-hot targets of shape (N, {classes}) "
        f"for {classes} outputs, got {y.dtype} of shape {y.shape}"
    )


class Network:
    """A stack of layers trained with one loss and one optimizer.

    `Network(seed=0).add(FCLayer(100)).add(ActivationLayer("tanh")).use("mse").fit(x, y, epochs=30, learning_rate=0.1)`
    """

    def __init__(self, seed=None):
        self.layers = []
        self.loss = None
        self.loss_name = None
        self.optimizer = None
        self._optimizer_spec = None
        self.history = {"loss": []}
        self.rng = make_rng(seed)

    # ----- building ----------------------------------------------------------------------------------------
    def add(self, layer):
        """Append a layer; returns the network for chaining."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Network.add: expected a layer such as FCLayer(10), got {layer!r}")
        if layer in self.layers:
            raise ValueError(f"Network.add: {layer.name} is already in the network")
        count = sum(type(other) is type(layer) for other in self.layers) + 1
        layer.rename(f"{type(layer).__name__}_{count}")
        self.layers.append(layer)
        return self

    def use(self, loss, optimizer=None):
        """Choose the loss ("mse", "cross_entropy" or a function (pred, target) -> Tensor) and the optimizer
        ("sgd", "adam", an Optimizer class, or None for plain SGD); returns the network for chaining."""
        if isinstance(loss, str):
            if loss not in LOSSES:
                raise ValueError(f"Network.use: unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a function")
            self.loss, self.loss_name = LOSSES[loss], loss
        elif callable(loss):
            self.loss, self.loss_name = loss, None
        else:
            raise TypeError(f"Network.use: loss must be a name or a function (pred, target) -> Tensor, got {loss!r}")
        if optimizer is not None and not isinstance(optimizer, (str, Optimizer)) and not (
            isinstance(optimizer, type) and issubclass(optimizer, Optimizer)
        ):
            raise TypeError(f"Network.use: optimizer must be 'sgd', 'adam' or an Optimizer class, got {optimizer!r}")
        if isinstance(optimizer, str) and optimizer.lower() not in ("sgd", "adam"):
            raise ValueError(f"Network.use: unknown optimizer {optimizer!r}; use 'sgd' or 'adam'")
        self._optimizer_spec = optimizer
        self.optimizer = optimizer if isinstance(optimizer, Optimizer) else None
        return self

    @property
    def built(self):
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def input_shape(self):
        return self.layers[0].input_shape if self.layers else None

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def forward(self, x, training=False):
        """Run every layer on a batch; records a graph unless inside `no_grad()`."""
        if not self.layers:
            raise ValueError("Network: add at least one layer first, e.g. net.add(FCLayer(10))")
        out = x if isinstance(x, Tensor) else Tensor(x)
        for layer in self.layers:
            out = layer(out, training=training, rng=self.rng)
        return out

    def _build(self, x):
        if not self.built:
            with no_grad():
                self.forward(x[:1])

    # ----- training ----------------------------------------------------------------------------------------
    def fit(self, x, y, epochs, learning_rate=None, batch_size=1, shuffle=True, validation_data=None, verbose=1):
        """Train for `epochs` passes over (x, y); `batch_size=1` is the tutorial's per-sample training, larger
        batches average the loss over the batch. Prints one line per epoch; returns the network."""
        if not self.layers:
            raise ValueError("Network.fit: the network has no layers; add some first, e.g. net.add(FCLayer(10))")
        if self.loss is None:
            raise ValueError("Network.fit: choose a loss first, e.g. net.use('mse') or net.use('cross_entropy')")
        epochs = _positive_int("Network.fit", "epochs", epochs)
        batch_size = _positive_int("Network.fit", "batch_size", batch_size)
        x = _float_inputs("Network.fit", x)
        y = self._targets(x, y)
        self._build(x)
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            raise ValueError(f"Network.fit: samples have shape {x.shape[1:]}, the network was built for "
                             f"{self.input_shape}")
        self._check_targets("Network.fit", y)
        optimizer = self._make_optimizer(learning_rate)
        validation = self._validation(validation_data)
        n = len(x)
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            if shuffle:
                order = self.rng.permutation(n)
                xs, ys = x[order], y[order]
            else:
                xs, ys = x, y
            error = self._run_epoch(xs, ys, batch_size, optimizer, epoch, epochs, verbose)
            self.history["loss"].append(error)
            line = f"epoch {epoch}/{epochs}   error={error:.6f}"
            if validation is not None:
                accuracy = self.evaluate(*validation)
                self.history.setdefault("val_accuracy", []).append(accuracy)
                line += f"   val_accuracy={accuracy:.4f}"
            if verbose:
                print(f"{line}   ({time.perf_counter() - started:.1f}s)" if verbose > 1 else line, flush=True)
        return self

    def _run_epoch(self, xs, ys, batch_size, optimizer, epoch, epochs, verbose):
        from tqdm.auto import tqdm

        n = len(xs)
        total = 0.0
        # The bar shows itself only when an epoch lasts more than a second.
        with tqdm(total=n, desc=f"epoch {epoch}/{epochs}", unit="sample", leave=False, delay=1.0,
                  disable=not verbose, mininterval=0.5) as bar:
            for batch, start in enumerate(range(0, n, batch_size), start=1):
                xb, yb = xs[start:start + batch_size], ys[start:start + batch_size]
                loss = self._loss(self.forward(Tensor._wrap(xb, False, None), training=True), yb)
                value = float(loss.data)
                if not np.isfinite(value):
                    raise ValueError(
                        f"Network.fit: the loss became {value} at epoch {epoch}, batch {batch}; the training diverged "
                        f"(try a smaller learning rate; it is {optimizer.lr})"
                    )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += value * len(xb)
                bar.update(len(xb))
        return total / n

    def _loss(self, pred, target):
        loss = self.loss(pred, target)
        if not isinstance(loss, Tensor) or loss.size != 1:
            raise ValueError(f"Network: the loss function must return a one-element Tensor, got {loss!r}")
        return loss

    def _targets(self, x, y):
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"Network.fit: x has {len(x)} samples but y has shape {y.shape}; they must match")
        if y.dtype.kind == "f":
            if not np.isfinite(y).all():
                raise ValueError(f"Network.fit: the targets of shape {y.shape} contain NaN or infinite values")
            return y.astype(x.dtype, copy=False)
        if y.dtype.kind in "biu" and (y.ndim > 1 or self.loss_name == "mse"):
            return y.astype(x.dtype)
        if y.dtype.kind not in "iu":
            raise TypeError(f"Network.fit: targets must be numbers, got dtype {y.dtype}")
        return y

    def _check_targets(self, where, y):
        with no_grad():
            out_shape = self.forward(np.zeros((1,) + self.input_shape, dtype=np.float32)).shape[1:]
        if self.loss_name == "cross_entropy" and y.ndim == 1:
            if y.dtype.kind not in "iu":
                raise TypeError(f"{where}: labels for cross_entropy must be integers, got dtype {y.dtype}")
            classes = out_shape[-1] if out_shape else 1
            if y.min() < 0 or y.max() >= classes:
                raise ValueError(
                    f"{where}: labels must lie in [0, {classes}) for an output of {classes} classes, "
                    f"got {y.min()}..{y.max()}"
                )
        elif self.loss_name is not None and tuple(y.shape[1:]) != tuple(out_shape):
            hint = " (convert labels with tinygraph.datasets.one_hot)" if y.ndim == 1 else ""
            raise ValueError(
                f"{where}: targets of shape {y.shape} do not match the network's output of shape "
                f"(N, {', '.join(map(str, out_shape))}){hint}"
            )

    def _make_optimizer(self, learning_rate):
        spec = self._optimizer_spec
        if isinstance(spec, Optimizer):
            if learning_rate is not None:
                spec.lr = learning_rate
            return spec
        if self.optimizer is None or self.optimizer.parameters != self.parameters():
            self.optimizer = make_optimizer(spec, self.parameters(), learning_rate)
        elif learning_rate is not None:
            self.optimizer.lr = learning_rate
        return self.optimizer

    def _validation(self, validation_data):
        if validation_data is None:
            return None
        try:
            x_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("Network.fit: validation_data must be a pair (x_val, y_val)") from None
        x_val = _float_inputs("Network.fit (validation_data)", x_val)
        if len(x_val) != len(y_val):
            raise ValueError(f"Network.fit: validation x has {len(x_val)} samples but y has {len(y_val)}")
        if tuple(x_val.shape[1:]) != tuple(self.input_shape):
            raise ValueError(f"Network.fit: validation samples have shape {x_val.shape[1:]}, the network takes "
                             f"{self.input_shape}")
        with no_grad():
            out_shape = self.forward(x_val[:1]).shape
        if len(out_shape) != 2:
            raise ValueError(f"Network.fit: validation accuracy needs outputs of shape (N, classes), got {out_shape}")
        _labels("Network.fit (validation_data)", y_val, out_shape[1])
        return x_val, y_val

    # ----- inference ---------------------------------------------------------------------------------------
    def predict(self, x, batch_size=256):
        """The network's outputs for a batch, as an ndarray; records no graph."""
        batch_size = _positive_int("Network.predict", "batch_size", batch_size)
        x = _float_inputs("Network.predict", x)
        with no_grad():
            outputs = [self.forward(x[start:start + batch_size]).data for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs)

    def evaluate(self, x, y):
        """Accuracy of the predicted classes against labels (N,) or one-hot targets (N, C)."""
        from sklearn.metrics import accuracy_score

        if len(x) != len(y):
            raise ValueError(f"Network.evaluate: x has {len(x)} samples but y has {len(y)}")
        predicted = self.predict(x)
        if predicted.ndim != 2:
            raise ValueError(f"Network.evaluate: accuracy needs outputs of shape (N, classes), got {predicted.shape}")
        labels = _labels("Network.evaluate", y, predicted.shape[1])
        return float(accuracy_score(labels, predicted.argmax(axis=-1)))

    def summary(self, input_shape=None):
        """Print each layer's name, output shape and parameter count."""
        if not self.built:
            if input_shape is None:
                raise ValueError("Network.summary: the network is not built yet; pass input_shape=(28, 28, 1) or fit")
            self._build(np.zeros((1,) + tuple(input_shape), dtype=np.float32))
        rows, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            rows.append((layer.name, str((None,) + shape), sum(p.size for p in layer.parameters())))
        width = max(len(r[0]) for r in rows) + 2
        print(f"{'layer':<{width}}{'output shape':<22}{'parameters':>10}")
        print("-" * (width + 32))
        for name, out, count in rows:
            print(f"{name:<{width}}{out:<22}{count:>10,}")
        print("-" * (width + 32))
        print(f"{'total':<{width}}{'':<22}{sum(r[2] for r in rows):>10,}")

    # ----- files ---------------------------------------------------------------------------------------------
    def save(self, path):
        """Write the architecture and the weights to one .npz file (no pickle); an earlier file is replaced only
        once the new one is complete."""
        if not self.built:
            raise ValueError("Network.save: nothing to save yet; fit or predict once so the layers are built")
        architecture = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "input_shape": list(self.input_shape),
            "loss": self.loss_name,
            "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
        }
        arrays = {f"param_{i}": p.data for i, p in enumerate(self.parameters())}
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

    @classmethod
    def load(cls, path):
        """A network from a file written by `save`; never runs code from the file."""
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
        return cls._from_architecture(path, architecture, arrays)

    @classmethod
    def _from_architecture(cls, path, architecture, arrays):
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
                and int(np.prod(input_shape)) <= _MAX_SAMPLE_SIZE):
            raise fail(f"its input shape {input_shape!r} is not a list of positive sizes of a sensible total")
        net = cls()
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
        if architecture.get("loss") in LOSSES:
            net.use(architecture["loss"])
        try:
            net._build(np.zeros((1,) + tuple(architecture["input_shape"]), dtype=np.float32))
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

    # ----- drawing -----------------------------------------------------------------------------------------
    def draw_graph(self, x_sample, y_sample=None, show_shapes=True, show_grads=False, rankdir="TB"):
        """The graph of one training step on `x_sample` (one sample, or a batch once the network is built), each
        layer's ops in a labelled cluster. With `show_grads`, runs backward and shows gradient norms; the
        parameters' own gradients are left as they were."""
        from .viz import draw_graph

        if self.loss is None:
            raise ValueError("Network.draw_graph: choose a loss first with use(), the graph ends in it")
        x = _float_inputs("Network.draw_graph", np.asarray(x_sample)[None] if self._is_one_sample(x_sample) else x_sample)
        self._build(x)
        out = Tensor(x, name="input")
        clusters, seen = {}, {id(out)}
        with self._random_state_kept():
            for layer in self.layers:
                out = layer(out, training=True, rng=self.rng)
                clusters[layer.name] = _produced_since(out, seen)
        target = self._sample_target(out, y_sample)
        loss = self._loss(out, target)
        clusters[f"loss: {self.loss_name or getattr(self.loss, '__name__', 'custom')}"] = _produced_since(loss, seen)
        saved = [p.grad for p in self.parameters()]
        if show_grads:
            _backward_retaining(loss, clusters)
        try:
            return draw_graph(loss, show_shapes=show_shapes, show_grads=show_grads, rankdir=rankdir, clusters=clusters)
        finally:
            # The drawing shows this step's gradients; the parameters keep the ones training left.
            for p, grad in zip(self.parameters(), saved):
                p.grad = grad

    @contextlib.contextmanager
    def _random_state_kept(self):
        """Random draws inside (dropout masks) leave every generator of the network as it was, so that drawing
        does not change what training does next."""
        generators = {id(g): g for g in [self.rng] + [getattr(layer, "_rng", None) for layer in self.layers] if g}
        states = [(g, g.bit_generator.state) for g in generators.values()]
        try:
            yield
        finally:
            for generator, state in states:
                generator.bit_generator.state = state

    def _is_one_sample(self, x_sample):
        return not self.built or tuple(np.shape(x_sample)) == tuple(self.input_shape)

    def _sample_target(self, out, y_sample):
        if y_sample is not None:
            y = np.asarray(y_sample)
            if self.loss_name == "cross_entropy":
                return np.atleast_1d(y)
            return y[None] if y.ndim < out.ndim else y
        if self.loss_name == "cross_entropy":
            return np.zeros(out.shape[0], dtype=np.int64)
        return np.zeros(out.shape, dtype=out.dtype)


def _produced_since(output, seen):
    """The tensors that `output` depends on and that no earlier group claimed (an explicit stack)."""
    members, stack = [], [output]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        members.append(tensor)
        if tensor._ctx is not None:
            stack.extend(tensor._ctx.parents)
    return members


def _backward_retaining(loss, clusters):
    """Backward with every intermediate keeping its gradient, starting from fresh parameter gradients."""
    for members in clusters.values():
        for tensor in members:
            if tensor._ctx is not None:
                tensor.retain_grad()
            elif tensor.requires_grad:
                tensor.grad = None
    loss.backward()
