"""Elementwise arithmetic and matrix products."""
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
        return grad * (e * a ** (e - 1))


class PowTensor(Function):
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
        if need_a:
            # a**(e-1) is infinite at a == 0 for e < 1; e * a**(e-1) is the derivative wherever it exists.
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_a = grad * (e * a ** (e - 1))
        if need_e:
            # log(a) exists for a > 0; at a == 0 the limit of a**e * log(a) is 0 for e > 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_e = np.where(a > 0, grad * out * np.log(np.where(a > 0, a, 1)), 0)
        return grad_a, grad_e


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
    """Apply a broadcasting binary op, after checking that the shapes broadcast."""
    a, b = as_tensor(a), as_tensor(b)
    if a.data.shape != b.data.shape:
        checks.broadcast_shape(function.name, a.data.shape, b.data.shape)
    return apply(function, a, b)


def add(a, b):
    """a + b with broadcasting; gradient: g to each input, summed over broadcast axes."""
    return _binary(Add, a, b)


def sub(a, b):
    """a - b, composed as a + (-b)."""
    return add(a, neg(b))


def mul(a, b):
    """a * b with broadcasting; gradient: g*b to a, g*a to b."""
    return _binary(Mul, a, b)


def div(a, b):
    """a / b with broadcasting; gradient: g/b to a, -g*a/b**2 to b."""
    return _binary(Div, a, b)


def neg(a):
    """-a; gradient: -g."""
    return apply(Neg, a)


def pow(a, exponent):
    """a ** exponent; gradient: g * e * a**(e-1) to a, and g * a**e * log(a) to a Tensor exponent e (where a > 0)."""
    if isinstance(exponent, Tensor):
        return _binary(PowTensor, a, exponent)
    try:
        exponent = float(exponent)
    except (TypeError, ValueError):
        raise TypeError(f"pow: the exponent must be a number or a Tensor, got {type(exponent).__name__}") from None
    if exponent.is_integer():
        exponent = int(exponent)
    return apply(Pow, a, exponent=exponent)


def matmul(a, b):
    """a @ b, batched over leading axes; gradient: g @ b.T to a, a.T @ g to b."""
    a, b = as_tensor(a), as_tensor(b)
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
