"""The NumPy functions a Tensor answers through `__array_function__`, each recorded as tinygraph ops.

Every handler takes NumPy's own signature (after `fname`, the name used in errors), refuses the keywords that do
not fit a graph (out=, dtype=, order=), and calls the op of the same meaning from `tinygraph.ops`, looked up when the
call happens. `tensordot`, `dot` and `outer` are compositions of reshape, transpose, matmul and mul.
"""
import inspect
import math

import numpy as np

from . import ops
from .numpy_protocol import _data, _like, _op, _refuse_keywords, _unsupported
from .tensor import as_tensor


def _refuse(fname, **keywords):
    _refuse_keywords(fname, keywords)


def _reduction(name):
    def call(fname, a, axis=None, dtype=None, out=None, keepdims=False, **rest):
        _refuse(fname, dtype=dtype, out=out, **rest)
        return _op(fname, name)(a, axis=axis, keepdims=keepdims)

    return call


def _spread(name):
    def call(fname, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **rest):
        _refuse(fname, dtype=dtype, out=out, **rest)
        return _op(fname, name)(a, axis=axis, keepdims=keepdims, **({"ddof": ddof} if ddof else {}))

    return call


def _index_of(name):
    def call(fname, a, axis=None, out=None, *, keepdims=False):
        _refuse(fname, out=out)
        function = getattr(ops, name, None)
        if function is None:  # indices carry no gradient, so the values are all there is to compute
            return getattr(np, name)(_data(a), axis=axis, keepdims=keepdims)
        return function(a, axis=axis, **({"keepdims": True} if keepdims else {}))

    return call


def _joined(name):
    def call(fname, arrays, axis=0, out=None, *, dtype=None, casting=None):
        _refuse(fname, out=out, dtype=dtype, casting=casting)
        arrays = list(arrays)
        like = _like(arrays)
        return _op(fname, name)([as_tensor(a, like) for a in arrays], axis=axis)

    return call


def _same_parameters(name, function, arity=None):
    """Functions whose op takes the first `arity` (default: all) of NumPy's parameters in NumPy's order
    (np.split(a, 2, axis=1) -> split(a, 2, axis=1)). The call is bound to NumPy's own signature, so keywords and
    NumPy's defaults (split's axis=0) hold; a parameter past `arity` (np.copy's order=) must keep its default."""
    signature = inspect.signature(function)
    kept = list(signature.parameters)[slice(arity)]

    def call(fname, *args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{fname}: {err}") from None
        bound.apply_defaults()
        for key, value in bound.arguments.items():
            if key not in kept and value != signature.parameters[key].default:
                raise _unsupported(fname, f"{key}={value!r} is not supported; call it without {key}=")
        return _op(fname, name)(*(bound.arguments[key] for key in kept))

    return call


def _reshape(fname, a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C" or copy is not None:
        raise _unsupported(fname, "only order='C' without copy= is recorded; call it as np.reshape(t, shape)")
    return ops.reshape(a, newshape if shape is None else shape)


def _ravel(fname, a, order="C"):
    if order != "C":
        raise _unsupported(fname, "only order='C' is recorded; call it as np.ravel(t)")
    return ops.reshape(a, (-1,))


def _transpose(fname, a, axes=None):
    return ops.transpose(a, None if axes is None else tuple(axes))


def _pad(fname, array, pad_width, mode="constant", constant_values=0, **rest):
    if mode != "constant" or rest or np.ndim(constant_values) != 0:
        raise _unsupported(fname, "only mode='constant' with one constant_values number is recorded; "
                                  "write np.pad(t, pad_width, constant_values=c)")
    return ops.pad(array, pad_width, value=constant_values)


def _where(fname, condition, *values):
    if not values:  # np.where(condition): the indices of the true elements, no gradient
        return np.where(_data(condition))
    if len(values) != 2:
        raise TypeError(f"{fname} takes a condition and either no or two values, got {len(values)} values")
    like = _like(values)
    return _op(fname, "where")(_data(condition), *(as_tensor(v, like) for v in values))


def _clip(fname, a, a_min=None, a_max=None, out=None, *, min=None, max=None, **rest):
    _refuse(fname, out=out, **rest)
    low, high = (min if a_min is None else a_min), (max if a_max is None else a_max)
    return _op(fname, "clip")(a, low, high)


def _broadcast_to(fname, array, shape, subok=False):
    return _op(fname, "broadcast_to")(array, shape)


def _tensordot(fname, a, b, axes=2):
    """Contract a over axes_a with b over axes_b: move them last/first, reshape to matrices, matmul, reshape back."""
    like = _like((a, b))
    a, b = as_tensor(a, like), as_tensor(b, like)
    axes_a, axes_b = _contracted(fname, a.shape, b.shape, axes)
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    inner = math.prod(a.shape[i] for i in axes_a)
    left = ops.reshape(ops.transpose(a, tuple(free_a + axes_a)), (math.prod(a.shape[i] for i in free_a), inner))
    right = ops.reshape(ops.transpose(b, tuple(axes_b + free_b)), (inner, math.prod(b.shape[i] for i in free_b)))
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return ops.reshape(ops.matmul(left, right), shape)


def _contracted(fname, shape_a, shape_b, axes):
    """tensordot's `axes` (an int n, or a pair of axis lists) as two lists of non-negative axes, checked."""
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(len(shape_a), len(shape_b)):
            raise ValueError(f"{fname}: axes={axes} is more than the axes of shapes {shape_a} and {shape_b}")
        pairs = (list(range(len(shape_a) - axes, len(shape_a))), list(range(axes)))
    else:
        pairs = tuple([a] if np.ndim(a) == 0 else list(a) for a in axes)
    try:
        axes_a = [int(ax) % len(shape_a) if -len(shape_a) <= ax < len(shape_a) else None for ax in pairs[0]]
        axes_b = [int(ax) % len(shape_b) if -len(shape_b) <= ax < len(shape_b) else None for ax in pairs[1]]
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        axes_a = axes_b = None
    if (axes_a is None or None in axes_a or None in axes_b or len(axes_a) != len(axes_b)
            or len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b)
            or any(shape_a[i] != shape_b[j] for i, j in zip(axes_a, axes_b))):
        raise ValueError(f"{fname}: axes={axes!r} do not pair axes of equal length in shapes {shape_a} and {shape_b}")
    return axes_a, axes_b


def _dot(fname, a, b, out=None):
    _refuse(fname, out=out)
    like = _like((a, b))
    a, b = as_tensor(a, like), as_tensor(b, like)
    if a.ndim == 0 or b.ndim == 0:
        return ops.mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return ops.matmul(a, b)
    return _tensordot(fname, a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]))  # np.dot's sum over a's last, b's 2nd-last


