"""draw_graph and save_graph: structure, labels, styles, clusters, rendering with dot; drawing changes nothing."""
import os
import re
import shutil

import graphviz
import numpy as np
import pytest

import tinygraph as tg
from tinygraph.viz import OUTPUT_STYLE, PARAMETER_STYLE, draw_graph, save_graph

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="the Graphviz `dot` program is not installed")

NODE_LINE = re.compile(r"^\t+(\w+) \[(.*)\]$")
EDGE_LINE = re.compile(r"^\t+(\w+) -> (\w+)$")
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse(graph):
    """The nodes {id: {attr: value}} and the edge list [(tail, head)] of a Digraph's DOT source."""
    nodes, edges = {}, []
    for line in graph.source.splitlines():
        edge = EDGE_LINE.match(line)
        if edge:
            edges.append(edge.groups())
            continue
        node = NODE_LINE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = {k: v.strip('"') for k, v in ATTR.findall(node.group(2))}
    return nodes, edges


def label(nodes, tensor_or_ctx):
    key = str(id(tensor_or_ctx)) if isinstance(tensor_or_ctx, tg.Tensor) else f"op{id(tensor_or_ctx)}"
    return nodes[key]["label"]


def op_nodes(nodes):
    return {k: v for k, v in nodes.items() if k.startswith("op")}


def reachable(root):
    """An independent walk: every tensor that `root` depends on, by id."""
    found, stack = {}, [root]
    while stack:
        t = stack.pop()
        if id(t) not in found:
            found[id(t)] = t
            stack.extend(t._ctx.parents if t._ctx is not None else ())
    return found


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ----- structure ------------------------------------------------------------------------------------------
def test_diamond_has_one_node_per_tensor_and_op_and_edges_along_the_data_flow():
    a = tg.Tensor(f32(2, 3), requires_grad=True, name="a")
    b = tg.Tensor(f32(2, 3, seed=1), requires_grad=True, name="b")
    c = tg.Tensor(f32(2, 3, seed=2), name="c")
    y = a * b
    z = y + y * c
    nodes, edges = parse(draw_graph(z))
    # Tensors a, b, c, y, y*c, z and ops mul, mul, add.
    assert len(nodes) == 9
    assert len(op_nodes(nodes)) == 3
    assert len(edges) == 2 + 1 + 2 + 1 + 2 + 1
    mul_y, mul_yc, add = f"op{id(y._ctx)}", f"op{id(z._ctx.parents[1]._ctx)}", f"op{id(z._ctx)}"
    expected = {
        (str(id(a)), mul_y), (str(id(b)), mul_y), (mul_y, str(id(y))),
        (str(id(y)), mul_yc), (str(id(c)), mul_yc), (mul_yc, str(id(z._ctx.parents[1]))),
        (str(id(y)), add), (str(id(z._ctx.parents[1])), add), (add, str(id(z))),
    }
    assert set(edges) == expected
    # y feeds two ops but is drawn once.
    assert sum(tail == str(id(y)) for tail, _ in edges) == 2
    assert label(nodes, y._ctx).startswith("mul")
    assert label(nodes, z._ctx).startswith("add")


def test_a_tensor_used_twice_by_one_op_is_one_node_with_two_edges():
    x = tg.Tensor(f32(4), requires_grad=True, name="x")
    y = x * x
    nodes, edges = parse(draw_graph(y))
    assert len(nodes) == 3
    op = f"op{id(y._ctx)}"
    assert edges.count((str(id(x)), op)) == 2
    assert edges.count((op, str(id(y)))) == 1


def test_a_leaf_alone_is_one_highlighted_node():
    x = tg.Tensor(f32(3), requires_grad=True, name="x")
    nodes, edges = parse(draw_graph(x))
    assert list(nodes) == [str(id(x))] and edges == []
    assert nodes[str(id(x))]["fillcolor"] == OUTPUT_STYLE["fillcolor"]


