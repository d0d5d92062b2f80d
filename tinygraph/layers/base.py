"""The Layer base class: parameters built lazily on the first input, and the weight initialisers."""
import inspect

import numpy as np

from ..tensor import Tensor

INITIALIZERS = ("glorot", "he", "uniform")


def make_rng(seed):
    """One source of randomness from an int seed, a Generator, or None (drawn from NumPy's global generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")
    if seed is None:
        # From NumPy's global generator, so that np.random.seed(n) makes a tutorial-style script repeatable.
        seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    return np.random.default_rng(seed)


def initial_weights(rng, init, shape, fan_in, fan_out, dtype=np.float32):
    """Glorot-uniform (Keras' default), He-uniform, or the tutorial's uniform(-0.5, 0.5)."""
    if init == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
    elif init == "he":
        limit = np.sqrt(6.0 / fan_in)
    elif init == "uniform":
        limit = 0.5
    else:
        raise ValueError(f"unknown init {init!r}; use one of {', '.join(INITIALIZERS)}")
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def initial_bias(rng, init, shape, dtype=np.float32):
    """Zeros for the scaled initialisers (as Keras does); the tutorial draws its biases like its weights."""
    if init == "uniform":
        return rng.uniform(-0.5, 0.5, size=shape).astype(dtype)
    return np.zeros(shape, dtype=dtype)


def check_init(layer, init):
    if init not in INITIALIZERS:
        raise ValueError(f"{layer}: unknown init {init!r}; use one of {', '.join(INITIALIZERS)}")
    return init


class Layer:
    """A step of a network: holds parameters (Tensors with requires_grad) and composes ops in `forward`.

    A subclass in the tutorial's style writes `forward_propagation(self, input)` in NumPy for one sample (no batch
    axis) instead of `forward`; tinygraph records it as ops through the NumPy protocol. Its
    `backward_propagation(self, output_error, learning_rate)`, if written, is checked once against the engine's
    derivative and used only with `derivative="supplied"` (on the layer or in `Network.use`) or when the forward
    cannot be differentiated; it sees `self.input`/`self.output` of the sample it differentiates, and gets a
    learning rate of 0: parameters are the optimizer's to change.

    A layer takes batches: the first axis always counts samples, so one sample `x` is passed as `x[None]`. An
    unbuilt layer cannot tell a lone (28, 28, 1) image from 28 samples of shape (28, 1) (nor can Keras or PyTorch);
    once built, it refuses samples of another shape, naming both.
    """

    network_derivative = None  # the network's use(..., derivative=) choice, set by Network.fit
    derivative = None  # a tutorial-style subclass may set "engine" or "supplied" for itself

    def __new__(cls, *args, **kwargs):
        # The base state exists even when a tutorial-style subclass's __init__ does not call super().__init__().
        self = super().__new__(cls)
        self.name = cls.__name__
        self.input_shape = None
        self.built = False
        self._seed = None
        self._params = {}
        self._tutorial_piece = None
        return self

    def __init__(self, seed=None):
        self._seed = seed  # the rest of the base state is set by __new__

    # ----- to override -------------------------------------------------------------------------------------
    def build(self, input_shape, rng):
        """Create the parameters for one sample of shape `input_shape` (no batch axis)."""

    def forward(self, x, training=False):
        if type(self).forward_propagation is Layer.forward_propagation:
            raise NotImplementedError(f"{self.name}: a layer needs forward(self, x, training=False) composing tinygraph "
                                      f"ops on a batch, or the tutorial's forward_propagation(self, input) in NumPy")
        if self._tutorial_piece is None:
            from ..tutorial import layer_piece

            self._tutorial_piece = layer_piece(self, type(self).backward_propagation is not Layer.backward_propagation)
        return self._tutorial_piece(x, network_derivative=self.network_derivative)

    def forward_propagation(self, input):
        """The tutorial's forward: NumPy code of one sample; override it or `forward`."""
        raise NotImplementedError

    def backward_propagation(self, output_error, learning_rate):
        """The tutorial's hand-written backward (optional): the input error for `output_error`."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments, JSON-serialisable, so that `type(self)(**config)` makes the same layer."""
        return {}

    # ----- shared behaviour --------------------------------------------------------------------------------
    def __call__(self, x, training=False, rng=None):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim < 1:
            raise ValueError(f"{self.name}: expected a batch of samples, got a scalar")
        if not self.built:
            self.input_shape = tuple(x.shape[1:])
            self.build(self.input_shape, make_rng(self._seed) if self._seed is not None or rng is None else rng)
            self.built = True
        elif tuple(x.shape[1:]) != self.input_shape:
            lone = tuple(x.shape) == self.input_shape
            raise ValueError(
                f"{self.name}: built for samples of shape {self.input_shape}, got a batch of shape {x.shape}, i.e. "
                f"{x.shape[0]} samples of shape {x.shape[1:]}"
                + ("; for one sample without its batch axis, pass x[None] (a batch of one)" if lone else "")
            )
        return self.forward(x, training)

    def add_parameter(self, key, array):
        tensor = Tensor(array, requires_grad=True, name=f"{self.name}.{key}")
        self._params[key] = tensor
        return tensor

    def parameters(self):
        return list(self._params.values())

    def rename(self, name):
        self.name = name
        for key, tensor in self._params.items():
            tensor.name = f"{name}.{key}"

    def output_shape(self, input_shape):
        """The shape of one output sample for one input sample of `input_shape` (computed on zeros, no graph)."""
        from ..grad_mode import no_grad

        with no_grad():
            return tuple(self(np.zeros((1,) + tuple(input_shape), dtype=np.float32)).shape[1:])

    def __repr__(self):
        """The constructor call that makes this layer, arguments left at their defaults left out."""
        try:
            config = self.get_config()
        except ValueError:  # a layer that cannot be saved still prints
            return f"{type(self).__name__}(...)"
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        shown = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items()
                         if k not in defaults or (v != defaults[k] and v != (defaults[k],) * 2))
        return f"{type(self).__name__}({args})"
