"""Max and average pooling of channels-last images, with any window and stride.

Forward passes loop over the window offsets (a small constant), each step one vectorised pass over the output.
Backward: when the windows tile the input (stride == pool) each input element belongs to at most one window and a
reshape puts the gradient in place; otherwise the windows overlap or leave gaps and the compiled col2im adds them up.
"""
import functools

import numpy as np

from .. import checks
from . import kernels
from .function import Function, apply
from .windows import offset_views


def _tiled(grad_windows, x_shape):
    """Tiled windows' gradients (N, Ho, ph, Wo, pw, C) placed in an input-shaped array (floor leaves a margin)."""
    n, ho, ph, wo, pw, c = grad_windows.shape
    core = grad_windows.reshape(n, ho * ph, wo * pw, c)
    if core.shape == x_shape:
        return core
    out = np.zeros(x_shape, dtype=core.dtype)
    out[:, : ho * ph, : wo * pw] = core
    return out


# Below this many channels the one-hot product above runs NumPy's inner loop over a handful of values at a time;
# writing each gradient straight to its winner's flat index is then faster (measured 3x at 64x14x14x5; 2x slower
# at 64x24x24x64).
_FEW_CHANNELS = 16


def _tiled_by_index(winner, grad, x_shape, pool):
    """Tiled windows: each output's gradient written to the flat index of its window's winner (no two coincide)."""
    corner, offset = _window_indices(x_shape, grad.shape[1:3], pool)
    dx = np.zeros(int(np.prod(x_shape)), dtype=grad.dtype)
    dx[(corner + offset[winner]).ravel()] = grad.ravel()
    return dx.reshape(x_shape)


@functools.lru_cache(maxsize=8)
def _window_indices(x_shape, out_size, pool):
    """Flat indices of each window's top-left element, and each window offset's distance from it (training repeats
    the same shapes every step, so they are kept)."""
    n, h, w, c = x_shape
    (ho, wo), (ph, pw) = out_size, pool
    corner = (
        (np.arange(n) * (h * w * c))[:, None, None, None]
        + (np.arange(ho) * (ph * w * c))[:, None, None]
        + (np.arange(wo) * (pw * c))[:, None]
        + np.arange(c)
    )
    offset = np.array([a * w * c + b * c for a in range(ph) for b in range(pw)])
    corner.flags.writeable = offset.flags.writeable = False
    return corner, offset


def _scattered(grad_windows, x_shape, stride):
    """Overlapping (or gapped) windows' gradients (N, Ho, Wo, ph, pw, C) added into an input-shaped array."""
    out = np.zeros(x_shape, dtype=grad_windows.dtype)
    kernels.scatter_windows(np.ascontiguousarray(grad_windows), out, stride[0], stride[1])
    return out


def _maximum(views):
    best = views[0].copy() if len(views) == 1 else np.maximum(views[0], views[1])
    for view in views[2:]:
        np.maximum(best, view, out=best)
    return best


def _first_winner(views, best):
    """The offset of the first view that holds the maximum, in the smallest unsigned type that fits.

    It counts the leading views that miss the maximum, with elementwise ops only: far faster than masked
    assignment on strided views (measured 22 ms vs 2 ms at 64x28x28x64).
    """
    missed = np.not_equal(views[0], best)
    winner = missed.astype(np.min_scalar_type(len(views) - 1))
    also_missed = np.empty_like(missed)
    for view in views[1:-1]:
        np.not_equal(view, best, out=also_missed)
        missed &= also_missed
        winner += missed
    return winner


def _as_batch(x):
    """One (H, W, C) sample as a batch of one, and whether it was one."""
    return (x[None], True) if x.ndim == 3 else (x, False)


