"""Ops that move elements without changing them: reshape, flatten, transpose, pad, indexing."""
import operator

import numpy as np

from ..tensor import Tensor, as_tensor
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


def _check_reshape(x, shape):
    known = [n for n in shape if n != -1]
    size = int(np.prod(known))
    fits = size == x.size if len(known) == len(shape) else (len(shape) - len(known) == 1 and size and x.size % size == 0)
    if not fits or any(n < -1 for n in shape):
        raise ValueError(f"reshape: cannot reshape {x.size} elements into shape {shape} (input shape {x.shape})")


def reshape(x, shape):
    """The same elements in a new shape (one axis may be -1); gradient: g reshaped back."""
    x, shape = as_tensor(x), _shape_tuple(shape)
    if shape != x.shape:
        _check_reshape(x, shape)
    return apply(Reshape, x, shape=shape)


def flatten(x, start_axis=0):
    """Merge the axes from `start_axis` on into one, composed as reshape."""
    x = as_tensor(x)
    ndim = x.ndim
    if not -ndim <= start_axis < max(ndim, 1):
        raise ValueError(f"flatten: start_axis {start_axis} is out of range for shape {tuple(x.shape)}")
    start = start_axis % max(ndim, 1)
    return reshape(x, tuple(x.shape[:start]) + (-1,))


def transpose(x, axes=None):
    """Permute the axes (reverse them when `axes` is None); gradient: g permuted back."""
    x = as_tensor(x)
    if axes is not None:
        ndim = x.ndim
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
    x = as_tensor(x)
    ndim = x.ndim
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
    x, index = as_tensor(x), _normalize_index(index)
    _check_index(x.shape, index)
    return apply(GetItem, x, index=index)


def _check_index(shape, index):
    """An IndexError naming getitem and the shape for an index NumPy would refuse, found on a stand-in of the
    same shape with no data (a zero-strided view), so that forward never fails halfway."""
    try:
        np.broadcast_to(_PROBE, shape)[index]
    except IndexError as err:
        raise IndexError(f"getitem: {err} (input shape {shape})") from None


_PROBE = np.zeros((), dtype=bool)
