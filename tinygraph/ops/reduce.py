"""Reductions over axes: sum, mean, max."""
import numpy as np

from .. import checks
from ..tensor import as_tensor
from .function import Function, apply


def _expand(grad, shape, axes, keepdims):
    """Put back the reduced axes as length-1 axes so that `grad` broadcasts against the input."""
    if keepdims:
        return grad
    kept = list(shape)
    for ax in axes:
        kept[ax] = 1
    return grad.reshape(kept)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape = x.shape
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape)


class Max(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save_for_backward(x)
        return np.max(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        axes = ctx.axis
        # Only the first maximum of each reduced group receives the gradient, as in torch.max(dim).
        moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
        groups = moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))
        first = np.argmax(groups, axis=-1)[..., None]
        g = _expand(grad, x.shape, axes, ctx.keepdims)
        g = np.moveaxis(g, axes, range(x.ndim - len(axes), x.ndim)).reshape(groups.shape[:-1] + (1,))
        out = np.zeros_like(groups)
        np.put_along_axis(out, first, g, axis=-1)
        out = out.reshape(moved.shape)
        return np.moveaxis(out, range(x.ndim - len(axes), x.ndim), axes)


def _reduce(op, x, axis, keepdims):
    x = as_tensor(x)
    return apply(op, x, axis=checks.axes(op.name, axis, x.shape), keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):
    """Sum over `axis`; gradient: g broadcast back over the summed axes."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`, composed as sum times 1/count."""
    x = as_tensor(x)
    axes = checks.axes("mean", axis, x.shape)  # checked here so that an error names mean, not sum
    count = int(np.prod([x.shape[ax] for ax in axes]))
    return sum(x, axes, keepdims) * (1.0 / count if count else float("nan"))  # the mean of nothing, as NumPy


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`; gradient: g to the first maximum of each group only."""
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
    return _reduce(Max, x, axis, keepdims)
