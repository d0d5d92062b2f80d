"""Max and average pooling of channels-last images, with any window, stride and padding.

Forward passes loop over the window offsets (a small constant), each step one vectorised pass over the output.
Backward: when the windows tile the input (stride == pool) each input element belongs to at most one window and a
reshape puts the gradient in place; otherwise the windows overlap or leave gaps and the compiled col2im adds them up.
Padding is an input padded first (max: with -inf, avg: with zeros) and a gradient cropped last.
"""
import functools

import numpy as np

from .. import checks
from . import kernels
from ..tensor import Tensor
from .function import Function, apply
from .shape import Scatter
from .windows import crop_spatial, offset_views, pad_spatial


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


def _torch_winner(views, best, winner, padding, pool, stride):
    """`winner` corrected where the first maximum is not PyTorch's choice: a window holding NaN sends its gradient
    to its LAST NaN (PyTorch's kernel takes `val > max or isnan(val)`), and a padded window whose inputs are all the
    lowest value to its first input element, never to the padding. Both are rare; one min over the output finds them.
    """
    floats, padded = best.dtype.kind == "f", padding != (0, 0)
    if not best.size or not (floats or padded):
        return winner
    lowest, smallest = _lowest(best.dtype), best.min()
    has_nan = floats and smallest != smallest
    if has_nan:
        nan = np.isnan(best)
        last = np.zeros_like(winner)
        for k, view in enumerate(views[1:], 1):
            last[np.isnan(view)] = k
        winner = np.where(nan, last, winner)
    if padded and (has_nan or smallest == lowest):
        (ph, pw), kw = padding, pool[1]
        ho, wo = best.shape[1:3]
        # The first window element inside the input: rows and columns of padding skipped.
        rows, cols = np.maximum(0, ph - stride[0] * np.arange(ho)), np.maximum(0, pw - stride[1] * np.arange(wo))
        first = rows[:, None] * kw + cols
        winner = np.where(best == lowest, first[:, :, None].astype(winner.dtype), winner)
    return winner


def _lowest(dtype):
    """The padding value of a max-pool: below (or equal to) every value of `dtype`."""
    if dtype.kind == "f":
        return -np.inf
    return np.iinfo(dtype).min if dtype.kind in "iu" else False


def _as_batch(x):
    """One (H, W, C) sample as a batch of one, and whether it was one."""
    return (x[None], True) if x.ndim == 3 else (x, False)


class MaxPool(Function):
    """y = the maximum of each window (padding: -inf); gradient: g to the FIRST maximum of each window (row-major),
    or to its LAST NaN, as PyTorch."""

    @staticmethod
    def forward(ctx, x, pool_shape, stride, padding):
        x, single = _as_batch(x)
        padded = x if padding == (0, 0) else pad_spatial(x, _sides(padding), _lowest(x.dtype))
        views = offset_views(padded, *pool_shape, *stride)
        best = _maximum(views)
        if ctx.needs_input_grad:
            winner = _first_winner(views, best)
            ctx.save_for_backward(_torch_winner(views, best, winner, padding, pool_shape, stride))
        ctx.geometry = (x.shape, padded.shape, single)
        return best[0] if single else best

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_arrays
        x_shape, padded_shape, single = ctx.geometry
        (ph, pw), stride = ctx.pool_shape, ctx.stride
        if single:
            grad = grad[None]
        offsets = np.arange(ph * pw, dtype=winner.dtype).reshape(ph, pw)
        if stride == (ph, pw) and padded_shape[-1] < _FEW_CHANNELS:
            dx = _tiled_by_index(winner, grad, padded_shape, (ph, pw))
        elif stride == (ph, pw):
            hit = winner[:, :, None, :, None, :] == offsets[:, None, :, None]
            dx = _tiled(hit * grad[:, :, None, :, None, :], padded_shape)
        else:
            hit = winner[:, :, :, None, None, :] == offsets[:, :, None]
            dx = _scattered(hit * grad[:, :, :, None, None, :], padded_shape, stride)
        if ctx.padding != (0, 0):
            dx = crop_spatial(dx, _sides(ctx.padding), x_shape)
        return dx[0] if single else dx

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """The same scatter as a recorded op (create_graph): g added at each window's winner, by its flat index in
        the padded input, then the padding cropped; its own gradient gathers at the winners (a getitem)."""
        (winner,) = ctx.saved_arrays
        x_shape, padded_shape, single = ctx.geometry
        index = (_winner_indices(winner, padded_shape, ctx.pool_shape[1], ctx.stride).reshape(-1),)
        dx = apply(Scatter, grad.reshape(-1), index=index, shape=(int(np.prod(padded_shape)),)).reshape(padded_shape)
        top, _, left, _ = _sides(ctx.padding)
        dx = dx[:, top : top + x_shape[1], left : left + x_shape[2]] if ctx.padding != (0, 0) else dx
        return dx.reshape(x_shape[1:]) if single else dx


def _winner_indices(winner, padded_shape, pw, stride):
    """The flat index in the padded (N, H, W, C) input of each window's winner (offset a * pw + b in its window)."""
    _, h, w, c = padded_shape
    n, ho, wo, _ = winner.shape
    a, b = np.divmod(winner.astype(np.int64), pw)
    rows = (np.arange(n)[:, None, None, None] * h + np.arange(ho)[:, None, None] * stride[0] + a) * w
    return (rows + np.arange(wo)[:, None] * stride[1] + b) * c + np.arange(c)


