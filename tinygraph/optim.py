"""Optimizers: the only code that changes a parameter's data, always in place."""
import inspect
import numbers

import numpy as np

from . import checks
from .tensor import Tensor

KERAS_SPELLINGS = {
    "learning_rate": ("lr", "the optimizers take PyTorch's lr=; Network.fit takes the tutorial's learning_rate="),
    "epsilon": ("eps", "the optimizers take PyTorch's names"),
}


def check_lr(where, value):
    """A learning rate: a finite positive number (not a bool), as a float."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value)
            or value <= 0):
        raise ValueError(f"{where}: the learning rate must be a positive number, got {value!r}")
    return float(value)


class Optimizer:
    """Holds a list of leaf Tensors and changes their data in place on each `step()`.

    `_state_names` lists the attributes holding the optimizer's running state (per-parameter arrays, counters):
    `state()` copies them and `load_state()` puts a copy back, so that `Network.fit` can undo a diverged epoch.
    """

    _state_names = ()

    def __new__(cls, *args, **kwargs):
        # Keras's spellings are answered with tinygraph's (PyTorch's) before Python's "unexpected keyword argument".
        accepted = inspect.signature(cls.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            checks.keywords(cls.__name__, kwargs, KERAS_SPELLINGS, accepted)
        return super().__new__(cls)

    def __init__(self, parameters, lr):
        name = type(self).__name__
        self.parameters = _parameter_list(name, parameters)
        if not self.parameters:
            raise ValueError(f"{name}: no parameters to optimize")
        for p in self.parameters:
            if not p.requires_grad:
                raise ValueError(f"{name}: parameter {p.name or p.shape} does not require grad")
        self.lr = lr

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_lr(type(self).__name__, value)

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def _gradients(self):
        """(index, parameter, gradient array) for each parameter that has a gradient. A gradient that
        backward(create_graph=True) left as a Tensor gives its values: a step is never recorded."""
        for i, p in enumerate(self.parameters):
            if p.grad is not None:
                yield i, p, p.grad.data if isinstance(p.grad, Tensor) else p.grad

    def state(self):
        """A copy of the running state (momentum buffers, moving averages, step count)."""
        return {name: _copied(getattr(self, name)) for name in self._state_names}

    def load_state(self, state):
        """Put back a state from `state()` (copied again, so the same state can be loaded twice)."""
        for name, value in state.items():
            setattr(self, name, _copied(value))


def _parameter_list(name, parameters):
    """The parameters as a list of distinct leaf Tensors. One Tensor alone is refused: iterating over it would
    give its rows, new tensors that no backward ever fills, so `step()` would silently change nothing."""
    if isinstance(parameters, Tensor):
        raise TypeError(f"{name}: parameters must be a list of Tensors, got one Tensor of shape {parameters.shape}; "
                        f"write {name}([W], ...)")
    try:
        parameters = list(parameters)
    except TypeError:
        hint = " (call it: net.parameters())" if callable(parameters) else ""
        raise TypeError(f"{name}: parameters must be a list of Tensors, got {parameters!r}{hint}") from None
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameters must be Tensors, got {type(p).__name__} {p!r:.60}")
        if not p.is_leaf:
            raise ValueError(f"{name}: parameter {p.name or p.shape} is the result of {p.op}, not a leaf: its .grad "
                             f"is never filled; optimize the tensor it was computed from")
    if len({id(p) for p in parameters}) != len(parameters):
        raise ValueError(f"{name}: a parameter appears twice in the list, so each step would move it twice")
    return parameters


def _copied(value):
    """A copy of one piece of optimizer state: an array, a list of arrays (or None), or a number."""
    if isinstance(value, list):
        return [None if v is None else v.copy() for v in value]
    return value.copy() if isinstance(value, np.ndarray) else value


# Above this many values a parameter is updated a chunk at a time: a parameter-sized temporary for lr * g would be
# fresh memory each step, beyond what malloc keeps (allocator.py), faulted in page by page (measured 16 ms a step for
# a 95 MB layer; chunked: 7 ms).
_CHUNK = 1 << 18


def _subtract_scaled(p, scale, g):
    """p -= scale * g in place (scale in p's dtype, so a float32 update stays float32)."""
    if p.size <= _CHUNK or not (p.flags.c_contiguous and g.flags.c_contiguous and g.shape == p.shape):
        p -= scale * g
        return
    flat_p, flat_g = p.reshape(-1), g.reshape(-1)
    scaled = np.empty(_CHUNK, np.result_type(p, g))
    for start in range(0, p.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        piece = scaled[: len(flat_p[part])]
        np.multiply(flat_g[part], scale, out=piece)
        flat_p[part] -= piece


class SGD(Optimizer):
    """p -= lr * g, or with momentum: v = momentum * v + g; p -= lr * v."""

    _state_names = ("_velocity",)

    def __init__(self, parameters, lr=0.01, momentum=0.0):
        super().__init__(parameters, lr)
        momentum = checks.finite_number("SGD", "momentum", momentum)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self._velocity = [None] * len(self.parameters)

    def step(self):
        for i, p, g in self._gradients():
            if self.momentum:
                v = self._velocity[i]
                if v is None:
                    v = self._velocity[i] = np.array(g, dtype=p.data.dtype)
                else:
                    v *= self.momentum
                    v += g
                g = v
            _subtract_scaled(p.data, p.data.dtype.type(self.lr), g)
            p._note_write()


class Adam(Optimizer):
    """Adam (Kingma and Ba): moving averages of g and g**2, bias-corrected, scale each step."""

    _state_names = ("_m", "_v", "_t")

    def __init__(self, parameters, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        if np.ndim(betas) != 1 or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        beta1, beta2 = (checks.finite_number("Adam", "betas", beta) for beta in betas)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas!r}")
        eps = checks.finite_number("Adam", "eps", eps)
        if eps <= 0:
            raise ValueError(f"Adam: eps must be positive, got {eps!r}")
        self.betas, self.eps = (float(beta1), float(beta2)), float(eps)
        self._m = [np.zeros_like(p.data) for p in self.parameters]
        self._v = [np.zeros_like(p.data) for p in self.parameters]
        self._t = 0

    def step(self):
        self._t += 1
        beta1, beta2 = self.betas
        # The same arithmetic as torch.optim.Adam: lr * m_hat / (sqrt(v_hat) + eps).
        step_size = self.lr / (1 - beta1**self._t)
        root_correction = np.sqrt(1 - beta2**self._t)
        for i, p, g in self._gradients():
            m, v = self._m[i], self._v[i]
            dtype = p.data.dtype.type
            m *= dtype(beta1)
            m += dtype(1 - beta1) * g
            v *= dtype(beta2)
            v += dtype(1 - beta2) * (g * g)
            denominator = np.sqrt(v)
            denominator *= dtype(1 / root_correction)
            denominator += dtype(self.eps)
            # In the scratch array, in torch's order: lr * (m / denominator), with no further temporaries.
            np.divide(m, denominator, out=denominator)
            denominator *= dtype(step_size)
            p.data -= denominator
            p._note_write()


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(spec, parameters, lr=None):
    """An optimizer from a name ("sgd", "adam"), a class, or None (plain SGD)."""
    if spec is None:
        spec = "sgd"
    if isinstance(spec, str):
        if spec.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {spec!r}; use one of {', '.join(OPTIMIZERS)} or an Optimizer")
        spec = OPTIMIZERS[spec.lower()]
    if isinstance(spec, type) and issubclass(spec, Optimizer):
        return spec(parameters) if lr is None else spec(parameters, lr=lr)
    raise TypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}) or an Optimizer class, got {spec!r}")
