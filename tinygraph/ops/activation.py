"""Elementwise functions and the (log-)softmax over an axis."""
import numpy as np

from .. import checks, parallel
from . import kernels
from ..tensor import Tensor
from .function import Function, apply


def _shifted(x, axis):
    """x minus its max over `axis`, so that no exp overflows (an empty x has no max and needs no shift)."""
    return x - x.max(axis=axis, keepdims=True) if x.size else x * 1.0


def log_softmax_array(x, axis):
    """x - logsumexp(x) over `axis` on an ndarray, shifted by the max so that no exp overflows."""
    shifted = _shifted(x, axis)
    if not x.size:  # nothing to normalise (and the log of an empty axis' sum would warn)
        return shifted
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad * y


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad / x


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad * (1 - y * y)


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        if not ctx.needs_input_grad:
            return np.maximum(x, 0)
        if x.size >= _COMPILED_RELU and x.flags.c_contiguous and kernels.compiled_for(x):
            out, positive = _relu_positive(x)
        else:
            out, positive = np.maximum(x, 0), x > 0
        ctx.save_for_backward(positive)
        return out

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_arrays
        if (type(grad) is np.ndarray and grad.size >= _COMPILED_RELU and grad.flags.c_contiguous
                and kernels.compiled_for(grad)):
            return _relu_gradient(grad, positive)
        return grad * positive


# From this size on the compiled passes (output and mask at once; the gradient times the mask), on tinygraph's
# threads, beat NumPy's (measured 2x on one thread at 2.4M float32 values; slower below a few thousand, where the
# call costs dominate).
_COMPILED_RELU = 1 << 14
_RELU_CHUNK = 1 << 18


def _relu_positive(x):
    """np.maximum(x, 0) and the mask x > 0 of a C-contiguous float array, in one compiled pass a chunk at a time."""
    out, positive = np.empty_like(x), np.empty(x.shape, dtype=bool)
    flat, flat_out, flat_positive = x.reshape(-1), out.reshape(-1), positive.reshape(-1).view(np.uint8)
    chunks = parallel.split(x.size, _RELU_CHUNK)
    parallel.run_blocks(
        lambda k: kernels.relu_positive(flat[chunks[k]], flat_out[chunks[k]], flat_positive[chunks[k]]),
        len(chunks), parallel.ELEMENT_WORK * x.size)
    return out, positive


def _relu_gradient(grad, positive):
    """grad * positive for a C-contiguous float gradient, in one compiled pass a chunk at a time."""
    out = np.empty_like(grad)
    flat, flat_out, flat_positive = grad.reshape(-1), out.reshape(-1), positive.reshape(-1).view(np.uint8)
    chunks = parallel.split(grad.size, _RELU_CHUNK)
    parallel.run_blocks(
        lambda k: kernels.relu_gradient(flat[chunks[k]], flat_positive[chunks[k]], flat_out[chunks[k]]),
        len(chunks), parallel.ELEMENT_WORK * grad.size)
    return out


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        y = _sigmoid_array(x)
        if ctx.needs_input_grad:
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad * (y * (1 - y))


def sigmoid_of(z):
    """1 / (1 + e**-z) of an array, or of a Tensor as the recorded sigmoid op: the one formula of the fused ops'
    backward (softplus, binary_cross_entropy_with_logits), first order and create_graph alike."""
    return apply(Sigmoid, z) if isinstance(z, Tensor) else _sigmoid_array(z)


def _sigmoid_array(z):
    # exp of -|z| only: no overflow, and no cancellation for large negative z (as 1 + tanh(z/2) would have).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1, e) / (1 + e)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(_shifted(x, axis))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        gy = grad * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        y = log_softmax_array(x, axis)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad - np.exp(y) * grad.sum(axis=ctx.axis, keepdims=True)


def exp(x):
    """e**x; gradient: g * e**x."""
    return apply(Exp, checks.floating(x))


def log(x):
    """Natural logarithm; gradient: g / x."""
    return apply(Log, checks.floating(x))


def tanh(x):
    """tanh(x); gradient: g * (1 - tanh(x)**2)."""
    return apply(Tanh, checks.floating(x))


def relu(x):
    """max(x, 0); gradient: g where x > 0, else 0."""
    return apply(Relu, x)


def sigmoid(x):
    """1 / (1 + e**-x); gradient: g * s * (1 - s)."""
    return apply(Sigmoid, checks.floating(x))


def softmax(x, axis=-1):
    """e**x / sum(e**x) over `axis`, shifted by the max for stability; gradient: s * (g - sum(g * s))."""
    x = checks.floating(x)
    return apply(Softmax, x, axis=checks.one_axis("softmax", axis, x.shape))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis` (stable); gradient: g - softmax(x) * sum(g)."""
    x = checks.floating(x)
    return apply(LogSoftmax, x, axis=checks.one_axis("log_softmax", axis, x.shape))
