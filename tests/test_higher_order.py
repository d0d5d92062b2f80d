"""Higher-order gradients: tg.grad, backward(create_graph=True), gradgradcheck, closed forms."""
import re

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor


def leaf64(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


POINTS = [-1.7, -0.3, 0.0, 0.4, 2.1]


def nth_derivative(fn, x, order):
    """d^order/dx^order of sum(fn(x)), elementwise, through repeated tg.grad with create_graph."""
    out = fn(x).sum()
    for _ in range(order):
        (out,) = tg.grad(out, [x], create_graph=True)
        out = out.sum() if _ < order - 1 else out
    return out.data


def test_third_derivative_of_tanh_matches_the_closed_form():
    x = leaf64(POINTS)
    t = np.tanh(x.data)
    expected = -2 * (1 - t**2) * (1 - 3 * t**2)  # tanh''' = -2 sech^2 (1 - 3 tanh^2)
    np.testing.assert_allclose(nth_derivative(tg.tanh, x, 3), expected, rtol=1e-12, atol=1e-12)


def test_second_derivative_of_sigmoid_matches_the_closed_form():
    x = leaf64(POINTS)
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(nth_derivative(tg.sigmoid, x, 2), s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_derivative_of_exp_is_exp(order):
    x = leaf64(POINTS)
    np.testing.assert_allclose(nth_derivative(tg.exp, x, order), np.exp(x.data), rtol=1e-13)


def test_polynomial_to_the_fourth_order():
    x = leaf64(POINTS)
    derivatives = [nth_derivative(lambda v: v * v * v * v, x, k) for k in (1, 2, 3, 4)]
    v = x.data
    for got, want in zip(derivatives, [4 * v**3, 12 * v**2, 24 * v, 24 + 0 * v]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_backward_with_create_graph_stores_tensors_that_differentiate_again():
    x = leaf64([0.5, -1.0])
    (x * x * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)
    first = x.grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)


def test_grad_leaves_dot_grad_alone_and_returns_plain_tensors_without_create_graph():
    x = leaf64([1.0, 2.0])
    x.grad = np.array([10.0, 10.0])
    (g,) = tg.grad((x * x).sum(), [x])
    assert isinstance(g, Tensor) and not g.requires_grad
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])


def test_grad_of_an_intermediate_and_several_outputs():
    x = leaf64([1.0, 2.0])
    h = x * 3
    y1, y2 = (h * h).sum(), h.sum()
    gh, gx = tg.grad([y1, y2], [h, x])
    np.testing.assert_allclose(gh.data, 2 * h.data + 1)
    np.testing.assert_allclose(gx.data, 3 * (2 * h.data + 1))


def test_grad_outputs_weight_a_non_scalar_output():
    x = leaf64([1.0, 2.0, 3.0])
    (g,) = tg.grad(x * x, [x], grad_outputs=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(g.data, [2.0, 0.0, 12.0])


def test_unused_inputs_raise_or_give_none():
    x, z = leaf64([1.0]), leaf64([2.0])
    y = (x * 2).sum()
    with pytest.raises(ValueError, match=r"grad: the outputs do not depend on inputs\[1\].*allow_unused=True"):
        tg.grad(y, [x, z], retain_graph=True)
    gx, gz = tg.grad(y, [x, z], allow_unused=True)
    assert gz is None and np.allclose(gx.data, 2)


def test_grad_argument_errors():
    x = leaf64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"grad: a gradient can be implied only for a single-element tensor"):
        tg.grad(x * 2, [x])
    with pytest.raises(ValueError, match=r"grad: inputs\[0\] of shape \(2,\) does not require grad"):
        tg.grad((x * 2).sum(), [Tensor(np.ones(2))])
    with pytest.raises(TypeError, match="grad: inputs must be Tensors, got ndarray"):
        tg.grad((x * 2).sum(), [np.ones(2)])
    with pytest.raises(ValueError, match="grad: 2 grad_outputs for 1 outputs"):
        tg.grad((x * 2).sum(), [x], grad_outputs=[None, None])


def test_create_graph_keeps_the_graph_by_default_and_first_order_frees_it():
    x = leaf64([1.0, 2.0])
    y = (x * x).sum()
    tg.grad(y, [x], create_graph=True)
    tg.grad(y, [x])  # still there
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        tg.grad(y, [x])


