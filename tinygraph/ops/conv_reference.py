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


# ----- Winograd F(2x2, 3x3)'s transforms (winograd.py), the same additions in the same order as the kernels ------
def _tile_counts(name, image, planes, border):
    n, rows, cols, channels = image.shape
    th, tw = (rows - border) // 2, (cols - border) // 2
    if (min(th, tw) < 0 or (rows, cols) != (2 * th + border, 2 * tw + border)
            or planes.shape != (16, n * th * tw, channels)):
        raise ValueError(f"{name}: an image batch of {'x'.join(map(str, image.shape))} (2*tiles + {border} rows and "
                         f"columns) does not match planes of {'x'.join(map(str, planes.shape))}")
    return th, tw


def _image_tiles(image, size, th, tw):
    """t[p][q] = image[:, p::2, q::2] cut to th x tw tiles: element (p, q) of every size x size tile 2 apart."""
    return [[image[:, p : p + 2 * th : 2, q : q + 2 * tw : 2] for q in range(size)] for p in range(size)]


def winograd_tiles(x, out):
    """out[4p + q, (n*th + i)*tw + j, c] = (Bᵀ d B)[p, q] for each 4x4 tile d = x[n, 2i:2i+4, 2j:2j+4, c]."""
    th, tw = _tile_counts("winograd_tiles", x, out, 2)
    d = _image_tiles(x, 4, th, tw)
    t = [[d[0][q] - d[2][q] for q in range(4)], [d[1][q] + d[2][q] for q in range(4)],
         [d[2][q] - d[1][q] for q in range(4)], [d[1][q] - d[3][q] for q in range(4)]]
    for p in range(4):
        v = (t[p][0] - t[p][2], t[p][1] + t[p][2], t[p][2] - t[p][1], t[p][1] - t[p][3])
        for q in range(4):
            out[4 * p + q] = v[q].reshape(out.shape[1:])


def winograd_tiles_adjoint(v, out):
    """out[n, 2i:2i+4, 2j:2j+4, c] += B v Bᵀ for tile (n, i, j)'s values v[:, (n*th + i)*tw + j, c], in place.
    One add per tile position, the last first: the compiled loop adds overlapping tiles in row-major order."""
    th, tw = _tile_counts("winograd_tiles_adjoint", out, v, 2)
    s = [[v[4 * p + q].reshape((out.shape[0], th, tw, v.shape[2])) for q in range(4)] for p in range(4)]
    u = [s[0], [s[1][q] - s[2][q] + s[3][q] for q in range(4)], [s[1][q] + s[2][q] - s[0][q] for q in range(4)],
         [-s[3][q] for q in range(4)]]
    for p in reversed(range(4)):
        e = (u[p][0], u[p][1] - u[p][2] + u[p][3], u[p][1] + u[p][2] - u[p][0], -u[p][3])
        for q in reversed(range(4)):
            out[:, p : p + 2 * th : 2, q : q + 2 * tw : 2] += e[q]


def winograd_untile(m, out, bias=None):
    """out[n, 2i:2i+2, 2j:2j+2, f] = Aᵀ m A (+ bias[f]) for tile (n, i, j)'s values m[:, (n*th + i)*tw + j, f]."""
    th, tw = _tile_counts("winograd_untile", out, m, 0)
    if bias is not None and bias.shape != (out.shape[3],):
        raise ValueError(f"winograd_untile: bias of {bias.size} values for {out.shape[3]} channels")
    s = [[m[4 * p + q].reshape((out.shape[0], th, tw, m.shape[2])) for q in range(4)] for p in range(4)]
    t = ([s[0][q] + s[1][q] + s[2][q] for q in range(4)], [s[1][q] - s[2][q] - s[3][q] for q in range(4)])
    for p in range(2):
        y = (t[p][0] + t[p][1] + t[p][2], t[p][1] - t[p][2] - t[p][3])
        for q in range(2):
            out[:, p::2, q::2] = y[q] if bias is None else y[q] + bias


def winograd_untile_adjoint(g, out):
    """out[:, (n*th + i)*tw + j, f] = A g Aᵀ for each 2x2 tile g[n, 2i:2i+2, 2j:2j+2, f]."""
    _tile_counts("winograd_untile_adjoint", g, out, 0)
    t = [[g[:, 0::2, j::2], g[:, 0::2, j::2] + g[:, 1::2, j::2], g[:, 0::2, j::2] - g[:, 1::2, j::2],
          -g[:, 1::2, j::2]] for j in range(2)]
    for a in range(4):
        m = (t[0][a], t[0][a] + t[1][a], t[0][a] - t[1][a], -t[1][a])
        for b in range(4):
            out[4 * a + b] = m[b].reshape(out.shape[1:])
