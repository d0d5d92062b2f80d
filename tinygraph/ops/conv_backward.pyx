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

    /* Winograd F(4x4, 3x3)'s transforms (winograd.py gives the matrices Bᵀ and Aᵀ; conv_reference.py the same
       arithmetic in the same order). Each 2-D transform of a tile runs as 1-D transforms along its rows, then along
       its columns, each over a run of channels (innermost, contiguous: vectorised), through a small buffer.
       A 1-D transform reads k = 0..5 (or 0..3) vectors at in + k*is and writes to out + k*os: stored (STORE), added
       (ADD), or stored plus a bias (BIAS); a constant mode in each call lets the compiler drop the branches. */
    #define TG_STORE 0
    #define TG_ADD 1
    #define TG_BIAS 2
    #define TG_PUT(T, dst, value) do { T v_ = (value); \
        if (mode == TG_ADD) (dst) += v_; else if (mode == TG_BIAS) (dst) = v_ + bias[c]; else (dst) = v_; } while (0)
    #define TG_WINOGRAD(T) \
    static inline void tg_bt_##T(const T* restrict in, Py_ssize_t is, T* restrict out, Py_ssize_t os, \
                                 Py_ssize_t n, const int mode, const T* restrict bias) { \
        for (Py_ssize_t c = 0; c < n; c++) { \
            T d0 = in[c], d1 = in[is + c], d2 = in[2 * is + c], d3 = in[3 * is + c], d4 = in[4 * is + c], \
              d5 = in[5 * is + c]; \
            TG_PUT(T, out[c], 4 * d0 - 5 * d2 + d4); \
            TG_PUT(T, out[os + c], d3 + d4 - 4 * d1 - 4 * d2); \
            TG_PUT(T, out[2 * os + c], 4 * d1 - 4 * d2 - d3 + d4); \
            TG_PUT(T, out[3 * os + c], 2 * d3 - 2 * d1 - d2 + d4); \
            TG_PUT(T, out[4 * os + c], 2 * d1 - 2 * d3 - d2 + d4); \
            TG_PUT(T, out[5 * os + c], 4 * d1 - 5 * d3 + d5); \
        } \
    } \
    static inline void tg_b_##T(const T* restrict in, Py_ssize_t is, T* restrict out, Py_ssize_t os, \
                                Py_ssize_t n, const int mode, const T* restrict bias) { \
        for (Py_ssize_t c = 0; c < n; c++) { \
            T r0 = in[c], r1 = in[is + c], r2 = in[2 * is + c], r3 = in[3 * is + c], r4 = in[4 * is + c], \
              r5 = in[5 * is + c]; \
            TG_PUT(T, out[c], 4 * r0); \
            TG_PUT(T, out[os + c], 4 * r2 - 4 * r1 - 2 * r3 + 2 * r4 + 4 * r5); \
            TG_PUT(T, out[2 * os + c], -5 * r0 - 4 * r1 - 4 * r2 - r3 - r4); \
            TG_PUT(T, out[3 * os + c], r1 - r2 + 2 * r3 - 2 * r4 - 5 * r5); \
            TG_PUT(T, out[4 * os + c], r0 + r1 + r2 + r3 + r4); \
            TG_PUT(T, out[5 * os + c], r5); \
        } \
    } \
    static inline void tg_at_##T(const T* restrict in, Py_ssize_t is, T* restrict out, Py_ssize_t os, \
                                 Py_ssize_t n, const int mode, const T* restrict bias) { \
        for (Py_ssize_t c = 0; c < n; c++) { \
            T m0 = in[c], m1 = in[is + c], m2 = in[2 * is + c], m3 = in[3 * is + c], m4 = in[4 * is + c], \
              m5 = in[5 * is + c]; \
            TG_PUT(T, out[c], m0 + m1 + m2 + m3 + m4); \
            TG_PUT(T, out[os + c], m1 - m2 + 2 * m3 - 2 * m4); \
            TG_PUT(T, out[2 * os + c], m1 + m2 + 4 * m3 + 4 * m4); \
            TG_PUT(T, out[3 * os + c], m1 - m2 + 8 * m3 - 8 * m4 + m5); \
        } \
    } \
    static inline void tg_a_##T(const T* restrict in, Py_ssize_t is, T* restrict out, Py_ssize_t os, \
                                Py_ssize_t n, const int mode, const T* restrict bias) { \
        for (Py_ssize_t c = 0; c < n; c++) { \
            T y0 = in[c], y1 = in[is + c], y2 = in[2 * is + c], y3 = in[3 * is + c]; \
            TG_PUT(T, out[c], y0); \
            TG_PUT(T, out[os + c], y0 + y1 + y2 + y3); \
            TG_PUT(T, out[2 * os + c], y0 - y1 + y2 - y3); \
            TG_PUT(T, out[3 * os + c], y0 + 2 * y1 + 4 * y2 + 8 * y3); \
            TG_PUT(T, out[4 * os + c], y0 - 2 * y1 + 4 * y2 - 8 * y3); \
            TG_PUT(T, out[5 * os + c], y3); \
        } \
    } \
    /* The 2-D transforms of one tile, a run of TG_RUN channels at a time through buf (6x6 runs). x, y: the tile's \
       corner in an image, `row` and `col` apart; v, m: its 36 values, `plane` apart. */ \
    static inline void tg_tile_##T(const T* restrict x, Py_ssize_t row, Py_ssize_t col, T* restrict v, \
                                   Py_ssize_t plane, Py_ssize_t n) { \
        T buf[36 * TG_RUN]; \
        for (Py_ssize_t c0 = 0; c0 < n; c0 += TG_RUN) { \
            Py_ssize_t k = n - c0 < TG_RUN ? n - c0 : TG_RUN; \
            for (int q = 0; q < 6; q++) tg_bt_##T(x + q * col + c0, row, buf + q * TG_RUN, 6 * TG_RUN, k, TG_STORE, 0); \
            for (int p = 0; p < 6; p++) \
                tg_bt_##T(buf + 6 * p * TG_RUN, TG_RUN, v + 6 * p * plane + c0, plane, k, TG_STORE, 0); \
        } \
    } \
    static inline void tg_tile_adjoint_##T(const T* restrict v, Py_ssize_t plane, T* restrict x, Py_ssize_t row, \
                                           Py_ssize_t col, Py_ssize_t n) { \
        T buf[36 * TG_RUN]; \
        for (Py_ssize_t c0 = 0; c0 < n; c0 += TG_RUN) { \
            Py_ssize_t k = n - c0 < TG_RUN ? n - c0 : TG_RUN; \
            for (int q = 0; q < 6; q++) \
                tg_b_##T(v + q * plane + c0, 6 * plane, buf + q * TG_RUN, 6 * TG_RUN, k, TG_STORE, 0); \
            for (int p = 0; p < 6; p++) tg_b_##T(buf + 6 * p * TG_RUN, TG_RUN, x + p * row + c0, col, k, TG_ADD, 0); \
        } \
    } \
    static inline void tg_untile_##T(const T* restrict m, Py_ssize_t plane, const T* restrict bias, \
                                     T* restrict y, Py_ssize_t row, Py_ssize_t col, Py_ssize_t n) { \
        T buf[36 * TG_RUN]; \
        for (Py_ssize_t c0 = 0; c0 < n; c0 += TG_RUN) { \
            Py_ssize_t k = n - c0 < TG_RUN ? n - c0 : TG_RUN; \
            for (int q = 0; q < 6; q++) \
                tg_at_##T(m + q * plane + c0, 6 * plane, buf + q * TG_RUN, 6 * TG_RUN, k, TG_STORE, 0); \
            for (int p = 0; p < 4; p++) { \
                if (bias) tg_at_##T(buf + 6 * p * TG_RUN, TG_RUN, y + p * row + c0, col, k, TG_BIAS, bias + c0); \
                else tg_at_##T(buf + 6 * p * TG_RUN, TG_RUN, y + p * row + c0, col, k, TG_STORE, 0); \
            } \
        } \
    } \
    static inline void tg_untile_adjoint_##T(const T* restrict g, Py_ssize_t row, Py_ssize_t col, \
                                             T* restrict m, Py_ssize_t plane, Py_ssize_t n) { \
        T buf[24 * TG_RUN]; \
        for (Py_ssize_t c0 = 0; c0 < n; c0 += TG_RUN) { \
            Py_ssize_t k = n - c0 < TG_RUN ? n - c0 : TG_RUN; \
            for (int q = 0; q < 4; q++) tg_a_##T(g + q * col + c0, row, buf + q * TG_RUN, 4 * TG_RUN, k, TG_STORE, 0); \
            for (int p = 0; p < 6; p++) \
                tg_a_##T(buf + 4 * p * TG_RUN, TG_RUN, m + 6 * p * plane + c0, plane, k, TG_STORE, 0); \
        } \
    } \
    /* One of the four transforms of one tile, by number (the Transform enum: 0 tiles, 1 their adjoint, \
       2 untile, 3 its adjoint): image is the tile's corner, values its 36 values. */ \
    static inline void tg_winograd_##T(int transform, T* image, Py_ssize_t row, Py_ssize_t col, T* values, \
                                       Py_ssize_t plane, const T* bias, Py_ssize_t n) { \
        if (transform == 0) tg_tile_##T(image, row, col, values, plane, n); \
        else if (transform == 1) tg_tile_adjoint_##T(values, plane, image, row, col, n); \
        else if (transform == 2) tg_untile_##T(values, plane, bias, image, row, col, n); \
        else tg_untile_adjoint_##T(image, row, col, values, plane, n); \
    }
    #define TG_RUN 64
    TG_WINOGRAD(float)
    TG_WINOGRAD(double)
    """
    void tg_add_at_winner_float(const float* g, const unsigned char* at, float* dst, Py_ssize_t n,
                                unsigned char k) nogil
    void tg_add_at_winner_double(const double* g, const unsigned char* at, double* dst, Py_ssize_t n,
                                 unsigned char k) nogil
    void tg_winograd_float(int transform, float* image, Py_ssize_t row, Py_ssize_t col, float* values,
                           Py_ssize_t plane, const float* bias, Py_ssize_t n) nogil
    void tg_winograd_double(int transform, double* image, Py_ssize_t row, Py_ssize_t col, double* values,
                            Py_ssize_t plane, const double* bias, Py_ssize_t n) nogil


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


def relu_gradient(const floating[::1] grad, const unsigned char[::1] positive, floating[::1] out):
    """out = grad * positive (0 or 1; a NaN gradient stays NaN, as the product) over flat arrays; out may be grad."""
    cdef Py_ssize_t size = grad.shape[0], k
    if out.shape[0] != size or positive.shape[0] != size:
        raise ValueError(f"relu_gradient: grad, positive and out must have one size, got {size}, "
                         f"{positive.shape[0]}, {out.shape[0]}")
    with nogil:
        for k in range(size):
            out[k] = grad[k] * <floating>positive[k]


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


# ----- Winograd F(4x4, 3x3) (winograd.py): tiles of an image <-> 36 planes of rows, one row per 4x4 output tile ---
cdef enum Transform:  # the numbers tg_winograd_* takes
    TILES = 0
    TILES_ADJOINT = 1
    UNTILE = 2
    UNTILE_ADJOINT = 3


cdef void _each_tile(Transform transform, floating* image, Py_ssize_t n_samples, Py_ssize_t th, Py_ssize_t tw,
                     Py_ssize_t[4] strides, floating* planes, Py_ssize_t plane, Py_ssize_t tile_stride,
                     const floating* bias) noexcept nogil:
    """One transform for every tile (n, i, j) in row-major order: image at [n, 4i, 4j, 0] (strides in items),
    planes at row (n*th + i)*tw + j."""
    cdef Py_ssize_t n, i, j, channels = strides[3]
    cdef floating* corner
    cdef floating* values
    for n in range(n_samples):
        for i in range(th):
            for j in range(tw):
                corner = image + n * strides[0] + 4 * i * strides[1] + 4 * j * strides[2]
                values = planes + ((n * th + i) * tw + j) * tile_stride
                if floating is float:
                    tg_winograd_float(transform, corner, strides[1], strides[2], values, plane, bias, channels)
                else:
                    tg_winograd_double(transform, corner, strides[1], strides[2], values, plane, bias, channels)


cdef _transform(str name, Transform transform, const floating[:, :, :, :] image, const floating[:, :, :] planes,
                Py_ssize_t border, const floating[::1] bias=None):
    """Check that `image` (N, 4*th + border, 4*tw + border, C) and `planes` (36, N*th*tw, C) match, both with
    contiguous channels, then run the transform over every tile (the kernels write to one of the two)."""
    cdef Py_ssize_t n = image.shape[0], rows = image.shape[1], cols = image.shape[2], channels = image.shape[3]
    cdef Py_ssize_t th = (rows - border) // 4, tw = (cols - border) // 4, item = sizeof(floating)
    if (th < 0 or tw < 0 or rows != 4 * th + border or cols != 4 * tw + border or planes.shape[0] != 36
            or planes.shape[1] != n * th * tw or planes.shape[2] != channels):
        raise ValueError(f"{name}: an image batch of {n}x{rows}x{cols}x{channels} (4*tiles + {border} rows and "
                         f"columns) does not match planes of {planes.shape[0]}x{planes.shape[1]}x{planes.shape[2]}")
    if image.strides[3] != item or planes.strides[2] != item:
        raise ValueError(f"{name}: both arrays need contiguous channels (the last axis), got strides "
                         f"{image.strides[3]} and {planes.strides[2]} for items of {item} bytes")
    if bias is not None and bias.shape[0] != channels:
        raise ValueError(f"{name}: bias of {bias.shape[0]} values for {channels} channels")
    if planes.shape[1] == 0 or channels == 0:
        return
    cdef Py_ssize_t[4] strides = [image.strides[0] // item, image.strides[1] // item, image.strides[2] // item,
                                  channels]
    cdef const floating* shift = NULL if bias is None else &bias[0]
    with nogil:
        _each_tile(transform, <floating*>&image[0, 0, 0, 0], n, th, tw, strides, <floating*>&planes[0, 0, 0],
                   planes.strides[0] // item, planes.strides[1] // item, shift)


def winograd_tiles(const floating[:, :, :, :] x, floating[:, :, :] out):
    """out[6p + q, (n*th + i)*tw + j, c] = (Bᵀ d B)[p, q] for each 6x6 tile d = x[n, 4i:4i+6, 4j:4j+6, c]: the input
    transform. x: (N, 4*th + 2, 4*tw + 2, C); out: (36, N*th*tw, C); channels contiguous in both."""
    _transform("winograd_tiles", TILES, x, out, 2)


def winograd_tiles_adjoint(const floating[:, :, :] v, floating[:, :, :, :] out):
    """out[n, 4i:4i+6, 4j:4j+6, c] += B v Bᵀ for tile (n, i, j)'s values v[:, (n*th + i)*tw + j, c], tiles in
    row-major order, in place: the adjoint of winograd_tiles (overlapping tiles add up)."""
    _transform("winograd_tiles_adjoint", TILES_ADJOINT, out, v, 2)


def winograd_untile(const floating[:, :, :] m, floating[:, :, :, :] out, const floating[::1] bias=None):
    """out[n, 4i:4i+4, 4j:4j+4, f] = Aᵀ m A (+ bias[f]) for tile (n, i, j)'s values m[:, (n*th + i)*tw + j, f]:
    the output transform. m: (36, N*th*tw, F); out: (N, 4*th, 4*tw, F); bias: (F,) or None."""
    _transform("winograd_untile", UNTILE, out, m, 0, bias)


def winograd_untile_adjoint(const floating[:, :, :, :] g, floating[:, :, :] out):
    """out[:, (n*th + i)*tw + j, f] = A g Aᵀ for each 4x4 tile g[n, 4i:4i+4, 4j:4j+4, f]: the adjoint of
    winograd_untile. g: (N, 4*th, 4*tw, F); out: (36, N*th*tw, F)."""
    _transform("winograd_untile_adjoint", UNTILE_ADJOINT, g, out, 0)
