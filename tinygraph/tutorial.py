"""The tutorial's own NumPy code on Tensors: activation functions with their `f_prime`, losses with `loss_prime`,
and layers written with `forward_propagation` / `backward_propagation`.

The tutorial's functions see one sample at a time (no batch axis): its softmax divides by the sum of the whole array
it is given. A `Piece` first checks once, on plain arrays, whether calling the function on a batch gives the same
values as sample by sample (true of elementwise functions such as tanh, and of a mean-squared error); if so it calls
it on whole batches, else on each sample (without the batch axis), stacking the outputs or averaging the losses.
Where a derivative is supplied it is checked once against the engine's (`derivative_check`), and trained with only
when `derivative="supplied"` is asked for or the engine cannot differentiate the function.
"""
import warnings

import numpy as np

from . import ops
from .derivative_check import check, derivative_option, supplied
from .grad_mode import is_grad_enabled
from .tensor import Tensor, as_tensor


def _name(function):
    return getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or repr(function)


class Piece:
    """One hand-written piece: `forward(sample, *extra)` (NumPy code of one sample) and optionally the supplied
    derivative `backward(x, y, g, *extra) -> input gradient`. `extra` are per-sample constants (a loss's target)."""

    def __init__(self, owner, label_f, label_prime, forward, backward=None, derivative=None, parameters=list):
        self.owner, self.label_f, self.label_prime = owner, label_f, label_prime
        self.forward, self.backward = forward, backward
        self.parameters = parameters  # the owning layer's, which its forward may use through the NumPy protocol
        self.derivative = derivative_option(owner, derivative)
        self.checked = False
        self.traceable = True
        self.whole_batches = None  # unknown until the first batch of several samples

    def __call__(self, x, extras=(), mean=False, network_derivative=None):
        """The piece on a batch `x` (Tensor (N, ...)) with per-sample constants `extras`: outputs stacked on a new
        batch axis, or (mean=True) the mean of the per-sample scalars."""
        # Recorded also when only the layer's parameters require grad (a first layer): else they would never train.
        trained = [p for p in self.parameters() if p.requires_grad]
        if not (is_grad_enabled() and (x.requires_grad or trained)):
            return Tensor(self._values(x.data, extras, mean), dtype=x.dtype)
        chosen = self.derivative or network_derivative or "engine"
        if not self.checked:
            self._check(x.data[0], tuple(e[0] for e in extras), chosen)
        use_supplied = self.backward is not None and (not self.traceable or chosen == "supplied")
        if use_supplied and trained:  # a supplied derivative is the input's only: the parameters would never train
            raise ValueError(
                f"{self.owner}: training with the supplied {self.label_prime} would leave the parameters "
                f"{', '.join(p.name or str(p.shape) for p in trained)} unchanged (it gives the input's gradient only, "
                f"and gets learning_rate=0); train this layer with derivative='engine'"
                + ("" if self.traceable else f" after writing {self.label_f} with NumPy calls tinygraph can follow"))
        step = self._supplied_step if use_supplied else self._traced_step
        if self._batches_ok(x.data, extras, mean):
            return step(x, *extras)
        n = x.shape[0]
        if n == 1:
            out = step(x.reshape(x.shape[1:]), *(e[0] for e in extras))
            return out if mean else out.reshape((1,) + out.shape)
        outs = [step(x[i], *(e[i] for e in extras)) for i in range(n)]
        if mean:
            total = outs[0]
            for out in outs[1:]:
                total = total + out
            return total * (1.0 / n)
        return self._stack(outs)

    # ----- the two ways to record a sample ------------------------------------------------------------------------
    def _traced_step(self, x, *extra):
        out = self.forward(x, *extra)
        if not isinstance(out, Tensor):  # as a constant, it would silently leave every earlier layer untrained
            raise TypeError(
                f"{self.owner}: {self.label_f} returned a plain {type(out).__name__} for a Tensor input: a call in it "
                f"(np.asarray, math, scipy ...) turned the Tensor into an array, so tinygraph cannot differentiate "
                f"it; write it with NumPy's ufuncs and functions on its input, or supply its hand-written derivative "
                f"(backward_propagation, or ActivationLayer(f, f_prime)) to train with")
        return out

    def _supplied_step(self, x, *extra):
        return supplied(x, lambda a: self.forward(a, *extra), lambda a, y, g: self.backward(a, y, g, *extra),
                        self.label_prime)

    def _check(self, sample, extra, chosen):
        self.checked = True
        if self.backward is None:
            return
        self.traceable = check(self.label_prime, self.label_f, lambda a: self.forward(a, *extra),
                               lambda a, y, g: self.backward(a, y, g, *extra), sample, derivative=chosen)

    # ----- one sample at a time, or whole batches -------------------------------------------------------------------
    def _values(self, data, extras, mean):
        """The outputs as an array, without a graph."""
        if self._batches_ok(data, extras, mean):
            return _plain(self.forward(data, *extras))
        return self._per_sample(data, extras, mean)

    def _per_sample(self, data, extras, mean):
        outs = [np.asarray(_plain(self.forward(data[i], *(e[i] for e in extras)))) for i in range(len(data))]
        return np.mean(outs, axis=0) if mean else np.stack(outs)

    def _batches_ok(self, data, extras, mean):
        """Whether the forward on a whole batch gives what it gives sample by sample, tried once on arrays: on a
        probe of three variants of the first sample (values of another sign and size), so that a batch of one
        sample, the tutorial's, can skip removing and restoring its batch axis too."""
        if self.whole_batches is None:
            first = np.asarray(data[0], dtype=np.float64)
            probe = np.stack([first, 0.5 - first, 2.0 * first]).astype(data.dtype)
            probe_extras = tuple(np.stack([e[0]] * 3) for e in extras)
            with np.errstate(all="ignore"):
                whole = np.asarray(_plain(self.forward(probe, *probe_extras)), dtype=np.float64)
                each = np.asarray(self._per_sample(probe, probe_extras, mean), dtype=np.float64)
            self.whole_batches = whole.shape == each.shape and np.allclose(whole, each, rtol=1e-4, atol=1e-6,
                                                                           equal_nan=True)
        return self.whole_batches

    def _stack(self, outs):
        stack = getattr(ops, "stack", None)
        if stack is None:
            raise ValueError(f"{self.owner}: {self.label_f} works on one sample at a time (on a whole batch it gives "
                             f"other values), and this tinygraph has no stack op to join the samples; train with "
                             f"batch_size=1 as the tutorial does, or write {self.label_f} for batches (axis=-1)")
        return stack(outs, axis=0)


