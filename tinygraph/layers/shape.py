"""The flatten layer."""
from .base import Layer


class FlattenLayer(Layer):
    """(N, ...) -> (N, prod(...))."""

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)
