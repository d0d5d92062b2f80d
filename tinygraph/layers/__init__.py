"""The tutorial's layers, each composing Tensor ops; none has a backward of its own."""
from .activation import ActivationLayer
from .base import Layer
from .conv import ConvolutionalLayer
from .dense import FCLayer
from .dropout import DropoutLayer
from .pool import AveragePoolingLayer, MaxPoolingLayer
from .shape import FlattenLayer

LAYER_TYPES = {
    cls.__name__: cls
    for cls in (
        FCLayer, ActivationLayer, ConvolutionalLayer, MaxPoolingLayer, AveragePoolingLayer, FlattenLayer, DropoutLayer
    )
}

__all__ = ["Layer", *LAYER_TYPES, "LAYER_TYPES"]
