"""Ops that copy elements: broadcast_to, repeat, tile (the last two composed of reshape and broadcast_to)."""
import numpy as np

from .. import checks
from ..tensor import as_tensor
from .function import Function, apply, unbroadcast
from .shape import getitem, reshape, shape_tuple


class BroadcastTo(Function):
    name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return np.broadcast_to(x, shape)  # a read-only view, as NumPy's

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.input_shape)


def broadcast_to(x, shape):
    """x broadcast to `shape` (NumPy's rules; a read-only view); gradient: g summed over the broadcast axes."""
    x = as_tensor(x)
    shape = shape_tuple(shape, "broadcast_to")
    try:
        fits = min(shape, default=0) >= 0 and np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"broadcast_to: cannot broadcast input shape {x.shape} to {shape}; each axis of the input "
                         f"must be 1 or equal the target's, counted from the last")
    return apply(BroadcastTo, x, shape=shape)


def repeat(x, repeats, axis=None):
    """NumPy's repeat: each element `repeats` times along `axis` (of the flattened tensor when None), `repeats` an
    int or one count per element; composed as reshape and broadcast_to (an int) or as indexing (counts); gradient:
    the sum of g over each element's copies. PyTorch's x.repeat(*sizes) is tile here."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    else:
        axis = checks.one_axis("repeat", axis, x.shape)
    n = x.shape[axis]
    counts = _counts(repeats, n, x.shape)
    before, after = x.shape[:axis], x.shape[axis + 1:]
    if np.ndim(counts) == 0:
        spread = broadcast_to(reshape(x, before + (n, 1) + after), before + (n, counts) + after)
        return reshape(spread, before + (n * counts,) + after)
    return getitem(x, (slice(None),) * axis + (np.repeat(np.arange(n), counts),))


def _counts(repeats, n, shape):
    """`repeats` as one int or as an array of `n` ints (a single count broadcasts, as NumPy), all >= 0."""
    if checks.is_int(repeats):
        counts = int(repeats)
    else:
        counts = np.asarray(repeats)
        if counts.dtype.kind not in "iu" or counts.ndim > 1:
            raise TypeError(f"repeat: repeats must be an int or a sequence of ints, got {repeats!r} "
                            f"(input shape {shape})")
        if counts.size == 1:
            counts = int(counts.reshape(()))
        elif counts.shape != (n,):
            raise ValueError(f"repeat: {counts.size} counts for an axis of length {n} (input shape {shape}); give "
                             f"one count, or one per element")
    if np.min(counts, initial=0) < 0:
        raise ValueError(f"repeat: repeats must not be negative, got {repeats!r} (input shape {shape})")
    return counts


def tile(x, reps):
    """NumPy's tile: x repeated reps[i] times along axis i (reps counted from the last axis; extra reps add leading
    axes), composed as reshape, broadcast_to and reshape; gradient: the sum of g over the copies."""
    x = as_tensor(x)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    if not all(checks.is_int(r) and r >= 0 for r in reps):
        raise ValueError(f"tile: reps must be an int or a tuple of ints >= 0, got {reps!r} (input shape {x.shape})")
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + tuple(int(r) for r in reps)
    shape = (1,) * (ndim - x.ndim) + x.shape
    # Copies go outside each axis: axis i of length n becomes (r, n), broadcast from (1, n), then merged.
    spread = broadcast_to(reshape(x, sum(((1, n) for n in shape), ())), sum(zip(reps, shape), ()))
    return reshape(spread, tuple(r * n for r, n in zip(reps, shape)))
