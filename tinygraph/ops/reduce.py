"""Reductions over axes: sum, mean, max."""
import numpy as np

from .function import Function, apply


def normalize_axes(axis, ndim):
    """`axis` (None, an int or a tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} axes")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return tuple(sorted(out))


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
        (x,) = ctx.saved_tensors
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


def _checked_axes(name, x, axis):
    """normalize_axes, with an error that names the op and the input shape."""
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    if axis is None:
        return tuple(range(len(shape)))
    if type(axis) is int and -len(shape) <= axis < len(shape):  # the common case, without the generic checks
        return (axis % len(shape),)
    try:
        return normalize_axes(axis, len(shape))
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err} (input shape {shape})") from None


def _as_tensor(x):
    from ..tensor import Tensor

    return x if isinstance(x, Tensor) else Tensor(x)


def _reduce(op, x, axis, keepdims):
    return apply(op, x, axis=_checked_axes(op.name, x, axis), keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):
    """Sum over `axis`; gradient: g broadcast back over the summed axes."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`, composed as sum times 1/count."""
    x = _as_tensor(x)
    axes = _checked_axes("mean", x, axis)  # checked here so that an error names mean, not sum
    count = int(np.prod([np.shape(x)[ax] for ax in axes]))
    return sum(x, axes, keepdims) * (1.0 / count if count else float("nan"))  # the mean of nothing, as NumPy


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`; gradient: g to the first maximum of each group only."""
    x = _as_tensor(x)
    if x.size == 0:
        raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
    return _reduce(Max, x, axis, keepdims)
