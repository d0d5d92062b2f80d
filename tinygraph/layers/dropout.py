"""Inverted dropout."""
import numbers

import numpy as np

from .base import Layer, make_rng


class DropoutLayer(Layer):
    """In training, zero each input with probability `rate` and scale the rest by 1 / (1 - rate); identity otherwise.

    `rate` is the fraction dropped, as in Keras; the tutorial's keep-probability is `p = 1 - rate`.
    """

    def __init__(self, rate, seed=None):
        super().__init__(seed)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"DropoutLayer: rate must be in [0, 1), got {rate!r} (the tutorial's p is 1 - rate)")
        self.rate = float(rate)
        self._rng = None

    def build(self, input_shape, rng):
        self._rng = rng

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x
        if self._rng is None:
            self._rng = make_rng(self._seed)
        keep = self._rng.random(x.shape) >= self.rate
        return x * (keep * np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype)).astype(x.dtype)

    def get_config(self):
        return {"rate": self.rate}
