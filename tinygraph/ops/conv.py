"""Correlation and convolution of channels-last images, with stride, padding and dilation.

The forward and the filter gradient are matrix products over the im2col matrix of the windows; the input gradient
is a matrix product followed by the compiled col2im (`kernels.scatter_windows`); all three run a block of samples at
a time (im2col.py). The transposed convolution (conv_transpose.py) runs the same helpers the other way round.
"""
import numpy as np

from .. import checks
from .function import Function, apply
from .im2col import filter_gradient, windows_product, windows_scatter
from . import winograd
from .shape import getitem, pad
from .windows import crop_spatial, output_size, pad_spatial, sliding_windows

_FLIP = (slice(None), slice(None, None, -1), slice(None, None, -1), slice(None))
_KEPT_COLS_BYTES = 4 << 20


class Correlate(Function):
    """y[n,i,j,f] = Σ_abc x_pad[n, i*sh + a*dh, j*sw + b*dw, c] · w[f,a,b,c] + b[f];
    gradients: dw = gᵀ · windows(x), db = Σ_nij g, dx = col2im(g · w) cropped to x. Many-channel 3x3 layers of
    stride 1 compute the same by Winograd's F(4x4, 3x3) (winograd.py) when the values are within its range."""

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, padding, dilation):
        single = x.ndim == 3
        if single:
            x = x[None]
        n_filters, kh, kw, _ = w.shape
        padded = pad_spatial(x, padding)
        windows = sliding_windows(padded, kh, kw, *stride, *dilation)
        n, ho, wo = windows.shape[:3]
        # For the filter gradient, a small im2col matrix is kept; a large one is made again in backward, block by
        # block in cache, from the (padded) input: keeping it would cost kh*kw times the input's memory (measured
        # no slower; a small one's blocks would cost more in calls than they save).
        wants_w = ctx.needs_input_grad[1:2] == (True,)
        ctx.winograd = winograd.suits(x, w, b, ctx.stride, ctx.dilation) and winograd.within_range(x, w)
        keep = wants_w and not ctx.winograd and windows.size * windows.itemsize <= _KEPT_COLS_BYTES
        planes = winograd.filter_planes(w) if ctx.winograd else None
        if ctx.winograd:
            out = winograd.correlate(padded, planes, b)
        else:
            out, cols = windows_product(windows, w.reshape(n_filters, -1), keep_cols=keep, bias=b)
            out = out.reshape(n, ho, wo, n_filters)
        ctx.save_for_backward(cols if keep else padded if wants_w else None, w, planes)
        ctx.geometry = (x.shape, padded.shape, single)
        return out[0] if single else out

    @staticmethod
    def backward(ctx, grad):
        source, w, planes = ctx.saved_arrays  # the im2col matrix (2-D), the padded input (4-D) or None; w; U or None
        x_shape, padded_shape, single = ctx.geometry
        needs = ctx.needs_input_grad
        g = grad[None] if single else grad
        if ctx.winograd and winograd.within_range(g, w):
            dx, dw = winograd.gradients(g, planes, padded_shape, needs[0], source if needs[1] else None)
        else:  # a Winograd layer's source is its padded input: a gradient out of its range takes this path
            dx = windows_scatter(g, w, padded_shape, ctx.stride, ctx.dilation) if needs[0] else None
            dw = _window_filter_gradient(g, source, w, ctx.stride, ctx.dilation) if needs[1] else None
        if dx is not None:
            dx = crop_spatial(dx, ctx.padding, x_shape)
            dx = dx[0] if single else dx
        g = g.reshape(-1, w.shape[0])
        if len(needs) == 2:
            return dx, dw
        return dx, dw, bias_gradient(g) if needs[2] else None

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph=True), the same formulas: dx a conv_transpose cropped, dw a
        correlation (filter_correlation), so that second derivatives flow through both."""
        from .conv_transpose import conv_transpose  # it imports this module

        x, w = ctx.parents[:2]
        x_shape, padded_shape, single = ctx.geometry
        top, bottom, left, right = ctx.padding
        g = batched(grad, single)
        needs, dx, dw = ctx.needs_input_grad, None, None
        if needs[0]:
            # The rows and columns past the last window get no gradient: the output padding of the transpose.
            geometry = zip(padded_shape[1:3], g.shape[1:3], ctx.stride, ctx.dilation, w.shape[1:3])
            extra = tuple(size - (n - 1) * s - d * (k - 1) - 1 for size, n, s, d, k in geometry)
            full = conv_transpose(g, w, stride=ctx.stride, output_padding=extra, dilation=ctx.dilation)
            dx = full[:, top : top + x_shape[1], left : left + x_shape[2]]
            dx = dx.reshape(dx.shape[1:]) if single else dx
        if needs[1]:
            padded = pad(batched(x, single), ((0, 0), (top, bottom), (left, right), (0, 0)))
            dw = filter_correlation(padded, g, w.shape[1:3], ctx.stride, ctx.dilation)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, g.sum(axis=(0, 1, 2)) if needs[2] else None


def _window_filter_gradient(g, source, w, stride, dilation):
    """dw = gᵀ · im2col(x), from the kept im2col matrix (2-D) or made again from the padded input (4-D)."""
    if source.ndim == 2:
        return (g.reshape(-1, w.shape[0]).T @ source).reshape(w.shape)
    windows = sliding_windows(source, *w.shape[1:3], *stride, *dilation)
    return filter_gradient(g, windows).reshape(w.shape)


def batched(t, single):
    """One (H, W, C) sample as a batch of one."""
    return t.reshape((1,) + t.shape) if single else t


def filter_correlation(big, small, kernel, stride, dilation):
    """w[f, a, b, c] = Σ_nij small[n, i, j, f] · big[n, i*sh + a*dh, j*sw + b*dw, c] as recorded ops: the filter
    gradient of a correlation (big: the padded input, small: g) and of a transposed one (big: g padded, small: x).
    It is itself a correlation, the batch axis as channels and stride and dilation swapped."""
    kh, kw = kernel
    out = correlate(big.transpose((3, 1, 2, 0)), small.transpose((3, 1, 2, 0)), stride=dilation, dilation=stride)
    return out[:, :kh, :kw].transpose((3, 1, 2, 0))


def bias_gradient(g):
    """Σ over the rows of g (rows, F): a matrix-vector product, since BLAS sums a few long columns far faster than
    a NumPy reduction does."""
    return np.ones(g.shape[0], g.dtype) @ g


def _padding_sides(padding, kernel, stride, dilation, op, shapes):
    """`padding` as (top, bottom, left, right) from an int, (rows, cols), "valid" or "same"."""
    if type(padding) is int and padding >= 0:
        return (padding,) * 4
    try:
        padding = checks.padding(op, padding)
    except ValueError as err:
        raise ValueError(f"{err} ({shapes})") from None
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f'{op}: padding "same" needs stride 1, got stride {stride} ({shapes})')
        # Total padding (span - 1) keeps the size, for the span d*(k-1)+1 of a dilated kernel; an odd remainder goes
        # below and to the right, as TensorFlow and PyTorch put it.
        span_h, span_w = (d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        return ((span_h - 1) // 2, span_h // 2, (span_w - 1) // 2, span_w // 2)
    rows, cols = padding
    return (rows, rows, cols, cols)


def check_operands(op, x, w, b, channels_axis, out_axis):
    """The shapes of an image op's x, w and b checked; returns their description for later errors.
    x's channels must match w's axis `channels_axis`, b one value per output channel (w's axis `out_axis`)."""
    x_shape, w_shape = np.shape(x), np.shape(w)
    shapes = f"x {x_shape}, w {w_shape}" + ("" if b is None else f", b {np.shape(b)}")
    if len(x_shape) not in (3, 4):
        raise ValueError(f"{op}: x must be (N, H, W, C) or one (H, W, C) sample ({shapes})")
    layout = "(filters, kh, kw, C)" if channels_axis == 3 else "(C_in, kh, kw, C_out)"
    if len(w_shape) != 4 or w_shape[out_axis] < 1:
        what = "filter" if out_axis == 0 else "output channel"
        raise ValueError(f"{op}: w must be {layout} with at least one {what} ({shapes})")
    if x_shape[-1] != w_shape[channels_axis]:
        raise ValueError(f"{op}: x has {x_shape[-1]} channel{'s' * (x_shape[-1] != 1)} but w expects "
                         f"{w_shape[channels_axis]} (w is {layout}; {shapes})")
    if b is not None and np.shape(b) != (w_shape[out_axis],):
        raise ValueError(f"{op}: b must have shape ({w_shape[out_axis]},), one value per filter ({shapes})")
    return shapes


def pair(op, what, value, shapes):
    """A positive int or pair, as a pair; the error names the op and the shapes."""
    if type(value) is int and value >= 1:  # the common case, without the generic checks
        return value, value
    try:
        return checks.positive_pair(op, what, value)
    except ValueError as err:
        raise ValueError(f"{err} ({shapes})") from None


def _conv_arguments(op, x, w, b, stride, padding, dilation):
    """Validate shapes and arguments before the op runs; returns (stride, padding, dilation) in their stored form.
    An error on an input that looks channels-first says how to make it channels-last."""
    try:
        return _checked_conv_arguments(op, x, w, b, stride, padding, dilation)
    except ValueError as err:
        raise checks.with_layout_hint(err, np.shape(x), "(F, C, kh, kw)") from None


def _checked_conv_arguments(op, x, w, b, stride, padding, dilation):
    shapes = check_operands(op, x, w, b, channels_axis=3, out_axis=0)
    x_shape, (_, kh, kw, _) = np.shape(x), np.shape(w)
    stride, dilation = pair(op, "stride", stride, shapes), pair(op, "dilation", dilation, shapes)
    pads = _padding_sides(padding, (kh, kw), stride, dilation, op, shapes)
    rows, cols = x_shape[-3] + pads[0] + pads[1], x_shape[-2] + pads[2] + pads[3]
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if span_h > rows or span_w > cols or kh < 1 or kw < 1:
        spans = "" if dilation == (1, 1) else f" with dilation {dilation} spans {span_h}x{span_w} and"
        raise ValueError(f"{op}: the {kh}x{kw} kernel{spans} does not fit the padded {rows}x{cols} input ({shapes})")
    return stride, pads, dilation


def _correlate(x, w, b, stride, padding, dilation):
    attrs = {"stride": stride, "padding": padding, "dilation": dilation}
    return apply(Correlate, x, w, **attrs) if b is None else apply(Correlate, x, w, b, **attrs)


def correlate(x, w, b=None, stride=1, padding=0, dilation=1):
    """Cross-correlation (a Keras Conv2D): x (N, H, W, C) or (H, W, C), w (F, kh, kw, C), b (F,) -> (N, Ho, Wo, F).

    Ho = (H + pad_top + pad_bottom - dh*(kh-1) - 1) // sh + 1. `stride` and `dilation` (Keras's dilation_rate: the
    kernel's taps dh rows and dw columns apart) are ints or pairs; `padding` an int, (rows, cols), "valid" or "same"
    (stride 1 only; padding d*(k-1) in all, an odd one's extra row/column below/right, as TensorFlow and PyTorch).
    Gradient: dx = col2im(g · w), dw = gᵀ · windows(x), db = Σ g.
    """
    stride, pads, dilation = _conv_arguments("correlate", x, w, b, stride, padding, dilation)
    return _correlate(x, w, b, stride, pads, dilation)


def convolve(x, w, b=None, stride=1, padding=0, dilation=1):
    """True convolution: `correlate` with each filter rotated 180° in (kh, kw); gradients flow through the flip."""
    stride, pads, dilation = _conv_arguments("convolve", x, w, b, stride, padding, dilation)
    return _correlate(x, getitem(w, _FLIP), b, stride, pads, dilation)
