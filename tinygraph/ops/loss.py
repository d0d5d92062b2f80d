"""Losses: mse, cross_entropy, binary_cross_entropy and binary_cross_entropy_with_logits.

Each takes PyTorch's `reduction`: "mean" (the default: over every element, or every sample for cross_entropy),
"sum", or "none" (one loss per element or sample). Sums accumulate in float64 where a float32 sum would drift, so
a float32 mean over millions of elements is as exact as float32 allows. The loss has the prediction's float dtype:
targets are cast to it (a target that requires grad through a recorded cast); an integer prediction counts as float32.
"""
import numpy as np

from .. import checks
from ..tensor import Tensor, as_tensor
from .activation import exp, log_softmax, log_softmax_array, sigmoid_of
from .arithmetic import astype
from .function import Function, apply
from .shape import reshape, transpose

REDUCTIONS = ("mean", "sum", "none")
BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's floor of p (1 - p) in the gradient, a float32 constant there
# Up to this many terms a float32 dot product is within about one float32 rounding of the exact sum (measured: at
# most 1.2e-7 relative; 3e-7 at 1e5 terms, 7e-6 at 4e6): mse skips the float64 copy there, which would cost more
# than the dot product itself at training sizes.
ACCURATE_FLOAT32_DOT = 1 << 12


def _total(total, count, reduction, dtype):
    """A float64 sum of `count` losses as the "sum" or "mean" asked for, as a 0-d array of `dtype`."""
    if reduction == "mean":
        total = total / count if count else np.nan  # the mean of no losses is NaN, as in PyTorch
    return np.asarray(total, dtype=dtype)


def _reduce(losses, reduction):
    """The per-element `losses` reduced as asked."""
    if reduction == "none":
        return losses
    return _total(np.add.reduce(losses, axis=None, dtype=np.float64), losses.size, reduction, losses.dtype)


def _spread(grad, count, reduction):
    """The adjoint of `_reduce`: the gradient that reaches each of the `count` losses (broadcasts)."""
    return grad / count if reduction == "mean" and count else grad


class MeanSquaredError(Function):
    """Fused (a measured speed-up: one op recorded instead of five, which dominates per-sample training)."""

    name = "mse"

    @staticmethod
    def forward(ctx, pred, target, reduction):
        difference = pred - target
        if ctx.needs_input_grad:
            ctx.save_for_backward(difference)
        if reduction == "none":
            return difference * difference
        flat = difference
        if difference.size > ACCURATE_FLOAT32_DOT and difference.dtype == np.float32:
            flat = difference.astype(np.float64)  # a float32 dot product accumulates in float32: 0.6% off at 3e7
        return _total(np.vdot(flat, flat), flat.size, reduction, difference.dtype)

    @staticmethod
    def backward(ctx, grad):
        (difference,) = ctx.saved_arrays
        scaled = difference * (_spread(grad, difference.size, ctx.reduction) * 2)
        return scaled, (-scaled if ctx.needs_input_grad[1] else None)

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph=True), from the inputs: the same formula."""
        pred, target = ctx.parents
        scaled = (pred - target) * (_spread(grad, pred.size, ctx.reduction) * 2)
        return scaled, (-scaled if ctx.needs_input_grad[1] else None)


class CrossEntropy(Function):
    """Fused log-softmax and negative log-likelihood over the last axis of (M, C) logits, for stability."""

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, reduction):
        log_probs = log_softmax_array(logits, -1)
        if target.dtype.kind == "f":
            losses = -(target * log_probs).sum(axis=-1)
        else:
            losses = -log_probs[np.arange(len(target)), target]
        if ctx.needs_input_grad:
            ctx.save_for_backward(log_probs, target)
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        log_probs, target = ctx.saved_arrays
        g = _spread(grad, len(target), ctx.reduction)
        g = g[:, None] if g.ndim else g
        d = np.exp(log_probs)
        if target.dtype.kind != "f":
            d[np.arange(len(target)), target] -= 1
        else:
            # softmax · Σ target - target: rows that do not sum to one (zero rows for padding) included.
            d = d * target.sum(axis=-1, keepdims=True) - target
        return d * g, (-log_probs * g if ctx.needs_input_grad[1] else None)

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph=True), from log_softmax(logits) recomputed: the same formula."""
        logits, target = ctx.parents
        log_probs = log_softmax(logits, -1)
        g = _spread(grad, len(target), ctx.reduction)
        g = g[:, None] if g.ndim else g
        if target.data.dtype.kind == "f":
            d = exp(log_probs) * target.sum(axis=-1, keepdims=True) - target
        else:
            d = exp(log_probs) - np.eye(logits.shape[-1], dtype=logits.dtype)[target.data]
        return d * g, (-log_probs * g if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """Fused, so that each log is clamped at -100 as in PyTorch: p = 0 or 1 gives a finite loss."""

    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, p, t, reduction):
        with np.errstate(divide="ignore"):
            log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        if ctx.needs_input_grad:
            ctx.save_for_backward(p, t)
        return _reduce((t - 1) * log_q - t * log_p, reduction)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved_arrays
        g = _spread(grad, p.size, ctx.reduction)
        need_p, need_t = ctx.needs_input_grad
        grad_p = grad_t = None
        if need_p:  # PyTorch's formula: the denominator is kept from 0 by 1e-12
            grad_p = g * (p - t) / np.maximum(p * (1 - p), BCE_EPSILON)
        if need_t:  # -logit(p), as PyTorch
            with np.errstate(divide="ignore"):
                grad_t = g * (np.log1p(-p) - np.log(p))
        return grad_p, grad_t


