"""`explain_backward`: one HTML page that steps through the backward pass of a loss, in the engine's own order.

Each step is one tensor, as the engine reaches it: the gradient arriving at it (what the engine collects for it),
the local rule of the op that made it (its public function's docstring), and what that op's backward sends to each
input. The arriving gradients come from the engine itself (`tinygraph.grad` with every tensor of the graph as an
input, so no `.grad` changes); what each op sends is its own backward run on that gradient, shaped to the input as
the engine shapes it, so the gradients an input receives add up to what arrives at it in its own step.
"""
import html
import inspect
import json
import os

import graphviz
import numpy as np

from . import engine, ops, summaries
from .explain_page import PAGE
from .tensor import Tensor
from .viz import DOT_MISSING, _op_id, _tensor_id, draw_graph

__all__ = ["explain_backward"]


def explain_backward(loss, path, grad=None, rankdir="TB", clusters=None):
    """Write a self-contained HTML page (`path`, returned) that steps through `loss.backward()`: a slider and the
    arrow keys move through the engine's real order, highlighting each tensor, showing the gradient arriving at it,
    its op's local rule and the gradients sent to the op's inputs (values when small, norms otherwise). Opening
    `path#step=N` shows step N. Nothing of the graph changes: no `.grad` is written and the graph is kept."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain_backward: expected a Tensor, got {type(loss).__name__}")
    if not loss.requires_grad:
        raise ValueError(f"explain_backward: the tensor of shape {loss.shape} does not require grad; "
                         f"set requires_grad=True on an input before computing it")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"explain_backward: the folder {folder} does not exist")
    steps = backward_steps(loss, grad)
    svg = _svg(draw_graph(loss, rankdir=rankdir, clusters=clusters))
    title = f"Backward pass of {_describe(loss)}: {len(steps)} steps"
    page = PAGE.substitute(title=html.escape(title), svg=svg,
                           steps=json.dumps([_step_json(s, i, len(steps)) for i, s in enumerate(steps)])
                           .replace("<", "\\u003c"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def backward_steps(loss, grad=None):
    """[(tensor, arriving gradient, [(input position, input, gradient sent)])] in the order backward visits them."""
    order = engine.topological_order(loss)[::-1]
    arriving = engine.grad([loss], order, None if grad is None else [grad], retain_graph=True, allow_unused=True)
    steps = []
    for node, g in zip(order, arriving):
        g = None if g is None else g.data
        steps.append((node, g, _sent(node, g)))
    return steps


def _sent(node, g):
    """What the op that made `node` sends to each input that needs a gradient, as the engine would receive it."""
    ctx = node._ctx
    if ctx is None or g is None:
        return []
    grads = ctx.function.backward(ctx, g)
    grads = grads if type(grads) is tuple else (grads,)
    sent = []
    for position, (parent, needs, pg) in enumerate(zip(ctx.parents, ctx.needs_input_grad, grads)):
        if pg is None or not needs:
            continue
        if pg.shape != parent.data.shape:
            pg = engine._fit_gradient(ctx, parent, pg)
        sent.append((position, parent, np.asarray(pg, dtype=parent.data.dtype)))
    return sent


# ----- text for the page -------------------------------------------------------------------------------------
def local_rule(function):
    """The first paragraph (the forward and the gradient) of the docstring of the public op function that records
    the op class `function`, found by its name (`LogSoftmax`, named `logsoftmax`, is recorded by `log_softmax`);
    else of the class's own docstring."""
    public = {}
    for attr, value in vars(ops).items():
        if inspect.isfunction(value) and value.__doc__:
            public.setdefault(attr, value)
            public.setdefault(attr.replace("_", ""), value)
    name = function.name
    documented = public.get(name) or public.get(name.replace("_", "")) or function
    doc = documented.__doc__
    return " ".join(doc.strip().split("\n\n")[0].split()) if doc else "(no docstring)"


def _gradient_text(g):
    if g is None:
        return "none: nothing the loss depends on passes through here"
    if g.size <= summaries.SMALL:
        return f"{summaries.values(g)}   (shape {g.shape})"
    lines = [f"shape {g.shape}, |g| = {summaries.norm(g):.4g}"] + summaries.statistics(g)
    return "\n".join(lines)


def _describe(tensor):
    name = f"{tensor.name} " if tensor.name else ""
    made = f"{tensor._ctx.function.name} → " if tensor._ctx is not None else ("leaf " if not name else "")
    return f"{name}{made}{tuple(tensor.shape)}".strip()


def _step_json(step, index, count):
    node, g, sent = step
    ctx = node._ctx
    if ctx is None:
        rule = "the gradient is added to its .grad" if node.requires_grad else "no gradient is kept"
    else:
        rule = local_rule(ctx.function)
    return {
        "node": _tensor_id(node),  # the ids draw_graph gave the nodes of the inlined picture
        "op": _op_id(ctx) if ctx is not None else None,
        "opname": ctx.function.name if ctx is not None else None,
        "heading": f"{index + 1}/{count}: {_describe(node)}",
        "arriving": _gradient_text(g),
        "rule": rule,
        "sends": [{"to": _tensor_id(parent), "label": f"to input {position}: {_describe(parent)}",
                   "text": _gradient_text(pg)} for position, parent, pg in sent],
    }


def _svg(graph):
    try:
        svg = graph.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as err:
        raise RuntimeError(f"explain_backward: {DOT_MISSING}") from err
    return svg[svg.index("<svg"):]  # inline: without the XML prolog and doctype
