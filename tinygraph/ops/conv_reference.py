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
