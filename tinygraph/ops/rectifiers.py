"""Activations beyond relu: leaky_relu, elu, softplus, gelu.

Kinks follow PyTorch: leaky_relu'(0) = negative_slope and elu'(0) = alpha (the left side's slope at 0).
"""
import math

import numpy as np

from .. import checks
from .activation import sigmoid_of
from .function import Function, apply
from .special import erfc

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_SCALE = math.sqrt(2 / math.pi)
_TANH_CUBIC = 0.044715


class LeakyRelu(Function):
    name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        return np.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_arrays
        return np.where(positive, grad, grad * ctx.negative_slope)


class Elu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        # expm1 of min(x, 0): no overflow warning from the positive side that np.where discards anyway.
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return np.where(x > 0, grad, grad * (ctx.alpha * np.exp(np.minimum(x, 0))))


class Softplus(Function):
    """Fused for stability: log(1 + e**z) as max(z, 0) + log1p(e**-|z|) never overflows, and stays exact where
    PyTorch switches to x above its threshold."""

    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x)
        z = x * beta if beta != 1 else x
        return (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * sigmoid_of(x * ctx.beta if ctx.beta != 1 else x)


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        if approximate == "tanh":
            t = _tanh_part(x)
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = _normal_cdf(x)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad):
        x, saved = ctx.saved_arrays
        return grad * _gelu_slope(x, saved, ctx.approximate)

    @staticmethod
    def recorded_backward(ctx, output, grad):
        """backward as recorded ops (create_graph): the same slope, its tanh or normal CDF recomputed from x as
        ops (the forward saved them as plain arrays, which a second derivative cannot follow)."""
        (x,) = ctx.parents
        saved = _tanh_part(x) if ctx.approximate == "tanh" else apply(NormalCdf, x)
        return grad * _gelu_slope(x, saved, ctx.approximate)


class NormalCdf(Function):
    """Phi(x), the standard normal CDF: gelu's, recorded for its second derivative; gradient: g * phi(x)."""

    name = "normal_cdf"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _normal_cdf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return grad * _normal_pdf(x)


def _tanh_part(x):
    """tanh(sqrt(2/pi) (x + 0.044715 x**3)), of an array or a Tensor."""
    with np.errstate(over="ignore"):  # x**3 overflows only where tanh is +-1 anyway
        return np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x * x * x))


def _normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 of an array: it keeps its relative precision in the left tail, where
    1 + erf(...) loses it."""
    dtype = x.dtype if x.dtype.kind == "f" else np.float64  # integers give float64, as np.tanh does
    return (0.5 * erfc(x.astype(np.float64) * -_SQRT_HALF)).astype(dtype)


def _normal_pdf(x):
    with np.errstate(over="ignore"):  # x * x overflows only where the density is 0
        return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _gelu_slope(x, saved, approximate):
    """gelu'(x) from `saved`, the tanh part or Phi(x): arrays, or Tensors in a recorded backward."""
    with np.errstate(over="ignore", invalid="ignore"):  # x * x overflows only where its factor is 0
        if approximate == "tanh":
            sech2 = 1 - saved * saved
            return 0.5 * (1 + saved) + np.where(
                sech2 > 0, 0.5 * x * sech2 * (_TANH_SCALE * (1 + 3 * _TANH_CUBIC * x * x)), 0)
        return saved + x * _normal_pdf(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x; gradient: g where x > 0, else negative_slope * g (also at 0)."""
    x = checks.floating(x)
    return apply(LeakyRelu, x, negative_slope=checks.finite_number("leaky_relu", "negative_slope", negative_slope))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (e**x - 1); gradient: g where x > 0, else g * alpha * e**x (alpha at 0)."""
    x = checks.floating(x)
    return apply(Elu, x, alpha=checks.finite_number("elu", "alpha", alpha))


def softplus(x, beta=1.0):
    """log(1 + e**(beta x)) / beta, stable and exact for every x; gradient: g * sigmoid(beta x)."""
    x = checks.floating(x)
    beta = checks.finite_number("softplus", "beta", beta)
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got {beta!r} (input shape {x.shape})")
    return apply(Softplus, x, beta=beta)


def gelu(x, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF (exact, with erf: PyTorch's default), or with approximate="tanh"
    PyTorch's tanh form (faster); gradient: g * (Phi(x) + x * phi(x)), phi the normal density (resp. the tanh
    form's own derivative)."""
    x = checks.floating(x)
    if approximate not in ("none", "tanh"):
        raise ValueError(f'gelu: approximate must be "none" (exact, with erf) or "tanh", got {approximate!r}')
    return apply(Gelu, x, approximate=approximate)
