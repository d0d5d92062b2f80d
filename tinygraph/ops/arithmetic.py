"""Elementwise arithmetic, matrix products, and the copies (clone, astype) that pass a gradient through.

Operand dtypes follow README's "Semantics" (checks.promote): NumPy's rules, except that a number or array takes the
float dtype of the Tensor beside it and integers meeting floats (or divided) give the float operand's dtype or float32.
Gradients at the edges of pow's domain are PyTorch's.
"""
import numpy as np

from .. import checks
from ..tensor import Tensor, as_tensor
from .function import Function, apply, unbroadcast


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        return a**exponent

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        e = ctx.exponent
        if e == 0:
            return np.zeros_like(grad)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf at 0 for e < 1, NaN for a < 0: PyTorch's values
            return grad * (e * a ** (e - 1))


class PowTensor(Function):
    """a ** e with a Tensor exponent; the gradients' special cases are PyTorch's (pow_backward_self/_exponent)."""

    name = "pow"

    @staticmethod
    def forward(ctx, a, e):
        out = a**e
        ctx.save_for_backward(a, e, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, e, out = ctx.saved_arrays
        need_a, need_e = ctx.needs_input_grad
        grad_a = grad_e = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:  # 0 where e == 0 (also at a == 0); elsewhere e * a**(e-1), inf or NaN included
                grad_a = np.where(e == 0, 0, grad * (e * a ** (e - 1)))
            if need_e:  # 0 at a == 0 with e >= 0 (the limit); elsewhere a**e * log(a): NaN for a < 0, -inf at 0**-e
                grad_e = grad * np.where((a == 0) & (e >= 0), 0, out * np.log(a))
        return grad_a, grad_e


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    name = "astype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * (a / b) if need_b else None)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        # Vectors act as a row (first operand) or a column (second), as in np.matmul.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if need_b:
            grad_b = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return grad_a, grad_b


def _binary(function, a, b):
    """Apply a broadcasting binary op to operands of promoted dtypes, after checking that the shapes broadcast."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or a.data.dtype is not b.data.dtype:
        a, b = checks.promote(a, b)
    if a.data.shape != b.data.shape:
        checks.broadcast_shape(function.name, a.data.shape, b.data.shape)
    return apply(function, a, b)


def add(a, b):
    """a + b with broadcasting; gradient: g to each input, summed over broadcast axes."""
    return _binary(Add, a, b)


def sub(a, b):
    """a - b, composed as a + (-b)."""
    a, b = checks.promote(a, b)
    return add(a, neg(b))


def mul(a, b):
    """a * b with broadcasting; gradient: g*b to a, g*a to b."""
    return _binary(Mul, a, b)


def div(a, b):
    """a / b with broadcasting (integers give float32); gradient: g/b to a, -g*a/b**2 to b."""
    a, b = checks.promote(a, b)
    if a.data.dtype.kind != "f":  # true division of integers: a float, as in NumPy, but the default float32
        a, b = checks.floating(a), checks.floating(b)
    return _binary(Div, a, b)


def neg(a):
    """-a; gradient: -g."""
    return apply(Neg, a)


def pow(a, exponent):
    """a ** exponent; gradient: g * e * a**(e-1) to a (0 where e == 0), and g * a**e * log(a) to a Tensor or array
    exponent e (0 at a == 0 with e >= 0); inf and NaN elsewhere at the domain's edges, as PyTorch."""
    if isinstance(exponent, Tensor) or np.ndim(exponent) > 0:
        a, exponent = checks.promote(a, exponent)
        if a.data.dtype.kind != "f" and (exponent.data < 0).any():
            _negative_integer_power(a, exponent.data.min())
        return _binary(PowTensor, a, exponent)
    try:
        exponent = float(exponent)
    except (TypeError, ValueError):
        raise TypeError(f"pow: the exponent must be a number or a Tensor, got {type(exponent).__name__}") from None
    a = as_tensor(a)
    if exponent.is_integer():
        exponent = int(exponent)
        if exponent < 0 and a.data.dtype.kind != "f":
            _negative_integer_power(a, exponent)
    elif a.data.dtype.kind != "f":
        a = checks.floating(a)  # an integer to a fractional power is a float (float32)
    return apply(Pow, a, exponent=exponent)


def _negative_integer_power(a, exponent):
    raise ValueError(f"pow: integers to negative integer powers are not allowed (NumPy and PyTorch refuse them too), "
                     f"got exponent {exponent} for a tensor of dtype {a.dtype} and shape {a.shape}; "
                     f"write x.astype(np.float32) ** {exponent}")


def matmul(a, b):
    """a @ b, batched over leading axes; gradient: g @ b.T to a, a.T @ g to b."""
    a, b = checks.promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: needs at least one axis on both operands, use * for scalars (input shapes "
                         f"{a.shape}, {b.shape})")
    inner = 0 if b.ndim == 1 else -2
    if a.shape[-1] != b.shape[inner]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align: {a.shape[-1]} (last axis of the "
                         f"first) != {b.shape[inner]} ({'first' if b.ndim == 1 else 'second-last'} axis of the second)")
    if a.ndim > 2 and b.ndim > 2:
        checks.broadcast_shape("matmul", a.shape[:-2], b.shape[:-2], inputs=(a.shape, b.shape))
    return apply(MatMul, a, b)


def clone(x):
    """A copy of x that stays in the graph (PyTorch's clone); gradient: g."""
    return apply(Clone, as_tensor(x))


def astype(x, dtype):
    """x as `dtype` (a copy); gradient: g cast back to x's dtype for a float-to-float cast, none for an integer or
    bool result (as PyTorch's .to(dtype))."""
    x, asked = as_tensor(x), dtype
    try:
        dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf" or (dtype.kind == "f" and dtype not in (np.float32, np.float64)):
        raise TypeError(f"astype: dtype {asked if dtype is None else dtype} is not supported; use np.float32, "
                        f"np.float64, an integer dtype or bool (input shape {x.shape})")
    if dtype.kind != "f" or x.data.dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype), False, None)  # no gradient through integers and bools
    return apply(Cast, x, dtype=dtype)
