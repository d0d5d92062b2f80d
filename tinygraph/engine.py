"""Reverse-mode traversal: order the graph once, then send each gradient from a result to its inputs.

`topological_order` is the one walk over a graph: the viewer and the network's drawing use it too.
"""
import sys

import numpy as np

from . import anomaly as _anomaly
from . import grad_mode, parallel
from . import tensor as _tensor
from .grad_mode import enable_grad, recorded_backward
from .ops.function import unbroadcast
from .tensor import Tensor


def every_tensor(tensor):
    """A `follow` for `topological_order` that walks the whole graph (the viewer's walk)."""
    return True


def topological_order(root, follow=None, visited=None):
    """`root` and every tensor it depends on through tensors for which `follow(tensor)` holds, each after its
    inputs, found with an explicit stack (no recursion limit). Without `follow` the walk keeps to tensors that
    require grad, which is what backward needs. Tensors already in `visited` (a set of ids, updated) are left out."""
    if visited is None:
        visited = set()
    elif id(root) in visited:
        return []
    visited.add(id(root))
    order = []
    # Each entry is a node and an iterator over its inputs, resumed where it left off: every node is pushed once.
    stack = [(root, iter(root._ctx.parents) if root._ctx is not None else _NO_INPUTS)]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            key = id(parent)
            if key not in visited and (parent.requires_grad if follow is None else follow(parent)):
                visited.add(key)
                ctx = parent._ctx
                if ctx is None:  # a leaf has no inputs to come first: no need to push it
                    order.append(parent)
                    continue
                stack.append((parent, iter(ctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


_NO_INPUTS = iter(())  # a leaf's inputs: an exhausted iterator stays exhausted, so one serves every leaf


def _initial_gradient(where, root, grad, create_graph):
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"{where}: a gradient can be implied only for a single-element tensor, got shape {root.shape}; "
                f"pass the gradient of the result, an array of shape {root.shape}"
            )
        # A one of the root's shape (all ones, as it has one element): np.ones_like takes 0.7 us, this 0.2.
        grad = np.array(1, dtype=root.data.dtype, ndmin=root.data.ndim)
    elif not (create_graph and isinstance(grad, Tensor)):
        grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"{where}: grad has shape {grad.shape}, the tensor has shape {root.shape}")
    # With create_graph the gradients are Tensors, so that what backward computes is itself recorded.
    return Tensor(grad) if create_graph and not isinstance(grad, Tensor) else grad


def _accumulate(tensor, grad, stored):
    if tensor.grad is not None:
        tensor.grad = tensor.grad + grad
    elif isinstance(grad, Tensor):
        tensor.grad = grad  # a recorded gradient (create_graph): the Tensor itself, as in PyTorch
    else:
        # A stored gradient is the user's to change, so it must be its own writeable array: a broadcast view is
        # read-only, a view shares memory, and add hands one array to both of its inputs.
        if not (grad.flags.writeable and grad.flags.owndata) or id(grad) in stored:
            grad = grad.copy()
        tensor.grad = grad
    stored.add(id(tensor.grad))


def _order(roots):
    """Every tensor the roots depend on through tensors that require grad, each after its inputs."""
    visited, order = set(), []
    for root in roots:
        order.extend(topological_order(root, visited=visited))
    return order


def _propagate(roots, root_grads, retain_graph, create_graph, captured=None):
    """Send the gradients from the roots to every tensor they depend on. Without `captured`, leaves (and tensors
    that retain grad) accumulate theirs in `.grad`; with it (a dict from tensor id to None), only those tensors'
    gradients are collected there, and no `.grad` changes."""
    pending = {}
    for root, g in zip(roots, root_grads):
        pending[id(root)] = g if id(root) not in pending else pending[id(root)] + g
    # Bound once: this loop runs once per recorded op, and its lookups are a good part of the engine's cost.
    pop, get, clock = pending.pop, pending.get, _tensor.write_clock
    stored = set()
    checking = grad_mode.state.anomaly  # read once per backward: an op then costs one test of a local
    for node in reversed(_order(roots)):
        g = pop(id(node), None)
        if g is None:  # no gradient reached it (every use of it gave None): nothing to store or send on
            continue
        ctx = node._ctx
        if captured is not None:
            if id(node) in captured:
                captured[id(node)] = g
        elif ctx is None or node._retains_grad:
            _accumulate(node, g, stored)
        if ctx is None:
            continue
        if ctx.saved_arrays is None:
            raise RuntimeError(
                f"backward: the graph through {ctx.function.name} was freed by an earlier backward(); "
                f"call the first backward(retain_graph=True) to go through it twice"
            )
        if ctx.clock != clock:
            _check_unchanged(ctx)
        if create_graph:
            input_grads = _recorded_backward(ctx, node, g)
        else:
            input_grads = ctx.function.backward(ctx, g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if checking:
            _anomaly.check_backward(ctx, node, g, input_grads)
        parents, needs = ctx.parents, ctx.needs_input_grad
        for i, pg in enumerate(input_grads):  # indexing, not a zip of three: 0.07 us less per op (measured)
            if pg is None or not needs[i]:
                continue
            parent = parents[i]
            data = parent.data
            if pg.shape != data.shape:
                pg = _fit_gradient(ctx, parent, pg)
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:
                pg = pg.astype(data.dtype)
            key = id(parent)
            previous = get(key)
            pending[key] = pg if previous is None else previous + pg
        if create_graph:
            _mark_backward_ops(ctx, node, g, [get(id(p)) for p in ctx.parents])
        if not retain_graph:
            ctx.saved_arrays = None  # frees the saved arrays and marks the node as gone through


def backward(root, grad=None, retain_graph=None, create_graph=False):
    """Accumulate d(root)/d(leaf) · grad into `.grad` of every leaf of `root` that requires grad.

    With `create_graph` the backward pass is itself recorded, so the gradients (then Tensors) can be
    differentiated again; the graph is then kept unless `retain_graph=False`."""
    if not root.requires_grad:
        raise ValueError(
            f"backward: the tensor of shape {root.shape} does not require grad; set requires_grad=True on an input"
        )
    retain_graph = create_graph if retain_graph is None else retain_graph
    initial = _initial_gradient("backward", root, grad, create_graph)
    _run([root], [initial], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of `outputs` (weighted by `grad_outputs`) with respect to each of `inputs`, as Tensors;
    no `.grad` changes. PyTorch's `torch.autograd.grad` contract: with `create_graph` the results are recorded
    and can be differentiated again; an input the outputs do not depend on raises, or gives None with
    `allow_unused=True`."""
    outputs = _as_list("grad", "outputs", outputs)
    inputs = _as_list("grad", "inputs", inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(outputs + inputs):
        if not t.requires_grad:
            which = f"outputs[{i}]" if i < len(outputs) else f"inputs[{i - len(outputs)}]"
            raise ValueError(f"grad: {which} of shape {t.shape} does not require grad; "
                             f"set requires_grad=True on the inputs before computing the outputs")
    retain_graph = create_graph if retain_graph is None else retain_graph
    initial = [_initial_gradient("grad", t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    captured = {id(t): None for t in inputs}
    _run(outputs, initial, retain_graph, create_graph, captured)
    results = []
    for i, t in enumerate(inputs):
        g = captured[id(t)]
        if g is None and not allow_unused:
            raise ValueError(f"grad: the outputs do not depend on inputs[{i}] of shape {t.shape}; "
                             f"pass allow_unused=True to get None for it")
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._wrap(g if g.flags.writeable and g.flags.owndata else g.copy(), False, None)
        results.append(g)
    return tuple(results)


def _as_list(where, what, value):
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(f"{where}: {what} must be Tensors, got {type(item).__name__}")
    return items


def _run(roots, root_grads, retain_graph, create_graph, captured=None):
    """`_propagate` with BLAS on one thread, as in Network.fit: a product on BLAS's own threads would leave them
    spinning (0.1 s of a core after each call, measured), slowing tinygraph's threads in the passes that follow.
    With `create_graph` the pass is recorded, to be differentiated again; otherwise grad mode is left as it is."""
    with parallel.blas_single_thread():
        if create_graph:
            with enable_grad(), recorded_backward():
                _propagate(roots, root_grads, retain_graph, create_graph, captured)
        else:
            _propagate(roots, root_grads, retain_graph, create_graph, captured)


def _recorded_backward(ctx, output, grad):
    """The op's backward formula run on Tensors, so that it is recorded: each saved float array must be one of the
    op's inputs or its output (then that Tensor stands in for it); integer and bool arrays (masks, indices) are
    constants. An op that saved anything else cannot be differentiated twice and says so."""
    function = ctx.function
    if hasattr(function, "recorded_backward"):
        return function.recorded_backward(ctx, output, grad)
    return function.backward(_TensorContext(ctx, output), grad)


def _mark_backward_ops(ctx, output, grad, results):
    """Flag the ops that recording ctx's backward just added (the graph viewer draws them as backward ops): those
    behind `results` back to what existed before it, the op's output and inputs and the incoming gradient."""
    before = {id(output), id(grad), *(id(p) for p in ctx.parents)}
    order = ctx.__dict__.get("backward_order", 0) + 1  # 2 for the backward of a backward op, and so on

    def new(t):
        return t._ctx is not None and id(t) not in before and "backward_of" not in t._ctx.__dict__

    visited = set()
    for result in results:
        if isinstance(result, Tensor):
            for t in topological_order(result, follow=new, visited=visited):
                if new(t):
                    t._ctx.backward_of, t._ctx.backward_order = ctx.function.name, order


class _TensorContext:
    """A view of a Context whose saved arrays are the Tensors they came from."""

    def __init__(self, ctx, output):
        self._ctx = ctx
        sources = {id(p.data): p for p in ctx.parents}
        sources[id(output.data)] = output
        saved = []
        for array in ctx.saved_arrays:
            if array is None or getattr(array, "dtype", None) is None or array.dtype.kind != "f":
                saved.append(array)
            elif id(array) in sources:
                saved.append(sources[id(array)])
            else:
                raise RuntimeError(
                    f"{ctx.function.name}: second derivatives are not supported: its backward uses an intermediate "
                    f"array (of shape {array.shape}) that is neither an input nor the output; "
                    f"use create_graph=False"
                )
        self.saved_arrays = tuple(saved)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


def _check_unchanged(ctx):
    """Refuse to differentiate with saved data that an in-place write changed after the op recorded it."""
    for position, parent in enumerate(ctx.parents):
        if parent._written_at > ctx.clock and any(a is parent.data for a in ctx.saved_arrays):
            name = ctx.function.name
            raise RuntimeError(
                f"backward: input {position} of {name} (shape {parent.shape}"
                f"{', ' + repr(parent.name) if parent.name else ''}) was changed in place after {name} used it, so "
                f"its gradient would be computed from the new values; run the forward again after the change "
                f"(or change a copy)"
            )


def _fit_gradient(ctx, parent, grad):
    try:
        return unbroadcast(grad, parent.data.shape)
    except ValueError as err:
        raise ValueError(f"{ctx.function.name} backward: {err}") from None


_tensor.engine = sys.modules[__name__]  # Tensor.backward() calls it (tensor.py cannot import it)
