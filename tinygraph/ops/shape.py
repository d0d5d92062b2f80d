"""Ops that move elements without changing them: reshape, flatten, transpose, pad, indexing."""
import operator

import numpy as np

from .function import Function, apply


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        return np.transpose(grad, None if axes is None else np.argsort(axes))


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, value):
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        inner = tuple(slice(before, grad.shape[i] - after) for i, (before, after) in enumerate(ctx.pad_width))
        return grad[inner]


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.input_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.input_shape, dtype=grad.dtype)
        if _has_integer_arrays(ctx.index):
            # Repeated indices must add up, which plain assignment would not do.
            np.add.at(out, ctx.index, grad)
        else:
            out[ctx.index] = grad
        return out


def _has_integer_arrays(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def _normalize_index(index):
    """Tensors, lists and nested tuples inside an index become arrays of their own (copies), so the index can be
    stored for backward and told apart from basic indexing there, whatever the caller does to it afterwards."""
    from ..tensor import Tensor

    def one(p):
        if isinstance(p, Tensor):
            return p.data.copy()
        if isinstance(p, (list, tuple, np.ndarray)):
            return np.array(p)
        return p

    return tuple(one(p) for p in index) if isinstance(index, tuple) else one(index)


def _shape_tuple(shape):
    if type(shape) is tuple and all(type(n) is int for n in shape):  # the common case, checked cheaply
        return shape
    if np.ndim(shape) == 0:
        shape = (shape,)
    try:
        return tuple(operator.index(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"reshape: the shape must be a tuple of ints, got {shape!r}") from None


def reshape(x, shape):
    """The same elements in a new shape (one axis may be -1); gradient: g reshaped back."""
    return apply(Reshape, x, shape=_shape_tuple(shape))


def flatten(x, start_axis=0):
    """Merge the axes from `start_axis` on into one, composed as reshape."""
    ndim = len(x.shape)
    if not -ndim <= start_axis < max(ndim, 1):
        raise ValueError(f"flatten: start_axis {start_axis} is out of range for shape {tuple(x.shape)}")
    start = start_axis % max(ndim, 1)
    return reshape(x, tuple(x.shape[:start]) + (-1,))


def transpose(x, axes=None):
    """Permute the axes (reverse them when `axes` is None); gradient: g permuted back."""
    if axes is not None:
        ndim = len(x.shape)
        try:
            axes = tuple(operator.index(a) for a in axes)
        except TypeError:
            raise TypeError(f"transpose: axes must be ints, got {axes!r}") from None
        axes = tuple(a % ndim if -ndim <= a < ndim else a for a in axes)
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {ndim} axes of shape {tuple(x.shape)}")
    return apply(Transpose, x, axes=axes)


def pad(x, pad_width, value=0.0):
    """Pad with a constant (`pad_width` as in np.pad); gradient: the inner part of g."""
    ndim = len(x.shape)
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=object), (ndim, 2))
        widths = tuple((operator.index(a), operator.index(b)) for a, b in widths)
    except (TypeError, ValueError):
        raise ValueError(f"pad: pad_width must be an int, a (before, after) pair or one pair per axis, got "
                         f"{pad_width!r} for shape {tuple(x.shape)}") from None
    if any(a < 0 or b < 0 for a, b in widths):
        raise ValueError(f"pad: widths must not be negative, got {pad_width!r} for shape {tuple(x.shape)}")
    return apply(Pad, x, pad_width=widths, value=value)


def getitem(x, index):
    """x[index] with basic slicing or integer arrays; gradient: g scattered back, repeats summed."""
    return apply(GetItem, x, index=_normalize_index(index))
