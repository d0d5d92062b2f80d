"""Max and average pooling of channels-last images, with any window, stride and padding.

Max-pooling runs compiled kernels (their NumPy specification in conv_reference.py) a block of samples at a time:
the forward finds each window's maximum and its first winner in one pass, the backward adds each gradient at its
winner. Average pooling loops over the window offsets (a small constant), each one vectorised pass over the output;
its backward reshapes the gradient into place when the windows tile the input, else the compiled col2im adds up.
Padding is an input padded first (max: with -inf, avg: with zeros) and a gradient cropped last.
"""
import math

import numpy as np

from .. import checks, parallel
from . import conv_reference, kernels
from ..tensor import Tensor
from .function import Function, apply
from .shape import Scatter
from .im2col import _BLOCK_BYTES
from .windows import crop_spatial, offset_views, output_size, pad_spatial


def _tiled(grad_windows, x_shape):
    """Tiled windows' gradients (N, Ho, ph, Wo, pw, C) placed in an input-shaped array (floor leaves a margin)."""
    n, ho, ph, wo, pw, c = grad_windows.shape
    core = grad_windows.reshape(n, ho * ph, wo * pw, c)
    if core.shape == x_shape:
        return core
    out = np.zeros(x_shape, dtype=core.dtype)
    out[:, : ho * ph, : wo * pw] = core
    return out


def _scattered(grad_windows, x_shape, stride):
    """Overlapping (or gapped) windows' gradients (N, Ho, Wo, ph, pw, C) added into an input-shaped array."""
    out = np.zeros(x_shape, dtype=grad_windows.dtype)
    kernels.scatter_windows(np.ascontiguousarray(grad_windows), out, stride[0], stride[1])
    return out


def _pool_blocks(image, pooled_shape):
    """Slices of the batch axis of at most _BLOCK_BYTES of image each: blocks for tinygraph's threads."""
    return parallel.sample_blocks(pooled_shape[0], image.itemsize * math.prod(image.shape[1:]), _BLOCK_BYTES)


def _max_windows(padded, pool, stride):
    """The maximum of each window, and the offset a*pw + b of its first maximum (of its last for a NaN, corrected
    later), a block of samples at a time. NumPy, not a compiled loop: it runs near memory speed already (a compiled
    one measured 1.1-3x slower)."""
    (ph, pw), (sh, sw) = pool, stride
    n, h, w, c = padded.shape
    best = np.empty((n, output_size(h, ph, sh), output_size(w, pw, sw), c), padded.dtype)
    winner = np.empty(best.shape, np.min_scalar_type(ph * pw - 1))
    blocks = _pool_blocks(padded, best.shape)
    if len(blocks) == 1:
        _window_max(padded, best, winner, pool, stride)
    else:
        parallel.run_blocks(lambda k: _window_max(padded[blocks[k]], best[blocks[k]], winner[blocks[k]], pool,
                                                  stride), len(blocks), parallel.ELEMENT_WORK * padded.size)
    return best, winner


def _window_max(x, best, winner, pool, stride):
    """best and winner (see _max_windows) of the windows of x, in place."""
    views = offset_views(x, *pool, *stride)
    if len(views) == 1:
        np.copyto(best, views[0])
    else:
        np.maximum(views[0], views[1], out=best)
    for view in views[2:]:
        np.maximum(best, view, out=best)
    # The number of leading views that miss the maximum, with elementwise ops only: far faster than masked
    # assignment on strided views (measured 22 ms vs 2 ms at 64x28x28x64); a NaN misses in every view.
    missed = np.not_equal(views[0], best)
    np.copyto(winner, missed)
    also_missed = np.empty_like(missed)
    for view in views[1:-1]:
        np.not_equal(view, best, out=also_missed)
        missed &= also_missed
        winner += missed


def _winners_scatter(winner, grad, padded_shape, pool, stride):
    """An input-shaped array holding each output's gradient at its window's winner (summed where windows
    overlap); compiled for float gradients, a block of samples at a time (blocks write disjoint samples)."""
    dx = np.zeros(padded_shape, dtype=grad.dtype)
    compiled = kernels.compiled_for(grad) and winner.dtype == np.uint8
    kernel = kernels.scatter_winners if compiled else conv_reference.scatter_winners
    if compiled:
        grad = np.ascontiguousarray(grad)
    blocks = _pool_blocks(dx, grad.shape)
    if len(blocks) == 1:
        kernel(winner, grad, dx, *pool, *stride)
    else:
        parallel.run_blocks(lambda k: kernel(winner[blocks[k]], grad[blocks[k]], dx[blocks[k]], *pool, *stride),
                            len(blocks), parallel.ELEMENT_WORK * dx.size)
    return dx


def _torch_winner(image, best, winner, padding, pool, stride):
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
        for k, view in enumerate(offset_views(image, *pool, *stride)[1:], 1):
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
        best, winner = _max_windows(padded, pool_shape, stride)
        if ctx.needs_input_grad:
            ctx.save_for_backward(_torch_winner(padded, best, winner, padding, pool_shape, stride))
        ctx.geometry = (x.shape, padded.shape, single)
        return best[0] if single else best

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_arrays
        x_shape, padded_shape, single = ctx.geometry
        (ph, pw), stride = ctx.pool_shape, ctx.stride
        if single:
            grad = grad[None]
        dx = _winners_scatter(winner, grad, padded_shape, (ph, pw), stride)
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
    """Validate before the op runs; returns (pool, stride, padding) as pairs of ints. An error on an input that
    looks channels-first says how to make it channels-last."""
    try:
        return _checked_pool_arguments(op, x, pool_shape, stride, padding)
    except ValueError as err:
        raise checks.with_layout_hint(err, np.shape(x)) from None


def _checked_pool_arguments(op, x, pool_shape, stride, padding):
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
