"""Network: the tutorial's add / use / fit / predict, driving layers, a loss and an optimizer.

The file format lives in `saving.py`, the drawing of a training step in `training_graph.py`.
"""
import time

import numpy as np

from . import checks, describe, distributed, divergence, inference, ops, parallel, saving, targets
from .derivative_check import derivative_option
from .grad_mode import no_grad
from .layers import Layer
from .layers.base import make_rng
from .optim import Optimizer, check_lr, make_optimizer
from .tensor import Tensor, as_tensor
from .tutorial import TutorialLoss


def _class_only(function):
    """A classmethod whose call on an instance is refused: `net.load(path)` would otherwise return a new network and
    silently leave `net` as it was."""

    class ClassOnly:
        def __get__(self, instance, owner):
            if instance is None:
                return function.__get__(owner)

            def refused(*args, **kwargs):
                name = f"{owner.__name__}.{function.__name__}"
                raise TypeError(f"{name} returns a new network: write net = {name}(path)")
            return refused

    return ClassOnly()


FIT_SPELLINGS = {"lr": ("learning_rate", "fit takes the tutorial's and Keras's learning_rate=; the optimizers, "
                                         "SGD(params, lr=...) and Adam, take PyTorch's lr=")}


class Network:
    """A stack of layers trained with one loss and one optimizer.

    `Network(seed=0).add(FCLayer(100)).add(ActivationLayer("tanh")).use("mse").fit(x, y, epochs=30, learning_rate=0.1)`

    `dtype` (float32, or float64) is what the layers build their weights in; `fit`, `predict` and `evaluate` cast
    their inputs to the weights' dtype, as Keras does, so float64 data (`x / 255.0`) trains a float32 network at
    float32 speed.

    Not thread-safe: one Network (or one optimizer) must not be trained or used from two threads at once. Separate
    networks in separate threads are independent (grad mode is per thread).
    """

    LOSSES = {"mse": ops.mse, "cross_entropy": ops.cross_entropy, "binary_cross_entropy": ops.binary_cross_entropy,
              "binary_cross_entropy_with_logits": ops.binary_cross_entropy_with_logits}

    def __init__(self, seed=None, dtype=np.float32):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"Network: dtype must be float32 or float64, got {np.dtype(dtype)}")
        self._dtype = np.dtype(dtype)
        self.layers = []
        self.loss = None
        self.loss_name = None
        self.optimizer = None
        self._optimizer_spec = None
        self.history = {"loss": []}
        self.rng = make_rng(seed)
        self.derivative = None  # use(..., derivative=): "engine" (the default) or "supplied"

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

    def use(self, loss, loss_prime=None, optimizer=None, derivative=None):
        """Choose the loss ("mse", "cross_entropy" or a function (pred, target) -> Tensor) and the optimizer
        ("sgd", "adam", an Optimizer class, or None for plain SGD); returns the network for chaining.

        The tutorial's form `use(loss, loss_prime)` takes NumPy functions `loss(y_true, y_pred)` (the tutorial's
        argument order) and its hand-written derivative, which tinygraph checks once against its own.
        `derivative="supplied"` trains with the hand-written derivatives (this loss_prime and every f_prime or
        backward_propagation of the layers) as the tutorial does; the default, "engine", with the exact ones.
        """
        if optimizer is None and _is_optimizer(loss_prime):  # use("mse", "adam"): the optimizer in second place
            loss_prime, optimizer = None, loss_prime
        self.derivative = derivative_option("Network.use", derivative)
        if loss_prime is not None:
            if isinstance(loss, str) or not callable(loss) or not callable(loss_prime):
                raise TypeError(f"Network.use: use(loss, loss_prime) takes two functions, loss(y_true, y_pred) and "
                                f"its derivative, as in the tutorial; got {loss!r} and {loss_prime!r} "
                                f"(for a built-in loss write use('mse'): tinygraph knows its derivative)")
            self.loss, self.loss_name = TutorialLoss(loss, loss_prime, derivative), None
        elif isinstance(loss, str):
            if loss not in self.LOSSES:
                raise ValueError(f"Network.use: unknown loss {loss!r}; use one of {', '.join(self.LOSSES)} or a function")
            self.loss, self.loss_name = self.LOSSES[loss], loss
        elif callable(loss):
            self.loss, self.loss_name = loss, None
        else:
            raise TypeError(f"Network.use: loss must be a name or a function (pred, target) -> Tensor, got {loss!r}")
        if optimizer is not None and not _is_optimizer(optimizer):
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

    @property
    def dtype(self):
        """The float dtype the network computes in: its weights' (float64 if any is), or the one it will build in."""
        params = self.parameters()
        return np.result_type(*[p.dtype for p in params]) if params else self._dtype

    def _inputs(self, where, x):
        """A batch of inputs checked and cast to the network's dtype (one copy, only if the dtype differs)."""
        return checks.float_inputs(where, x, self.dtype)

    def __call__(self, x, training=False):
        """net(x) is net.forward(x), as a Keras model or a PyTorch module call."""
        return self.forward(x, training)

    def __repr__(self):
        """One line per layer, with its parameter count once built: a compact summary()."""
        return describe.network_repr(self)

    def forward(self, x, training=False):
        """Run every layer on a batch; records a graph unless inside `no_grad()`."""
        if not self.layers:
            raise ValueError("Network: add at least one layer first, e.g. net.add(FCLayer(10))")
        out = as_tensor(x)
        for layer in self.layers:
            out = layer(out, training=training, rng=self.rng)
        return out

    def _build(self, x):
        if not self.built:
            with no_grad():
                self.forward(x[:1])
            if self._dtype == np.float64:  # the layers draw float32 weights: a float64 network widens them
                for p in self.parameters():
                    p.data = p.data.astype(np.float64)

    # ----- training ----------------------------------------------------------------------------------------
    def fit(self, x, y, epochs, learning_rate=None, batch_size=1, shuffle=True, validation_data=None, verbose=1,
            comm=None, scale_lr=False, **other):
        """Train for `epochs` passes over (x, y); `batch_size=1` is the tutorial's per-sample training, larger
        batches average the loss over the batch. Prints one line per epoch; returns the network.

        With `comm` (an mpi4py communicator, or "world"; run under `mpiexec -n N`), trains data-parallel: every rank
        passes the whole (x, y) and takes `batch_size` samples of each global batch of `batch_size * N`; gradients
        are averaged before each step, so all ranks keep rank 0's initial weights updated identically. The loss
        must be a mean over the batch. `scale_lr=True` steps with learning_rate x N (the linear scaling rule).
        Only rank 0 prints; the loss and accuracy printed are over all ranks. See tinygraph.distributed.

        Divergence (a NaN or infinite loss at any step, or weights found NaN or infinite at the end of an epoch)
        stops fit with a ValueError, and the network is put back to its weights and optimizer state from the start
        of that epoch (the last ones checked finite); the error says so."""
        checks.keywords("Network.fit", other, FIT_SPELLINGS)
        if not self.layers:
            raise ValueError("Network.fit: the network has no layers; add some first, e.g. net.add(FCLayer(10))")
        if self.loss is None:
            raise ValueError("Network.fit: choose a loss first, e.g. net.use('mse') or net.use('cross_entropy')")
        epochs = checks.positive_int("Network.fit", "epochs", epochs)
        batch_size = checks.positive_int("Network.fit", "batch_size", batch_size)
        verbose = checks.verbosity("Network.fit", verbose)
        if learning_rate is not None:
            learning_rate = check_lr("Network.fit", learning_rate)
        comm = None if comm is None else distributed.communicator(comm)
        # Everything is checked before the network is built or changed: a refused fit leaves it as it was.
        x, y, validation = targets.training_data(self, x, y, validation_data)
        self._build(x)
        optimizer = self._make_optimizer(learning_rate)
        guard = divergence.Guard(self, optimizer)
        for layer in self.layers:
            layer.network_derivative = self.derivative
        n = len(x)
        sync = None if comm is None else distributed.FitRun(
            comm, self, optimizer, scale_lr, samples=n, batch_size=batch_size, epochs=epochs, shuffle=bool(shuffle),
            validation=validation is not None)
        verbose = verbose if sync is None else sync.verbose(verbose)
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else None
            try:
                if sync is not None:
                    error = sync.run_epoch(x, y, order, epoch, epochs, verbose)
                else:
                    error = self._run_epoch(x, y, batch_size, optimizer, epoch, epochs, verbose, order)
            except Exception as err:
                reported = guard.failed(err)
                if reported is err:
                    raise
                raise reported from None
            guard.end_epoch(epoch)
            self.history["loss"].append(error)
            line = f"epoch {epoch}/{epochs}   error={error:.6f}"
            if validation is not None:
                accuracy = self.evaluate(*validation) if sync is None else sync.evaluate(*validation)
                self.history.setdefault("val_accuracy", []).append(accuracy)
                line += f"   val_accuracy={accuracy:.4f}"
            if verbose:
                print(f"{line}   ({time.perf_counter() - started:.1f}s)" if verbose > 1 else line, flush=True)
        return self

    def _run_epoch(self, xs, ys, batch_size, optimizer, epoch, epochs, verbose, order=None):
        """One pass over (xs, ys), in `order` when given (each batch gathered when it comes, so no shuffled copy of
        the whole data set is made); returns the mean loss."""
        from tqdm.auto import tqdm

        n = len(xs)
        total = 0.0
        # The bar shows itself only when an epoch lasts more than a second.
        # BLAS on one thread: tinygraph splits the large products over its own threads (parallel.py).
        with tqdm(total=n, desc=f"epoch {epoch}/{epochs}", unit="sample", leave=False, delay=1.0,
                  disable=not verbose, mininterval=0.5) as bar, parallel.blas_single_thread():
            for batch, start in enumerate(range(0, n, batch_size), start=1):
                picked = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
                xb, yb = xs[picked], ys[picked]
                loss = self._loss(self.forward(as_tensor(xb), training=True), yb)
                value = float(loss.data)
                if not np.isfinite(value):
                    raise divergence.loss_not_finite(value, epoch, batch, optimizer.lr, xb, yb)
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

    def _make_optimizer(self, learning_rate):
        spec = self._optimizer_spec
        if isinstance(spec, Optimizer):
            if learning_rate is not None:
                spec.lr = learning_rate
            return spec
        # By identity: `==` on Tensors compares values elementwise.
        if self.optimizer is None or list(map(id, self.optimizer.parameters)) != list(map(id, self.parameters())):
            self.optimizer = make_optimizer(spec, self.parameters(), learning_rate)
        elif learning_rate is not None:
            self.optimizer.lr = learning_rate
        return self.optimizer

    # ----- inference ---------------------------------------------------------------------------------------
    def predict(self, x, batch_size=256):
        """The network's outputs for a batch, as an ndarray; records no graph."""
        batch_size = checks.positive_int("Network.predict", "batch_size", batch_size)
        return inference.outputs(self, "Network.predict", x, batch_size)

    def evaluate(self, x, y):
        """Accuracy of the predicted classes against labels (N,) or one-hot targets (N, C)."""
        from sklearn.metrics import accuracy_score

        x = self._inputs("Network.evaluate", x)
        y = targets.same_length("Network.evaluate", x, y)
        predicted = inference.outputs(self, "Network.evaluate", x, 256)
        if predicted.ndim != 2:
            raise ValueError(f"Network.evaluate: accuracy needs outputs of shape (N, classes), got {predicted.shape}")
        labels = targets.class_labels("Network.evaluate", y, predicted.shape[1])
        return float(accuracy_score(labels, predicted.argmax(axis=-1)))

    def summary(self, input_shape=None):
        """Print each layer's name, output shape and parameter count."""
        if not self.built:
            if input_shape is None:
                raise ValueError("Network.summary: the network is not built yet; pass input_shape=(28, 28, 1) or fit")
            self._build(np.zeros((1,) + checks.shape("Network.summary", input_shape), dtype=np.float32))
        print(describe.summary_table(self))

    # ----- files and pictures ------------------------------------------------------------------------------
    def save(self, path):
        """Write the architecture and the weights to one .npz file (no pickle); an earlier file is replaced only
        once the new one is complete."""
        return saving.save(self, path)

    @_class_only
    def load(cls, path):
        """A network from a file written by `save`; never runs code from the file."""
        return saving.load(cls, path)

    def draw_graph(self, x_sample, y_sample=None, show_shapes=True, show_grads=False, rankdir="TB"):
        """The graph of one training step on `x_sample` (one sample, or a batch once the network is built), each
        layer's ops in a labelled cluster. With `show_grads`, runs backward and shows gradient norms; the
        parameters' own gradients are left as they were."""
        from .training_graph import draw_training_step

        return draw_training_step(self, x_sample, y_sample, show_shapes, show_grads, rankdir)


def _is_optimizer(value):
    """'sgd', 'adam', an Optimizer or an Optimizer class."""
    return isinstance(value, (str, Optimizer)) or (isinstance(value, type) and issubclass(value, Optimizer))


NeuralNetwork = Network  # the tutorial's name