def test_hessian_vector_product_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    x, v = leaf64(rng.standard_normal(4)), rng.standard_normal(4)
    quadratic = ((Tensor(a) * x).sum(axis=1) * x).sum()  # x^T A x
    (g,) = tg.grad(quadratic, [x], create_graph=True)
    (hv,) = tg.grad((g * v).sum(), [x])
    np.testing.assert_allclose(hv.data, (a + a.T) @ v, rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x: (x * x * x).sum(),
    lambda x: (x.tanh() * x).sum(),
    lambda x: (x.exp() / (x * x + 1)).sum(),
    lambda x: (x.sigmoid() ** 3).mean(),
    lambda x: (x * 3).sum(),
], ids=["cube", "x tanh x", "exp over", "sigmoid cubed", "linear"])
def test_gradgradcheck_of_scalar_functions(fn):
    assert tg.gradgradcheck(fn, leaf64([0.3, -0.8, 1.1]))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    from tinygraph.ops.function import Function, apply

    class WrongCube(Function):
        """x**3 whose backward forgets the chain through x: right first derivative, zero second derivative."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x * 1.0)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_arrays
            return grad * 3 * x**2

    x = leaf64([0.5, 1.5])
    assert tg.gradcheck(lambda t: apply(WrongCube, t).sum(), x)
    with pytest.raises(RuntimeError, match="wrongcube: second derivatives are not supported"):
        tg.gradgradcheck(lambda t: apply(WrongCube, t).sum(), x)


def test_a_backward_formula_that_turns_a_tensor_into_an_array_is_refused_when_recorded():
    from tinygraph.ops.function import Function, apply

    class Leaky(Function):
        """2x whose backward goes through a plain array: fine at first order, a silent cut when recorded."""

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            out = np.zeros(grad.shape)
            out[...] = grad  # NumPy converts a Tensor here
            return 2 * out

    x = leaf64([0.5, 1.5])
    assert tg.gradcheck(lambda t: apply(Leaky, t).sum(), x)
    with pytest.raises(RuntimeError, match="turned into an array while a backward pass was recorded"):
        tg.grad((apply(Leaky, x) * x).sum(), [x], create_graph=True)


# ----- the graph viewer and the example -------------------------------------------------------------------------------
def test_the_viewer_marks_the_ops_a_recorded_backward_added():
    from tinygraph.viz import BACKWARD_OP_STYLE, OP_STYLE, draw_graph

    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    y = tg.tanh(x)
    (g,) = tg.grad(y.sum(), [x], create_graph=True)
    (h,) = tg.grad((g * g).sum(), [x], create_graph=True)
    ops = {}  # op name -> the DOT lines of its nodes
    for line in draw_graph(h).source.splitlines():
        node = re.match(r'\s*op\d+ \[label="?([a-z_]+)', line)
        if node:
            ops.setdefault(node.group(1), []).append(line)
    assert ops["tanh"] and all(f'fillcolor="{OP_STYLE["fillcolor"]}"' in line for line in ops["tanh"])
    marked = [line for lines in ops.values() for line in lines if "backward of" in line]
    assert marked and all(f'fillcolor="{BACKWARD_OP_STYLE["fillcolor"]}"' in line for line in marked)
    assert any("backward of tanh" in line for line in marked)  # g = 1 - y*y: ops of tanh's backward
    assert any("backward of mul (order 2)" in line for line in marked)  # h: the backward of those ops
    assert len(marked) + len(ops["tanh"]) == sum(map(len, ops.values()))  # every other op is a backward op
    assert y._ctx.__dict__.get("backward_of") is None  # the forward graph is left as it was


def test_the_higher_order_example_runs():
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "higher_order.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    error = float(next(line for line in lines if "closed-form Hessian" in line).split()[-1])
    assert error < 1e-10
    newton = [float(line.split()[-1]) for line in lines if line.startswith("  step")]
    assert newton[0] > 0.1 and newton[-1] < 1e-12 and len(newton) <= 8  # quadratic convergence
    slopes = [float(line.split()[-1]) for line in lines if "penalty weight" in line]
    assert len(slopes) == 2 and slopes[1] < slopes[0]  # the penalty makes the function flatter
