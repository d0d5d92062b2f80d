"""The fully connected layer's op, fused for speed: one GEMM forward and one per input gradient (split over
tinygraph's threads when large)."""
import numpy as np

from .. import parallel
from ..tensor import as_tensor
from .function import Function, apply


def add_bias(out, b):
    """out + b, written into `out` when the result keeps out's dtype (it is a fresh product, ours to overwrite)."""
    return np.add(out, b, out=out) if np.result_type(out, b) == out.dtype else out + b


class Linear(Function):
    """x @ w + b for x (N, in), w (in, out), b (out,). Fused (a measured speed-up over matmul then add: one op
    recorded instead of two, and the bias added in place)."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        out = parallel.matmul(x, w)
        if b is not None:
            out = add_bias(out, b)
        ctx.save_for_backward(x, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_arrays
        needs = ctx.needs_input_grad
        grad_x = parallel.matmul(grad, w.T) if needs[0] else None
        grad_w = None
        if needs[1]:
            # For one sample the product is an outer product, which a broadcast multiply does several times faster
            # than a GEMM with an inner dimension of 1.
            grad_w = x.reshape(-1, 1) * grad if x.shape[0] == 1 else parallel.matmul(x.T, grad)
        if len(needs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, (grad.sum(axis=0) if needs[2] else None)


def linear(x, w, b=None):
    """x @ w + b with x (N, in), w (in, out), b (out,); gradient: g @ w.T to x, x.T @ g to w, g summed over N to b."""
    x, w = as_tensor(x), as_tensor(w)
    xs, ws = x.shape, w.shape
    b = None if b is None else as_tensor(b)
    shapes = f"x {xs}, w {ws}" + ("" if b is None else f", b {b.shape}")
    if len(xs) != 2 or len(ws) != 2:
        raise ValueError(f"linear: x must be (N, in) and w (in, out) ({shapes})")
    if xs[1] != ws[0]:
        raise ValueError(f"linear: x has {xs[1]} features but w expects {ws[0]} ({shapes})")
    if b is None:
        return apply(Linear, x, w)
    if b.shape != (ws[1],):
        raise ValueError(f"linear: b must have shape ({ws[1]},), one value per output ({shapes})")
    return apply(Linear, x, w, b)
