"""Anomaly mode: the first NaN/inf in forward or backward names the op, its input shapes, the line that created it
and the phase; the failing op is drawn red with its path to the loss; saved arrays written behind tinygraph's back
are caught; the mode is per thread and does nothing when off."""
import re
import threading
import warnings

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, anomaly, grad_mode
from tinygraph.layers import FCLayer
from tinygraph.viz import FAULT_OP_STYLE, FAULT_PATH_STYLE, NONFINITE_STYLE, draw_graph

from test_viz import parse


@pytest.fixture(autouse=True)
def _anomaly_off_after():
    yield
    grad_mode.state.anomaly = False
    grad_mode.state.anomaly_previous.clear()


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own "invalid value in log"
        yield


def line_of(text):
    """The line number in this file of the first line containing `text` (the line the error must name)."""
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "line_of" not in line)


# ----- forward --------------------------------------------------------------------------------------------
def test_log_of_a_negative_names_the_op_shapes_line_and_phase():
    x = Tensor(np.array([[1.0, -2.0, 3.0]]), requires_grad=True, name="x")
    w = Tensor(np.ones((1, 3)))
    with tg.detect_anomaly():
        y = x * w
        with pytest.raises(tg.AnomalyError) as caught:
            tg.log(y)  # the NaN is made here
    err = caught.value
    assert isinstance(err, RuntimeError)
    assert (err.op, err.phase, err.input_shapes) == ("log", "forward", ((1, 3),))
    message = str(err)
    assert "in forward, log (input shapes (1, 3)) produced nan (1 of 3 values)" in message
    assert "its inputs were all finite: log itself made it" in message
    assert f"test_anomaly.py:{line_of('the NaN is made here')}, in " in message
    assert "tg.log(y)  # the NaN is made here" in message
    assert err.origin.endswith("tg.log(y)  # the NaN is made here")


def test_a_forward_fault_is_drawn_red_on_the_result_the_error_carries():
    x = Tensor(np.array([-1.0, 4.0]), requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as caught:
        tg.log(x + 1.0 - 3.0)
    tensor = caught.value.tensor
    assert tensor.op == "log" and np.isnan(tensor.data[0])
    nodes, _ = parse(draw_graph(tensor))
    assert nodes[f"op{id(tensor._ctx)}"]["fillcolor"] == FAULT_OP_STYLE["fillcolor"]
    assert nodes[str(id(tensor))]["fillcolor"] == NONFINITE_STYLE["fillcolor"]  # it holds the NaN
    assert nodes[str(id(x))].get("color") != NONFINITE_STYLE["color"]


def test_data_that_already_holds_nan_is_named_as_the_source():
    x = Tensor(np.array([1.0, np.nan]), name="pixels")
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match=r"input 0 \(shape \(2,\), 'pixels', a leaf\) "
                                                                    r"already held nan"):
        tg.tanh(x)


def test_an_op_inside_a_layer_names_the_layer_and_the_users_line():
    net = tg.Network(seed=0).add(FCLayer(3)).add(FCLayer(2))
    net.forward(np.ones((1, 4), np.float32))
    net.layers[1].parameters()[0].data[0, 0] = np.inf
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as caught:
        net.forward(np.ones((2, 4), np.float32))  # the weights hold an inf
    message = str(caught.value)
    assert "already held inf" in message and "FCLayer_2." in message
    assert f"test_anomaly.py:{line_of('the weights hold an inf')}" in message
    assert "(inside layer FCLayer_2)" in message


def test_network_fit_divergence_says_how_to_find_the_op_and_anomaly_mode_finds_it():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)).astype(np.float32) * 10, rng.standard_normal((32, 1)).astype(np.float32) * 100

    def network():
        return tg.Network(seed=0).add(FCLayer(16)).add(FCLayer(1)).use("mse")

    with pytest.raises(ValueError, match=r"the training diverged .*with tinygraph\.detect_anomaly\(\):"):
        network().fit(x, y, epochs=20, learning_rate=10.0, batch_size=8, verbose=0)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match=r"in (forward|backward), \w+"):
        network().fit(x, y, epochs=20, learning_rate=10.0, batch_size=8, verbose=0)


