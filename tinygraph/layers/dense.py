"""The fully connected layer."""
from .. import ops
from ..checks import is_int, positive_int
from .base import INITIALIZERS, Layer, check_init, initial_bias, initial_weights


class FCLayer(Layer):
    """y = flatten(x) @ weights + bias, with every axis but the batch axis flattened."""

    def __init__(self, output_size, init="glorot", seed=None):
        super().__init__(seed)
        if is_int(init) and is_int(output_size):  # another tutorial's FCLayer(input_size, output_size)
            raise TypeError(f"FCLayer({output_size}, {init}): the input size is inferred from the first batch: "
                            f"write FCLayer({init}) for {init} outputs (the second argument is init=, one of "
                            f"{', '.join(INITIALIZERS)})")
        self.output_size = positive_int("FCLayer", "output_size", output_size)
        self.init = check_init("FCLayer", init)
        self.weights = self.bias = None

    def build(self, input_shape, rng):
        fan_in = 1
        for n in input_shape:
            fan_in *= n
        self.weights = self.add_parameter(
            "weights", initial_weights(rng, self.init, (fan_in, self.output_size), fan_in, self.output_size)
        )
        self.bias = self.add_parameter("bias", initial_bias(rng, self.init, (self.output_size,)))

    def forward(self, x, training=False):
        if x.ndim != 2:
            x = x.reshape(x.shape[0], -1)
        return ops.linear(x, self.weights, self.bias)

    def get_config(self):
        return {"output_size": self.output_size, "init": self.init}
