# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled col2im: add windows back, with a stride and a dilation, into the array they were cut from.

It is the one loop of the convolution's input gradient (and of the transposed convolution's forward) that BLAS
cannot do, and the same loop serves the backward of pooling with overlapping windows.
`conv_reference.scatter_windows` is its NumPy specification.
"""
from cython cimport floating


def scatter_windows(const floating[:, :, :, :, :, ::1] windows, floating[:, :, :, ::1] out,
                    Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t dilation_h=1, Py_ssize_t dilation_w=1):
    """out[n, i*stride_h + a*dilation_h, j*stride_w + b*dilation_w, c] += windows[n, i, j, a, b, c] for every
    index, in place.

    windows: (N, Ho, Wo, kh, kw, C), C-contiguous; out: (N, Hp, Wp, C), C-contiguous, same dtype.
    """
    cdef Py_ssize_t n_samples = windows.shape[0], rows_out = windows.shape[1], cols_out = windows.shape[2]
    cdef Py_ssize_t kh = windows.shape[3], kw = windows.shape[4], channels = windows.shape[5]
    if stride_h < 1 or stride_w < 1:
        raise ValueError(f"scatter_windows: strides must be >= 1, got ({stride_h}, {stride_w})")
    if dilation_h < 1 or dilation_w < 1:
        raise ValueError(f"scatter_windows: dilations must be >= 1, got ({dilation_h}, {dilation_w})")
    if (out.shape[0] != n_samples or out.shape[3] != channels
            or (rows_out > 0 and kh > 0 and (rows_out - 1) * stride_h + (kh - 1) * dilation_h >= out.shape[1])
            or (cols_out > 0 and kw > 0 and (cols_out - 1) * stride_w + (kw - 1) * dilation_w >= out.shape[2])):
        raise ValueError(
            f"scatter_windows: windows of shape {tuple([windows.shape[d] for d in range(6)])} "
            f"with stride ({stride_h}, {stride_w}) and dilation ({dilation_h}, {dilation_w}) "
            f"do not fit into out of shape {tuple([out.shape[d] for d in range(4)])}"
        )
    # Undilated, one window row (kw * C values) is contiguous in both arrays, so the innermost loop runs over it
    # flat; dilated, its kw runs of C values land dilation_w * C apart (one loop for both: measured as fast as the
    # undilated loop alone).
    cdef Py_ssize_t run = kw * channels if dilation_w == 1 else channels
    cdef Py_ssize_t pieces = 1 if dilation_w == 1 else kw
    cdef Py_ssize_t jump = dilation_w * channels
    cdef Py_ssize_t n, i, j, a, p, t
    cdef const floating* src
    cdef floating* dst
    if run == 0 or kw == 0:
        return
    with nogil:
        for n in range(n_samples):
            for i in range(rows_out):
                for j in range(cols_out):
                    for a in range(kh):
                        src = &windows[n, i, j, a, 0, 0]
                        dst = &out[n, i * stride_h + a * dilation_h, j * stride_w, 0]
                        for p in range(pieces):
                            for t in range(run):
                                dst[t] += src[t]
                            src += run
                            dst += jump


def copy_windows(floating[:, :, :, :, :, ::1] out, const floating[:, :, :, :, :, :] windows):
    """out[...] = windows: the im2col copy of a convolution's windows (any strides, e.g. the sliding-windows view)
    into a C-contiguous array of the same shape and dtype."""
    cdef Py_ssize_t n_samples = windows.shape[0], rows_out = windows.shape[1], cols_out = windows.shape[2]
    cdef Py_ssize_t kh = windows.shape[3], kw = windows.shape[4], channels = windows.shape[5]
    if tuple([out.shape[d] for d in range(6)]) != tuple([windows.shape[d] for d in range(6)]):
        raise ValueError(f"copy_windows: out of shape {tuple([out.shape[d] for d in range(6)])} does not match "
                         f"windows of shape {tuple([windows.shape[d] for d in range(6)])}")
    # Strides in elements; a window row whose kw runs of C values are adjacent is copied as one run of kw * C.
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t s_n = windows.strides[0] // item, s_i = windows.strides[1] // item
    cdef Py_ssize_t s_j = windows.strides[2] // item, s_a = windows.strides[3] // item
    cdef Py_ssize_t s_b = windows.strides[4] // item, s_c = windows.strides[5] // item
    cdef bint flat = s_c == 1 and s_b == channels
    cdef Py_ssize_t n, i, j, a, b, c, t, run = kw * channels
    cdef const floating* src
    cdef floating* dst
    if n_samples == 0 or rows_out == 0 or cols_out == 0 or kh == 0 or run == 0:
        return
    with nogil:
        for n in range(n_samples):
            for i in range(rows_out):
                for j in range(cols_out):
                    for a in range(kh):
                        src = &windows[n, i, j, a, 0, 0]
                        dst = &out[n, i, j, a, 0, 0]
                        if flat:
                            for t in range(run):
                                dst[t] = src[t]
                        else:
                            for b in range(kw):
                                for c in range(channels):
                                    dst[b * channels + c] = src[b * s_b + c * s_c]


def relu_positive(const floating[::1] x, floating[::1] out, unsigned char[::1] positive):
    """positive = x > 0 and out = np.maximum(x, 0) (NaN stays NaN) in one pass over flat arrays; out may be x."""
    cdef Py_ssize_t size = x.shape[0], k
    cdef floating v
    if out.shape[0] != size or positive.shape[0] != size:
        raise ValueError(f"relu_positive: x, out and positive must have one size, got {size}, {out.shape[0]}, "
                         f"{positive.shape[0]}")
    with nogil:
        for k in range(size):
            v = x[k]
            positive[k] = v > 0
            out[k] = v if (v > 0 or v != v) else 0


def max_windows(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] best, unsigned char[:, :, :, ::1] winner,
                Py_ssize_t pool_h, Py_ssize_t pool_w, Py_ssize_t stride_h, Py_ssize_t stride_w):
    """best[n, i, j, c] = the max of the window x[n, i*sh : i*sh + ph, j*sw : j*sw + pw, c] (NaN if it holds one),
    winner[n, i, j, c] = the row-major offset a*pw + b of its first maximum (ph*pw - 1 for a NaN), in place.

    x: (N, H, W, C); best and winner: (N, Ho, Wo, C), all C-contiguous; ph*pw at most 256."""
    cdef Py_ssize_t n_samples = best.shape[0], rows_out = best.shape[1], cols_out = best.shape[2]
    cdef Py_ssize_t channels = best.shape[3], last = pool_h * pool_w - 1
    _check_windows("max_windows", x, best, winner, pool_h, pool_w, stride_h, stride_w)
    cdef Py_ssize_t n, i, j, a, b, c
    cdef unsigned char k
    cdef const floating* src
    cdef floating* top
    cdef unsigned char* at
    cdef floating v
    with nogil:
        for n in range(n_samples):
            for i in range(rows_out):
                for j in range(cols_out):
                    top = &best[n, i, j, 0]
                    at = &winner[n, i, j, 0]
                    src = &x[n, i * stride_h, j * stride_w, 0]
                    for c in range(channels):
                        top[c] = src[c]
                        at[c] = 0 if src[c] == src[c] else last
                    for a in range(pool_h):
                        for b in range(pool_w):
                            if a == 0 and b == 0:
                                continue
                            k = a * pool_w + b
                            src = &x[n, i * stride_h + a, j * stride_w + b, 0]
                            # Strictly greater keeps the first maximum; a NaN wins for good (nothing compares
                            # greater than it), with the offset the NumPy reference gives it.
                            for c in range(channels):
                                v = src[c]
                                if v > top[c]:
                                    top[c] = v
                                    at[c] = k
                                elif v != v:
                                    top[c] = v
                                    at[c] = last


def scatter_winners(const unsigned char[:, :, :, ::1] winner, const floating[:, :, :, ::1] grad,
                    floating[:, :, :, ::1] out, Py_ssize_t pool_h, Py_ssize_t pool_w, Py_ssize_t stride_h,
                    Py_ssize_t stride_w):
    """out[n, i*sh + k // pw, j*sw + k % pw, c] += grad[n, i, j, c] with k = winner[n, i, j, c], windows in
    row-major order, in place: a max-pool's gradient, sent to each window's winner only.

    winner, grad: (N, Ho, Wo, C); out: (N, H, W, C); all C-contiguous; every winner below ph*pw."""
    cdef Py_ssize_t n_samples = grad.shape[0], rows_out = grad.shape[1], cols_out = grad.shape[2]
    cdef Py_ssize_t channels = grad.shape[3]
    _check_windows("scatter_winners", out, grad, winner, pool_h, pool_w, stride_h, stride_w)
    cdef Py_ssize_t n, i, j, c, k
    cdef Py_ssize_t row = out.shape[2] * channels
    cdef const floating* g
    cdef const unsigned char* at
    cdef floating* dst
    with nogil:
        for n in range(n_samples):
            for i in range(rows_out):
                for j in range(cols_out):
                    g = &grad[n, i, j, 0]
                    at = &winner[n, i, j, 0]
                    dst = &out[n, i * stride_h, j * stride_w, 0]
                    for c in range(channels):
                        k = at[c]
                        dst[(k // pool_w) * row + (k % pool_w) * channels + c] += g[c]


cdef _check_windows(str op, image, pooled, winner, Py_ssize_t pool_h, Py_ssize_t pool_w, Py_ssize_t stride_h,
                    Py_ssize_t stride_w):
    """The shapes of a pooling kernel's image (N, H, W, C), pooled (N, Ho, Wo, C) and winner arrays agree."""
    image_shape, pooled_shape = tuple(image.shape[:4]), tuple(pooled.shape[:4])
    if pool_h < 1 or pool_w < 1 or stride_h < 1 or stride_w < 1 or pool_h * pool_w > 256:
        raise ValueError(f"{op}: pool ({pool_h}, {pool_w}) and stride ({stride_h}, {stride_w}) must be >= 1, "
                         f"with at most 256 elements per window")
    if (tuple(winner.shape[:4]) != pooled_shape or image_shape[0] != pooled_shape[0]
            or image_shape[3] != pooled_shape[3]
            or (pooled_shape[1] > 0 and (pooled_shape[1] - 1) * stride_h + pool_h > image_shape[1])
            or (pooled_shape[2] > 0 and (pooled_shape[2] - 1) * stride_w + pool_w > image_shape[2])):
        raise ValueError(f"{op}: pooled and winner arrays of shapes {pooled_shape}, {tuple(winner.shape[:4])} do "
                         f"not fit the {pool_h}x{pool_w} windows (stride ({stride_h}, {stride_w})) of an image of "
                         f"shape {image_shape}")
