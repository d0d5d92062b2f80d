"""Reverse-mode traversal: order the graph once, then send each gradient from a result to its inputs.

`topological_order` is the one walk over a graph: the viewer and the network's drawing use it too.
"""
import numpy as np

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
    stack = [(root, iter(root._ctx.parents) if root._ctx is not None else iter(()))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in visited and (parent.requires_grad if follow is None else follow(parent)):
                visited.add(id(parent))
                ctx = parent._ctx
                stack.append((parent, iter(ctx.parents) if ctx is not None else iter(())))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _initial_gradient(root, grad):
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: a gradient can be implied only for a single-element tensor, got shape {root.shape}; "
                f"pass backward(grad) with an array of shape {root.shape}"
            )
        return np.ones_like(root.data)
    grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, the tensor has shape {root.shape}")
    return grad


def _accumulate(tensor, grad, stored):
    if tensor.grad is not None:
        tensor.grad = tensor.grad + grad
    else:
        # A stored gradient is the user's to change, so it must be its own writeable array: a broadcast view is
        # read-only, a view shares memory, and add hands one array to both of its inputs.
        if not (grad.flags.writeable and grad.flags.owndata) or id(grad) in stored:
            grad = grad.copy()
        tensor.grad = grad
    stored.add(id(tensor.grad))


def backward(root, grad=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) · grad into `.grad` of every leaf of `root` that requires grad."""
    if not root.requires_grad:
        raise ValueError(
            f"backward: the tensor of shape {root.shape} does not require grad; set requires_grad=True on an input"
        )
    pending = {id(root): _initial_gradient(root, grad)}
    stored = set()
    for node in reversed(topological_order(root)):
        g = pending.pop(id(node), None)
        ctx = node._ctx
        if ctx is None or node._retains_grad:
            if g is not None:
                _accumulate(node, g, stored)
            if ctx is None:
                continue
        if g is None:
            continue
        if ctx.saved_arrays is None:
            raise RuntimeError(
                f"backward: the graph through {ctx.function.name} was freed by an earlier backward(); "
                f"call the first backward(retain_graph=True) to go through it twice"
            )
        input_grads = ctx.function.backward(ctx, g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for parent, needs, pg in zip(ctx.parents, ctx.needs_input_grad, input_grads):
            if pg is None or not needs:
                continue
            data = parent.data
            if pg.shape != data.shape:
                pg = _fit_gradient(ctx, parent, pg)
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:
                pg = pg.astype(data.dtype)
            key = id(parent)
            previous = pending.get(key)
            pending[key] = pg if previous is None else previous + pg
        if not retain_graph:
            ctx.saved_arrays = None  # frees the saved arrays and marks the node as gone through


def _fit_gradient(ctx, parent, grad):
    try:
        return unbroadcast(grad, parent.data.shape)
    except ValueError as err:
        raise ValueError(f"{ctx.function.name} backward: {err}") from None