def _plain(value):
    return value.data if isinstance(value, Tensor) else value


class TutorialLoss:
    """The tutorial's `loss(y_true, y_pred)` with its `loss_prime(y_true, y_pred)`, as the Network's loss
    (pred, target) -> one-element Tensor, the mean over the samples of a batch."""

    def __init__(self, loss, loss_prime, derivative=None):
        self.__name__ = _name(loss)
        self.piece = Piece("Network.use", _name(loss), _name(loss_prime), lambda p, y: loss(y, p),
                           lambda p, out, g, y: loss_prime(y, p) * g, derivative)

    def __call__(self, pred, target):
        pred = as_tensor(pred)
        target = np.asarray(target.data if isinstance(target, Tensor) else target)
        return self.piece(pred, (target,), mean=True)


def layer_piece(layer, has_backward):
    """A tutorial-style layer (forward_propagation, optionally backward_propagation) as a Piece."""
    kind = type(layer).__name__
    arrays = sorted(k for k, v in vars(layer).items() if isinstance(v, np.ndarray) and k not in ("input", "output"))
    if arrays:
        warnings.warn(f"{layer.name}: tinygraph does not train the array attributes {', '.join(arrays)} of a "
                      f"forward_propagation layer (its backward_propagation gets learning_rate=0); make them "
                      f"parameters with self.add_parameter(name, array) and write forward(self, x, training) with "
                      f"tinygraph ops", UserWarning, stacklevel=4)

    def backward(x, y, g):
        layer.input, layer.output = x, y  # the sample being differentiated, whatever ran since
        return layer.backward_propagation(g, 0.0)

    return Piece(layer.name, f"{kind}.forward_propagation", f"{kind}.backward_propagation",
                 layer.forward_propagation, backward if has_backward else None, layer.derivative, layer.parameters)
