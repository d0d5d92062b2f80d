"""The NumPy specification of the compiled kernel in conv_backward.pyx, and its fallback."""


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
