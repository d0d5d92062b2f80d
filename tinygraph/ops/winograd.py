"""Winograd's F(4x4, 3x3): a stride-1 3x3 correlation with 36 multiplies per 4x4 output tile instead of 144.

Each 6x6 tile d of the input (tiles 4 apart, overlapping by 2) becomes V = Bᵀ d B and each filter U = G w Gᵀ;
each of the 36 tile positions is then one matrix product (tiles x C)·(C x F) on BLAS, and Aᵀ m A turns a tile's
36 products into its 4x4 outputs (Lavin and Gray, 2016). That is 4x fewer multiply-adds than the im2col product,
which in many-channel 3x3 layers is a thin product running below BLAS's peak (benchmarks/conv.py). The gradients run
the adjoint of each step in reverse: dM = A g Aᵀ, dx = Σ_tiles B (dM·Uᵀ) Bᵀ, dw = Gᵀ (Σ_tiles Vᵀ·dM) G.

The four transforms are compiled kernels (winograd_tiles, winograd_untile and their adjoints, with NumPy
references); blocks of samples run on tinygraph's threads, in cache. Rounding differs from the im2col product's
(measured against float64: 1.4e-6 rms relative error in float32, where the im2col product has 3e-7; 3e-15 in
float64).
"""
import numpy as np

from .. import parallel
from . import kernels
from .im2col import scratch

# Bᵀ and Aᵀ are written out in the kernels (conv_backward.pyx, conv_reference.py); G transforms the filters here.
_B_T = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                 [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
_G = np.array([[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4], [0, 0, 24]]) / 24
_A_T = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])
_G_KRON = {np.dtype(t).char: np.kron(_G, _G).astype(t) for t in (np.float32, np.float64)}

