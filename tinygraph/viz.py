"""Draw the graph that produced a tensor with graphviz: tensors as boxes, ops as ellipses, data flowing forward."""
import os
import re
import subprocess

import graphviz
import numpy as np

from . import summaries
from .engine import every_tensor, topological_order
from .tensor import Tensor

__all__ = ["draw_graph", "save_graph"]

RANKDIRS = ("TB", "LR", "BT", "RL")
SAVE_FORMATS = ("svg", "png", "pdf")
MAX_ATTR_CHARS = 48
MAX_SAVED_NODES = 5000  # save_graph's default limit: dot lays out a chain of 5,000 nodes in about 25 s
DOT_TIMEOUT = 60  # seconds
DRAW_LESS = ("draw less: a part of the graph (draw_graph of an intermediate tensor, e.g. one layer's output), "
             "a network with fewer layers, or fewer steps of a loop")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NODE_STATEMENT = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[\w.]+)\s*(?:\[.*)?$', re.S)

GRAPH_STYLE = {"fontname": "Helvetica", "fontsize": "10"}
NODE_STYLE = {"fontname": "Helvetica", "fontsize": "10"}
PARAMETER_STYLE = {"shape": "box", "style": "filled", "fillcolor": "#cfe2f3", "color": "#3d85c6"}
CONSTANT_STYLE = {"shape": "box", "style": "solid", "color": "#999999", "fontcolor": "#555555"}
INTERMEDIATE_STYLE = {"shape": "box", "style": "rounded"}
OUTPUT_STYLE = {"shape": "box", "style": "filled,bold", "fillcolor": "#ffd966", "penwidth": "2"}
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee"}
# An op recorded by a backward pass run with create_graph=True (a gradient that can be differentiated again).
BACKWARD_OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#d9d2e9", "color": "#674ea7"}
# NaN or inf in a tensor's values or gradient; the op anomaly mode stopped at, and its path to the drawn tensor.
NONFINITE_STYLE = {"style": "filled,bold", "fillcolor": "#f4cccc", "color": "#cc0000", "penwidth": "2"}
FAULT_OP_STYLE = {"shape": "ellipse", "style": "filled,bold", "fillcolor": "#e06666", "color": "#cc0000",
                  "penwidth": "2"}
FAULT_PATH_STYLE = {"color": "#cc0000", "penwidth": "2"}


DOT_MISSING = (
    "the Graphviz `dot` program was not found on PATH (the Python `graphviz` package only writes DOT text). Install "
    "it: `sudo apt-get install graphviz` on Debian/Ubuntu, `brew install graphviz` on macOS, or `conda install "
    "graphviz`. The DOT source is still available as `.source` of the Digraph."
)


class Graph(graphviz.Digraph):
    """The Digraph draw_graph returns: shown inline in Jupyter, or, without `dot`, the install hint instead of
    graphviz's bare ExecutableNotFound."""

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"draw_graph: {DOT_MISSING}\n\n{self.source}"}


