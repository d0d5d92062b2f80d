"""Sliding windows over the rows and columns of channels-last images, with stride and dilation."""
import numpy as np


def output_size(size, window, stride, dilation=1):
    """How many windows fit along an axis of `size` (floor, as Keras and PyTorch); a dilated window spans
    dilation * (window - 1) + 1 elements."""
    return (size - dilation * (window - 1) - 1) // stride + 1


def sliding_windows(x, kh, kw, sh, sw, dh=1, dw=1):
    """The (N, Ho, Wo, kh, kw, C) windows of an (N, H, W, C) array, as a view; window element (a, b) of window
    (i, j) is x[:, i*sh + a*dh, j*sw + b*dw].

    Undilated, the same view as `skimage.util.view_as_windows(x, (1, kh, kw, C), (1, sh, sw, 1))[:, :, :, 0, 0]`,
    built directly because that call costs about 20 µs of checks, more than a whole batch-1 forward (measured).
    Dilation only multiplies the strides of the window axes: still a view, no copy.
    """
    n, h, w, c = x.shape
    s0, s1, s2, s3 = x.strides
    shape = (n, output_size(h, kh, sh, dh), output_size(w, kw, sw, dw), kh, kw, c)
    strides = (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    if x.flags.c_contiguous:
        # The ndarray constructor on x's buffer is the same view at a sixth of as_strided's cost.
        return np.ndarray(shape, x.dtype, x, 0, strides)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def offset_views(x, kh, kw, sh, sw, dh=1, dw=1):
    """For each offset (a, b) of a window, in row-major order, the (N, Ho, Wo, C) view of
    x[:, i*sh + a*dh, j*sw + b*dw]."""
    ho, wo = output_size(x.shape[1], kh, sh, dh), output_size(x.shape[2], kw, sw, dw)
    return [
        x[:, a * dh : a * dh + sh * (ho - 1) + 1 : sh, b * dw : b * dw + sw * (wo - 1) + 1 : sw]
        for a in range(kh)
        for b in range(kw)
    ]


def pad_spatial(x, padding, value=0):
    """x (N, H, W, C) with `value` around its rows and columns; `padding` is (top, bottom, left, right)."""
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    # Cheaper than np.pad, whose generality costs more than a small convolution.
    shape = (n, h + top + bottom, w + left + right, c)
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[:, top : top + h, left : left + w] = x
    return out


def crop_spatial(x, padding, shape):
    """The (N, H, W, C) `shape` inside x that `padding` (top, bottom, left, right) surrounds."""
    top, _, left, _ = padding
    return x[:, top : top + shape[1], left : left + shape[2]]
