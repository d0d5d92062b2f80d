"""Reductions over axes: sum, mean, max, min, prod, logsumexp, var, std, argmax, argmin.

`axis` is None (every axis), an int or a tuple of ints, as in NumPy; `keepdims` keeps the reduced axes as length 1.
"""
import warnings

import numpy as np

from .. import checks
from ..tensor import Tensor, as_tensor
from .arithmetic import neg, pow
from .function import Function, apply, array_of


def _expand(grad, shape, axes, keepdims):
    """Put back the reduced axes as length-1 axes so that `grad` broadcasts against the input."""
    if keepdims:
        return grad
    kept = list(shape)
    for ax in axes:
        kept[ax] = 1
    return grad.reshape(kept)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape = x.shape
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape)


class Max(Function):
    """`whole`: the reduction is over the whole tensor (axis=None), whose ties share the gradient."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, whole):
        out = np.max(x, axis=axis, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        ctx.nan = whole and bool(np.isnan(out).any())  # a flag, not a saved array: plain in a recorded backward
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        if ctx.whole:
            return _shared(x, out, ctx.nan, grad)
        # Only the first maximum of each reduced group receives the gradient, as in torch.max(dim).
        moved, groups, tail = _groups(x, ctx.axis)
        first = np.argmax(groups, axis=-1)[..., None]
        g = np.moveaxis(_expand(grad, x.shape, ctx.axis, ctx.keepdims), ctx.axis, tail)
        out = np.zeros_like(groups)
        np.put_along_axis(out, first, g.reshape(groups.shape[:-1] + (1,)), axis=-1)
        return np.moveaxis(out.reshape(moved.shape), tail, ctx.axis)

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph): the same values, the scatter to each group's first maximum
        written as a mask (a constant) times g."""
        x, out = ctx.saved_arrays
        if ctx.whole:
            return _shared(x, out, ctx.nan, grad)
        moved, groups, tail = _groups(x, ctx.axis)
        first = np.zeros(groups.shape, dtype=bool)
        np.put_along_axis(first, np.argmax(groups, axis=-1)[..., None], True, axis=-1)
        first = np.moveaxis(first.reshape(moved.shape), tail, ctx.axis)
        return np.where(first, _expand(grad, x.shape, ctx.axis, ctx.keepdims), 0)


def _shared(x, out, nan, grad):
    """As torch.max() without dim: each maximum gets an equal share (each NaN, when the maximum is NaN)."""
    hits = np.isnan(x) if nan else x == out
    return hits * (grad / int(np.count_nonzero(hits)))


