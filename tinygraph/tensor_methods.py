"""The Tensor methods that mirror tinygraph.<name> (x.exp() is tinygraph.exp(x)), and PyTorch's spellings of a few.

A mixin of Tensor, kept apart so that tensor.py holds the data model: it imports nothing of tinygraph when it loads
and reaches the ops through `ops`, which tinygraph.ops binds here when it loads (as it does in tensor.py).
"""
import numpy as np

from .tensor_protocol import accept_torch_keywords

ops = None  # the module tinygraph.ops, bound by it when it loads


class TensorMethods:
    """x.name(...) for each op tinygraph.name(x, ...)."""

    __slots__ = ()

    # ----- methods that mirror tinygraph.<name> ------------------------------------------------------------
    def add(self, other):
        return self + other

    def sub(self, other):
        return self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return ops.neg(self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return self @ other

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis=axis, keepdims=keepdims)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def tanh(self):
        return ops.tanh(self)

    def relu(self):
        return ops.relu(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def softmax(self, axis=-1):
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis=-1):
        return ops.log_softmax(self, axis=axis)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def flatten(self, start_axis=0):
        return ops.flatten(self, start_axis=start_axis)

    def transpose(self, *axes):
        """NumPy's: the new order of all the axes (reversed when none are given)."""
        if len(axes) == 2 and all(isinstance(a, int) for a in axes) and (
                self.data.ndim != 2 or (axes[0] % 2, axes[1] % 2) != (1, 0)):
            # PyTorch's x.transpose(a, b) swaps two axes; NumPy's would keep a 2-D tensor as it is.
            raise ValueError(f"transpose: x.transpose({axes[0]}, {axes[1]}) lists the new order of all the axes (in "
                             f"NumPy's spelling; shape {self.shape}), it does not swap two as PyTorch's does; write "
                             f"x.swapaxes({axes[0]}, {axes[1]}) to swap them, x.T to reverse every axis")
        return self.permute(*axes)

    @property
    def T(self):
        return ops.transpose(self, None)

    def pad(self, pad_width, value=0.0):
        return ops.pad(self, pad_width, value=value)

    def mse(self, target, reduction="mean"):
        return ops.mse(self, target, reduction)

    def cross_entropy(self, target, reduction="mean"):
        return ops.cross_entropy(self, target, reduction)

    def binary_cross_entropy(self, target, reduction="mean"):
        return ops.binary_cross_entropy(self, target, reduction)

    def binary_cross_entropy_with_logits(self, target, reduction="mean"):
        return ops.binary_cross_entropy_with_logits(self, target, reduction)

    # ----- copies, casts and PyTorch's spellings of shape methods --------------------------------------------
    def clone(self):
        """A copy that stays in the graph (gradient: g), as PyTorch's clone; detach() gives one cut from it."""
        return ops.clone(self)

    def astype(self, dtype):
        """A copy as `dtype`: float to float passes the gradient (cast back), integers and bools get none."""
        return ops.astype(self, dtype)

    # PyTorch's casts and product, which mean what tinygraph's spellings mean
    def float(self):
        """PyTorch's x.float(): x.astype(np.float32)."""
        return ops.astype(self, np.float32)

    def double(self):
        """PyTorch's x.double(): x.astype(np.float64)."""
        return ops.astype(self, np.float64)

    def long(self):
        """PyTorch's x.long(): x.astype(np.int64) (no gradient)."""
        return ops.astype(self, np.int64)

    def mm(self, other):
        """PyTorch's x.mm(y): x @ y."""
        return ops.matmul(self, other)

    def __abs__(self):
        return ops.abs(self)

    def t(self):
        """PyTorch's x.t(): the transpose of a tensor with at most 2 axes (x.T in NumPy's spelling)."""
        if self.data.ndim > 2:
            raise ValueError(f"t: transposes at most 2 axes, got shape {self.shape}; write x.T to reverse every "
                             f"axis, x.transpose(axes) to permute them or x.swapaxes(a, b) to swap two")
        return ops.transpose(self, None)

    def view(self, *shape):
        """PyTorch's x.view(shape): reshape (tinygraph never needs contiguous data)."""
        if len(shape) == 1 and isinstance(shape[0], (type, np.dtype, str)):
            raise TypeError(f"view: reinterpreting the bytes as {shape[0]} is not supported; write "
                            f"x.astype(dtype) to convert the values")
        return self.reshape(*shape)

    def unsqueeze(self, dim):
        """PyTorch's x.unsqueeze(d): a new axis of length 1 at d (x.expand_dims(d) in NumPy's spelling)."""
        return ops.expand_dims(self, dim)

    def permute(self, *dims):
        """PyTorch's x.permute(dims): x.transpose(dims) in NumPy's spelling."""
        if len(dims) == 1 and (dims[0] is None or isinstance(dims[0], (tuple, list))):
            dims = dims[0]  # x.permute((1, 0)) and x.transpose(None), as in NumPy
        return ops.transpose(self, tuple(dims) if dims else None)

    def correlate(self, w, b=None, stride=1, padding=0, dilation=1):
        return ops.correlate(self, w, b, stride=stride, padding=padding, dilation=dilation)

    def convolve(self, w, b=None, stride=1, padding=0, dilation=1):
        return ops.convolve(self, w, b, stride=stride, padding=padding, dilation=dilation)

    def maxpool(self, pool_shape=(2, 2), stride=None, padding=0):
        return ops.maxpool(self, pool_shape=pool_shape, stride=stride, padding=padding)

    def avgpool(self, pool_shape=(2, 2), stride=None, padding=0):
        return ops.avgpool(self, pool_shape=pool_shape, stride=stride, padding=padding)

    # ----- elementwise, reduction and shape methods, mirroring tinygraph.<name> ---------------------------------
    def abs(self):
        return ops.abs(self)

    def sqrt(self):
        return ops.sqrt(self)

    def square(self):
        return ops.square(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def log1p(self):
        return ops.log1p(self)

    def expm1(self):
        return ops.expm1(self)

    def sign(self):
        return ops.sign(self)

    def clip(self, min=None, max=None):
        return ops.clip(self, min, max)

    clamp = clip  # PyTorch's name

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return ops.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return ops.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return ops.argmin(self, axis=axis, keepdims=keepdims)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def flip(self, axis=None):
        return ops.flip(self, axis)

    def swapaxes(self, axis1, axis2):
        return ops.swapaxes(self, axis1, axis2)

    def moveaxis(self, source, destination):
        return ops.moveaxis(self, source, destination)

    def repeat(self, repeats, axis=None):
        """NumPy's repeat (each element `repeats` times); PyTorch's x.repeat(*sizes) is x.tile(sizes) here."""
        return ops.repeat(self, repeats, axis)

    def tile(self, reps, *more):
        return ops.tile(self, (reps, *more) if more else reps)  # x.tile((2, 3)) and x.tile(2, 3)


# Every method that takes axis= (reductions, softmax, joins ...) also takes PyTorch's dim= and keepdim=, or answers
# them with tinygraph's spelling where PyTorch means something else (max(dim=) returns indices too, var(dim=) is
# unbiased): one rule for the whole class, so methods added later get it too. Runs after the class body.
accept_torch_keywords(TensorMethods)
