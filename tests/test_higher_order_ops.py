"""Second derivatives op by op: the recorded backward formulas against the fast ones, third derivatives through them,
closed forms at kinks, ties and zeros, float32 kept, and the Hessian of a small MLP's loss against finite differences."""
import numpy as np
import pytest
from cases import CASES

import tinygraph as tg
from tinygraph import Tensor


def leaf64(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ----- ops whose recorded backward is a formula of its own: the same first derivative as the fast one ---------------
RNG = np.random.default_rng(12)
TIES = np.round(RNG.standard_normal((2, 6, 6, 3)))  # integers: many ties inside the pooling windows
RECORDED = {
    "maxpool": (lambda x: tg.maxpool(x), [(2, 6, 6, 3)]),
    "maxpool, 20 channels": (lambda x: tg.maxpool(x), [(2, 4, 4, 20)]),
    "maxpool overlapping, padded": (lambda x: tg.maxpool(x, 3, stride=(1, 2), padding=1), [(2, 7, 6, 3)]),
    "maxpool ties": (lambda x: tg.maxpool(x - x.data + TIES, 3, 1, 1) * x, [(2, 6, 6, 3)]),
    "maxpool one sample": (lambda x: tg.maxpool(x, (2, 3), stride=1), [(5, 6, 2)]),
    "avgpool": (lambda x: tg.avgpool(x), [(2, 6, 6, 3)]),
    "avgpool overlapping, padded": (lambda x: tg.avgpool(x, 3, stride=2, padding=1), [(2, 7, 6, 3)]),
    "getitem repeats": (lambda x: x[np.array([0, 2, 0, 0]), 1:], [(3, 5)]),
    "gelu": (tg.gelu, [(40,)]),
    "gelu tanh": (lambda x: tg.gelu(x, approximate="tanh"), [(40,)]),
    "max ties": (lambda x: tg.max(x - x.data + np.round(x.data), axis=1) * tg.max(x, axis=0)[:1], [(4, 3)]),
    "max ties, whole": (lambda x: tg.max(x - x.data + np.round(x.data)) * x, [(4, 3)]),
    "min ties, axes": (lambda x: tg.min(x - x.data + np.round(x.data), axis=(0, 2), keepdims=True), [(3, 2, 4)]),
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


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=lambda c: c.name)
def test_second_derivatives_keep_float32(case):
    """Every differentiable row of the op table, on its first shapes: recorded gradients and their own gradients
    (to the inputs and to the output's gradient) stay float32."""
    shapes, kwargs = case.combinations[0]
    inputs = case.inputs(case.arrays(np.random.default_rng(0), shapes), dtype=np.float32)
    out = case.op(*inputs, **kwargs)
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    v = Tensor(np.ones(out.shape, np.float32), requires_grad=True)
    grads = [g for g in tg.grad(out, tensors, grad_outputs=v, create_graph=True, allow_unused=True) if g is not None]
    total = sum(((g * g).sum() for g in grads), (v * 0).sum())
    second = [g for g in tg.grad(total, tensors + [v], allow_unused=True) if g is not None]
    assert grads and {g.dtype for g in grads + second} == {np.dtype(np.float32)}
