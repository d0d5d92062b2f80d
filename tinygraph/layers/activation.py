"""The activation layer: one elementwise function (or softmax over the last axis)."""
from .. import ops
from .base import Layer

ACTIVATIONS = {
    "tanh": ops.tanh,
    "relu": ops.relu,
    "sigmoid": ops.sigmoid,
    "softmax": lambda x: ops.softmax(x, axis=-1),
    "log_softmax": lambda x: ops.log_softmax(x, axis=-1),
}


class ActivationLayer(Layer):
    """Applies `activation`: a name ("tanh", "relu", "sigmoid", "softmax", "log_softmax") or a function of a Tensor."""

    def __init__(self, activation):
        super().__init__()
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"ActivationLayer: unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)} "
                    f"or a function of a Tensor"
                )
            self.function = ACTIVATIONS[activation]
        elif callable(activation):
            self.function = activation
        else:
            raise TypeError(f"ActivationLayer: activation must be a name or a function, got {activation!r}")
        self.activation = activation

    def forward(self, x, training=False):
        return self.function(x)

    def get_config(self):
        if not isinstance(self.activation, str):
            raise ValueError(
                f"{self.name}: a custom activation function cannot be saved; use one of {', '.join(ACTIVATIONS)}"
            )
        return {"activation": self.activation}
