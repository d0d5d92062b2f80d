"""Every op, as a function of Tensors (or arrays)."""
import sys

from .. import tensor as _tensor
from .. import tensor_methods as _tensor_methods
from .. import tensor_protocol as _tensor_protocol
from .activation import exp, log, log_softmax, relu, sigmoid, softmax, tanh
from .arithmetic import add, astype, clone, div, matmul, mul, neg, pow, sub
from .conv import convolve, correlate
from .conv_transpose import conv_transpose
from .elementwise import abs, clip, cos, expm1, log1p, maximum, minimum, sign, sin, sqrt, square, where
from .join import concatenate, split, stack
from .linear import linear
from .loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse
from .pool import avgpool, maxpool
from .rectifiers import elu, gelu, leaky_relu, softplus
from .reduce import argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var
from .replicate import broadcast_to, repeat, tile
from .shape import expand_dims, flatten, flip, getitem, moveaxis, pad, reshape, squeeze, swapaxes, transpose

# Every public op (what `from tinygraph.ops import *` and the docs list): add a new op here and in docs/ops.md.
__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear", "clone", "astype",
    "abs", "sqrt", "square", "sin", "cos", "log1p", "expm1", "sign", "clip", "maximum", "minimum", "where",
    "exp", "log", "tanh", "relu", "sigmoid", "softmax", "log_softmax", "leaky_relu", "elu", "softplus", "gelu",
    "sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "argmax", "argmin",
    "reshape", "flatten", "squeeze", "expand_dims", "transpose", "swapaxes", "moveaxis", "flip", "pad", "getitem",
    "broadcast_to", "repeat", "tile", "concatenate", "stack", "split",
    "mse", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "correlate", "convolve", "conv_transpose", "maxpool", "avgpool",
]

# tinygraph.sum(x, dim=1) as x.sum(dim=1): every op that takes axis= also takes PyTorch's dim= and keepdim= (or refuses
# them with tinygraph's spelling where PyTorch means something else), as Tensor's methods do.
for _name in __all__:
    if _tensor_protocol.takes_axis(globals()[_name]):
        globals()[_name] = _tensor_protocol.with_torch_keywords(globals()[_name])

# Tensor's operators and methods call the ops through these bindings (the two modules cannot import the ops, which
# import them).
_tensor.ops = _tensor_methods.ops = sys.modules[__name__]
