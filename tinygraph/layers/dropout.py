"""Inverted dropout."""
import numbers

import numpy as np

from .base import Layer, make_rng


class DropoutLayer(Layer):
    """In training, zero each input with probability `rate` and scale the rest by 1 / (1 - rate); identity otherwise.

    Give either `rate`, the fraction dropped (as in Keras), or `p`, the tutorial's probability to keep (p = 1 - rate).
    A bare number is refused, since the two spellings mean opposite things: DropoutLayer(rate=0.25) is
    DropoutLayer(p=0.75).
    """

    def __init__(self, *args, rate=None, p=None, seed=None):
        super().__init__(seed)
        if args:
            shown = args[0] if len(args) == 1 else args
            raise TypeError(f"DropoutLayer({shown!r}) is ambiguous: the tutorial's p is the probability to keep, "
                            f"tinygraph's rate the fraction dropped; write DropoutLayer(p={shown!r}) to keep that "
                            f"fraction or DropoutLayer(rate={shown!r}) to drop it")
        if (rate is None) == (p is None):
            raise TypeError("DropoutLayer: give one of rate= (the fraction dropped, as in Keras) or p= (the "
                            "tutorial's probability to keep), e.g. DropoutLayer(rate=0.25) or DropoutLayer(p=0.75)")
        if p is not None:
            if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
                raise ValueError(f"DropoutLayer: p (the probability to keep) must be in (0, 1], got {p!r}")
            rate = 1.0 - float(p)
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
        return x * (keep * np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype))  # bool times a 0-d float: x's dtype

    def get_config(self):
        return {"rate": self.rate}
