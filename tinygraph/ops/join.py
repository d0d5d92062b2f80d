"""Joining and splitting: concatenate, stack (composed of expand_dims and concatenate), split (of slicing)."""
import numpy as np

from .. import checks
from ..tensor import Tensor, as_tensor
from .function import Function, apply
from .shape import expand_dims, getitem, reshape


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.sizes = [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        ends = np.cumsum(ctx.sizes).tolist()
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (slice(end - size, end),)] for size, end in zip(ctx.sizes, ends))


def _tensors(where, tensors):
    """A non-empty list or tuple as Tensors; arrays and numbers take the float dtype of the first float Tensor."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{where}: expected a list or tuple of tensors, got {type(tensors).__name__}; write "
                        f"{where}([a, b], axis=...)")
    if not tensors:
        raise ValueError(f"{where}: needs at least one tensor, got an empty {type(tensors).__name__}")
    like = next((t for t in tensors if isinstance(t, Tensor) and t.dtype.kind == "f"), None)
    return [as_tensor(t, like) for t in tensors]


def _shapes(tensors):
    return ", ".join(str(t.shape) for t in tensors)


def concatenate(tensors, axis=0):
    """Join tensors along an existing `axis` (after flattening each when axis is None, as NumPy); gradient: each
    input's slice of g."""
    tensors = _tensors("concatenate", tensors)
    if axis is None:
        return concatenate([reshape(t, (-1,)) for t in tensors], 0)
    if len({t.ndim for t in tensors}) != 1 or tensors[0].ndim == 0:
        raise ValueError(f"concatenate: the inputs need the same number of axes, at least one (input shapes "
                         f"{_shapes(tensors)}); use stack to join along a new axis")
    axis = checks.one_axis("concatenate", axis, tensors[0].shape)
    if len({t.shape[:axis] + t.shape[axis + 1:] for t in tensors}) != 1:
        raise ValueError(f"concatenate: the shapes must agree except along axis {axis} (input shapes "
                         f"{_shapes(tensors)})")
    return apply(Concatenate, *tensors, axis=axis)


def stack(tensors, axis=0):
    """Join tensors of one shape along a new `axis` of the result, composed as expand_dims and concatenate."""
    tensors = _tensors("stack", tensors)
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack: the inputs must have one shape (input shapes {_shapes(tensors)})")
    if axis is None or np.ndim(axis) != 0:
        raise TypeError(f"stack: axis must be one int, got {axis!r}")
    (axis,) = checks.ordered_axes("stack", axis, tensors[0].shape, ndim=tensors[0].ndim + 1)
    return concatenate([expand_dims(t, axis) for t in tensors], axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: a list of tensors, `indices_or_sections` equal parts (an int that divides the axis) or the
    indices to cut at (Python slice rules); composed as slicing; gradient: each part's g in its place."""
    x = as_tensor(x)
    axis = checks.one_axis("split", axis, x.shape)
    n = x.shape[axis]
    if checks.is_int(indices_or_sections):
        parts = int(indices_or_sections)
        if parts < 1 or n % parts:
            raise ValueError(f"split: {n} elements along axis {axis} do not split into {parts} equal parts (input "
                             f"shape {x.shape}); give a divisor of {n}, or the indices to cut at")
        cuts = [n // parts * k for k in range(1, parts)]
    else:
        cuts = indices_or_sections
        if not isinstance(cuts, (list, tuple, np.ndarray)) or not all(checks.is_int(c) for c in cuts):
            raise TypeError(f"split: indices_or_sections must be an int or a sequence of ints, got "
                            f"{indices_or_sections!r} (input shape {x.shape})")
    bounds = [0, *(int(c) for c in cuts), n]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(start, stop),)) for start, stop in zip(bounds[:-1], bounds[1:])]