def _groups(x, axes):
    """x with the reduced `axes` moved last, and as (kept..., group) groups; the axes they were moved to."""
    tail = range(x.ndim - len(axes), x.ndim)
    moved = np.moveaxis(x, axes, tail)
    return moved, moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,)), tail


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.save_for_backward(x)
        return np.prod(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        # Each element's gradient is the product of the others in its group, found without dividing by zero:
        # no zero in the group: prod / x; one zero: the product of the rest at the zero, 0 elsewhere; more: 0.
        zero = array_of(x) == 0
        zeros = np.sum(zero, axis=ctx.axis, keepdims=True)
        rest = np.prod(np.where(zero, 1, x), axis=ctx.axis, keepdims=True)
        others = np.where(zeros == 0, rest / np.where(zero, 1, x), np.where(zero & (zeros == 1), rest, 0))
        if x is not array_of(x) and zero.any():
            # Recorded (create_graph): the 0 given to the other elements of a group holding a zero depends on that
            # zero, so there each element's product is taken over its group with the element left out.
            others = np.where(zeros == 0, others, _leave_one_out(x, ctx.axis))
        return _expand(grad, x.shape, ctx.axis, ctx.keepdims) * others


def _leave_one_out(x, axes):
    """For each element of x, the product of the other elements of its group over `axes`, as recorded ops: each
    group of n is repeated n times with one element replaced by 1 (n² values; only for groups holding a zero)."""
    moved, groups, tail = _groups(x, axes)
    n = groups.shape[-1]
    others = np.prod(np.where(np.eye(n, dtype=bool), 1, groups[..., None, :]), axis=-1)
    return np.moveaxis(others.reshape(moved.shape), tail, axes)


class LogSumExp(Function):
    """Fused for stability: shifted by the group's largest finite value, so no exp overflows, a group of -inf
    gives -inf and an empty group gives -inf (log 0), as PyTorch."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        peak = np.fmax.reduce(x, axis=axis, keepdims=True, initial=-np.inf)  # fmax: a NaN does not hide the rest
        peak = np.where(np.isfinite(peak), peak, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
        out = out if keepdims else np.squeeze(out, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        axis, keepdims = ctx.axis, ctx.keepdims
        with np.errstate(invalid="ignore"):  # inf - inf in a group of infinities: NaN, as PyTorch
            return _expand(grad, x.shape, axis, keepdims) * np.exp(x - _expand(out, x.shape, axis, keepdims))


class Std(Function):
    """The square root of a variance, fused only for PyTorch's convention at zero spread: gradient 0 there, where
    sqrt'(0) = inf would give 0 * inf = NaN."""

    @staticmethod
    def forward(ctx, variance):
        s = np.sqrt(variance)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_arrays
        spread = array_of(s) > 0
        # Recorded (create_graph), s is kept from 0 where the mask drops it: a 0 there would make the second
        # derivative 0/0 = NaN. At first order the division by 0 is masked at no cost.
        safe = s if s is array_of(s) else np.where(spread, s, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(spread, grad / (safe + safe), 0)


def _axes(where, x, axis):
    return checks.axes(where, axis, x.shape)


def _count(shape, axes):
    """How many elements each group of the reduction over `axes` holds."""
    return int(np.prod([shape[ax] for ax in axes]))


def sum(x, axis=None, keepdims=False):
    """Sum over `axis`; gradient: g broadcast back over the summed axes."""
    x = as_tensor(x)
    return apply(Sum, x, axis=_axes("sum", x, axis), keepdims=bool(keepdims))


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`, composed as sum times 1/count; gradient: g / count broadcast back."""
    x = checks.floating(x)
    axes = _axes("mean", x, axis)  # checked here so that an error names mean, not sum
    count = _count(x.shape, axes)
    return sum(x, axes, keepdims) * (1.0 / count if count else float("nan"))  # the mean of nothing, as NumPy


def _extreme(where, x, axis, keepdims):
    """The attributes of the Max node of max(x) (or of min's max(-x)), after checks that name `where`."""
    axes = _axes(where, x, axis)
    if _count(x.shape, axes) == 0:
        raise ValueError(f"{where}: cannot reduce over an empty axis (input shape {x.shape}, axis {axis!r})")
    return dict(axis=axes, keepdims=bool(keepdims), whole=axis is None)


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`; gradient: g to the first maximum of each group (as torch.max(dim)), but over the whole
    tensor (axis=None) shared equally by all maxima (as torch.max())."""
    x = as_tensor(x)
    return apply(Max, x, **_extreme("max", x, axis, keepdims))


def min(x, axis=None, keepdims=False):
    """Minimum over `axis`, composed as -max(-x); gradient: as max's, to the first minimum, or shared equally over
    the whole tensor."""
    x = as_tensor(x)
    attrs = _extreme("min", x, axis, keepdims)
    return neg(apply(Max, neg(x), **attrs))


def prod(x, axis=None, keepdims=False):
    """Product over `axis`; gradient: g times the product of the other elements of the group (exact with zeros)."""
    x = as_tensor(x)
    return apply(Prod, x, axis=_axes("prod", x, axis), keepdims=bool(keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(e**x)) over `axis`, stable (-inf for a group of -inf); gradient: g * e**(x - logsumexp(x))."""
    x = checks.floating(x)
    return apply(LogSumExp, x, axis=_axes("logsumexp", x, axis), keepdims=bool(keepdims))


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance over `axis`: sum((x - mean)**2) / (N - ddof), composed of mean, sub, square and sum; gradient:
    2 g (x - mean) / (N - ddof). N - ddof <= 0 gives inf or NaN with a warning, as NumPy."""
    x = checks.floating(x)
    axes = _axes("var", x, axis)
    return _variance("var", x, axes, ddof, keepdims)


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation over `axis`: sqrt(var(x, axis, ddof)); gradient: g (x - mean) / ((N - ddof) std), and 0
    where std is 0 (as PyTorch)."""
    x = as_tensor(x)
    axes = _axes("std", x, axis)
    return apply(Std, _variance("std", x, axes, ddof, keepdims))


def _variance(where, x, axes, ddof, keepdims):
    ddof = checks.finite_number(where, "ddof", ddof)
    dof = _count(x.shape, axes) - ddof
    deviation = x - mean(x, axes, keepdims=True)
    squares = sum(pow(deviation, 2), axes, keepdims)
    if dof > 0:
        return squares * (1.0 / dof)
    warnings.warn(f"{where}: degrees of freedom <= 0 (N = {_count(x.shape, axes)}, ddof = {ddof:g}), so the "
                  f"result is inf or NaN, as in NumPy", RuntimeWarning, stacklevel=3)
    with np.errstate(invalid="ignore"):
        return squares * float("inf")


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum over one `axis` (of the flattened tensor when None, as NumPy); an integer Tensor,
    no gradient."""
    return _arg("argmax", np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the first minimum over one `axis` (of the flattened tensor when None, as NumPy); an integer Tensor,
    no gradient."""
    return _arg("argmin", np.argmin, x, axis, keepdims)


def _arg(where, function, x, axis, keepdims):
    x = as_tensor(x)
    if axis is not None:
        axis = checks.one_axis(where, axis, x.shape)
    if (x.size if axis is None else x.shape[axis]) == 0:
        raise ValueError(f"{where}: cannot reduce over an empty axis (input shape {x.shape}, axis {axis!r})")
    return Tensor._wrap(np.asarray(function(x.data, axis=axis, keepdims=bool(keepdims))), False, None)