# Fewer channels in or out make the 36 products too thin to gain on the im2col product (measured, forward and
# backward of a 26x26 batch of 64 on one thread: 4->32 channels 0.94x, 8->8 1.03x, 16->16 1.3x, 32->64 1.9x).
MIN_CHANNELS = 8
# A block's 36 planes of transformed tiles, in and out: cache-sized.
_BLOCK_BYTES = 1 << 20
# The filter gradient sums at most this many partial products, each over consecutive blocks.
_PARTIAL_SUMS = 8
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Inputs within ±bound / (max|w| * F * C) never overflow in the transforms (im2col's own limit is ~1e4 times wider).
_RANGE = {np.dtype(np.float32): 1e30, np.dtype(np.float64): 1e300}


def suits(x, w, b, stride, dilation):
    """Whether correlate(x, w, b) takes this path: a 3x3 kernel, stride and dilation 1, enough channels, one float
    dtype (float32 or float64) for all, and not an empty batch."""
    return (w.shape[1:3] == (3, 3) and stride == (1, 1) and dilation == (1, 1) and x.size > 0
            and min(w.shape[0], w.shape[3]) >= MIN_CHANNELS and x.dtype in _FLOATS and w.dtype == x.dtype
            and (b is None or b.dtype == x.dtype))


def within_range(a, w):
    """Whether the values of `a` (the input, or the output's gradient) suit the transforms for the filters w: all
    finite (a NaN or inf would spread over its whole tile, where im2col keeps it in the windows holding it) and far
    enough from overflow (the transforms scale values by up to ~1e4 before the products sum them)."""
    bound = _RANGE[a.dtype] / max(1.0, float(np.abs(w).max()) * w.shape[0] * w.shape[3])
    return bool(-bound < a.min() and a.max() < bound)  # a NaN fails both comparisons


def correlate(padded, u, bias=None):
    """(N, Hp, Wp, C) ⋆ w (+ bias) -> (N, Hp - 2, Wp - 2, F): the stride-1 correlation of the padded input with
    the filters w (F, 3, 3, C), given as u = filter_planes(w)."""
    if bias is not None:
        bias = np.ascontiguousarray(bias)  # the kernel reads it as one run
    image, (th, tw) = _tile_aligned(padded, 2)
    n, c, f = len(image), padded.shape[3], u.shape[2]
    out = np.empty((n, 4 * th, 4 * tw, f), padded.dtype)
    blocks = _sample_blocks(n, th * tw * (c + f), padded.itemsize)

    def block(k):
        part = blocks[k]
        tiles = (part.stop - part.start) * th * tw
        v, m = _planes("in", tiles, c, padded.dtype), _planes("out", tiles, f, padded.dtype)
        kernels.winograd_tiles(image[part], v)
        np.matmul(v, u, out=m)
        kernels.winograd_untile(m, out[part], bias)

    parallel.run_blocks(block, len(blocks), n * th * tw * 36 * c * f)
    rows, cols = padded.shape[1] - 2, padded.shape[2] - 2
    return out if out.shape[1:3] == (rows, cols) else np.ascontiguousarray(out[:, :rows, :cols])


def gradients(g, u, padded_shape, needs_dx, padded=None):
    """(d padded, dw) of correlate(padded, u) for the output gradient g (N, Hp - 2, Wp - 2, F): d padded if
    `needs_dx`, dw (F, 3, 3, C) if the padded input is given; None otherwise."""
    g, (th, tw) = _tile_aligned(g, 0)
    n, c, f, dtype = len(g), u.shape[1], u.shape[2], u.dtype
    needs_dw = padded is not None
    u_t = u.transpose(0, 2, 1)  # BLAS reads it transposed, without a copy
    image = _tile_aligned(padded, 2)[0] if needs_dw else None
    dx = np.zeros((n, 4 * th + 2, 4 * tw + 2, c), dtype) if needs_dx else None
    blocks = _sample_blocks(n, th * tw * (c + f), dtype.itemsize)
    groups = parallel.split(len(blocks), -(-len(blocks) // _PARTIAL_SUMS))
    partial = np.empty((len(groups), 36, c, f), dtype) if needs_dw else None

    def group(k):
        for index in range(groups[k].start, groups[k].stop):
            part = blocks[index]
            tiles = (part.stop - part.start) * th * tw
            m, v = _planes("out", tiles, f, dtype), _planes("in", tiles, c, dtype)
            kernels.winograd_untile_adjoint(g[part], m)
            if needs_dx:
                np.matmul(m, u_t, out=v)
                kernels.winograd_tiles_adjoint(v, dx[part])
            if needs_dw:
                kernels.winograd_tiles(image[part], v)
                product = np.matmul(v.transpose(0, 2, 1), m)
                if index == groups[k].start:
                    partial[k] = product
                else:
                    partial[k] += product

    parallel.run_blocks(group, len(groups), 2 * n * th * tw * 36 * c * f)
    if needs_dx:
        dx = dx[:, : padded_shape[1], : padded_shape[2]]
    dw = None
    if needs_dw:
        total = partial[0]
        for k in range(1, len(groups)):
            total += partial[k]
        dw = _filter_gradient(total)
    return dx, dw


def filter_planes(w):
    """U[6a + b, c, f] = (G w[f, :, :, c] Gᵀ)[a, b]: the filters (F, 3, 3, C) transformed, as (36, C, F); one
    product with G ⊗ G, whose row 6a + b and column 3i + j hold G[a, i] G[b, j]."""
    f, _, _, c = w.shape
    with parallel.blas_single_thread():  # BLAS's threads, woken for this small product, would spin beside ours
        return (_G_KRON[w.dtype.char] @ w.transpose(1, 2, 3, 0).reshape(9, c * f)).reshape(36, c, f)


def _filter_gradient(du):
    """dw[f, i, j, c] = Σ_ab G[a, i] G[b, j] dU[6a + b, c, f]: the adjoint of filter_planes."""
    _, c, f = du.shape
    dw = (_G_KRON[du.dtype.char].T @ du.reshape(36, c * f)).reshape(3, 3, c, f)
    return np.ascontiguousarray(dw.transpose(3, 0, 1, 2))


def _tile_aligned(image, border):
    """image (N, 4*th + border, 4*tw + border, C) with contiguous channels, and (th, tw); an output size that is
    not a multiple of 4 gets zero rows below or columns to the right, whose outputs are dropped."""
    if image.strides[3] != image.itemsize:  # the kernels run along channels (a broadcast gradient has stride 0)
        image = np.ascontiguousarray(image)
    rows, cols = image.shape[1] - border, image.shape[2] - border
    th, tw = -(-rows // 4), -(-cols // 4)
    if (4 * th, 4 * tw) != (rows, cols):
        image = np.pad(image, ((0, 0), (0, 4 * th - rows), (0, 4 * tw - cols), (0, 0)))
    return image, (th, tw)


def _sample_blocks(n, values_per_sample, itemsize):
    """Slices of the batch axis, each with at most _BLOCK_BYTES of transformed tiles."""
    return parallel.sample_blocks(n, 36 * values_per_sample * itemsize, _BLOCK_BYTES)


def _planes(slot, tiles, channels, dtype):
    """A per-thread (36, tiles, channels) buffer whose 36 planes start at different offsets within a 4 KiB page:
    planes a multiple of 4 KiB apart make the kernels' 36 streams of loads and stores evict each other in the
    cache (measured 6x slower)."""
    itemsize = np.dtype(dtype).itemsize
    plane = tiles * channels
    stride = plane + (-plane * itemsize % 4096 + 320) // itemsize
    return scratch(slot, (36, stride), dtype)[:, :plane].reshape(36, tiles, channels)