def draw_graph(tensor, show_shapes=True, show_grads=False, rankdir="TB", clusters=None, show_values=False):
    """A `graphviz.Digraph` of every tensor and op that produced `tensor`, edges from inputs to outputs.

    Parameters (leaves that require grad) are filled blue, constants and inputs plain grey, `tensor` itself gold;
    ops recorded by a backward pass (create_graph=True) are purple and say "backward of <op>".
    `show_grads` adds `|grad|=<L2 norm>` to each tensor that has a `.grad`. `clusters` maps a label to tensors
    (e.g. a layer's parameters and output): they, the ops that produced them, and the unclaimed intermediate
    results between them are boxed together. `show_values` adds each tensor's values when it has at most 6
    elements, otherwise min / mean / max and the share of zeros (and, with `show_grads`, small gradients' values).
    A tensor whose values or gradient hold NaN or inf is red; so is the op where `detect_anomaly()` stopped, with
    the path from it to `tensor`. Drawing reads the graph only: it runs no op and needs no backward.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    tensors = topological_order(tensor, follow=every_tensor)
    owner = _cluster_owners(tensors, clusters) if clusters else {}

    graph = Graph(graph_attr={"rankdir": rankdir, **GRAPH_STYLE}, node_attr=NODE_STYLE)
    bodies = [graph] + [graphviz.Digraph(name=f"cluster_{i}") for i in range(len(clusters or ()))]
    for i, label in enumerate(clusters or ()):
        bodies[i + 1].attr(label=_text(str(label)), style="rounded", color="#6d9eeb")

    edges, fault_path = [], _fault_path(tensors)
    for t in tensors:
        body = bodies[owner.get(id(t), -1) + 1]
        body.node(_tensor_id(t), _tensor_label(t, show_shapes, show_grads, show_values),
                  _attributes=_tensor_style(t, tensor, fault_path))
        ctx = t._ctx
        if ctx is not None:
            op_id = _op_id(ctx)
            body.node(op_id, _op_label(ctx), _attributes=_op_style(ctx, fault_path))
            # One edge per input slot, so `x * x` shows two arrows from the one x.
            edges.extend((_tensor_id(parent), op_id) for parent in ctx.parents)
            edges.append((op_id, _tensor_id(t)))
    for sub in bodies[1:]:
        graph.subgraph(sub)
    graph.edges([e for e in edges if not (e[0] in fault_path and e[1] in fault_path)])
    for tail, head in edges:
        if tail in fault_path and head in fault_path:
            graph.edge(tail, head, _attributes=FAULT_PATH_STYLE)
    return graph


def save_graph(graph, path, max_nodes=MAX_SAVED_NODES, timeout=DOT_TIMEOUT, **draw_options):
    """Write `graph` (a Digraph, or a Tensor drawn with `draw_options`) as SVG, PNG or PDF, by `path`'s extension.

    dot's layout time grows much faster than the graph (a chain of 2,500 nodes takes 3 s, of 5,000 nodes 25 s),
    so a graph of more than `max_nodes` nodes (tensors and ops) is refused before dot starts, and dot is stopped
    after `timeout` seconds; either error says how to draw less. None lifts a limit.
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in SAVE_FORMATS:
        raise ValueError(f"save_graph: cannot tell the format of {path!r}; end the path with one of "
                         + ", ".join("." + f for f in SAVE_FORMATS))
    if isinstance(graph, Tensor):
        graph = draw_graph(graph, **draw_options)
    elif draw_options:
        raise TypeError(f"save_graph: options {sorted(draw_options)} apply only when drawing a Tensor")
    nodes = _node_count(graph)
    if max_nodes is not None and nodes > max_nodes:
        raise ValueError(f"save_graph: the graph has {nodes:,} nodes, more than max_nodes={max_nodes:,}, which dot "
                         f"would take minutes or hours to lay out; {DRAW_LESS}, or pass max_nodes=None to wait")
    command = [graph.engine, f"-T{fmt}"]
    try:
        done = subprocess.run(command, input=graph.source.encode(graph.encoding), capture_output=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise RuntimeError(f"save_graph: {DOT_MISSING}") from graphviz.ExecutableNotFound(command)
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot
        raise RuntimeError(f"save_graph: {graph.engine} did not finish within timeout={timeout} s on a graph of "
                           f"{nodes:,} nodes; {DRAW_LESS}, or pass a longer timeout (None waits)") from None
    if done.returncode != 0:
        raise RuntimeError(f"save_graph: {graph.engine} failed: {done.stderr.decode(errors='replace').strip()}")
    image = done.stdout
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
    """A literal label line: backslashes and `<...>` keep their plain meaning; control characters (NUL, newline,
    escape ...) and lone surrogates, which dot cannot read or would act on, show as \\xNN or \\uNNNN."""
    return graphviz.escape(_UNPRINTABLE.sub(_escaped_character, s))


def _escaped_character(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _node_count(graph):
    """The node statements of a Digraph, in its clusters too (edges, attributes and subgraph lines are not nodes)."""
    return sum(1 for line in graph.body if (match := _NODE_STATEMENT.match(line)) and match.group(1) not in
               ("graph", "node", "edge", "subgraph"))


def _join(lines):
    # `\n` is DOT's centred line break; nohtml stops a label like `<x>` from being read as HTML.
    return graphviz.nohtml("\\n".join(lines))


def _tensor_label(t, show_shapes, show_grads, show_values=False):
    lines = []
    if t.name:
        lines.append(_text(str(t.name)))
    if show_shapes:
        dtype = "" if t.data.dtype == np.float32 else f" {t.data.dtype}"
        lines.append(f"{tuple(t.data.shape)}{dtype}")
    if show_values:
        lines.extend(summaries.describe(t.data))
    if show_grads and t.grad is not None:
        grad = np.asarray(t.grad.data if isinstance(t.grad, Tensor) else t.grad)
        small = show_values and grad.size <= summaries.SMALL
        lines.append(summaries.describe(grad, "grad")[0] if small else f"|grad|={summaries.norm(grad):.4g}")
    return _join(lines)


def _tensor_style(t, root, fault_path=()):
    if t is root:
        style = OUTPUT_STYLE
    elif t._ctx is not None:
        style = INTERMEDIATE_STYLE
    else:
        style = PARAMETER_STYLE if t.requires_grad else CONSTANT_STYLE
    grad = t.grad.data if isinstance(t.grad, Tensor) else t.grad
    if summaries.has_nonfinite(t.data) or (grad is not None and summaries.has_nonfinite(grad)):
        return {**style, **NONFINITE_STYLE}
    return {**style, **FAULT_PATH_STYLE} if _tensor_id(t) in fault_path else style


def _op_style(ctx, fault_path):
    if ctx.__dict__.get("anomaly_fault"):
        return FAULT_OP_STYLE
    style = BACKWARD_OP_STYLE if "backward_of" in ctx.__dict__ else OP_STYLE
    return {**style, **FAULT_PATH_STYLE} if _op_id(ctx) in fault_path else style


def _fault_path(tensors):
    """The node ids (tensors and ops) from the op where `detect_anomaly()` stopped to the drawn tensor: the
    tensors that depend on that op's result (`tensors` lists inputs first), and the ops that made them."""
    path = set()
    for t in tensors:
        ctx = t._ctx
        if ctx is not None and (ctx.__dict__.get("anomaly_fault") or any(_tensor_id(p) in path for p in ctx.parents)):
            path.update((_tensor_id(t), _op_id(ctx)))
    return path


def _op_label(ctx):
    attrs = ", ".join(f"{key}={_short(_format_value(value))}" for key, value in ctx.attrs.items())
    lines = [_text(ctx.function.name)] + ([_text(attrs)] if attrs else [])
    if "backward_of" in ctx.__dict__:  # set by the engine while it records a backward pass (create_graph)
        order = ctx.__dict__.get("backward_order", 1)
        lines.append(_text(f"backward of {ctx.backward_of}" + (f" (order {order})" if order > 1 else "")))
    return _join(lines)


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
