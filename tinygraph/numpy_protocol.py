"""NumPy's dispatch protocols for Tensor: `np.tanh(t)`, `np.mean(t)`, `ndarray - t` record tinygraph ops.

`Tensor.__array_ufunc__` and `Tensor.__array_function__` hand every NumPy call that involves a Tensor to
`array_ufunc` / `array_function` here (this module binds itself into tinygraph.tensor when it loads, as tinygraph.ops
does). Each NumPy ufunc or function maps onto the tinygraph op of the same meaning, looked up by name in
`tinygraph.ops` when the call happens, so `np.exp(t)` records exactly what `t.exp()` records. A NumPy call tinygraph
cannot differentiate raises `UnsupportedNumpyCall` (a TypeError naming the call and what to write instead): it
never returns a plain array that silently drops the graph. Calls that only read values and have no gradient
(`np.shape`, `np.allclose`, `np.zeros_like`, comparisons) run on the data. The model is MyGrad's: one table of
NumPy callables, no patching of NumPy.
"""
import sys

import numpy as np

from . import ops
from . import tensor as _tensor
from .tensor import Tensor, as_tensor


class UnsupportedNumpyCall(TypeError):
    """A NumPy call on a Tensor that tinygraph cannot record (so it refuses rather than drop the graph)."""


# ----- ufuncs ------------------------------------------------------------------------------------------------------

# NumPy ufunc -> tinygraph op name (the op takes the ufunc's operands in the same order).
UFUNCS = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div", np.power: "pow",
    np.negative: "neg", np.matmul: "matmul", np.exp: "exp", np.log: "log", np.tanh: "tanh", np.sqrt: "sqrt",
    np.maximum: "maximum", np.minimum: "minimum", np.absolute: "abs", np.sin: "sin", np.cos: "cos",
    np.log1p: "log1p", np.expm1: "expm1", np.square: "square", np.sign: "sign",
}

# ufunc.reduce -> the reduction op of the same meaning (np.add.reduce(t, axis) is np.sum(t, axis)).
REDUCERS = {np.add: "sum", np.multiply: "prod", np.maximum: "max", np.minimum: "min", np.logaddexp: "logsumexp"}

# Comparisons and tests give bool Tensors without a gradient, as Tensor's own `t > 0` does.
PREDICATES = {
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.isnan, np.isinf, np.isfinite, np.signbit, np.logical_not, np.logical_and, np.logical_or, np.logical_xor,
}

# What to write instead, for ops a tinygraph version may lack and NumPy calls with no tinygraph op.
INSTEAD = {
    "sqrt": "x ** 0.5", "square": "x ** 2", "abs": "np.sqrt(x * x) or np.where(x > 0, x, -x)",
    "maximum": "np.where(a > b, a, b)", "minimum": "np.where(a < b, a, b)", "exp2": "np.exp(x * np.log(2))",
    "log2": "np.log(x) / np.log(2)", "log10": "np.log(x) / np.log(10)", "reciprocal": "1 / x",
    "divide": "a / b", "floor_divide": "np.floor(a.data / b) (no gradient)",
    "sigmoid": "tinygraph.sigmoid(x)", "logaddexp": "np.logaddexp.reduce (logsumexp) or np.log(np.exp(a) + np.exp(b))",
}
ROUNDING = {np.floor, np.ceil, np.rint, np.trunc}


def _name(func):
    module = getattr(func, "__module__", None) or "numpy"
    return f"{'np' if module == 'numpy' or module.startswith('numpy._') else module}.{func.__name__}"


def _unsupported(where, detail):
    return UnsupportedNumpyCall(f"{where} on a Tensor: {detail}")


def _op(where, name):
    """The op `name` of tinygraph.ops, looked up now (ops are added over time), or an error saying what to write."""
    function = getattr(ops, name, None)
    if function is None:
        hint = f"; write {INSTEAD[name]} instead" if name in INSTEAD else "; compute it from the supported ops"
        raise _unsupported(where, f"this tinygraph has no {name} op to record it{hint}")
    return function


def _refuse_keywords(where, kwargs):
    """ufunc keywords change where results go or which elements are computed; none of that fits a graph node."""
    for key, value in kwargs.items():
        if key == "out" and not (value is None or isinstance(value, tuple) and all(v is None for v in value)):
            raise _unsupported(where, "out= cannot hold a Tensor's result (the result is a new node of the graph); "
                                      f"write y = {where}(...) instead, and a = a + t instead of a += t for an array a")
        if key == "where" and value is not True:
            raise _unsupported(where, "where= would leave the masked elements without a gradient rule; write "
                                      f"np.where(mask, {where}(...), other) instead")
        if key not in ("out", "where") and value is not None:
            raise _unsupported(where, f"the keyword {key}={value!r} is not supported; call it without {key}= "
                                      "(convert the result's .data afterwards if you need another dtype)")


