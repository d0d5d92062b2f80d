"""The transposed convolution: the adjoint of `correlate`, as PyTorch's ConvTranspose2d, channels-last.

Its forward is correlate's input-gradient path (a matrix product, then the compiled col2im), its input gradient a
correlation and its filter gradient one matrix product over the windows of the output gradient.
"""
import numpy as np

from .. import checks
from .conv import (
    batched, bias_gradient, check_operands, correlate, filter_correlation, pair, windows_product, windows_scatter
)
from .function import Function, apply
from .shape import pad
from .windows import crop_spatial, pad_spatial, sliding_windows


class ConvTranspose(Function):
    """y[n, i*sh + a*dh - ph, j*sw + b*dw - pw, c] += Σ_f x[n,i,j,f] · w[f,a,b,c], then + b[c]: col2im(x · w),
    cropped; gradients: dx = correlate(g padded, w), dw = xᵀ · windows(g padded), db = Σ_nij g."""

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, padding, dilation, out_size):
        single = x.ndim == 3
        if single:
            x = x[None]
        # The col2im kernel adds floats: integers are summed as float64, float32 stays float32.
        dtype = np.result_type(x, w, np.float32)
        x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
        ph, pw = padding
        full_shape = (x.shape[0], out_size[0] + 2 * ph, out_size[1] + 2 * pw, w.shape[3])
        out = windows_scatter(x, w, full_shape, stride, dilation)
        out = crop_spatial(out, (ph, ph, pw, pw), full_shape[:1] + out_size)
        if b is not None:
            out = out + b
        elif ph or pw:
            out = np.ascontiguousarray(out)  # not a view that keeps the padding's rows alive
        ctx.save_for_backward(x, w)
        ctx.single = single
        return out[0] if single else out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_arrays
        needs = ctx.needs_input_grad
        g = grad[None] if ctx.single else grad
        n_in, kh, kw, n_out = w.shape
        ph, pw = ctx.padding
        # The output's gradient, padded back to the uncropped shape, cut into the windows the forward scattered.
        padded = pad_spatial(g, (ph, ph, pw, pw))
        windows = sliding_windows(padded, kh, kw, *ctx.stride, *ctx.dilation)[:, : x.shape[1], : x.shape[2]]
        dx, cols = windows_product(windows, w.reshape(n_in, -1), keep_cols=needs[1])
        dx = dx.reshape(x.shape) if needs[0] else None
        if dx is not None and ctx.single:
            dx = dx[0]
        dw = (x.reshape(-1, n_in).T @ cols).reshape(w.shape) if needs[1] else None
        if len(needs) == 2:
            return dx, dw
        return dx, dw, bias_gradient(g.reshape(-1, n_out)) if needs[2] else None

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph=True), the same formulas: dx a correlation of g padded back,
        dw its filter_correlation with x, so that second derivatives flow through both."""
        x, w = ctx.parents[:2]
        ph, pw = ctx.padding
        padded = pad(batched(grad, ctx.single), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        needs, dx, dw = ctx.needs_input_grad, None, None
        if needs[0]:
            dx = correlate(padded, w, stride=ctx.stride, dilation=ctx.dilation)[:, : x.shape[-3], : x.shape[-2]]
            dx = dx.reshape(x.shape)
        if needs[1]:
            dw = filter_correlation(padded, batched(x, ctx.single), w.shape[1:3], ctx.stride, ctx.dilation)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, padded.sum(axis=(0, 1, 2)) if needs[2] else None


def _transpose_arguments(op, x, w, b, stride, padding, output_padding, dilation):
    """Validate shapes and arguments before the op runs; returns (stride, padding, dilation, output size).
    An error on an input that looks channels-first says how to make it channels-last."""
    try:
        return _checked_transpose_arguments(op, x, w, b, stride, padding, output_padding, dilation)
    except ValueError as err:
        raise checks.with_layout_hint(err, np.shape(x), "(C_in, C_out, kh, kw)") from None


def _checked_transpose_arguments(op, x, w, b, stride, padding, output_padding, dilation):
    shapes = check_operands(op, x, w, b, channels_axis=0, out_axis=3)
    (h, wd), (_, kh, kw, _) = np.shape(x)[-3:-1], np.shape(w)
    if h < 1 or wd < 1 or kh < 1 or kw < 1:
        raise ValueError(f"{op}: x and the kernel need at least one row and one column ({shapes})")
    stride, dilation = pair(op, "stride", stride, shapes), pair(op, "dilation", dilation, shapes)
    pads, extra = (_non_negative_pair(op, what, value, shapes)
                   for what, value in (("padding", padding), ("output_padding", output_padding)))
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than the stride {stride} or the dilation "
                         f"{dilation} along each axis, as in PyTorch ({shapes})")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for n, s, p, d, k, e in zip((h, wd), stride, pads, dilation, (kh, kw), extra))
    if min(size) < 1:
        raise ValueError(f"{op}: padding {pads} crops the whole output: (H - 1)*stride - 2*padding + "
                         f"dilation*(k - 1) + output_padding + 1 gives {size[0]}x{size[1]} ({shapes})")
    return stride, pads, dilation, size


def _non_negative_pair(op, what, value, shapes):
    """padding or output_padding: an int or (rows, cols), never negative, never a string."""
    try:
        pads = checks.padding(op, value)
    except ValueError as err:
        raise ValueError(f"{str(err).replace('padding', what, 1)} ({shapes})") from None
    if isinstance(pads, str):
        raise ValueError(f'{op}: {what} must be an int or (rows, cols), got {value!r}: "valid" and "same" are '
                         f"correlate's; the transpose of a \"same\" correlation has padding (k - 1) // 2 ({shapes})")
    return pads


def conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed convolution (PyTorch's ConvTranspose2d, channels-last): x (N, H, W, C_in) or (H, W, C_in),
    w (C_in, kh, kw, C_out), b (C_out,) -> (N, Ho, Wo, C_out), Ho = (H-1)*sh - 2*ph + dh*(kh-1) + output_padding + 1.

    The adjoint of correlate for the same w: <correlate(x, w), y> == <x, conv_transpose(y, w)> (w's layout mirrors
    correlate's (F, kh, kw, C); PyTorch's (C_in, C_out, kh, kw) weight is w.transpose(0, 3, 1, 2)). `stride`,
    `dilation` are ints or pairs; `padding` (cropped from each side) and `output_padding` (extra rows and columns at
    the bottom and right, each < max(stride, dilation)) ints or pairs.
    Gradient: dx = correlate(g, w) on g padded back, dw = xᵀ · windows(g), db = Σ g.
    """
    stride, pads, dilation, size = _transpose_arguments(
        "conv_transpose", x, w, b, stride, padding, output_padding, dilation
    )
    attrs = {"stride": stride, "padding": pads, "dilation": dilation, "out_size": size}
    return apply(ConvTranspose, x, w, **attrs) if b is None else apply(ConvTranspose, x, w, b, **attrs)
