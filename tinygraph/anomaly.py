"""Anomaly mode's checks, run only inside `detect_anomaly()` (grad_mode.py holds the per-thread switch).

`apply` calls `after_forward` for every op and the engine calls `check_backward` for every node it goes through:
outside anomaly mode neither runs, and an op costs one attribute test. Inside, each op remembers the line of the
user's code that created it and a checksum of each array it saved; the first NaN or inf in an output or a gradient,
or a saved array written behind tinygraph's back (`t.data[...] = v`), raises `AnomalyError` and marks the op's
context (`ctx.anomaly_fault`) so that `draw_graph` shows it in red with its path to the loss.
"""
import hashlib
import linecache
import os
import sys

import numpy as np

from .tensor import Tensor

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LAYER_CALL = os.path.join(_PACKAGE, "layers", "base.py")
_ENGINE = os.path.join(_PACKAGE, "engine.py")
_ATTR_CHARS = 40


class AnomalyError(RuntimeError):
    """A NaN or inf, or a saved array changed before backward, found by `detect_anomaly()`.

    `.op` is the op's name, `.phase` "forward" or "backward", `.input_shapes` its inputs' shapes, `.origin` the line
    of your code that created it (or None), `.tensor` the op's result: `draw_graph(err.tensor)` (or of the loss, for
    a fault in backward) shows the op in red."""

    def __init__(self, message, ctx, phase, tensor):
        super().__init__(message)
        self.op = ctx.function.name
        self.phase = phase
        self.input_shapes = tuple(p.shape for p in ctx.parents)
        self.origin = _origin_text(ctx)
        self.tensor = tensor


# ----- forward -----------------------------------------------------------------------------------------------
def after_forward(ctx, out):
    """Remember where the op was created and what it saved; raise if its output holds NaN or inf."""
    ctx.anomaly_origin, in_backward = _user_frame()
    if ctx.needs_input_grad:
        ctx.anomaly_checksums = [_digest(a) for a in ctx.saved_arrays]
    if in_backward or _finite(out):
        # An op recorded by backward(create_graph=True) is part of a gradient formula: the engine's check of
        # the gradient it yields names the op being differentiated, which is what the user wrote.
        return
    ctx.anomaly_fault = "forward"
    tensor = Tensor._wrap(out, bool(ctx.needs_input_grad), ctx)
    causes = [f"input {i} (shape {p.shape}{_named(p)}{', a leaf' if p._ctx is None else ''}) already held "
              f"{_kinds(p.data)}" for i, p in enumerate(ctx.parents) if not _finite(p.data)]
    cause = "; ".join(causes) if causes else f"its inputs were all finite: {ctx.function.name} itself made it"
    raise AnomalyError(
        f"detect_anomaly: in forward, {_op_text(ctx)} {_shapes_text(ctx)} produced {_kinds(out)} "
        f"({_count(out)}): {cause}.{_where(ctx)}\ndraw_graph(err.tensor) shows the op in red.",
        ctx, "forward", tensor,
    )


# ----- backward ----------------------------------------------------------------------------------------------
def check_backward(ctx, node, grad, input_grads):
    """Check one node's step of backward: its saved arrays unchanged since forward, the gradient arriving at it
    and each gradient its op sent to an input finite."""
    _check_saved(ctx, node)
    grad = grad.data if isinstance(grad, Tensor) else grad
    if not _finite(grad):
        _fail_backward(ctx, node, f"the gradient arriving at its output (shape {node.shape}) holds "
                                  f"{_kinds(grad)} ({_count(grad)}) before {ctx.function.name}'s backward ran")
    for position, (parent, needs, pg) in enumerate(zip(ctx.parents, ctx.needs_input_grad, input_grads)):
        if pg is None or not needs:
            continue  # the engine drops it
        pg = pg.data if isinstance(pg, Tensor) else pg
        if not _finite(pg):
            _fail_backward(ctx, node, f"from a finite incoming gradient it returned {_kinds(pg)} ({_count(pg)}) "
                                      f"in the gradient for input {position} (shape {parent.shape}{_named(parent)})")


