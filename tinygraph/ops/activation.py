"""Elementwise functions and the (log-)softmax over an axis."""
import numpy as np

from .function import Function, apply
from .reduce import normalize_axes


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        if ctx.needs_input_grad:
            ctx.save_for_backward(x > 0)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return grad * positive


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # exp of -|x| only: no overflow, and no cancellation for large negative x (as 1 + tanh(x/2) would have).
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1, e) / (1 + e)
        if ctx.needs_input_grad:
            ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y * (1 - y))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        gy = grad * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - np.exp(y) * grad.sum(axis=ctx.axis, keepdims=True)


def exp(x):
    """e**x; gradient: g * e**x."""
    return apply(Exp, x)


def log(x):
    """Natural logarithm; gradient: g / x."""
    return apply(Log, x)


def tanh(x):
    """tanh(x); gradient: g * (1 - tanh(x)**2)."""
    return apply(Tanh, x)


def relu(x):
    """max(x, 0); gradient: g where x > 0, else 0."""
    return apply(Relu, x)


def sigmoid(x):
    """1 / (1 + e**-x); gradient: g * s * (1 - s)."""
    return apply(Sigmoid, x)


def _single_axis(name, x, axis):
    try:
        (ax,) = normalize_axes(axis, np.ndim(x.data if hasattr(x, "data") else x))
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err} (input shape {np.shape(x.data if hasattr(x, 'data') else x)})") from None
    return ax


def softmax(x, axis=-1):
    """e**x / sum(e**x) over `axis`, shifted by the max for stability; gradient: s * (g - sum(g * s))."""
    if axis is None or np.ndim(axis) != 0:
        raise TypeError(f"softmax: axis must be one int, got {axis!r}")
    return apply(Softmax, x, axis=_single_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis` (stable); gradient: g - softmax(x) * sum(g)."""
    if axis is None or np.ndim(axis) != 0:
        raise TypeError(f"log_softmax: axis must be one int, got {axis!r}")
    return apply(LogSoftmax, x, axis=_single_axis("log_softmax", x, axis))