# ----- backward -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["pow(exponent=0.5)", "sqrt"])
def test_sqrt_at_zero_names_the_op_in_backward_and_draws_its_path_to_the_loss(op):
    x = Tensor(np.array([4.0, 0.0, 1.0]), requires_grad=True, name="x")
    with tg.detect_anomaly():
        r = tg.sqrt(x) if op == "sqrt" else x ** 0.5  # made in forward, fails in backward
        loss = (r * 3.0).sum()
        with pytest.raises(tg.AnomalyError) as caught:
            loss.backward()
    err = caught.value
    assert err.phase == "backward" and err.input_shapes == ((3,),) and err.tensor is r
    message = str(err)
    assert f"in backward, {op} (input shapes (3,)): from a finite incoming gradient it returned inf " \
           f"(1 of 3 values) in the gradient for input 0 (shape (3,), 'x')" in message
    assert f"test_anomaly.py:{line_of('made in forward, fails in backward')}" in message
    assert x.grad is None  # nothing reached the leaf

    nodes, edges = parse(draw_graph(loss))
    assert nodes[f"op{id(r._ctx)}"]["fillcolor"] == FAULT_OP_STYLE["fillcolor"]
    red = {n for n, attrs in nodes.items() if attrs.get("color") == FAULT_PATH_STYLE["color"]}
    # r, the mul, its result, the sum and the loss: the path from the failing op to the loss, and nothing else.
    chain = [r, loss._ctx.parents[0], loss]
    assert red == {str(id(t)) for t in chain} | {f"op{id(t._ctx)}" for t in chain}
    source = draw_graph(loss).source
    red_edges = re.findall(r"(\w+) -> (\w+) \[color=\"#cc0000\"", source)
    assert (f"op{id(r._ctx)}", str(id(r))) in red_edges and (str(id(x)), f"op{id(r._ctx)}") not in red_edges
    assert len(red_edges) == 5


def test_with_create_graph_the_fault_is_named_in_backward_not_in_the_recorded_formula():
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with tg.detect_anomaly():
        loss = tg.sqrt(x).sum()
        with pytest.raises(tg.AnomalyError, match=r"in backward, sqrt .* returned inf") as caught:
            tg.grad(loss, [x], create_graph=True)
    assert caught.value.phase == "backward"


def test_a_nan_gradient_passed_to_backward_is_named():
    x = Tensor(np.ones(2), requires_grad=True)
    y = tg.tanh(x)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="the gradient arriving at its output "
                                                                    r"\(shape \(2,\)\) holds nan"):
        y.backward(np.array([np.nan, 1.0]))


def test_recorded_outside_checked_inside_says_where_is_unknown():
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    loss = tg.sqrt(x).sum()
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="recorded outside detect_anomaly"):
        loss.backward()


def test_finite_graphs_give_the_same_gradients_with_anomaly_mode_on(leaf):
    a, b = leaf((3, 4)), leaf((4,), "positive")
    expected = tg.grad((tg.log(b) * a).tanh().sum(), [a, b])
    with tg.detect_anomaly():
        got = tg.grad((tg.log(b) * a).tanh().sum(), [a, b])
        second = tg.grad(tg.grad((a * a * b).sum(), [a], create_graph=True)[0].sum(), [b])[0]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e.data, g.data)
    np.testing.assert_allclose(second.data, 2 * a.data.sum(axis=0))


# ----- saved arrays written behind tinygraph's back --------------------------------------------------------
def test_a_raw_write_into_a_saved_input_is_caught_and_the_op_named():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
    with tg.detect_anomaly():
        loss = (tg.exp(x) * x).sum()  # mul saves x
        x.data[1] = 5.0  # not through tinygraph: no version bump
        with pytest.raises(tg.AnomalyError, match=r"in backward, mul \(input shapes \(3,\), \(3,\)\): input 1 "
                                                  r"\(shape \(3,\), 'x'\) was changed after mul saved it"):
            loss.backward()
    # Outside anomaly mode the same write goes unseen (that is what anomaly mode is for).
    loss = (tg.exp(x) * x).sum()
    x.data[1] = 6.0
    loss.backward()


def test_a_raw_write_into_a_saved_output_is_named_as_the_output():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = tg.tanh(x)  # tanh saves its output
        loss = y.sum()
        y.data[:] = 0.0
        with pytest.raises(tg.AnomalyError, match=r"tanh .*: its output \(shape \(2,\)\) was changed"):
            loss.backward()


# ----- the switch ------------------------------------------------------------------------------------------
def test_off_runs_no_check_and_leaves_nothing_on_the_graph(monkeypatch):
    def fail(*args):
        raise AssertionError("an anomaly check ran with anomaly mode off")

    monkeypatch.setattr(anomaly, "after_forward", fail)
    monkeypatch.setattr(anomaly, "check_backward", fail)
    x = Tensor(np.array([0.0, -1.0]), requires_grad=True)
    loss = (tg.sqrt(x) + tg.log(x)).sum()
    loss.backward()
    assert not tg.is_anomaly_enabled()
    assert not any(key.startswith("anomaly") for key in loss._ctx.__dict__)


def test_decorator_nesting_and_turning_off_inside():
    @tg.detect_anomaly()
    def checked():
        assert tg.is_anomaly_enabled()
        with tg.detect_anomaly(False):
            assert not tg.is_anomaly_enabled()
            tg.log(Tensor(np.array([-1.0])))  # unchecked: no error
        return tg.is_anomaly_enabled()

    assert checked() and not tg.is_anomaly_enabled()


def test_anomaly_mode_is_per_thread():
    seen = []

    def other():
        seen.extend([tg.is_anomaly_enabled(), tg.log(Tensor(np.array([-1.0]))).shape])  # no error here

    with tg.detect_anomaly():
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        assert tg.is_anomaly_enabled()
    assert seen == [False, (1,)]
