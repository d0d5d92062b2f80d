"""Elementwise math: abs, sqrt, sin, cos, log1p, expm1, square, sign, clip, maximum, minimum, where.

Kinks follow PyTorch: abs'(0) = 0, clip sends the gradient to x at the bounds, maximum/minimum split it equally at
ties. A NaN input gets gradient 0 from the piecewise ops (abs, clip), as in PyTorch.
"""
import numbers

import numpy as np

from .. import checks
from ..tensor import Tensor, as_tensor
from .arithmetic import pow
from .function import Function, apply, array_of


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        # (x > 0) - (x < 0) rather than np.sign: 0 at 0 and at NaN, as PyTorch.
        return grad * (x > 0) - grad * (x < 0)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        with np.errstate(divide="ignore"):  # sqrt'(0) = inf, as in PyTorch
            return grad / (y + y)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * np.cos(x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return -grad * np.sin(x)


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad / (1 + x)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad * (y + 1)


class Clip(Function):
    """Inputs: x, then the lower bound if `has_lower`, then the upper bound if `has_upper`."""

    @staticmethod
    def forward(ctx, x, *bounds, has_lower, has_upper):
        ctx.save_for_backward(x, *bounds)
        return np.clip(x, bounds[0] if has_lower else None, bounds[-1] if has_upper else None)

    @staticmethod
    def backward(ctx, grad):
        # Only masks come from the values (constants of a recorded backward): the gradients are g times a mask.
        x, *bounds = (array_of(a) for a in ctx.saved_arrays)
        lower = bounds[0] if ctx.has_lower else None
        upper = bounds[-1] if ctx.has_upper else None
        # Each element's gradient goes to one input: x when lower <= x <= upper (the bounds included, as PyTorch),
        # the lower bound when x is below it, the upper bound when the output is the upper bound.
        to_x = np.ones(x.shape, dtype=bool) if lower is None else x >= lower
        if upper is not None:
            to_x = to_x & (x <= upper)
        grads = [grad * to_x]
        if lower is not None:
            to_lower = x < lower if upper is None else (x < lower) & (lower <= upper)
            grads.append(grad * to_lower)
        if upper is not None:
            to_upper = x > upper if lower is None else (x > upper) | ((lower > upper) & ~np.isnan(x))
            grads.append(grad * to_upper)
        return tuple(grads)


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return _winner_gradients(grad, a, b, a > b, b > a)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return _winner_gradients(grad, a, b, a < b, b < a)


def _winner_gradients(grad, a, b, a_wins, b_wins):
    """g to the operand that is the result, g/2 to each at a tie (as PyTorch), g to a NaN operand (the result)."""
    tie = a == b
    half = grad * 0.5
    return (np.where(tie, half, grad * (a_wins | np.isnan(a))),
            np.where(tie, half, grad * (b_wins | np.isnan(b))))


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_arrays
        return None, grad * condition, grad * ~condition


def abs(x):
    """|x|; gradient: g * sign(x), 0 at x = 0 (as PyTorch)."""
    return apply(Abs, x)


def sqrt(x):
    """Square root; gradient: g / (2 sqrt(x)) (inf at 0, as PyTorch)."""
    return apply(Sqrt, checks.floating(x))


def sin(x):
    """sin(x); gradient: g * cos(x)."""
    return apply(Sin, checks.floating(x))


def cos(x):
    """cos(x); gradient: -g * sin(x)."""
    return apply(Cos, checks.floating(x))


def log1p(x):
    """log(1 + x), accurate near 0; gradient: g / (1 + x)."""
    return apply(Log1p, checks.floating(x))


def expm1(x):
    """e**x - 1, accurate near 0; gradient: g * e**x."""
    return apply(Expm1, checks.floating(x))


def square(x):
    """x * x, composed as x ** 2; gradient: 2 g x."""
    return pow(x, 2)


def sign(x):
    """-1, 0 or 1 (NaN for NaN, as NumPy); no gradient: the result never requires grad (its derivative is 0)."""
    x = as_tensor(x)
    if x.dtype == np.bool_:
        raise TypeError(f"sign: a bool tensor has no sign (input shape {x.shape}); convert it first, "
                        f"e.g. sign(mask * 1)")
    return Tensor._wrap(np.sign(x.data), False, None)


def clip(x, min=None, max=None):
    """x limited to [min, max] (either may be None; numbers, arrays or Tensors); gradient: g to x where
    min <= x <= max (the bounds included, as PyTorch), else g to the bound that is the output."""
    x = as_tensor(x)
    if min is None and max is None:
        raise ValueError(f"clip: give min, max or both (input shape {x.shape}); clip(x, None, None) clips nothing")
    bounds = [_bound(name, b, x) for name, b in (("min", min), ("max", max)) if b is not None]
    checks.broadcast_shape("clip", x.shape, *(b.shape for b in bounds))
    return apply(Clip, x, *bounds, has_lower=min is not None, has_upper=max is not None)


def _bound(name, value, x):
    numeric_array = isinstance(value, np.ndarray) and value.dtype.kind in "iuf"
    number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, Tensor) or numeric_array or number:
        return as_tensor(value, x)
    raise TypeError(f"clip: {name} must be a number, an array, a Tensor or None, got {value!r} "
                    f"(input shape {x.shape})")


def maximum(a, b):
    """Elementwise max of a and b with broadcasting; gradient: g to the larger, g/2 to each at a tie (as
    PyTorch), g to a NaN operand (PyTorch sends it to both)."""
    return apply(Maximum, *_operands("maximum", a, b))


def minimum(a, b):
    """Elementwise min of a and b with broadcasting; gradient: g to the smaller, g/2 to each at a tie (as
    PyTorch), g to a NaN operand (PyTorch sends it to both)."""
    return apply(Minimum, *_operands("minimum", a, b))


def where(condition, a, b):
    """a where `condition` (a bool mask, e.g. x > 0) holds, else b, all broadcast; gradient: g to a where the
    condition holds, to b elsewhere, none to the condition."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: the condition must be a bool mask such as x > 0, got dtype {condition.dtype} "
                        f"(shape {condition.shape}); write where(c != 0, a, b) for a numeric c")
    a, b = _operands("where", a, b, condition.shape)
    return apply(Where, Tensor._wrap(condition, False, None), a, b)


def _operands(where, a, b, *more_shapes):
    """a and b as Tensors that broadcast (with `more_shapes`); a number or array takes the float dtype of the
    Tensor beside it, as with Tensor's operators."""
    if isinstance(a, Tensor):
        b = as_tensor(b, a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, b)
    checks.broadcast_shape(where, *more_shapes, a.shape, b.shape, inputs=(*more_shapes, a.shape, b.shape))
    return a, b
