"""tinygraph: a small, fast, exactly correct autograd engine for NumPy."""
from .tensor import Tensor, as_tensor
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .engine import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (
    add, avgpool, convolve, correlate, cross_entropy, div, exp, flatten, getitem, linear, log, log_softmax, matmul,
    max, maxpool, mean, mse, mul, neg, pad, pow, relu, reshape, sigmoid, softmax, sub, sum, tanh, transpose,
)
from . import datasets, layers
from .network import Network
from .optim import SGD, Adam
from .viz import draw_graph, save_graph

__version__ = "0.1.0"

__all__ = [
    "Tensor", "as_tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "gradcheck", "gradgradcheck",
    "GradcheckError",
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear", "sum", "mean", "max",
    "exp", "log", "tanh", "relu", "sigmoid", "softmax", "log_softmax",
    "reshape", "flatten", "transpose", "pad", "getitem", "mse", "cross_entropy",
    "correlate", "convolve", "maxpool", "avgpool",
    "Network", "SGD", "Adam", "draw_graph", "save_graph", "datasets", "layers",
]