def _like(values):
    """The first float Tensor among `values`: other operands take its dtype, as with Tensor's operators."""
    for v in values:
        if isinstance(v, Tensor) and v.data.dtype.kind == "f":
            return v
    return next((v for v in values if isinstance(v, Tensor)), None)


def _data(value):
    """`value` with every Tensor (also inside lists, tuples and dicts) replaced by its data."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_data(v) for v in value)
    if isinstance(value, dict):
        return {k: _data(v) for k, v in value.items()}
    return value


def array_ufunc(ufunc, method, inputs, kwargs):
    """Tensor.__array_ufunc__: record `ufunc(*inputs)` as the matching op."""
    where = f"np.{ufunc.__name__}"
    if method == "reduce" and ufunc in REDUCERS:
        return _reduce(where, REDUCERS[ufunc], inputs, kwargs)
    if method != "__call__":
        raise _unsupported(f"{where}.{method}", "only plain calls (and reduce of add, multiply, maximum, minimum, "
                                               "logaddexp) are recorded; use np.sum, np.max, ... with axis= instead")
    _refuse_keywords(where, kwargs)
    if ufunc in PREDICATES:
        return Tensor._wrap(np.asarray(ufunc(*_data(inputs))), False, None)
    if ufunc in UFUNCS:
        function = _op(where, UFUNCS[ufunc])
        like = _like(inputs)
        if ufunc is np.power and not isinstance(inputs[1], Tensor) and np.ndim(inputs[1]) == 0:
            return function(as_tensor(inputs[0], like), inputs[1])  # a number exponent: the cheaper primitive
        return function(*(as_tensor(x, like) for x in inputs))
    if ufunc is np.positive:
        return as_tensor(inputs[0])
    if ufunc in ROUNDING:
        raise _unsupported(where, f"its derivative is zero almost everywhere, so it has no op; use {where}(t.data) "
                                  "for the values without a gradient")
    hint = INSTEAD.get(ufunc.__name__)
    supported = ", ".join(sorted(f"np.{u.__name__}" for u in UFUNCS))
    raise _unsupported(where, "tinygraph has no op for it" + (f"; write {hint} instead" if hint else
                              f"; compose it from the supported ufuncs ({supported}) or use t.data for the "
                              "values without a gradient"))


def _reduce(where, name, inputs, kwargs):
    kwargs = dict(kwargs)
    axis, keepdims = kwargs.pop("axis", 0), kwargs.pop("keepdims", False)  # ufunc.reduce's default axis is 0
    _refuse_keywords(f"{where}.reduce", {k: v for k, v in kwargs.items() if not (k == "dtype" and v is None)})
    return _op(f"{where}.reduce", name)(inputs[0], axis=axis, keepdims=keepdims)


# ----- functions ---------------------------------------------------------------------------------------------------

def array_function(func, types, args, kwargs):
    """Tensor.__array_function__: record `func(*args, **kwargs)` as tinygraph ops, or refuse it by name."""
    if func is np.shape or func is np.ndim:  # asked often (by ops' own argument checks too): answered first
        return func(_data(args[0]))
    for kind in types:
        if not issubclass(kind, (Tensor, np.ndarray)):
            return NotImplemented  # another array type may know what to do
    handler = FUNCTIONS.get(func)
    if handler is not None:
        return handler(_name(func), *args, **kwargs)
    if func in VALUE_ONLY:
        return func(*_data(args), **_data(kwargs))
    raise unsupported_function(func)


def unsupported_function(func):
    where = _name(func)
    if func in HINTS:
        return _unsupported(where, f"tinygraph cannot differentiate it; {HINTS[func]}")
    supported = ", ".join(sorted({f"np.{f.__name__}" for f in FUNCTIONS}))
    return _unsupported(where, f"tinygraph cannot differentiate it; use one of {supported}, the ufuncs "
                               "(np.exp, np.tanh, ...), or t.data for the values without a gradient")


from .numpy_functions import FUNCTIONS, HINTS, VALUE_ONLY  # noqa: E402 (the tables use the helpers above)

# Tensor's two protocol methods call this module through this binding (tensor.py imports nothing of tinygraph).
_tensor.numpy_protocol = sys.modules[__name__]
