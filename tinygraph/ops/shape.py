"""Ops that move elements without changing them: reshape, flatten, squeeze, expand_dims, transpose, swapaxes,
moveaxis, flip, pad, indexing. (Joins are in join.py, copies in replicate.py.)"""
import numbers
import operator

import numpy as np

from .. import checks
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


class Flip(Function):
    @staticmethod
    def forward(ctx, x, axis):
        return np.flip(x, axis)

    @staticmethod
    def backward(ctx, grad):
        # The same reversal as an index, which a recorded (create_graph) backward can run on a Tensor too.
        return grad[tuple(slice(None, None, -1) if ax in ctx.axis else slice(None) for ax in range(grad.ndim))]


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
        return scatter_array(grad, ctx.index, ctx.input_shape)

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """The scatter as a recorded op (create_graph), whose own gradient is this getitem again."""
        return apply(Scatter, grad, index=ctx.index, shape=ctx.input_shape)


class Scatter(Function):
    """The adjoint of getitem (its gradient, recorded under create_graph): zeros of `shape` with g added at
    `index`, repeats summed; gradient: g[index]."""

    @staticmethod
    def forward(ctx, g, index, shape):
        return scatter_array(g, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]  # a getitem op when grad is a Tensor (create_graph)


def scatter_array(grad, index, shape):
    """Zeros of `shape` with `grad` added at `index` (an index normalised by getitem)."""
    out = np.zeros(shape, dtype=grad.dtype)
    if _has_integer_arrays(index):
        # Repeated indices must add up, which plain assignment would not do.
        np.add.at(out, index, grad)
    else:
        out[index] = grad
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


def shape_tuple(shape, where="reshape"):
    """`shape` (an int or a sequence of ints) as a tuple of ints, or a TypeError naming `where`."""
    if type(shape) is tuple and all(type(n) is int for n in shape):  # the common case, checked cheaply
        return shape
    if np.ndim(shape) == 0:
        shape = (shape,)
    try:
        return tuple(operator.index(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: the shape must be a tuple of ints, got {shape!r}") from None


def _check_reshape(x, shape):
    known = [n for n in shape if n != -1]
    size = int(np.prod(known))
    fits = size == x.size if len(known) == len(shape) else (len(shape) - len(known) == 1 and size and x.size % size == 0)
    if not fits or any(n < -1 for n in shape):
        raise ValueError(f"reshape: cannot reshape {x.size} elements into shape {shape} (input shape {x.shape})")


def reshape(x, shape):
    """The same elements in a new shape (one axis may be -1); gradient: g reshaped back."""
    x, shape = as_tensor(x), shape_tuple(shape)
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


def squeeze(x, axis=None):
    """Remove axes of length 1 (every one when axis is None), composed as reshape."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = checks.axes("squeeze", axis, x.shape)
        for ax in axes:
            if x.shape[ax] != 1:
                raise ValueError(f"squeeze: axis {ax} has length {x.shape[ax]}, not 1 (input shape {x.shape}); "
                                 f"only axes of length 1 can be removed")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis):
    """Insert axes of length 1 at the positions `axis` of the result (an int or a tuple), composed as reshape."""
    x = as_tensor(x)
    ndim = x.ndim + (1 if np.ndim(axis) == 0 else len(axis))
    axes = checks.ordered_axes("expand_dims", axis, x.shape, ndim=ndim)
    lengths = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(lengths) for i in range(ndim)))


def swapaxes(x, axis1, axis2):
    """Exchange two axes, composed as transpose."""
    x = as_tensor(x)
    order = list(range(x.ndim))
    a, b = checks.one_axis("swapaxes", axis1, x.shape), checks.one_axis("swapaxes", axis2, x.shape)
    order[a], order[b] = b, a
    return transpose(x, tuple(order))


def moveaxis(x, source, destination):
    """Move axes `source` to the positions `destination` (ints or sequences), as NumPy; composed as transpose."""
    x = as_tensor(x)
    src = checks.ordered_axes("moveaxis", source, x.shape)
    dst = checks.ordered_axes("moveaxis", destination, x.shape)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must name as many axes "
                         f"(input shape {x.shape})")
    order = [ax for ax in range(x.ndim) if ax not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def flip(x, axis=None):
    """Reverse the order of elements along `axis` (every axis when None); gradient: g flipped back."""
    x = as_tensor(x)
    return apply(Flip, x, axis=checks.axes("flip", axis, x.shape))


def pad(x, pad_width, value=0.0):
    """Pad with a constant (`pad_width` as in np.pad; a negative width crops that many elements instead, as
    PyTorch's F.pad), composed as slicing for the crop; gradient: the inner part of g."""
    x = as_tensor(x)
    ndim = x.ndim
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=object), (ndim, 2))
        widths = tuple((operator.index(a), operator.index(b)) for a, b in widths)
    except (TypeError, ValueError):
        raise ValueError(f"pad: pad_width must be an int, a (before, after) pair or one pair per axis, got "
                         f"{pad_width!r} for shape {tuple(x.shape)}") from None
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"pad: value must be a number, got {value!r} (input shape {x.shape})")
    crop = tuple(slice(-min(a, 0), n + min(b, 0)) for (a, b), n in zip(widths, x.shape))
    for (a, b), n in zip(widths, x.shape):
        if -min(a, 0) - min(b, 0) > n:
            raise ValueError(f"pad: widths {(a, b)} crop {-min(a, 0) - min(b, 0)} elements from an axis of length "
                             f"{n} (input shape {x.shape})")
    if any(a < 0 or b < 0 for a, b in widths):
        x = getitem(x, crop)
    return apply(Pad, x, pad_width=tuple((max(a, 0), max(b, 0)) for a, b in widths), value=value)


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