def _outer(fname, a, b, out=None):
    _refuse(fname, out=out)
    like = _like((a, b))
    return ops.mul(ops.reshape(as_tensor(a, like), (-1, 1)), ops.reshape(as_tensor(b, like), (1, -1)))


FUNCTIONS = {
    np.sum: _reduction("sum"), np.mean: _reduction("mean"), np.max: _reduction("max"), np.amax: _reduction("max"),
    np.min: _reduction("min"), np.amin: _reduction("min"), np.prod: _reduction("prod"),
    np.var: _spread("var"), np.std: _spread("std"), np.argmax: _index_of("argmax"), np.argmin: _index_of("argmin"),
    np.dot: _dot, np.tensordot: _tensordot, np.outer: _outer,
    np.reshape: _reshape, np.ravel: _ravel, np.transpose: _transpose, np.pad: _pad,
    np.where: _where, np.clip: _clip, np.broadcast_to: _broadcast_to,
    np.concatenate: _joined("concatenate"), np.stack: _joined("stack"),
    np.split: _same_parameters("split", np.split), np.squeeze: _same_parameters("squeeze", np.squeeze),
    np.flip: _same_parameters("flip", np.flip), np.repeat: _same_parameters("repeat", np.repeat),
    np.expand_dims: _same_parameters("expand_dims", np.expand_dims),
    np.swapaxes: _same_parameters("swapaxes", np.swapaxes), np.moveaxis: _same_parameters("moveaxis", np.moveaxis),
    np.tile: _same_parameters("tile", np.tile), np.copy: _same_parameters("clone", np.copy, 1),
}

# Functions that only read values, shapes or indices: no gradient exists, so they run on the data.
VALUE_ONLY = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv, np.zeros_like,
    np.ones_like, np.empty_like, np.full_like, np.any, np.all, np.count_nonzero, np.nonzero, np.argwhere,
    np.flatnonzero, np.argsort, np.array2string, np.array_repr, np.array_str, np.result_type, np.iscomplexobj,
    np.isrealobj, np.may_share_memory, np.shares_memory,
}

HINTS = {
    np.round: "its derivative is zero almost everywhere; use np.round(t.data) for the values",
    np.around: "its derivative is zero almost everywhere; use np.around(t.data) for the values",
    np.average: "write np.sum(w * x) / np.sum(w), or np.mean(x)",
    np.einsum: "use np.tensordot, np.dot or np.matmul",
    np.inner: "use np.tensordot(a, b, axes=([-1], [-1]))",
    np.diff: "write x[1:] - x[:-1]",
    np.cumsum: "write it with np.tril and np.dot, or np.sum over slices",
    np.linalg.norm: "write np.sqrt(np.sum(x * x))",
    np.sort: "sort the indices instead: t[np.argsort(t)] (gather with getitem)",
    np.median: "sort the indices with np.argsort and index the Tensor",
    np.atleast_2d: "use np.reshape or t[None]",
}
