"""The convolutional layer (a correlation, as in the tutorial and Keras)."""

from .. import ops
from .. import checks
from .base import Layer, check_init, initial_bias, initial_weights


class ConvolutionalLayer(Layer):
    """y = correlate(x, filters, bias, stride, padding, dilation) on channels-last batches (N, H, W, C)."""

    def __init__(self, filters_count, filter_shape, padding=(0, 0), stride=1, init="glorot", seed=None, dilation=1):
        super().__init__(seed)
        self.filters_count = checks.positive_int("ConvolutionalLayer", "filters_count", filters_count)
        self.filter_shape = checks.positive_pair("ConvolutionalLayer", "filter_shape", filter_shape)
        self.padding = checks.padding("ConvolutionalLayer", padding)
        self.stride = checks.positive_pair("ConvolutionalLayer", "stride", stride)
        self.dilation = checks.positive_pair("ConvolutionalLayer", "dilation", dilation)
        self.init = check_init("ConvolutionalLayer", init)
        self.filters = self.bias = None

    def build(self, input_shape, rng):
        checks.image_samples(self.name, input_shape)
        if self.padding != "same":  # refused before any filter is made (on a channels-first batch, one per column)
            pads = (0, 0) if self.padding == "valid" else self.padding
            checks.window_fits(self.name, "filters", self.filter_shape, input_shape, pads, self.dilation)
        kh, kw = self.filter_shape
        channels = input_shape[-1]
        shape = (self.filters_count, kh, kw, channels)
        self.filters = self.add_parameter(
            "filters", initial_weights(rng, self.init, shape, kh * kw * channels, kh * kw * self.filters_count)
        )
        self.bias = self.add_parameter("bias", initial_bias(rng, self.init, (self.filters_count,)))

    def forward(self, x, training=False):
        if x.ndim != 4:
            raise ValueError(f"{self.name}: expects a batch of shape (N, H, W, C), got {x.shape}")
        return ops.correlate(
            x, self.filters, self.bias, stride=self.stride, padding=self.padding, dilation=self.dilation
        )

    def get_config(self):
        return {
            "filters_count": self.filters_count,
            "filter_shape": list(self.filter_shape),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "stride": list(self.stride),
            "dilation": list(self.dilation),
            "init": self.init,
        }