class BinaryCrossEntropyWithLogits(Function):
    """Fused sigmoid and binary cross-entropy, stable for any logit x: max(x, 0) - x t + log(1 + e**-|x|)."""

    name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, t, reduction):
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, t)
        return _reduce(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_arrays
        g = _spread(grad, x.size, ctx.reduction)
        need_x, need_t = ctx.needs_input_grad
        grad_x = g * (sigmoid_of(x) - t) if need_x else None  # the sigmoid op when recorded (create_graph)
        return grad_x, (-g * x if need_t else None)


# ----- argument handling -----------------------------------------------------------------------------------------


def _reduction(where, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f'{where}: reduction must be "mean", "sum" or "none", got {reduction!r}')
    return reduction


def _float_target(where, target, pred):
    """A target of the prediction's shape, in its dtype (a Tensor through a recorded cast, so a gradient flows)."""
    target = as_tensor(target, pred)
    if target.data.shape != pred.data.shape:
        raise ValueError(f"{where}: the prediction has shape {pred.shape} but the target has shape "
                         f"{target.shape}; they must match")
    dtype = pred.data.dtype
    return target if target.data.dtype is dtype or target.data.dtype == dtype else astype(target, dtype)


def _loss(function, where, pred, target, reduction):
    pred = checks.floating(pred)
    return apply(function, pred, _float_target(where, target, pred), reduction=_reduction(where, reduction))


def mse(pred, target, reduction="mean"):
    """(pred - target)**2, reduced; gradient: 2 (pred - target) · g (/ size for the mean), and its negative to a
    target that requires grad."""
    return _loss(MeanSquaredError, "mse", pred, target, reduction)


def binary_cross_entropy(p, target, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) on probabilities p in [0, 1], each log clamped at -100 (PyTorch); gradient:
    g (p - t) / max(p (1 - p), 1e-12) to p, -g logit(p) to a target that requires grad (PyTorch's, at 0 and 1 too)."""
    p = checks.floating(p)
    data = p.data
    inside = (data >= 0) & (data <= 1)
    if not inside.all():
        raise ValueError(f"binary_cross_entropy: p must be probabilities in [0, 1], got {inside.size - inside.sum()} "
                         f"outside, e.g. {data[~inside].flat[0]} (input shape {p.shape}); for logits use "
                         f"binary_cross_entropy_with_logits")
    return _loss(BinaryCrossEntropy, "binary_cross_entropy", p, target, reduction)


def binary_cross_entropy_with_logits(x, target, reduction="mean"):
    """binary_cross_entropy(sigmoid(x), t) fused and stable for any logit x; gradient: g (sigmoid(x) - t) to x,
    -g x to a target that requires grad."""
    return _loss(BinaryCrossEntropyWithLogits, "binary_cross_entropy_with_logits", x, target, reduction)


def cross_entropy(logits, target, reduction="mean"):
    """-Σ target · log softmax(logits) over the class axis, reduced over the samples. Logits (N, C), or
    (N, C, d1, ...) with the classes on axis 1 (PyTorch's layout), or one sample (C,); target as integer labels
    (N, d1, ...) or float class probabilities of the logits' shape (any non-negative weights). Gradient:
    (softmax · Σ target - target) · g to the logits, -log softmax · g to a target that requires grad."""
    logits = checks.floating(logits)
    reduction = _reduction("cross_entropy", reduction)
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have shape (N, C), (N, C, d1, ...) or (C,), got shape ()")
    classes = logits.shape[logits.ndim > 1]
    if classes == 0:
        raise ValueError(f"cross_entropy: the logits of shape {logits.shape} have no classes (axis "
                         f"{int(logits.ndim > 1)} is empty)")
    target = _ce_target(logits, target, classes)
    if logits.ndim == 2:  # the training hot path: no reshaping
        return apply(CrossEntropy, logits, target, reduction=reduction)
    # One sample, or classes on axis 1 of (N, C, d1, ...): the class axis becomes the last of an (M, C) matrix.
    rows, target = _classes_last(logits), (_classes_last(target) if target.ndim == logits.ndim else target.reshape(-1))
    out = apply(CrossEntropy, rows, target, reduction=reduction)
    if reduction != "none":
        return out
    return out.reshape(logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ())


def _classes_last(x):
    """(C,) as (1, C); (N, C, d1, ...) as (N·d1·..., C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    return reshape(transpose(x, (0, *range(2, x.ndim), 1)), (-1, x.shape[1]))


def _ce_target(logits, target, classes):
    """Labels as an integer Tensor, or class probabilities of the logits' shape and dtype."""
    data = target.data if isinstance(target, Tensor) else np.asarray(target)
    label_shape = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()
    kind = data.dtype.kind
    if kind in "iu" and (data.shape == label_shape or (logits.ndim == 1 and data.shape == (1,))):
        checks.label_range("cross_entropy", data, classes)
        return Tensor._wrap(data, False, None)
    if kind == "f" and data.shape == logits.shape:
        return _float_target("cross_entropy", target, logits)
    if kind in "iu" and data.shape == logits.shape:  # PyTorch and MyGrad refuse these too
        raise TypeError(f"cross_entropy: class probabilities must be floats, got an integer target of the logits' "
                        f"shape {data.shape}; write target.astype(np.float32) for probabilities, or give integer "
                        f"labels of shape {label_shape}")
    if kind == "f" and data.shape == label_shape:
        raise TypeError(f"cross_entropy: integer labels expected for a target of shape {data.shape}, got dtype "
                        f"{data.dtype} (class probabilities need the logits' shape {logits.shape})")
    if kind in "iu":
        raise ValueError(f"cross_entropy: integer labels of shape {data.shape} do not fit logits of shape "
                         f"{logits.shape}: labels need shape {label_shape} (the logits' shape without the class axis)")
    if kind != "f":
        raise TypeError(f"cross_entropy: the target must be integer labels or float probabilities, got dtype "
                        f"{data.dtype} (shape {data.shape})")
    raise ValueError(f"cross_entropy: target of shape {data.shape} fits neither labels {label_shape} (the logits' "
                     f"shape {logits.shape} without the class axis) nor class probabilities {logits.shape}")
