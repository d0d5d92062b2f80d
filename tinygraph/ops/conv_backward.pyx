# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled kernels: the loops of convolution, pooling and relu that BLAS cannot do.

scatter_windows (col2im: windows added back, with a stride and a dilation, into the array they were cut from; the
convolution's input gradient and the transposed convolution's forward), copy_windows (im2col), relu_positive and
scatter_winners (a max-pool's gradient). Each has its NumPy specification, with the same signature, in
conv_reference.py. They run on the calling thread without the GIL; tinygraph's threads call them on blocks of samples.
"""
from cython cimport floating

cdef extern from *:
    """
    /* One window offset k of a max-pool's gradient over a run of n channels: the gradient where k is the winner,
       exactly zero (its bits masked off) elsewhere; without branches, so that the compiler vectorises it even for
       baseline x86-64. */
    #include <stdint.h>
    #define TG_ADD_AT_WINNER(T, U) \
    static inline void tg_add_at_winner_##T(const T* restrict g, const unsigned char* restrict at, \
                                            T* restrict dst, Py_ssize_t n, unsigned char k) { \
        for (Py_ssize_t c = 0; c < n; c++) { \
            union { T f; U u; } v; \
            v.f = g[c]; \
            v.u &= -(U)(at[c] == k); \
            dst[c] += v.f; \
        } \
    }
    TG_ADD_AT_WINNER(float, uint32_t)
    TG_ADD_AT_WINNER(double, uint64_t)
    """
    void tg_add_at_winner_float(const float* g, const unsigned char* at, float* dst, Py_ssize_t n,
                                unsigned char k) nogil
    void tg_add_at_winner_double(const double* g, const unsigned char* at, double* dst, Py_ssize_t n,
                                 unsigned char k) nogil


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


def scatter_winners(const unsigned char[:, :, :, ::1] winner, const floating[:, :, :, ::1] grad,
                    floating[:, :, :, ::1] out, Py_ssize_t pool_h, Py_ssize_t pool_w, Py_ssize_t stride_h,
                    Py_ssize_t stride_w):
    """out[n, i*sh + k // pw, j*sw + k % pw, c] += grad[n, i, j, c] with k = winner[n, i, j, c], windows in
    row-major order, in place: a max-pool's gradient, sent to each window's winner only.

    winner, grad: (N, Ho, Wo, C); out: (N, H, W, C); all C-contiguous; every winner below ph*pw."""
    cdef Py_ssize_t n_samples = grad.shape[0], rows_out = grad.shape[1], cols_out = grad.shape[2]
    cdef Py_ssize_t channels = grad.shape[3]
    if pool_h < 1 or pool_w < 1 or stride_h < 1 or stride_w < 1 or pool_h * pool_w > 256:
        raise ValueError(f"scatter_winners: pool ({pool_h}, {pool_w}) and stride ({stride_h}, {stride_w}) must be "
                         f">= 1, with at most 256 elements per window")
    # Checked on the C shapes: the Python tuples are made only for the message.
    if (winner.shape[0] != n_samples or winner.shape[1] != rows_out or winner.shape[2] != cols_out
            or winner.shape[3] != channels or out.shape[0] != n_samples or out.shape[3] != channels
            or (rows_out > 0 and (rows_out - 1) * stride_h + pool_h > out.shape[1])
            or (cols_out > 0 and (cols_out - 1) * stride_w + pool_w > out.shape[2])):
        raise ValueError(
            f"scatter_winners: pooled and winner arrays of shapes {tuple([grad.shape[d] for d in range(4)])}, "
            f"{tuple([winner.shape[d] for d in range(4)])} do not fit the {pool_h}x{pool_w} windows (stride "
            f"({stride_h}, {stride_w})) of an image of shape {tuple([out.shape[d] for d in range(4)])}")
    cdef Py_ssize_t n, i, j, a, b
    cdef unsigned char k
    cdef const floating* g
    cdef const unsigned char* at
    cdef floating* dst
    with nogil:
        for n in range(n_samples):
            for i in range(rows_out):
                for j in range(cols_out):
                    g = &grad[n, i, j, 0]
                    at = &winner[n, i, j, 0]
                    # Each element of the window gets its gradient or a zero: a vectorised pass per offset
                    # (a scattered add per channel is slower), and the same additions as the reference.
                    for a in range(pool_h):
                        for b in range(pool_w):
                            k = a * pool_w + b
                            dst = &out[n, i * stride_h + a, j * stride_w + b, 0]
                            if floating is float:
                                tg_add_at_winner_float(g, at, dst, channels, k)
                            else:
                                tg_add_at_winner_double(g, at, dst, channels, k)
