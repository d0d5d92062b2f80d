"""Sliding windows over the rows and columns of channels-last images."""
import numpy as np


def output_size(size, window, stride):
    """How many windows fit along an axis of `size` (floor, as Keras and PyTorch)."""
    return (size - window) // stride + 1


def sliding_windows(x, kh, kw, sh, sw):
    """The (N, Ho, Wo, kh, kw, C) windows of an (N, H, W, C) array, as a view.

    The same view as `skimage.util.view_as_windows(x, (1, kh, kw, C), (1, sh, sw, 1))[:, :, :, 0, 0]`, built
    directly because that call costs about 20 µs of checks, more than a whole batch-1 forward (measured).
    """
    n, h, w, c = x.shape
    s0, s1, s2, s3 = x.strides
    shape = (n, output_size(h, kh, sh), output_size(w, kw, sw), kh, kw, c)
    strides = (s0, s1 * sh, s2 * sw, s1, s2, s3)
    if x.flags.c_contiguous:
        # The ndarray constructor on x's buffer is the same view at a sixth of as_strided's cost.
        return np.ndarray(shape, x.dtype, x, 0, strides)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def offset_views(x, kh, kw, sh, sw):
    """For each offset (a, b) of a window, in row-major order, the (N, Ho, Wo, C) view of x[:, i*sh + a, j*sw + b]."""
    ho, wo = output_size(x.shape[1], kh, sh), output_size(x.shape[2], kw, sw)
    return [
        x[:, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw]
        for a in range(kh)
        for b in range(kw)
    ]
