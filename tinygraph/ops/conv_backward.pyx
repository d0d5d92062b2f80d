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
