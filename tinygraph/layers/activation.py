"""The activation layer: one elementwise function (or softmax over the last axis)."""
from .. import ops
from ..derivative_check import derivative_option
from ..tutorial import Piece
from .base import Layer

ACTIVATIONS = {
    "tanh": ops.tanh,
    "relu": ops.relu,
    "sigmoid": ops.sigmoid,
    "softmax": lambda x: ops.softmax(x, axis=-1),
    "log_softmax": lambda x: ops.log_softmax(x, axis=-1),
}


class ActivationLayer(Layer):
    """Applies `activation`: a name ("tanh", "relu", "sigmoid", "softmax", "log_softmax") or a function of a Tensor.

    The tutorial's form, `ActivationLayer(f, f_prime)`: `f` is NumPy code of one sample (no batch axis) and
    `f_prime(input, output)` its hand-written derivative, multiplied elementwise by the output error. tinygraph
    differentiates `f` itself through the NumPy protocol, checks `f_prime` against it once (a DerivativeWarning names
    the worst element if they disagree) and trains with the exact derivative; `derivative="supplied"` trains with
    `f_prime` instead, as the tutorial does. Without `derivative=`, the network's `use(..., derivative=)` decides.
    """

    def __init__(self, activation, activation_prime=None, derivative=None):
        super().__init__()
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"ActivationLayer: unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)} "
                    f"or a function of a Tensor"
                )
            if activation_prime is not None:
                raise ValueError(f"ActivationLayer: a derivative goes with a function of your own; tinygraph knows "
                                 f"the derivative of {activation!r}: write ActivationLayer({activation!r})")
            self.function = ACTIVATIONS[activation]
        elif callable(activation):
            self.function = activation
        else:
            raise TypeError(f"ActivationLayer: activation must be a name or a function, got {activation!r}")
        if activation_prime is not None and not callable(activation_prime):
            raise TypeError(f"ActivationLayer: activation_prime must be a function (input, output) -> derivative, "
                            f"got {activation_prime!r}")
        if derivative is not None and activation_prime is None:
            raise ValueError("ActivationLayer: derivative= chooses between the engine's derivative and the one you "
                             "supply; supply it as ActivationLayer(f, f_prime, derivative=...)")
        self.activation = activation
        self.activation_prime = activation_prime
        self.derivative = derivative_option("ActivationLayer", derivative)
        self._piece = None
        if activation_prime is not None:
            label = getattr(activation, "__name__", "f")
            self._piece = Piece("ActivationLayer", label, getattr(activation_prime, "__name__", f"{label}_prime"),
                                activation, lambda x, y, g: activation_prime(x, y) * g, derivative)

    def forward(self, x, training=False):
        if self._piece is None:
            return self.function(x)
        return self._piece(x, network_derivative=self.network_derivative)

    def __repr__(self):
        if isinstance(self.activation, str):
            return f"ActivationLayer({self.activation!r})"
        functions = (f for f in (self.activation, self.activation_prime) if f is not None)
        derivative = "" if self.derivative is None else f", derivative={self.derivative!r}"
        return f"ActivationLayer({', '.join(getattr(f, '__name__', repr(f)) for f in functions)}{derivative})"

    def get_config(self):
        if not isinstance(self.activation, str):
            raise ValueError(
                f"{self.name}: a custom activation function cannot be saved; use one of {', '.join(ACTIVATIONS)}"
            )
        return {"activation": self.activation}