class AvgPool(Function):
    """y = the mean of each window, padding counted as zeros; gradient: g / (ph*pw) spread over every element of
    the window."""

    @staticmethod
    def forward(ctx, x, pool_shape, stride, padding):
        x, single = _as_batch(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)  # a mean of integers is not an integer
        x_shape = x.shape
        if padding != (0, 0):
            x = pad_spatial(x, _sides(padding))
        views = offset_views(x, *pool_shape, *stride)
        total = views[0].copy()
        for view in views[1:]:
            total += view
        total *= 1.0 / len(views)  # a Python float keeps the dtype (NEP 50)
        ctx.geometry = (x_shape, x.shape, single)
        return total[0] if single else total

    @staticmethod
    def backward(ctx, grad):
        x_shape, padded_shape, single = ctx.geometry
        (ph, pw), stride = ctx.pool_shape, ctx.stride
        share = grad * (1.0 / (ph * pw))
        if single:
            share = share[None]
        n, ho, wo, c = share.shape
        if stride == (ph, pw):
            spread = np.broadcast_to(share[:, :, None, :, None, :], (n, ho, ph, wo, pw, c))
            dx = _tiled(np.ascontiguousarray(spread), padded_shape)
        else:
            spread = np.broadcast_to(share[:, :, :, None, None, :], (n, ho, wo, ph, pw, c))
            dx = _scattered(spread, padded_shape, stride)
        if ctx.padding != (0, 0):
            dx = crop_spatial(dx, _sides(ctx.padding), x_shape)
        return dx[0] if single else dx

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """The same spread as a recorded op (create_graph), whose own gradient is an avgpool again."""
        return apply(AvgPoolBackward, grad, geometry=ctx.geometry, **ctx.attrs)


class AvgPoolBackward(Function):
    """avgpool's gradient as an op (recorded under create_graph): g / (ph*pw) spread over each window, the padding
    cropped; gradient: avgpool(g) with the same windows, its adjoint."""

    name = "avgpool_backward"

    @staticmethod
    def forward(ctx, g, pool_shape, stride, padding, geometry):
        return AvgPool.backward(ctx, g)  # ctx has the attributes AvgPool's backward reads

    @staticmethod
    def backward(ctx, grad):
        out = avgpool(grad, ctx.pool_shape, ctx.stride, ctx.padding)
        return out if isinstance(grad, Tensor) else out.data


def _sides(padding):
    """(rows, cols) as (top, bottom, left, right)."""
    return padding[0], padding[0], padding[1], padding[1]


def pool_padding(where, padding, pool):
    """A pooling's padding: an int or (rows, cols), each at most half the window (as PyTorch: then every window
    holds at least one input element), as a pair."""
    pads = (0, 0) if type(padding) is int and padding == 0 else checks.padding(where, padding)
    if isinstance(pads, str):
        raise ValueError(f"{where}: padding must be an int or (rows, cols), got {padding!r}")
    if pads[0] > pool[0] // 2 or pads[1] > pool[1] // 2:
        raise ValueError(f"{where}: padding {pads} must be at most half the {pool[0]}x{pool[1]} window, i.e. at "
                         f"most {(pool[0] // 2, pool[1] // 2)}")
    return pads


def _pool_arguments(op, x, pool_shape, stride, padding):
    """Validate before the op runs; returns (pool, stride, padding) as pairs of ints."""
    x_shape = np.shape(x)
    if len(x_shape) not in (3, 4):
        raise ValueError(f"{op}: x must be (N, H, W, C) or one (H, W, C) sample, got shape {x_shape}")
    pool = checks.positive_pair(op, "pool_shape", pool_shape)
    stride = pool if stride is None else checks.positive_pair(op, "stride", stride)
    try:
        pads = pool_padding(op, padding, pool)
    except ValueError as err:
        raise ValueError(f"{err} (input shape {x_shape})") from None
    if pool[0] > x_shape[-3] + 2 * pads[0] or pool[1] > x_shape[-2] + 2 * pads[1]:
        padded = "" if pads == (0, 0) else f" padded by {pads}"
        raise ValueError(f"{op}: the {pool[0]}x{pool[1]} window does not fit the input of shape {x_shape}{padded}")
    return pool, stride, pads


def maxpool(x, pool_shape=(2, 2), stride=None, padding=0):
    """Max over (ph, pw) windows moved by `stride` (default: the pool size, as PyTorch and Keras) on (N, H, W, C) or
    (H, W, C); `padding` (rows, cols) or an int, at most half the window, pads with -inf, so padding never wins;
    floor output size, Ho = (H + 2*rows - ph) // sh + 1.

    Gradient: g goes to exactly one element per window: the first maximum in row-major order, or where the window
    holds NaN (the output is then NaN) its last NaN, as PyTorch.
    """
    pool, stride, padding = _pool_arguments("maxpool", x, pool_shape, stride, padding)
    return apply(MaxPool, x, pool_shape=pool, stride=stride, padding=padding)


def avgpool(x, pool_shape=(2, 2), stride=None, padding=0):
    """Mean over (ph, pw) windows moved by `stride` (default: the pool size, as PyTorch and Keras) on (N, H, W, C) or
    (H, W, C); `padding` (rows, cols) or an int, at most half the window, pads with zeros that COUNT in the mean
    (PyTorch's default count_include_pad=True; Keras's "same" pooling leaves them out); floor output size.

    Gradient: g / (ph*pw) to every element of each window, summed where windows overlap.
    """
    pool, stride, padding = _pool_arguments("avgpool", x, pool_shape, stride, padding)
    return apply(AvgPool, x, pool_shape=pool, stride=stride, padding=padding)
