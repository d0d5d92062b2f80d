"""tinygraph: a small, fast, exactly correct autograd engine for NumPy."""
from .tensor import Tensor, as_tensor
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .grad_mode import detect_anomaly, is_anomaly_enabled  # issue 14: anomaly mode
from .anomaly import AnomalyError
from .engine import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (
    add, avgpool, convolve, correlate, cross_entropy, div, exp, flatten, getitem, linear, log, log_softmax, matmul,
    max, maxpool, mean, mse, mul, neg, pad, pow, relu, reshape, sigmoid, softmax, sub, sum, tanh, transpose,
)
from .ops import conv_transpose
from .ops import astype, binary_cross_entropy, binary_cross_entropy_with_logits, clone  # issue 11's losses, casts
from .ops import (  # issue 11's elementwise, reduction and shape ops
    abs, argmax, argmin, broadcast_to, clip, concatenate, cos, elu, expand_dims, expm1, flip, gelu, leaky_relu,
    log1p, logsumexp, maximum, min, minimum, moveaxis, prod, repeat, sign, sin, softplus, split, sqrt, square,
    squeeze, stack, std, swapaxes, tile, var, where,
)
from . import numpy_protocol  # Tensor's NumPy protocols: np.tanh(t), np.sum(t), ndarray - t record ops
from . import datasets, layers
from .network import Network, NeuralNetwork
from .derivative_check import DerivativeWarning
from .optim import SGD, Adam
from .viz import draw_graph, save_graph
from .explain import explain_backward

__version__ = "0.1.0"

__all__ = [
    "Tensor", "as_tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "gradcheck", "gradgradcheck",
    "GradcheckError", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear", "sum", "mean", "max",
    "exp", "log", "tanh", "relu", "sigmoid", "softmax", "log_softmax",
    "reshape", "flatten", "transpose", "pad", "getitem", "mse", "cross_entropy",
    "correlate", "convolve", "conv_transpose", "maxpool", "avgpool",
    "abs", "sqrt", "square", "sin", "cos", "log1p", "expm1", "sign", "clip", "maximum", "minimum", "where",
    "leaky_relu", "elu", "softplus", "gelu", "min", "prod", "var", "std", "logsumexp", "argmax", "argmin",
    "squeeze", "expand_dims", "swapaxes", "moveaxis", "flip", "broadcast_to", "repeat", "tile",
    "concatenate", "stack", "split", "clone", "astype", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "Network", "NeuralNetwork", "DerivativeWarning", "SGD", "Adam", "draw_graph", "save_graph", "datasets", "layers",
    "explain_backward",
]


def __getattr__(name):
    # `tinygraph.plot` loads matplotlib, so it is imported on first use rather than with the package.
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'tinygraph' has no attribute {name!r}")
