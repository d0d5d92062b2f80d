"""Max and average pooling layers."""
from .. import checks, ops
from ..checks import positive_pair
from ..ops.pool import pool_padding
from .base import Layer


class _PoolingLayer(Layer):
    pool = None

    def __init__(self, pool_shape=(2, 2), stride=None, padding=0):
        super().__init__()
        self.pool_shape = positive_pair(type(self).__name__, "pool_shape", pool_shape)
        # stride None is the pool size, as in PyTorch and Keras.
        self.stride = self.pool_shape if stride is None else positive_pair(type(self).__name__, "stride", stride)
        self.padding = pool_padding(type(self).__name__, padding, self.pool_shape)

    def build(self, input_shape, rng):
        checks.image_samples(self.name, input_shape)
        checks.window_fits(self.name, "window", self.pool_shape, input_shape, self.padding)

    def forward(self, x, training=False):
        return type(self).pool(x, pool_shape=self.pool_shape, stride=self.stride, padding=self.padding)

    def get_config(self):
        return {"pool_shape": list(self.pool_shape), "stride": list(self.stride), "padding": list(self.padding)}


class MaxPoolingLayer(_PoolingLayer):
    """The maximum of each window; the gradient goes to one element per window."""

    pool = staticmethod(ops.maxpool)


class AveragePoolingLayer(_PoolingLayer):
    """The mean of each window."""

    pool = staticmethod(ops.avgpool)
