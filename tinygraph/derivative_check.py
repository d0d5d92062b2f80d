"""Hand-written derivatives (the tutorial's `f_prime`, `loss_prime`, `backward_propagation`): checked once against
the engine's own derivative of the function, and the op that trains with one when asked to.

The check differentiates the forward function through the NumPy protocol on one sample in float64 and compares the
two vector-Jacobian products for the same random output error: that product is what a hand-written derivative is
used for (`activation_prime(input, output) * output_error`). Where the engine cannot differentiate the forward (an
unsupported NumPy call), central differences stand in for it. A disagreement is reported once as a
`DerivativeWarning` naming both functions, the worst element and both values.
"""
import os
import sys
import warnings

import numpy as np

from .grad_mode import enable_grad
from .ops.function import Function, apply
from .tensor import Tensor

DERIVATIVES = ("engine", "supplied")
NUMERIC_ELEMENTS = 2000  # at most this many input elements are checked by central differences (two calls each)
NUMERIC_STEP = 1e-3  # large enough that a forward computing in float32 inside still differences cleanly


class DerivativeWarning(UserWarning):
    """A supplied derivative disagrees with the derivative of its function."""


def derivative_option(where, value):
    """None (follow the network, whose default is "engine"), "engine" or "supplied"."""
    if value is not None and value not in DERIVATIVES:
        raise ValueError(f"{where}: derivative must be 'engine' (tinygraph differentiates your function: the default) "
                         f"or 'supplied' (train with your hand-written derivative, as the tutorial does), got {value!r}")
    return value


def _float_array(value, dtype):
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=dtype)


class SuppliedDerivative(Function):
    """y = forward(x) computed on arrays; gradient: backward(x, y, g), a hand-written derivative trusted as it is."""

    name = "supplied_derivative"

    @staticmethod
    def forward(ctx, x, forward, backward, label):
        y = _float_array(forward(x), x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_arrays
        given = _float_array(ctx.backward(x, y, grad), grad.dtype)
        if given.shape != x.shape:
            try:
                given = np.broadcast_to(given, x.shape)
            except ValueError:
                raise ValueError(f"{ctx.label} returned a gradient of shape {given.shape} for an input of shape "
                                 f"{x.shape}; it must return one value per input element") from None
        return given


def supplied(x, forward, backward, label):
    """forward(x) recorded with the hand-written `backward(x, y, g) -> input gradient` as its gradient."""
    return apply(SuppliedDerivative, x, forward=forward, backward=backward, label=label)


def check(label_prime, label_f, forward, backward, sample, seed=0, derivative="engine"):
    """Compare `backward(x, y, g)` with the engine's derivative of `forward` at one sample; warn once if they
    disagree, saying which of the two trains (`derivative`: the choice in force). Returns whether the engine can
    differentiate `forward` (if not, central differences were used)."""
    x = np.array(sample, dtype=np.float64)
    y = _float_array(forward(x), np.float64)
    g = np.ones(y.shape) if y.ndim == 0 else np.random.default_rng(seed).standard_normal(y.shape)
    exact = engine_vjp(forward, x, g)
    traceable = exact is not None
    if traceable:
        how, tolerances = "the derivative of", (1e-3, 1e-5)
    else:
        how, tolerances = "central differences of", (1e-2, 1e-3)
        exact = numeric_vjp(forward, x, g)
    given = _float_array(backward(x, y, g), np.float64)
    found = disagreement(given, exact, *tolerances)
    if found:
        if isinstance(found, str):
            detail = found
        else:
            where, given_value, exact_value = found
            product = "" if y.ndim == 0 else " (times a random output error)"
            detail = (f"{where}{product} on the first training sample, {label_prime} gives {given_value} and {how} "
                      f"{label_f} gives {exact_value}")
        then = _which_trains(traceable, derivative, label_f)
        warnings.warn(f"{label_prime} disagrees with {how} {label_f}: {detail}. {then}", DerivativeWarning,
                      stacklevel=_first_caller_outside_tinygraph())
    return traceable


def _which_trains(traceable, derivative, label_f):
    """The end of a DerivativeWarning: which derivative training uses, and how to choose the other."""
    if not traceable:
        return f"tinygraph cannot differentiate {label_f}, so it trains with yours"
    if derivative == "supplied":
        return ("tinygraph trains with yours, as derivative='supplied' asks (as the tutorial does); "
                "derivative='engine', the default, trains with the exact derivative")
    return "tinygraph trains with the exact derivative; derivative='supplied' trains with yours, as the tutorial does"


def _first_caller_outside_tinygraph():
    """The stacklevel that makes a warning point at the user's line (the fit call), not at tinygraph's."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def engine_vjp(forward, x, g):
    """g · d forward / dx by the engine, or None when `forward` cannot run on a Tensor (an unsupported NumPy call, a
    conversion to float) or leaves the graph (returns an array)."""
    t = Tensor(x, requires_grad=True)
    with enable_grad():
        try:
            out = forward(t)
        except TypeError:
            return None
        if not isinstance(out, Tensor) or out.shape != g.shape:
            return None
        if out.requires_grad:
            (out * g).sum().backward()
    return np.zeros(x.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)


def numeric_vjp(forward, x, g, step=NUMERIC_STEP, limit=NUMERIC_ELEMENTS, seed=0):
    """g · d forward / dx by central differences at up to `limit` elements (NaN at the others)."""
    flat = x.reshape(-1)
    picked = np.arange(flat.size)
    if flat.size > limit:
        picked = np.random.default_rng(seed).choice(flat.size, limit, replace=False)
    out = np.full(flat.size, np.nan)
    for i in picked:  # one sample, once per layer: a loop of forward calls, not a training path
        shifted = flat.copy()
        shifted[i] += step
        above = np.vdot(g, _float_array(forward(shifted.reshape(x.shape)), np.float64))
        shifted[i] -= 2 * step
        below = np.vdot(g, _float_array(forward(shifted.reshape(x.shape)), np.float64))
        out[i] = (above - below) / (2 * step)
    return out.reshape(x.shape)


def disagreement(given, exact, rtol, atol):
    """None if `given` matches `exact` (NaN in exact: not checked); else (where, given value, exact value) at the
    worst element, or a sentence on the shapes."""
    if given.shape != exact.shape:
        try:
            given = np.broadcast_to(given, exact.shape)
        except ValueError:
            return f"its result has shape {given.shape} where the input gradient has shape {exact.shape}"
    checked = ~np.isnan(exact)
    scale = atol * max(1.0, float(np.max(np.abs(exact[checked]), initial=0.0)))
    with np.errstate(invalid="ignore"):
        excess = np.where(checked, np.abs(given - exact) - (scale + rtol * np.abs(exact)), -np.inf)
    excess = np.where(checked & np.isnan(given), np.inf, excess)
    if not (excess > 0).any():
        return None
    index = np.unravel_index(int(np.argmax(excess)), exact.shape)
    where = "for the loss" if exact.ndim == 0 else f"at element {tuple(int(i) for i in index)} of the input gradient"
    return where, f"{given[index]:.6g}", f"{exact[index]:.6g}"
