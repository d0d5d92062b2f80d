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


# ----- ops whose recorded backward is a formula of its own: the same first derivative as the fast one ---------------
RNG = np.random.default_rng(12)
TIES = np.round(RNG.standard_normal((2, 6, 6, 3)))  # integers: many ties inside the pooling windows
RECORDED = {
    "maxpool": (lambda x: tg.maxpool(x), [(2, 6, 6, 3)]),
    "maxpool, 20 channels": (lambda x: tg.maxpool(x), [(2, 4, 4, 20)]),
    "maxpool overlapping, padded": (lambda x: tg.maxpool(x, 3, stride=(1, 2), padding=1), [(2, 7, 6, 3)]),
    "maxpool ties": (lambda x: tg.maxpool(x * 0 + TIES, 3, 1, 1) * x, [(2, 6, 6, 3)]),
    "maxpool one sample": (lambda x: tg.maxpool(x, (2, 3), stride=1), [(5, 6, 2)]),
    "avgpool": (lambda x: tg.avgpool(x), [(2, 6, 6, 3)]),
    "avgpool overlapping, padded": (lambda x: tg.avgpool(x, 3, stride=2, padding=1), [(2, 7, 6, 3)]),
    "getitem repeats": (lambda x: x[np.array([0, 2, 0, 0]), 1:], [(3, 5)]),
    "gelu": (tg.gelu, [(40,)]),
    "gelu tanh": (lambda x: tg.gelu(x, approximate="tanh"), [(40,)]),
    "max ties": (lambda x: tg.max(x * 0 + np.round(x.data), axis=1) * tg.max(x, axis=0)[:1], [(4, 3)]),
    "prod zeros": (lambda x: tg.prod(tg.where(x.data > 0.5, 0.0, x), axis=0), [(4, 3)]),
    "mse": (tg.mse, [(5, 3), (5, 3)]),
    "cross_entropy labels": (lambda z: tg.cross_entropy(z, np.array([0, 2, 1, 1, 0])), [(5, 3)]),
    "cross_entropy soft": (lambda z, t: tg.cross_entropy(z, t.softmax()), [(5, 3), (5, 3)]),
    "cross_entropy class axis": (lambda z: tg.cross_entropy(z, np.zeros((2, 3), np.int64)), [(2, 4, 3)]),
    "bce with logits": (lambda x, t: tg.binary_cross_entropy_with_logits(x, t.sigmoid()), [(4, 3), (4, 3)]),
    "correlate": (lambda x, w, b: tg.correlate(x, w, b, stride=2, padding="valid", dilation=1), [(2, 7, 6, 3),
                                                                                              (4, 3, 3, 3), (4,)]),
    "correlate same, dilated": (lambda x, w: tg.correlate(x, w, padding="same", dilation=(2, 1)),
                                [(1, 6, 5, 2), (3, 2, 3, 2)]),
    "conv_transpose": (lambda x, w, b: tg.conv_transpose(x, w, b, stride=2, padding=1, output_padding=1),
                       [(2, 4, 5, 3), (3, 3, 3, 2), (2,)]),
}


@pytest.mark.parametrize("name", RECORDED)
def test_the_recorded_backward_gives_the_first_order_gradient(name):
    """Exactly, in float64 (the convolutions to rounding: their sums run in another order)."""
    fn, shapes = RECORDED[name]
    rng = np.random.default_rng(len(name))
    inputs = [leaf64(rng.standard_normal(s)) for s in shapes]
    v = leaf64(rng.standard_normal(fn(*inputs).shape))  # requires grad: every recorded gradient depends on it
    first = tg.grad(fn(*inputs), inputs, grad_outputs=v)
    recorded = tg.grad(fn(*inputs), inputs, grad_outputs=v, create_graph=True)
    for a, b in zip(first, recorded):
        assert b.requires_grad and not a.requires_grad
        if "correlate" in name or "conv" in name:
            np.testing.assert_allclose(b.data, a.data, rtol=1e-12, atol=1e-13)
        else:
            np.testing.assert_array_equal(b.data, a.data)


@pytest.mark.parametrize("name", ["maxpool overlapping, padded", "avgpool overlapping, padded", "getitem repeats",
                                  "gelu", "gelu tanh", "correlate", "conv_transpose"])
def test_third_derivatives_through_the_recorded_backward_formulas(name):
    fn, shapes = RECORDED[name]
    rng = np.random.default_rng(3)
    inputs = [leaf64(rng.standard_normal(s)) for s in shapes]
    weights = [rng.standard_normal(s) for s in shapes]

    def first_derivative(*xs):  # a nonlinear output, so that every second derivative is not zero
        grads = tg.grad((tg.tanh(fn(*xs)) ** 2).sum(), list(xs), create_graph=True)
        return sum((g * w).sum() for g, w in zip(grads, weights))

    assert tg.gradgradcheck(first_derivative, *inputs)


