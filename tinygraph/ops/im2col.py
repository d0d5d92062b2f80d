"""The matrix products over a convolution's windows, a block of samples at a time, on tinygraph's threads.

Each block's windows are copied (im2col) into a cache-sized matrix that BLAS multiplies while it is still in cache,
and each block's window gradients are made and scattered back (col2im) the same way, so that neither matrix ever
exists for the whole batch. Blocks have fixed bounds (a byte budget) and partial sums are added in a fixed order,
so the results do not depend on the number of threads (parallel.py).
"""
import math
import threading

import numpy as np

from .. import parallel
from . import conv_reference, kernels

# A block's im2col matrix: a few MiB, cache-sized, and large enough that BLAS runs near its peak on it.
_BLOCK_BYTES = 2 << 20
# The filter gradient sums at most this many partial products, each over consecutive blocks.
_PARTIAL_SUMS = 8

_local = threading.local()


def scratch(slot, shape, dtype):
    """A per-thread buffer for a block's transient matrix, reused across calls (no fresh pages to fault in)."""
    size = int(np.prod(shape))
    buffers = _local.__dict__.setdefault("buffers", {})
    buffer = buffers.get((slot, dtype))
    if buffer is None or buffer.size < size:
        buffer = buffers[(slot, dtype)] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


def _sample_blocks(windows_shape, itemsize):
    """Slices of the batch axis, each with at most _BLOCK_BYTES of im2col matrix."""
    n, ho, wo, kh, kw, c = windows_shape
    return parallel.sample_blocks(n, ho * wo * kh * kw * c * itemsize, _BLOCK_BYTES)


def copy_windows(out, windows):
    """out[...] = windows, compiled where the kernel takes the dtypes."""
    if kernels.compiled_for(out, windows):
        kernels.copy_windows(out, windows)
    else:
        conv_reference.copy_windows(out, windows)


def windows_product(windows, filters, keep_cols=False, bias=None):
    """windows (N, Ho, Wo, kh, kw, C) · filtersᵀ (F, kh*kw*C) (+ bias (F,)) -> (N*Ho*Wo, F), and with `keep_cols`
    the im2col matrix (N*Ho*Wo, kh*kw*C) for a filter gradient (else None). The bias is added to each block while
    it is in cache."""
    n, ho, wo, kh, kw, c = windows.shape
    rows, size = ho * wo, kh * kw * c
    dtype = np.result_type(windows, filters)
    out = np.empty((n * rows, filters.shape[0]), dtype=dtype)
    cols = np.empty((n * rows, size), dtype=windows.dtype) if keep_cols else None
    bias_in_place = bias is not None and np.result_type(dtype, bias) == dtype
    samples = _sample_blocks(windows.shape, windows.itemsize)

    def block(k):
        part = samples[k]
        source = windows[part]
        lines = slice(part.start * rows, part.stop * rows)
        matrix = cols[lines] if keep_cols else scratch("cols", (len(source) * rows, size), windows.dtype)
        copy_windows(matrix.reshape(source.shape), source)
        np.matmul(matrix, filters.T, out=out[lines])
        if bias_in_place:
            add_bias(out[lines], bias)

    # Few filters or a small window make a pass over memory more than a product (the tutorial's 9 x 5).
    work = max(n * rows * size * filters.shape[0], parallel.ELEMENT_WORK * n * rows * (size + filters.shape[0]))
    parallel.run_blocks(block, len(samples), work)
    if bias is not None and not bias_in_place:
        out = out + bias
    return out, cols


def add_bias(out, bias):
    """out (rows, F) += bias (F,) in place. A few channels are added as rows of many (the bias repeated): NumPy's
    inner loop over only F values costs 5x more (measured 156 vs 30 µs for 50,176 rows of 5)."""
    rows, channels = out.shape
    repeat = math.gcd(rows, max(1, 64 // channels))
    if repeat > 1 and out.flags.c_contiguous:
        out = out.reshape(rows // repeat, repeat * channels)
        bias = np.tile(bias, repeat)
    np.add(out, bias, out=out)


def filter_gradient(g, windows):
    """Σ over samples and windows of g[n, i, j, f] · windows[n, i, j, a, b, c]: (F, kh*kw*C), the filter gradient
    from the windows of the saved input, each block's im2col matrix made again in cache. Up to _PARTIAL_SUMS groups
    of consecutive blocks are summed apart (on any thread), then added in order."""
    n, ho, wo, kh, kw, c = windows.shape
    n_filters, rows, size = g.shape[-1], ho * wo, kh * kw * c
    per_sample = g.reshape(n, rows, n_filters)
    samples = _sample_blocks(windows.shape, windows.itemsize)
    groups = parallel.split(len(samples), -(-len(samples) // _PARTIAL_SUMS))
    partial = np.empty((len(groups), n_filters, size), dtype=np.result_type(g, windows))

    def group(k):
        for index in range(groups[k].start, groups[k].stop):
            part = samples[index]
            source = windows[part]
            matrix = scratch("cols", (len(source) * rows, size), windows.dtype)
            copy_windows(matrix.reshape(source.shape), source)
            product = per_sample[part].reshape(-1, n_filters).T @ matrix
            if index == groups[k].start:
                partial[k] = product
            else:
                partial[k] += product

    parallel.run_blocks(group, len(groups), n * rows * size * n_filters)
    total = partial[0]
    for k in range(1, len(groups)):
        total += partial[k]
    return total


def windows_scatter(g, w, padded_shape, stride, dilation):
    """col2im(g · w): window (i, j)'s g[n, i, j] (F,) · w (F, kh, kw, C) added back where it was cut from an array
    of `padded_shape` with `stride` and `dilation`, a block of samples at a time (blocks write disjoint samples)."""
    n, ho, wo, n_filters = g.shape
    _, kh, kw, c = w.shape
    filters = w.reshape(n_filters, -1)
    out = np.zeros(padded_shape, dtype=np.result_type(g, w))
    compiled = kernels.compiled_for(out)
    samples = _sample_blocks((n, ho, wo, kh, kw, c), out.itemsize)

    def block(k):
        part = samples[k]
        count = part.stop - part.start
        grads = scratch("grads", (count * ho * wo, filters.shape[1]), out.dtype)
        np.matmul(g[part].reshape(-1, n_filters), filters, out=grads)
        scatter = kernels.scatter_windows if compiled else conv_reference.scatter_windows
        scatter(grads.reshape(count, ho, wo, kh, kw, c), out[part], *stride, *dilation)

    parallel.run_blocks(block, len(samples), n * ho * wo * n_filters * filters.shape[1])
    return out