def _fail_backward(ctx, node, what):
    ctx.anomaly_fault = "backward"
    raise AnomalyError(
        f"detect_anomaly: in backward, {_op_text(ctx)} {_shapes_text(ctx)}: {what}.{_where(ctx)}\n"
        f"draw_graph(loss) shows the op in red, with its path to the loss.",
        ctx, "backward", node,
    )


def _check_saved(ctx, node):
    checksums = ctx.__dict__.get("anomaly_checksums")
    if not checksums:
        return  # recorded outside anomaly mode: nothing to compare with
    for array, digest in zip(ctx.saved_arrays, checksums):
        if digest is None or _digest(array) == digest:
            continue
        ctx.anomaly_fault = "backward"
        name = ctx.function.name
        raise AnomalyError(
            f"detect_anomaly: in backward, {_op_text(ctx)} {_shapes_text(ctx)}: {_saved_name(ctx, node, array)} was "
            f"changed after {name} saved it in forward, by a write that tinygraph does not see (into `.data`), so "
            f"its gradient would be computed from the new values.{_where(ctx)}\nWrite into a copy "
            f"(`t.data = t.data.copy()` first), or run the forward again after the change.",
            ctx, "backward", node,
        )


def _saved_name(ctx, node, array):
    for position, parent in enumerate(ctx.parents):
        if parent.data is array:
            return f"input {position} (shape {parent.shape}{_named(parent)})"
    if node.data is array:
        return f"its output (shape {node.shape})"
    return f"an array it saved (shape {np.shape(array)})"


# ----- where an op was created -------------------------------------------------------------------------------
def _user_frame():
    """(file, line, function, layer name or None) of the first caller outside the tinygraph package, or None; and
    whether the op runs inside the engine's backward. The layer is the one whose `__call__` the op ran in, if any.
    A frame walk: far cheaper than `traceback.extract_stack`."""
    frame, layer, in_backward = sys._getframe(2), None, False
    while frame is not None:
        code = frame.f_code
        if not code.co_filename.startswith(_PACKAGE):
            return (code.co_filename, frame.f_lineno, code.co_name, layer), in_backward
        if layer is None and code.co_name == "__call__" and code.co_filename == _LAYER_CALL:
            layer = getattr(frame.f_locals.get("self"), "name", None)
        in_backward = in_backward or (code.co_name == "_propagate" and code.co_filename == _ENGINE)
        frame = frame.f_back
    return None, in_backward


def _origin_text(ctx):
    origin = ctx.__dict__.get("anomaly_origin")
    if origin is None:
        return None
    filename, line, function, layer = origin
    source = linecache.getline(filename, line).strip()
    text = f"{filename}:{line}, in {function}" + (f": {source}" if source else "")
    return text + (f" (inside layer {layer})" if layer else "")


def _where(ctx):
    origin = _origin_text(ctx)
    if origin is None:
        return "\nThe op was recorded outside detect_anomaly(), so where it was created is unknown."
    return f"\nThe op was created at {origin}"


# ----- small helpers -----------------------------------------------------------------------------------------
def _finite(array):
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


def _kinds(array):
    found = [kind for kind, test in (("nan", np.isnan), ("inf", np.isinf)) if test(array).any()]
    return " and ".join(found)


def _count(array):
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    return f"{bad} of {np.size(array)} values"


def _digest(array):
    """A checksum of an array's values (None for what is not an array: a mask of Python objects, a shape)."""
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        return None
    return hashlib.blake2b(np.ascontiguousarray(array), digest_size=16).digest()


def _named(tensor):
    return f", {tensor.name!r}" if tensor.name else ""


def _shapes_text(ctx):
    return "(input shapes " + ", ".join(str(p.shape) for p in ctx.parents) + ")"


def _op_text(ctx):
    """The op's name and its plain attributes, e.g. `pow(exponent=0.5)`."""
    attrs = []
    for key, value in ctx.attrs.items():
        if isinstance(value, (int, float, str, tuple, type(None))):
            text = repr(value)
            attrs.append(f"{key}={text if len(text) <= _ATTR_CHARS else text[:_ATTR_CHARS - 3] + '...'}")
    return f"{ctx.function.name}({', '.join(attrs)})" if attrs else ctx.function.name
