"""The NumPy specifications of the compiled kernels in conv_backward.pyx (same signatures, same results bit for bit),
and their fallbacks where no kernel was built or a dtype has none."""
import numpy as np


def scatter_windows(windows, out, stride_h, stride_w, dilation_h=1, dilation_w=1):
    """out[n, i*stride_h + a*dilation_h, j*stride_w + b*dilation_w, c] += windows[n, i, j, a, b, c] for every
    index, in place.

    windows: (N, Ho, Wo, kh, kw, C); out: (N, Hp, Wp, C). One vectorised add per window offset (a, b).
    """
    if stride_h < 1 or stride_w < 1:
        raise ValueError(f"scatter_windows: strides must be >= 1, got ({stride_h}, {stride_w})")
    if dilation_h < 1 or dilation_w < 1:
        raise ValueError(f"scatter_windows: dilations must be >= 1, got ({dilation_h}, {dilation_w})")
    n, ho, wo, kh, kw, c = windows.shape
    if (
        out.shape[0] != n
        or out.shape[3] != c
        or (ho > 0 and kh > 0 and (ho - 1) * stride_h + (kh - 1) * dilation_h >= out.shape[1])
        or (wo > 0 and kw > 0 and (wo - 1) * stride_w + (kw - 1) * dilation_w >= out.shape[2])
    ):
        raise ValueError(
            f"scatter_windows: windows of shape {windows.shape} with stride ({stride_h}, {stride_w}) "
            f"and dilation ({dilation_h}, {dilation_w}) do not fit into out of shape {out.shape}"
        )
    # Offsets in reverse: the compiled loop reaches each output element from the last offset to the first,
    # and the same order of additions makes the two agree bit for bit.
    for a in reversed(range(kh)):
        for b in reversed(range(kw)):
            rows = slice(a * dilation_h, a * dilation_h + stride_h * (ho - 1) + 1, stride_h)
            cols = slice(b * dilation_w, b * dilation_w + stride_w * (wo - 1) + 1, stride_w)
            out[:, rows, cols] += windows[:, :, :, a, b]
    return out


def copy_windows(out, windows):
    """out[...] = windows: the im2col copy of a convolution's windows into a contiguous array of the same shape."""
    if out.shape != windows.shape:
        raise ValueError(f"copy_windows: out of shape {out.shape} does not match windows of shape {windows.shape}")
    if windows.shape[-1] != 1:
        out[...] = windows
        return
    # One channel: one window offset at a time, so that NumPy's inner loop runs along a row of windows rather than
    # along a window row of kw values (measured 2.5-3x faster; slower with more channels).
    for a in range(windows.shape[3]):
        for b in range(windows.shape[4]):
            out[:, :, :, a, b] = windows[:, :, :, a, b]


def relu_positive(x, out, positive):
    """positive = x > 0 and out = np.maximum(x, 0) (NaN stays NaN) over flat arrays; out may be x."""
    if out.shape != x.shape or positive.shape != x.shape:
        raise ValueError(f"relu_positive: x, out and positive must have one size, got {x.size}, {out.size}, "
                         f"{positive.size}")
    np.greater(x, 0, out=positive)
    np.maximum(x, 0, out=out)


def relu_gradient(grad, positive, out):
    """out = grad * positive (0 or 1; a NaN gradient stays NaN, as the product) over flat arrays; out may be grad."""
    if positive.shape != grad.shape or out.shape != grad.shape:
        raise ValueError(f"relu_gradient: grad, positive and out must have one size, got {grad.size}, "
                         f"{positive.size}, {out.size}")
    np.multiply(grad, positive, out=out)


def scatter_winners(winner, grad, out, pool_h, pool_w, stride_h, stride_w):
    """out[n, i*sh + k // pw, j*sw + k % pw, c] += grad[n, i, j, c] with k = winner[n, i, j, c], in place: a
    max-pool's gradient, sent to each window's winner only.

    One pass per window offset, the last first: the compiled loop visits windows in row-major order, which reaches
    each element of out from its last offset to its first, and the same order of additions agrees bit for bit."""
    ho, wo = grad.shape[1:3]
    for k in reversed(range(pool_h * pool_w)):
        a, b = divmod(k, pool_w)
        rows = slice(a, a + stride_h * (ho - 1) + 1, stride_h)
        cols = slice(b, b + stride_w * (wo - 1) + 1, stride_w)
        out[:, rows, cols] += np.where(winner == k, grad, 0)


# ----- Winograd F(4x4, 3x3)'s transforms (winograd.py), the same arithmetic in the same order as the kernels ------
def _bt(d):
    """Bᵀ d along one axis: six arrays in, six out."""
    return [4 * d[0] - 5 * d[2] + d[4], d[3] + d[4] - 4 * d[1] - 4 * d[2], 4 * d[1] - 4 * d[2] - d[3] + d[4],
            2 * d[3] - 2 * d[1] - d[2] + d[4], 2 * d[1] - 2 * d[3] - d[2] + d[4], 4 * d[1] - 5 * d[3] + d[5]]