def test_conv_and_pool_chain():
    x = tg.Tensor(f32(2, 8, 8, 3), name="images")
    w = tg.Tensor(f32(4, 3, 3, 3, seed=1) * 0.1, requires_grad=True, name="conv.filters")
    b = tg.Tensor(np.zeros(4, np.float32), requires_grad=True, name="conv.bias")
    h = tg.correlate(x, w, b, stride=2, padding=1)
    out = tg.maxpool(h.relu(), pool_shape=(2, 2), stride=2)
    loss = out.sum()
    nodes, edges = parse(draw_graph(loss))
    tensors = reachable(loss)
    ctxs = {id(t._ctx) for t in tensors.values() if t._ctx is not None}
    assert len(nodes) == len(tensors) + len(ctxs)
    assert len(edges) == sum(len(t._ctx.parents) + 1 for t in tensors.values() if t._ctx is not None)
    op_labels = [n["label"] for n in op_nodes(nodes).values()]
    conv_ops = [text for text in op_labels if text.startswith("correlate")]
    pool_ops = [text for text in op_labels if text.startswith("maxpool")]
    assert len(conv_ops) == 1 and len(pool_ops) == 1
    assert "stride=" in conv_ops[0] and "padding=" in conv_ops[0] and "stride=" in pool_ops[0]
    assert label(nodes, w) == "conv.filters\\n(4, 3, 3, 3)"
    assert label(nodes, x) == "images\\n(2, 8, 8, 3)"
    # The filters feed a convolution op.
    filters_ops = [head for tail, head in edges if tail == str(id(w))]
    assert filters_ops and all(nodes[h]["label"].startswith("correlate") for h in filters_ops)


# ----- labels -----------------------------------------------------------------------------------------------
def test_op_attributes_appear_compactly():
    x = tg.Tensor(f32(2, 3, 4), requires_grad=True)
    s = x.sum(axis=1, keepdims=True)
    t = x.transpose(2, 0, 1)
    p = x.pad(((0, 0), (1, 1), (0, 2)))
    m = tg.softmax(x, axis=-1)
    out = s.sum() + t.sum() + p.sum() + m.sum()
    nodes, _ = parse(draw_graph(out))
    assert label(nodes, s._ctx) == "sum\\naxis=(1,), keepdims=True"
    assert label(nodes, t._ctx) == "transpose\\naxes=(2, 0, 1)"
    assert label(nodes, p._ctx) == "pad\\npad_width=((0, 0), (1, 1), (0, 2)), value=0.0"
    assert label(nodes, m._ctx) == "softmax\\naxis=2"
    ops_without_attrs = [t._ctx for t in reachable(out).values() if t._ctx is not None and not t._ctx.attrs]
    assert ops_without_attrs and all(label(nodes, c) == c.function.name for c in ops_without_attrs)


def test_index_arrays_are_summarised_and_slices_kept():
    x = tg.Tensor(f32(5, 6), requires_grad=True)
    rows = np.arange(1000) % 5
    picked = x[rows, 1:5:2]
    sliced = x[..., ::-1]
    nodes, _ = parse(draw_graph(picked.sum() + sliced.sum()))
    assert label(nodes, picked._ctx) == "getitem\\nindex=(array((1000,), int64), 1:5:2)"
    assert label(nodes, sliced._ctx) == "getitem\\nindex=(..., ::-1)"


def test_long_attributes_are_shortened():
    x = tg.Tensor(f32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), requires_grad=True)
    y = x.sum(axis=tuple(range(15)))
    nodes, _ = parse(draw_graph(y))
    axis, keepdims = label(nodes, y._ctx).split("\\n")[1].split("..., ")
    assert axis.startswith("axis=(0, 1, 2,") and len(axis) < 60 and keepdims == "keepdims=False"


