"""Draw the graph that produced a tensor with graphviz: tensors as boxes, ops as ellipses, data flowing forward."""
import os

import graphviz
import numpy as np

from .engine import every_tensor, topological_order
from .tensor import Tensor

__all__ = ["draw_graph", "save_graph"]

RANKDIRS = ("TB", "LR", "BT", "RL")
SAVE_FORMATS = ("svg", "png", "pdf")
MAX_ATTR_CHARS = 48

GRAPH_STYLE = {"fontname": "Helvetica", "fontsize": "10"}
NODE_STYLE = {"fontname": "Helvetica", "fontsize": "10"}
PARAMETER_STYLE = {"shape": "box", "style": "filled", "fillcolor": "#cfe2f3", "color": "#3d85c6"}
CONSTANT_STYLE = {"shape": "box", "style": "solid", "color": "#999999", "fontcolor": "#555555"}
INTERMEDIATE_STYLE = {"shape": "box", "style": "rounded"}
OUTPUT_STYLE = {"shape": "box", "style": "filled,bold", "fillcolor": "#ffd966", "penwidth": "2"}
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee"}


def draw_graph(tensor, show_shapes=True, show_grads=False, rankdir="TB", clusters=None):
    """A `graphviz.Digraph` of every tensor and op that produced `tensor`, edges from inputs to outputs.

    Parameters (leaves that require grad) are filled blue, constants and inputs plain grey, `tensor` itself gold.
    `show_grads` adds `|grad|=<L2 norm>` to each tensor that has a `.grad`. `clusters` maps a label to tensors
    (e.g. a layer's parameters and output): they, the ops that produced them, and the unclaimed intermediate
    results between them are boxed together. Drawing reads the graph only: it runs no op and needs no backward.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    tensors = topological_order(tensor, follow=every_tensor)
    owner = _cluster_owners(tensors, clusters) if clusters else {}

    graph = graphviz.Digraph(graph_attr={"rankdir": rankdir, **GRAPH_STYLE}, node_attr=NODE_STYLE)
    bodies = [graph] + [graphviz.Digraph(name=f"cluster_{i}") for i in range(len(clusters or ()))]
    for i, label in enumerate(clusters or ()):
        bodies[i + 1].attr(label=_text(str(label)), style="rounded", color="#6d9eeb")

    edges = []
    for t in tensors:
        body = bodies[owner.get(id(t), -1) + 1]
        body.node(_tensor_id(t), _tensor_label(t, show_shapes, show_grads), _attributes=_tensor_style(t, tensor))
        ctx = t._ctx
        if ctx is not None:
            op_id = _op_id(ctx)
            body.node(op_id, _op_label(ctx), _attributes=OP_STYLE)
            # One edge per input slot, so `x * x` shows two arrows from the one x.
            edges.extend((_tensor_id(parent), op_id) for parent in ctx.parents)
            edges.append((op_id, _tensor_id(t)))
    for sub in bodies[1:]:
        graph.subgraph(sub)
    graph.edges(edges)
    return graph


def save_graph(graph, path, **draw_options):
    """Write `graph` (a Digraph, or a Tensor drawn with `draw_options`) as SVG, PNG or PDF, by `path`'s extension."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in SAVE_FORMATS:
        raise ValueError(f"save_graph: cannot tell the format of {path!r}; end the path with one of "
                         + ", ".join("." + f for f in SAVE_FORMATS))
    if isinstance(graph, Tensor):
        graph = draw_graph(graph, **draw_options)
    elif draw_options:
        raise TypeError(f"save_graph: options {sorted(draw_options)} apply only when drawing a Tensor")
    try:
        image = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise RuntimeError(
            "save_graph: the Graphviz `dot` program was not found on PATH (the Python `graphviz` package only "
            "writes DOT text). Install it: `sudo apt-get install graphviz` on Debian/Ubuntu, "
            "`brew install graphviz` on macOS, or `conda install graphviz`. The DOT source is still available "
            "as `.source` of the Digraph."
        ) from err
    with open(path, "wb") as f:
        f.write(image)
    return path


# ----- walking the graph -------------------------------------------------------------------------------------
def _cluster_owners(tensors, clusters):
    """Cluster index per tensor id: the tensors named in a cluster, then the unclaimed results computed from them.

    A layer's output pulls in the intermediate results of its ops (e.g. the product before the bias is added),
    stopping at leaves and at tensors that another cluster claims.
    """
    if not hasattr(clusters, "items"):
        raise TypeError(f"draw_graph: clusters must map a label to tensors, got {type(clusters).__name__}")
    drawn = {id(t) for t in tensors}
    owner = {}
    for index, (label, members) in enumerate(clusters.items()):
        for t in members:
            if not isinstance(t, Tensor):
                raise TypeError(f"draw_graph: cluster {label!r} holds a {type(t).__name__}, expected Tensors")
            if id(t) in drawn and id(t) not in owner:
                owner[id(t)] = index
    claimed = [t for t in tensors if id(t) in owner]
    for t in claimed:
        for node in topological_order(t, follow=lambda p: p._ctx is not None and id(p) not in owner):
            owner.setdefault(id(node), owner[id(t)])
    return owner


# ----- labels and styles --------------------------------------------------------------------------------------
def _tensor_id(t):
    return str(id(t))


def _op_id(ctx):
    return f"op{id(ctx)}"


def _text(s):
    """A literal label line: backslashes and `<...>` keep their plain meaning."""
    return graphviz.escape(s)


def _join(lines):
    # `\n` is DOT's centred line break; nohtml stops a label like `<x>` from being read as HTML.
    return graphviz.nohtml("\\n".join(lines))


def _tensor_label(t, show_shapes, show_grads):
    lines = []
    if t.name:
        lines.append(_text(str(t.name)))
    if show_shapes:
        dtype = "" if t.data.dtype == np.float32 else f" {t.data.dtype}"
        lines.append(f"{tuple(t.data.shape)}{dtype}")
    if show_grads and t.grad is not None:
        lines.append(f"|grad|={_grad_norm(t.grad):.4g}")
    return _join(lines)


def _grad_norm(grad):
    """The L2 norm of a gradient, summed in float64 so large float32 gradients do not overflow."""
    g = np.asarray(grad)
    return float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))


def _tensor_style(t, root):
    if t is root:
        return OUTPUT_STYLE
    if t._ctx is not None:
        return INTERMEDIATE_STYLE
    return PARAMETER_STYLE if t.requires_grad else CONSTANT_STYLE


def _op_label(ctx):
    attrs = ", ".join(f"{key}={_short(_format_value(value))}" for key, value in ctx.attrs.items())
    return _join([_text(ctx.function.name)] + ([_text(attrs)] if attrs else []))


def _short(text):
    return text if len(text) <= MAX_ATTR_CHARS else text[: MAX_ATTR_CHARS - 3] + "..."


def _format_value(value):
    """A compact text for an op attribute: arrays and tensors by shape and dtype, slices as `start:stop:step`."""
    if isinstance(value, np.ndarray):
        return f"array({value.shape}, {value.dtype})"
    if isinstance(value, Tensor):
        return f"Tensor({value.shape}, {value.dtype})"
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, slice):
        parts = ["" if p is None else _format_value(p) for p in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if value is Ellipsis:
        return "..."
    if isinstance(value, tuple):
        inner = ", ".join(_format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return repr(value)