def test_clone_and_astype_pass_second_derivatives():
    x = leaf64([0.3, -1.2, 2.0])
    assert tg.gradgradcheck(lambda t: (t.clone() * t).sum() ** 2, x)
    assert tg.gradgradcheck(lambda t: (t.astype(np.float64) ** 3).sum(), x)
    x32 = tg.Tensor(np.array([0.5, -2.0], np.float32), requires_grad=True)
    (g,) = tg.grad((x32.astype(np.float64) ** 3).sum(), [x32], create_graph=True)
    (h,) = tg.grad(g.sum(), [x32])
    assert g.dtype == h.dtype == np.float32 and np.array_equal(h.data, 6 * x32.data)


# ----- kinks, ties and zeros: against closed forms --------------------------------------------------------------------
def hessian_vector(f, x, v):
    (g,) = tg.grad(f(x), [x], create_graph=True)
    return tg.grad((g * v).sum(), [x])[0].data


def test_ties_follow_the_first_order_rule_in_the_second_derivative():
    x, v = leaf64([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]), np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]])
    # max over an axis: the first maximum of each row; f = sum(max**2), so H v = 2 m (m . v) per row.
    m = np.array([[0, 1, 0], [1, 0, 0]], dtype=float)
    expected = 2 * m * (m * v).sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(hessian_vector(lambda t: (tg.max(t, axis=1) ** 2).sum(), x, v), expected)
    np.testing.assert_array_equal(hessian_vector(lambda t: (tg.min(-t, axis=1) ** 2).sum(), x, v), expected)
    # over the whole tensor the maxima share: d max = hits / k; f = max**2, so H v = 2 (hits/k) (hits/k . v).
    share = np.array([[0, 1, 1], [0, 0, 0]]) / 2
    np.testing.assert_array_equal(hessian_vector(lambda t: tg.max(t) ** 2, x, v), 2 * share * (share * v).sum())
    # maximum at a tie sends half to each: d maximum(x, 2) at x = 2 is 1/2.
    y = leaf64([2.0, 3.0])
    np.testing.assert_array_equal(hessian_vector(lambda t: (tg.maximum(t, 2.0) ** 2).sum(), y, np.ones(2)),
                                  [0.5, 2.0])


def test_prod_with_zeros_has_the_exact_hessian():
    for values in ([2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 3.0]):
        x, n = leaf64(values), len(values)
        rows = [hessian_vector(lambda t: tg.prod(t), x, np.eye(n)[i]) for i in range(n)]
        expected = [[0.0 if i == j else np.prod(np.delete(values, [i, j])) for j in range(n)] for i in range(n)]
        np.testing.assert_array_equal(np.array(rows), expected)
    x = leaf64([[0.0, 2.0], [0.0, 0.0], [1.5, 3.0]])
    assert tg.gradgradcheck(lambda t: tg.prod(t, axis=1) * tg.prod(t, axis=0, keepdims=True).sum(), x)


def test_std_at_zero_spread_has_finite_second_derivatives():
    x = leaf64([2.0, 2.0, 2.0])
    (g,) = tg.grad(tg.std(x) + (x * x).sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    np.testing.assert_array_equal(h.data, [2.0, 2.0, 2.0])  # std's gradient is 0 there, as PyTorch's


# ----- a model's Hessian ----------------------------------------------------------------------------------------------
def test_hessian_of_a_small_mlp_loss_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, labels = rng.standard_normal((6, 3)), np.array([0, 1, 1, 0, 1, 0])
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    sizes = [int(np.prod(s)) for s in shapes]
    theta0 = 0.7 * rng.standard_normal(sum(sizes))

    def loss(theta):
        w1, b1, w2, b2 = (p.reshape(s) for p, s in zip(tg.split(theta, np.cumsum(sizes)[:-1].tolist()), shapes))
        hidden = tg.tanh(tg.linear(tg.Tensor(x), w1, b1))
        return tg.cross_entropy(tg.linear(hidden, w2, b2), labels) + 0.1 * (tg.softplus(hidden) ** 2).mean()

    theta = leaf64(theta0)
    (g,) = tg.grad(loss(theta), [theta], create_graph=True)
    hessian = np.stack([tg.grad(g[i], [theta], retain_graph=True)[0].data for i in range(len(theta0))])
    eps, columns = 1e-5, []
    for i in range(len(theta0)):
        step = np.eye(len(theta0))[i] * eps
        plus, minus = leaf64(theta0 + step), leaf64(theta0 - step)
        columns.append((tg.grad(loss(plus), [plus])[0].data - tg.grad(loss(minus), [minus])[0].data) / (2 * eps))
    np.testing.assert_allclose(hessian, np.stack(columns, axis=1), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-12, atol=1e-14)


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