class MaxPool(Function):
    """y = the maximum of each window; gradient: g to the FIRST maximum of each window (row-major), as PyTorch."""

    @staticmethod
    def forward(ctx, x, pool_shape, stride):
        x, single = _as_batch(x)
        views = offset_views(x, *pool_shape, *stride)
        best = _maximum(views)
        if ctx.needs_input_grad:
            ctx.save_for_backward(_first_winner(views, best))
        ctx.geometry = (x.shape, single)
        return best[0] if single else best

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_arrays
        x_shape, single = ctx.geometry
        (ph, pw), stride = ctx.pool_shape, ctx.stride
        if single:
            grad = grad[None]
        offsets = np.arange(ph * pw, dtype=winner.dtype).reshape(ph, pw)
        if stride == (ph, pw) and x_shape[-1] < _FEW_CHANNELS:
            dx = _tiled_by_index(winner, grad, x_shape, (ph, pw))
        elif stride == (ph, pw):
            hit = winner[:, :, None, :, None, :] == offsets[:, None, :, None]
            dx = _tiled(hit * grad[:, :, None, :, None, :], x_shape)
        else:
            hit = winner[:, :, :, None, None, :] == offsets[:, :, None]
            dx = _scattered(hit * grad[:, :, :, None, None, :], x_shape, stride)
        return dx[0] if single else dx


class AvgPool(Function):
    """y = the mean of each window; gradient: g / (ph*pw) spread over every element of the window."""

    @staticmethod
    def forward(ctx, x, pool_shape, stride):
        x, single = _as_batch(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)  # a mean of integers is not an integer
        views = offset_views(x, *pool_shape, *stride)
        total = views[0].copy()
        for view in views[1:]:
            total += view
        total *= 1.0 / len(views)  # a Python float keeps the dtype (NEP 50)
        ctx.geometry = (x.shape, single)
        return total[0] if single else total

    @staticmethod
    def backward(ctx, grad):
        x_shape, single = ctx.geometry
        (ph, pw), stride = ctx.pool_shape, ctx.stride
        share = grad * (1.0 / (ph * pw))
        if single:
            share = share[None]
        n, ho, wo, c = share.shape
        if stride == (ph, pw):
            spread = np.broadcast_to(share[:, :, None, :, None, :], (n, ho, ph, wo, pw, c))
            dx = _tiled(np.ascontiguousarray(spread), x_shape)
        else:
            spread = np.broadcast_to(share[:, :, :, None, None, :], (n, ho, wo, ph, pw, c))
            dx = _scattered(spread, x_shape, stride)
        return dx[0] if single else dx


def _pool_arguments(op, x, pool_shape, stride):
    x_shape = np.shape(x)
    if len(x_shape) not in (3, 4):
        raise ValueError(f"{op}: x must be (N, H, W, C) or one (H, W, C) sample, got shape {x_shape}")
    pool = checks.positive_pair(op, "pool_shape", pool_shape)
    stride = pool if stride is None else checks.positive_pair(op, "stride", stride)
    if pool[0] > x_shape[-3] or pool[1] > x_shape[-2]:
        raise ValueError(f"{op}: the {pool[0]}x{pool[1]} window does not fit the input of shape {x_shape}")
    return pool, stride


def maxpool(x, pool_shape=(2, 2), stride=2):
    """Max over (ph, pw) windows moved by `stride` (None: the pool size) on (N, H, W, C); floor output size.

    Gradient: g goes to exactly one element per window, the first maximum in row-major order.
    """
    pool, stride = _pool_arguments("maxpool", x, pool_shape, stride)
    return apply(MaxPool, x, pool_shape=pool, stride=stride)


def avgpool(x, pool_shape=(2, 2), stride=2):
    """Mean over (ph, pw) windows moved by `stride` (None: the pool size) on (N, H, W, C); floor output size.

    Gradient: g / (ph*pw) to every element of each window, summed where windows overlap.
    """
    pool, stride = _pool_arguments("avgpool", x, pool_shape, stride)
    return apply(AvgPool, x, pool_shape=pool, stride=stride)