def test_names_shapes_and_non_float32_dtypes():
    w = tg.Tensor(f32(3, 2), requires_grad=True, name="FCLayer_1.weights")
    x = tg.Tensor(np.ones((4, 3)), name="x")  # float64
    labels = tg.Tensor(np.array([0, 1, 1, 0]), name="labels")
    loss = tg.cross_entropy(tg.Tensor(x.data.astype(np.float32)) @ w, labels)
    nodes, _ = parse(draw_graph(loss))
    assert label(nodes, w) == "FCLayer_1.weights\\n(3, 2)"
    assert nodes[str(id(loss))]["label"] == "()"
    assert label(parse(draw_graph(x))[0], x) == "x\\n(4, 3) float64"
    # The labels reach cross_entropy as its own int64 constant.
    target = loss._ctx.parents[1]
    assert label(nodes, target) == "(4,) int64"
    bare, _ = parse(draw_graph(loss, show_shapes=False))
    assert label(bare, w) == "FCLayer_1.weights"
    assert label(bare, loss) == ""
    assert "(3, 2)" not in draw_graph(loss, show_shapes=False).source


def test_awkward_names_are_escaped():
    x = tg.Tensor(f32(2), requires_grad=True, name='<b>quoted "x"\\n</b>')
    y = x.exp()
    graph = draw_graph(y)
    assert '<b>quoted \\"x\\"\\\\n</b>\\n(2,)' in graph.source
    if HAVE_DOT:
        assert b"quoted" in graph.pipe(format="svg")


def test_styles_tell_parameters_constants_intermediates_and_output_apart():
    w = tg.Tensor(f32(3), requires_grad=True, name="w")
    x = tg.Tensor(f32(3), name="x")
    h = w * x
    out = h.tanh()
    nodes, _ = parse(draw_graph(out))
    styles = {name: nodes[str(id(t))] for name, t in dict(w=w, x=x, h=h, out=out).items()}
    assert styles["w"]["fillcolor"] == PARAMETER_STYLE["fillcolor"]
    assert "fillcolor" not in styles["x"] and "filled" not in styles["x"]["style"]
    assert "fillcolor" not in styles["h"]
    assert styles["out"]["fillcolor"] == OUTPUT_STYLE["fillcolor"]
    assert len({tuple(sorted(s.items() - {("label", s["label"])})) for s in styles.values()}) == 4


# ----- gradients ----------------------------------------------------------------------------------------------
def test_gradient_norms_only_when_asked_and_correct():
    a = tg.Tensor(np.array([3.0, 4.0], np.float32), requires_grad=True, name="a")
    k = tg.Tensor(np.array([0.123456], np.float32), requires_grad=True, name="k")
    h = (a * a).retain_grad()
    loss = h.sum() * 0.5 + (k * 1.0).sum()
    assert "grad" not in draw_graph(loss, show_grads=True).source  # nothing before backward
    loss.backward()
    nodes, _ = parse(draw_graph(loss, show_grads=True))
    assert label(nodes, a) == "a\\n(2,)\\n|grad|=5"  # d(0.5 a.a)/da = a, |(3, 4)| = 5
    assert label(nodes, k) == "k\\n(1,)\\n|grad|=1"
    assert label(nodes, h) == "(2,)\\n|grad|=0.7071"
    # Tensors without a grad (constants, unretained intermediates) show nothing extra.
    assert label(nodes, loss._ctx.parents[0]) == "()"
    assert "grad" not in draw_graph(loss).source
    assert "grad" not in draw_graph(loss, show_grads=False).source
    small = tg.Tensor(np.array([1.0], np.float32), requires_grad=True)
    (small * 0.123456).sum().backward()
    assert label(parse(draw_graph(small, show_grads=True))[0], small) == "(1,)\\n|grad|=0.1235"  # 4 significant digits
    assert "|grad|=0.1235" in draw_graph(small, show_grads=True).source


def test_large_float32_gradients_do_not_overflow_the_norm():
    x = tg.Tensor(np.ones(4, np.float32), requires_grad=True)
    (x * 1e20).sum().backward()  # float32 squares of 1e20 overflow
    assert x.grad.dtype == np.float32
    assert "|grad|=2e+20" in draw_graph(x, show_grads=True).source


# ----- drawing is read-only -----------------------------------------------------------------------------------
def snapshot(root):
    return {
        key: (t, t._ctx, t.requires_grad, t.grad, t.data, t.name,
              None if t._ctx is None else (t._ctx.parents, dict(t._ctx.attrs), t._ctx.saved_arrays))
        for key, t in reachable(root).items()
    }


def assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        for x, y in zip(before[key], after[key]):
            if isinstance(x, tuple):
                assert len(x) == len(y) and all(p is q or p == q for p, q in zip(x, y) if not isinstance(p, np.ndarray))
            else:
                assert x is y or x == y


def test_drawing_changes_nothing_and_needs_no_backward():
    w = tg.Tensor(f32(3, 2), requires_grad=True, name="w")
    x = tg.Tensor(f32(4, 3), name="x")
    loss = tg.cross_entropy((x @ w).relu(), np.array([0, 1, 1, 0]))
    before = snapshot(loss)
    graph = draw_graph(loss, show_grads=True, clusters={"layer": [w, loss._ctx.parents[0]]})
    assert_same(before, snapshot(loss))
    assert all(t.grad is None for t in reachable(loss).values())
    assert graph.source == draw_graph(loss, show_grads=True, clusters={"layer": [w, loss._ctx.parents[0]]}).source
    # The saved arrays are intact: backward still works, and drawing after it (graph freed) works too.
    loss.backward()
    assert w.grad is not None
    nodes, _ = parse(draw_graph(loss, show_grads=True))
    assert "|grad|=" in label(nodes, w)


def test_drawing_records_nothing_under_grad_mode_either():
    w = tg.Tensor(f32(3), requires_grad=True)
    y = (w * 2.0).sum()
    with tg.no_grad():
        draw_graph(y)
    before = snapshot(y)
    draw_graph(y, show_grads=True)
    assert_same(before, snapshot(y))


# ----- clusters -------------------------------------------------------------------------------------------------
def mlp(seed=0, hidden=(8, 8)):
    """A small two-layer perceptron graph: returns (loss, per-layer (weights, bias, output))."""
    rng = np.random.default_rng(seed)
    h = tg.Tensor(rng.standard_normal((16, 4)).astype(np.float32), name="x")
    layers, sizes = [], (4,) + hidden + (3,)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = tg.Tensor(rng.standard_normal((n_in, n_out)).astype(np.float32), requires_grad=True,
                      name=f"FCLayer_{i}.weights")
        b = tg.Tensor(np.zeros(n_out, np.float32), requires_grad=True, name=f"FCLayer_{i}.bias")
        h = h @ w + b
        if i < len(sizes) - 2:
            h = h.tanh()
        layers.append((w, b, h))
    return tg.cross_entropy(h, rng.integers(0, 3, 16)), layers


def cluster_members(graph):
    """{cluster name: (label, set of node ids)} from the DOT source."""
    found, current = {}, None
    for line in graph.source.splitlines():
        start = re.match(r"^\tsubgraph (cluster_\d+) \{$", line)
        if start:
            current = start.group(1)
            found[current] = [None, set()]
        elif current and line == "\t}":
            current = None
        elif current:
            attrs = re.match(r"^\t\tcolor=.* label=(\"[^\"]*\"|\S+)", line)
            node = NODE_LINE.match(line)
            if attrs:
                found[current][0] = attrs.group(1).strip('"')
            elif node:
                found[current][1].add(node.group(1))
    return found


