"""Values on the graph (`draw_graph(show_values=True)`) and the backward pass step by step (`explain_backward`):
the steps are the engine's own, the page is self-contained, and a real headless Chromium steps it with keys."""
import json
import os
import re
import shutil

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor
from tinygraph.engine import topological_order
from tinygraph.explain import backward_steps, explain_backward, local_rule
from tinygraph.ops.function import Function
from tinygraph.viz import NONFINITE_STYLE, draw_graph

from browser import CHROMIUM, Browser, screenshot_of
from test_viz import label, parse

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` program is not installed")
# Locally the browser test is skipped without Chromium; in CI (.ci/run installs it) it must run.
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


def small_network_loss(seed=0):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((2, 3)), name="x")
    w = Tensor(rng.standard_normal((3, 4)), requires_grad=True, name="w")
    b = Tensor(np.zeros(4), requires_grad=True, name="b")
    h = tg.tanh(x @ w + b)
    loss = tg.cross_entropy(h * h + h, np.array([1, 2]))  # h used twice: its gradient is a sum
    return loss, (x, w, b, h)


# ----- show_values -------------------------------------------------------------------------------------------
def test_small_tensors_show_their_values_and_gradients():
    x = Tensor(np.array([1.0, -2.5, 0.0]), requires_grad=True, name="x")
    y = (x * 2.0).relu()
    loss = y.sum()
    loss.backward()
    nodes, _ = parse(draw_graph(loss, show_values=True, show_grads=True))
    assert label(nodes, x) == "x\\n(3,) float64\\ndata=[1, -2.5, 0]\\ngrad=[2, 0, 0]"
    assert label(nodes, loss) == "() float64\\ndata=2"
    nodes, _ = parse(draw_graph(loss, show_values=True, show_shapes=False))
    assert label(nodes, y) == "data=[2, 0, 0]"


def test_large_tensors_show_min_mean_max_and_the_share_of_zeros():
    data = np.arange(-3.0, 5.0).reshape(2, 4)  # -3 .. 4: three negatives, one zero
    x = Tensor(data, requires_grad=True)
    r = x.relu()
    loss = r.sum()
    loss.backward()
    nodes, _ = parse(draw_graph(loss, show_values=True, show_grads=True))
    assert label(nodes, x) == "(2, 4) float64\\nmin=-3 mean=0.5 max=4\\nzeros 12%\\n|grad|=2"
    # Dead ReLUs: four of eight outputs are zero.
    assert label(nodes, r).split("\\n")[1:3] == ["min=0 mean=1.25 max=4", "zeros 50%"]
    assert "min=" not in label(parse(draw_graph(loss))[0], x)  # off by default


def test_nan_and_inf_in_values_or_gradients_colour_the_node_red():
    x = Tensor(np.array([1.0, np.nan, np.inf, 2.0, 3.0, 4.0, 5.0]), requires_grad=True)
    y = x * 2.0
    nodes, _ = parse(draw_graph(y, show_values=True))
    assert nodes[str(id(x))]["fillcolor"] == NONFINITE_STYLE["fillcolor"]
    assert label(nodes, x).split("\\n")[1:] == ["min=1 mean=3 max=5", "nan 1, inf 1"]
    w = Tensor(np.ones(2), requires_grad=True)
    z = w * 1.0
    nodes, _ = parse(draw_graph(z))
    assert nodes[str(id(w))].get("fillcolor") != NONFINITE_STYLE["fillcolor"]
    w.grad = np.array([np.nan, 0.0])
    nodes, _ = parse(draw_graph(z))
    assert nodes[str(id(w))]["fillcolor"] == NONFINITE_STYLE["fillcolor"]


# ----- the steps ---------------------------------------------------------------------------------------------
def test_steps_follow_the_engines_order_and_gradients():
    loss, (x, w, b, h) = small_network_loss()
    steps = backward_steps(loss)
    assert [s[0] for s in steps] == topological_order(loss)[::-1]
    assert w.grad is None and b.grad is None  # explaining changes no .grad
    # The engine's own gradients, through retain_grad and a real backward (the graph was kept).
    for t in topological_order(loss):
        if t._ctx is not None:
            t.retain_grad()
    loss.backward()
    for node, arriving, _ in steps:
        np.testing.assert_array_equal(arriving, node.grad)
    # What the ops send adds up, in the engine's order, to what arrives at each input.
    received = {}
    for node, _, sent in steps:
        for _, parent, g in sent:
            received[id(parent)] = g if id(parent) not in received else received[id(parent)] + g
    for node, arriving, _ in steps[1:]:
        np.testing.assert_array_equal(received[id(node)], arriving)
    h_step = next(s for s in steps if s[0] is h)
    assert len(h_step[2]) == 1  # tanh has one input; h itself received from two uses


def test_every_op_has_a_local_rule_from_its_docstring():
    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    missing = [f.name for f in every(Function) if local_rule(f) == "(no docstring)"]
    assert missing == []
    assert local_rule(tg.log_softmax(Tensor(np.ones(2), requires_grad=True))._ctx.function).startswith("x - logsumexp")
    rule = local_rule(tg.cross_entropy(Tensor(np.ones((1, 2)), requires_grad=True), np.array([0]))._ctx.function)
    assert rule.startswith("-Σ target") and rule.endswith("to a target that requires grad.") and "\n" not in rule
    assert local_rule(tg.tanh(Tensor(np.ones(2), requires_grad=True))._ctx.function) == "tanh(x); gradient: g * (1 - tanh(x)**2)."


def test_explain_refuses_what_it_cannot_explain(tmp_path):
    with pytest.raises(TypeError, match="expected a Tensor"):
        explain_backward(np.ones(2), tmp_path / "a.html")
    with pytest.raises(ValueError, match="does not require grad"):
        explain_backward(Tensor(np.ones(2)).sum(), tmp_path / "a.html")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        explain_backward(Tensor(np.ones(2), requires_grad=True).sum(), tmp_path / "nowhere" / "a.html")


@needs_dot
def test_the_page_is_self_contained_and_holds_one_step_per_tensor(tmp_path):
    loss, (x, w, b, h) = small_network_loss()
    w.name = "w</script><b>"  # names are text, never markup
    path = explain_backward(loss, tmp_path / "backward.html")
    page = open(path, encoding="utf-8").read()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page
    assert page.count("<svg") == 1 and "<script src" not in page
    steps = json.loads(re.search(r'<script type="application/json" id="steps">(.*?)</script>', page, re.S).group(1))
    assert [s["node"] for s in steps] == [str(id(t)) for t in topological_order(loss)[::-1]]
    assert steps[0]["arriving"].startswith("1   (shape ())")
    tanh_step = next(s for s in steps if s["opname"] == "tanh")
    assert tanh_step["rule"] == local_rule(h._ctx.function)
    assert tanh_step["sends"][0]["text"].startswith("shape (2, 4), |g| = ")
    b_step = next(s for s in steps if s["node"] == str(id(b)))
    assert b_step["arriving"].startswith("[") and b_step["sends"] == []
    assert "w</script>" not in page and "w&lt;/script&gt;" in page
    loss.backward()  # the graph was kept for the user's own backward
    assert w.grad is not None


# ----- in a real browser -----------------------------------------------------------------------------------
@needs_dot
@needs_chromium
def test_chromium_steps_the_page_with_keys_and_from_the_address(tmp_path):
    if CHROMIUM is None:
        pytest.fail("CI must test the page in Chromium: .ci/run installs Debian's chromium when it is missing")
    loss, _ = small_network_loss()
    order = [str(id(t)) for t in topological_order(loss)[::-1]]
    url = "file://" + os.path.abspath(explain_backward(loss, tmp_path / "backward.html"))
    current = "document.querySelector('#graph g.node.current title').textContent"
    with Browser(url) as page:
        seen = [(page.evaluate("document.body.dataset.step"), page.evaluate(current))]
        page.screenshot(tmp_path / "step1.png")
        for _ in range(2):
            page.press("ArrowRight")
            seen.append((page.evaluate("document.body.dataset.step"), page.evaluate(current)))
        page.screenshot(tmp_path / "step3.png")
        assert seen == [("1", order[0]), ("2", order[1]), ("3", order[2])]
        assert page.evaluate("location.hash") == "#step=3"
        # The inputs of step 3's op are marked as receiving, and the panel names its local rule.
        receiving = page.evaluate("[...document.querySelectorAll('g.node.receiving title')].map(t => t.textContent)")
        assert receiving and all(r in order or r.isdigit() for r in receiving)
        assert "local rule" in page.evaluate("document.getElementById('panel').textContent")
        page.press("ArrowLeft")
        assert page.evaluate(current) == order[1]
        page.press("End")
        assert page.evaluate(current) == order[-1]
        page.press("Home")
        assert page.evaluate(current) == order[0]
    for name in ("step1.png", "step3.png"):
        assert (tmp_path / name).stat().st_size > 5000
    # Opened at #step=N, the page shows step N: one screenshot per step needs no key press.
    with Browser(url + "#step=4") as page:
        assert page.evaluate(current) == order[3]
    shot = screenshot_of(url + "#step=2", str(tmp_path / "address.png"))
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