def _b(r):
    """B r along one axis (the adjoint of _bt)."""
    return [4 * r[0], 4 * r[2] - 4 * r[1] - 2 * r[3] + 2 * r[4] + 4 * r[5], -5 * r[0] - 4 * r[1] - 4 * r[2] - r[3] - r[4],
            r[1] - r[2] + 2 * r[3] - 2 * r[4] - 5 * r[5], r[0] + r[1] + r[2] + r[3] + r[4], r[5]]


def _at(m):
    """Aᵀ m along one axis: six arrays in, four out."""
    return [m[0] + m[1] + m[2] + m[3] + m[4], m[1] - m[2] + 2 * m[3] - 2 * m[4], m[1] + m[2] + 4 * m[3] + 4 * m[4],
            m[1] - m[2] + 8 * m[3] - 8 * m[4] + m[5]]


def _a(y):
    """A y along one axis (the adjoint of _at): four arrays in, six out."""
    return [y[0], y[0] + y[1] + y[2] + y[3], y[0] - y[1] + y[2] - y[3], y[0] + 2 * y[1] + 4 * y[2] + 8 * y[3],
            y[0] - 2 * y[1] + 4 * y[2] - 8 * y[3], y[3]]


def _two_sided(values, transform):
    """transform along the tile's rows (the first index), then along its columns: values[p][q] -> out[p][q]."""
    columns = [transform([row[q] for row in values]) for q in range(len(values[0]))]
    return [transform([column[p] for column in columns]) for p in range(len(columns[0]))]


def _tile_counts(name, image, planes, border):
    n, rows, cols, channels = image.shape
    th, tw = (rows - border) // 4, (cols - border) // 4
    if (min(th, tw) < 0 or (rows, cols) != (4 * th + border, 4 * tw + border)
            or planes.shape != (36, n * th * tw, channels)):
        raise ValueError(f"{name}: an image batch of {'x'.join(map(str, image.shape))} (4*tiles + {border} rows and "
                         f"columns) does not match planes of {'x'.join(map(str, planes.shape))}")
    return th, tw


def _image_tiles(image, size, th, tw):
    """t[p][q] = element (p, q) of every size x size tile, tiles 4 apart: (N, th, tw, C) each."""
    return [[image[:, p : p + 4 * th : 4, q : q + 4 * tw : 4] for q in range(size)] for p in range(size)]


def _plane_tiles(planes, n, th, tw):
    """The 36 planes as values[p][q], each (N, th, tw, C)."""
    return [[planes[6 * p + q].reshape((n, th, tw, planes.shape[2])) for q in range(6)] for p in range(6)]


def _into_planes(values, out):
    """out[6p + q] = values[p][q] (each (N, th, tw, C)) as rows of the 36 planes."""
    for p in range(6):
        for q in range(6):
            out[6 * p + q] = values[p][q].reshape(out.shape[1:])


def winograd_tiles(x, out):
    """out[6p + q, (n*th + i)*tw + j, c] = (Bᵀ d B)[p, q] for each 6x6 tile d = x[n, 4i:4i+6, 4j:4j+6, c]."""
    th, tw = _tile_counts("winograd_tiles", x, out, 2)
    _into_planes(_two_sided(_image_tiles(x, 6, th, tw), _bt), out)


def winograd_tiles_adjoint(v, out):
    """out[n, 4i:4i+6, 4j:4j+6, c] += B v Bᵀ for tile (n, i, j)'s values v[:, (n*th + i)*tw + j, c], in place.
    One add per tile position, the last first: the compiled loop adds overlapping tiles in row-major order."""
    th, tw = _tile_counts("winograd_tiles_adjoint", out, v, 2)
    e = _two_sided(_plane_tiles(v, out.shape[0], th, tw), _b)
    for p in reversed(range(6)):
        for q in reversed(range(6)):
            out[:, p : p + 4 * th : 4, q : q + 4 * tw : 4] += e[p][q]


def winograd_untile(m, out, bias=None):
    """out[n, 4i:4i+4, 4j:4j+4, f] = Aᵀ m A (+ bias[f]) for tile (n, i, j)'s values m[:, (n*th + i)*tw + j, f]."""
    th, tw = _tile_counts("winograd_untile", out, m, 0)
    if bias is not None and bias.shape != (out.shape[3],):
        raise ValueError(f"winograd_untile: bias of {bias.size} values for {out.shape[3]} channels")
    y = _two_sided(_plane_tiles(m, out.shape[0], th, tw), _at)
    for p in range(4):
        for q in range(4):
            out[:, p::4, q::4] = y[p][q] if bias is None else y[p][q] + bias


def winograd_untile_adjoint(g, out):
    """out[:, (n*th + i)*tw + j, f] = A g Aᵀ for each 4x4 tile g[n, 4i:4i+4, 4j:4j+4, f]."""
    th, tw = _tile_counts("winograd_untile_adjoint", g, out, 0)
    _into_planes(_two_sided(_image_tiles(g, 4, th, tw), _a), out)