def test_clusters_box_their_tensors_ops_and_the_intermediate_results_between():
    loss, layers = mlp()
    (w0, b0, h0), (w1, b1, h1), (w2, b2, logits) = layers
    clusters = {"dense 0": [w0, b0, h0], "dense 1": [w1, b1, h1], "output": [w2, b2, logits]}
    graph = draw_graph(loss, clusters=clusters)
    found = cluster_members(graph)
    assert sorted(found) == ["cluster_0", "cluster_1", "cluster_2"]
    assert [found[f"cluster_{i}"][0] for i in range(3)] == ["dense 0", "dense 1", "output"]
    first = found["cluster_0"][1]
    pre_activation = h0._ctx.parents[0]  # tanh(x @ w + b): the sum and the product are absorbed
    product = pre_activation._ctx.parents[0]
    for t in (w0, b0, h0, pre_activation, product):
        assert str(id(t)) in first
    for ctx in (h0._ctx, pre_activation._ctx, product._ctx):
        assert f"op{id(ctx)}" in first
    x = product._ctx.parents[0]
    assert str(id(x)) not in first  # the input leaf stays outside
    second = found["cluster_1"][1]
    assert str(id(h0)) not in second and str(id(w1)) in second and f"op{id(h1._ctx)}" in second
    # The loss belongs to no cluster; every node is drawn once.
    in_clusters = set().union(*(members for _, members in found.values()))
    assert str(id(loss)) not in in_clusters and f"op{id(loss._ctx)}" not in in_clusters
    nodes, _ = parse(graph)
    assert len(nodes) == len(parse(draw_graph(loss))[0])
    assert len(re.findall(rf"^\t+{id(w0)} \[", graph.source, flags=re.M)) == 1


def test_cluster_tensors_outside_the_graph_are_ignored_and_bad_clusters_rejected():
    loss, layers = mlp()
    stray = tg.Tensor(f32(2), requires_grad=True)
    graph = draw_graph(loss, clusters={"stray": [stray], "out": [layers[-1][2]]})
    assert str(id(stray)) not in graph.source
    assert "subgraph cluster_1" in graph.source
    with pytest.raises(TypeError, match="clusters"):
        draw_graph(loss, clusters=[layers[0][0]])
    with pytest.raises(TypeError, match="'bad'"):
        draw_graph(loss, clusters={"bad": [np.zeros(2)]})


# ----- options and errors -----------------------------------------------------------------------------------------
def test_rankdir_and_argument_errors():
    loss, _ = mlp()
    assert "rankdir=LR" in draw_graph(loss, rankdir="LR").source
    with pytest.raises(ValueError, match="draw_graph: rankdir"):
        draw_graph(loss, rankdir="sideways")
    with pytest.raises(TypeError, match="draw_graph: expected a Tensor"):
        draw_graph(np.zeros(3))


# ----- rendering ----------------------------------------------------------------------------------------------------
def test_save_graph_renders_exactly_when_dot_is_installed(tmp_path):
    if not HAVE_DOT and os.environ.get("CI"):
        pytest.fail("CI must install the Graphviz `dot` program (apt-get install graphviz)")
    loss, _ = mlp()
    if HAVE_DOT:
        assert save_graph(loss, tmp_path / "g.svg") == str(tmp_path / "g.svg")
        assert "<svg" in (tmp_path / "g.svg").read_text()
    else:
        with pytest.raises(RuntimeError, match="apt-get install graphviz"):
            save_graph(loss, tmp_path / "g.svg")
        assert not (tmp_path / "g.svg").exists()


@needs_dot
def test_render_and_save_svg_png(tmp_path, monkeypatch):
    loss, layers = mlp()
    graph = draw_graph(loss, clusters={"dense 0": layers[0]})
    monkeypatch.chdir(tmp_path)
    graph.render("graph", format="svg")
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "FCLayer_0.weights" in svg and "dense 0" in svg
    assert save_graph(graph, tmp_path / "g.svg") == str(tmp_path / "g.svg")
    assert "<svg" in (tmp_path / "g.svg").read_text()
    save_graph(loss, tmp_path / "G.PNG", rankdir="LR")
    assert (tmp_path / "G.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G.PNG", "g.svg", "graph", "graph.svg"]
    assert "image/svg+xml" in graph._repr_mimebundle_()


def test_save_graph_rejects_unknown_extensions_and_stray_options(tmp_path):
    loss, _ = mlp()
    for name in ("graph.jpeg2", "graph", "graph.gv"):
        with pytest.raises(ValueError, match="save_graph: .*svg"):
            save_graph(loss, tmp_path / name)
    with pytest.raises(TypeError, match="save_graph"):
        save_graph(draw_graph(loss), tmp_path / "g.svg", rankdir="LR")
    assert list(tmp_path.iterdir()) == []


def check_missing_dot_message(err):
    message = str(err.value)
    for hint in ("dot", "apt-get install graphviz", "brew install graphviz", "conda install graphviz", ".source"):
        assert hint in message
    assert isinstance(err.value.__cause__, graphviz.ExecutableNotFound)


def test_missing_dot_is_explained(tmp_path, monkeypatch):
    def not_found(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", not_found)
    monkeypatch.setattr(graphviz.Digraph, "render", not_found)
    monkeypatch.setattr(graphviz.Digraph, "engine", "dot-not-installed")  # what save_graph runs
    loss, _ = mlp()
    graph = draw_graph(loss)
    with pytest.raises(RuntimeError) as err:
        save_graph(graph, tmp_path / "g.svg")
    check_missing_dot_message(err)
    assert not (tmp_path / "g.svg").exists()
    assert graph.source.startswith("digraph {")


def test_missing_dot_is_explained_with_an_empty_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # graphviz itself then fails to start dot
    loss, _ = mlp()
    with pytest.raises(RuntimeError) as err:
        save_graph(loss, tmp_path / "g.png")
    check_missing_dot_message(err)


# ----- size and speed -------------------------------------------------------------------------------------------------
def test_a_2000_op_chain_draws_and_renders(tmp_path):
    x = tg.Tensor(f32(3), requires_grad=True, name="x")
    y = x
    for i in range(2000):
        y = y.tanh() if i % 2 else -y
    graph = draw_graph(y, show_grads=True)
    nodes, edges = parse(graph)
    assert len(nodes) == 4001 and len(edges) == 4000
    if HAVE_DOT:
        save_graph(graph, tmp_path / "chain.svg")
        assert (tmp_path / "chain.svg").stat().st_size > 100_000




def test_a_graph_past_max_nodes_is_refused_before_dot_runs(tmp_path, monkeypatch):
    """Item 15: dot ran for minutes on a 50,000-node graph; past max_nodes, save_graph says how to draw less."""
    x = tg.Tensor(f32(3), requires_grad=True, name="x")
    y = x
    for _ in range(30):
        y = y.tanh()
    monkeypatch.setattr("tinygraph.viz.subprocess.run", lambda *a, **k: pytest.fail("dot must not run"))
    with pytest.raises(ValueError, match=r"save_graph: the graph has 61 nodes, more than max_nodes=60, .*draw less: "
                                         r"a part of the graph .*or pass max_nodes=None"):
        save_graph(y, tmp_path / "g.svg", max_nodes=60)
    assert list(tmp_path.iterdir()) == []
    assert save_graph.__defaults__[0] == 5000


@needs_dot
def test_dot_is_stopped_at_the_timeout_with_a_message(tmp_path):
    x = tg.Tensor(f32(3), requires_grad=True, name="x")
    y = x
    for _ in range(300):
        y = y.tanh() + x  # edges reaching back to x make dot's layout slow
    with pytest.raises(RuntimeError, match=r"save_graph: dot did not finish within timeout=0.2 s on a graph of "
                                           r"1,201 nodes; draw less"):
        save_graph(y, tmp_path / "g.svg", timeout=0.2)
    assert list(tmp_path.iterdir()) == []


def test_control_characters_in_names_render():
    """Item 13: a NUL in a tensor name made dot fail with a syntax error."""
    name = "a\x00b\x01c\x1bd\x7fe\nf\ud800g"
    x = tg.Tensor(f32(2), requires_grad=True, name=name)
    graph = draw_graph(x.exp(), clusters={"layer\x00": [x]})
    assert "a\\\\x00b\\\\x01c\\\\x1bd\\\\x7fe\\\\x0af\\\\ud800g" in graph.source
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", graph.source)
    if HAVE_DOT:
        assert b"a\\x00b\\x01c\\x1bd" in graph.pipe(format="svg")


def test_a_graph_shown_in_jupyter_without_dot_shows_the_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    x = tg.Tensor(np.ones(2), requires_grad=True, name="x")
    shown = tg.draw_graph((x * 2).sum())._repr_mimebundle_()
    assert "apt-get install graphviz" in shown["text/plain"] and "digraph" in shown["text/plain"]
