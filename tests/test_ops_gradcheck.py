"""Float64 central-difference checks of every differentiable op over a grid of shapes."""
import numpy as np
import pytest
from cases import MATMUL_SHAPES

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SHAPES = [(), (4,), (2, 3), (2, 3, 2)]
BROADCAST_PAIRS = [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (4,)), ((), (2, 3)),
                   ((2, 3), ()), ((), ())]


def check(leaf, fn, *specs):
    """gradcheck `fn` on fresh leaves; each spec is a shape or (shape, domain)."""
    specs = [s if len(s) == 2 and isinstance(s[1], str) else (s, "real") for s in specs]
    assert gradcheck(fn, *(leaf(shape, domain) for shape, domain in specs))


# ----- arithmetic -------------------------------------------------------------------------------------------

BINARY = {
    "add": (tg.add, "real"),
    "sub": (tg.sub, "real"),
    "mul": (tg.mul, "real"),
    "div": (tg.div, "away_from_zero"),
    "operator +": (lambda a, b: a + b, "real"),
    "operator -": (lambda a, b: a - b, "real"),
    "operator *": (lambda a, b: a * b, "real"),
    "operator /": (lambda a, b: a / b, "away_from_zero"),
}


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary(leaf, name, shapes):
    fn, domain = BINARY[name]
    check(leaf, fn, shapes[0], (shapes[1], domain))


def test_same_tensor_both_sides(leaf):
    check(leaf, lambda a: a * a + a / (a * a + 1) - a, (2, 3))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_neg(leaf, shape):
    check(leaf, tg.neg, shape)


@pytest.mark.parametrize("exponent", [2, 3, 1, 0, -1, 0.5, -1.5, 2.5])
@pytest.mark.parametrize("shape", [(), (2, 3)], ids=str)
def test_pow_number(leaf, shape, exponent):
    check(leaf, lambda a: a**exponent, (shape, "positive"))


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), ())], ids=str)
def test_pow_tensor_exponent(leaf, shapes):
    check(leaf, lambda a, e: a**e, (shapes[0], "positive"), shapes[1])
    check(leaf, lambda e: 2.0**e, shapes[1])




@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(leaf, shapes):
    check(leaf, tg.matmul, *shapes)


def test_matmul_gradient_to_one_side_only(leaf):
    a, b = leaf((2, 3)), leaf((3, 4), requires_grad=False)
    assert gradcheck(tg.matmul, a, b)
    (a @ b).sum().backward()
    assert b.grad is None


# ----- reductions -----------------------------------------------------------------------------------------

AXES = [None, 0, -1, (0, 2), (-1, 0), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions(leaf, name, axis, keepdims):
    fn = getattr(tg, name)
    check(leaf, lambda x: fn(x, axis=axis, keepdims=keepdims), (2, 3, 2))


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_of_a_scalar(leaf, name):
    check(leaf, getattr(tg, name), ())


MAX_TIES = [
    # (data, axis, keepdims, expected gradient of sum(max)): only the first maximum of each group gets it
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], 1, False, [[0, 1, 0], [1, 0, 0]]),
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], -1, True, [[0, 1, 0], [1, 0, 0]]),
    ([[1.0, 3.0, 3.0], [1.0, 3.0, 0.0]], 0, False, [[1, 1, 1], [0, 0, 0]]),
    ([[5.0, 1.0, 5.0], [5.0, 5.0, 0.0]], None, False, [[1, 0, 0], [0, 0, 0]]),
    ([[5.0, 1.0, 5.0], [5.0, 5.0, 0.0]], (0, 1), True, [[1, 0, 0], [0, 0, 0]]),
    ([[0.0, 0.0], [0.0, 0.0]], (1, 0), False, [[1, 0], [0, 0]]),
    ([7.0, 7.0, 7.0], 0, False, [1, 0, 0]),
]


@pytest.mark.parametrize("values,axis,keepdims,expected", MAX_TIES, ids=[str(c[:2]) for c in MAX_TIES])
def test_max_ties_send_the_gradient_to_the_first_maximum(values, axis, keepdims, expected):
    x = Tensor(np.array(values), requires_grad=True)
    x.max(axis=axis, keepdims=keepdims).sum().backward()
    np.testing.assert_array_equal(x.grad, expected)


def test_max_ties_over_tuple_axes_in_3d():
    x = np.zeros((2, 2, 3))
    x[0, 1, 0] = x[0, 1, 2] = 4.0  # tie within group 0 of axes (1, 2) read in row-major order
    x[1, :, :] = 1.0  # all tied in group 1
    t = Tensor(x, requires_grad=True)
    t.max(axis=(2, 1)).backward(np.array([10.0, 20.0]))
    expected = np.zeros_like(x)
    expected[0, 1, 0], expected[1, 0, 0] = 10.0, 20.0
    np.testing.assert_array_equal(t.grad, expected)


# ----- elementwise functions -------------------------------------------------------------------------------

UNARY = {
    "exp": (tg.exp, "real"),
    "log": (tg.log, "positive"),
    "tanh": (tg.tanh, "real"),
    "relu": (tg.relu, "away_from_zero"),
    "sigmoid": (tg.sigmoid, "real"),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary(leaf, name, shape):
    fn, domain = UNARY[name]
    check(leaf, fn, (shape, domain))


def test_sigmoid_gradient_at_large_inputs():
    x = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    tg.sigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.25, 0.0])


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(leaf, name, axis):
    fn = getattr(tg, name)
    check(leaf, lambda x: fn(x, axis=axis), (3, 4))
    check(leaf, lambda x: fn(x, axis=axis), (2, 3, 2))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_on_a_vector(leaf, name):
    check(leaf, getattr(tg, name), (5,))


# ----- shape ops ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 2), (-1,), (3, -1), (2, 1, 6)], ids=str)
def test_reshape(leaf, shape):
    check(leaf, lambda x: x.reshape(shape), (2, 3, 2))


@pytest.mark.parametrize("start_axis", [0, 1, -1, -2])
def test_flatten(leaf, start_axis):
    check(leaf, lambda x: tg.flatten(x, start_axis), (2, 3, 2))


@pytest.mark.parametrize("axes", [None, (2, 0, 1), (1, 2, 0), (-1, 0, 1)], ids=str)
def test_transpose(leaf, axes):
    check(leaf, lambda x: tg.transpose(x, axes), (2, 3, 4))


def test_transpose_T(leaf):
    check(leaf, lambda x: x.T, (2, 3))


@pytest.mark.parametrize("pad_width", [1, ((1, 2), (0, 3)), ((0, 0), (2, 0))], ids=str)
def test_pad(leaf, pad_width):
    check(leaf, lambda x: tg.pad(x, pad_width, value=1.5), (2, 3))


INDICES = {
    "int": 1,
    "slices": (slice(1, None), slice(None, 3)),
    "negative steps": (slice(None, None, -1), slice(None, None, -2)),
    "ellipsis and newaxis": (Ellipsis, None, 1),
    "repeated int array": np.array([0, 2, 0, 0]),
    "repeated list": [1, 1, 1],
    "two repeated int arrays": (np.array([0, 1, 1, 0]), np.array([3, 3, 3, 3])),
    "slice and repeated int array": (slice(None), np.array([4, 0, 4])),
    "boolean rows": np.array([True, False, True]),
    "boolean mask": np.array([[True, False, True, True, False]] * 3),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem(leaf, name):
    check(leaf, lambda x: x[INDICES[name]], (3, 5))


def test_getitem_repeats_add_up():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([1, 1, 3, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 3, 0, 1])


# ----- losses --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (4,), (3, 2)], ids=str)
def test_mse(leaf, shape):
    check(leaf, tg.mse, shape, shape)  # both the prediction and the target get a gradient
    target = np.random.default_rng(0).standard_normal(shape)
    check(leaf, lambda p: tg.mse(p, target), shape)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cross_entropy_labels(leaf, scale):
    labels = np.array([0, 3, 3, 1, 2])
    check(leaf, lambda z: tg.cross_entropy(z * scale, labels), (5, 4))


@pytest.mark.parametrize("target", ["one-hot", "soft"])
def test_cross_entropy_dense_target(leaf, target):
    rng = np.random.default_rng(0)
    dense = np.eye(4)[[0, 3, 3, 1, 2]] if target == "one-hot" else rng.dirichlet(np.ones(4), 5)
    check(leaf, lambda z: tg.cross_entropy(z, dense), (5, 4))


def test_cross_entropy_on_1d_logits(leaf):
    check(leaf, lambda z: tg.cross_entropy(z, 2), (4,))


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 2.0, 1.0]])
    labels = np.array([1, 1])
    z = Tensor(logits, requires_grad=True)
    tg.cross_entropy(z, labels).backward()
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    np.testing.assert_allclose(z.grad, (probs - np.eye(3)[labels]) / 2, atol=1e-15)


# ----- linear (fused matmul + bias) -------------------------------------------------------------------------

@pytest.mark.parametrize("n, n_in, n_out", [(1, 3, 2), (4, 5, 3), (2, 1, 1), (3, 4, 1)])
def test_linear(leaf, n, n_in, n_out):
    check(leaf, tg.linear, (n, n_in), (n_in, n_out), (n_out,))
    check(leaf, tg.linear, (n, n_in), (n_in, n_out))


def test_linear_gradient_to_one_side_only(leaf):
    x, w, b = leaf((3, 4)), leaf((4, 2), requires_grad=False), leaf((2,))
    assert gradcheck(tg.linear, x, w, b)
    assert w.grad is None


# ----- composites ------------------------------------------------------------------------------------------

def test_small_network(leaf):
    def net(x, w1, b1, w2):
        return tg.log_softmax(tg.tanh(x @ w1 + b1) @ w2, axis=-1).mean()

    check(leaf, net, (4, 3), (3, 5), (5,), (5, 2))


def test_gradcheck_reports_a_wrong_gradient():
    class WrongSquare(tg.ops.function.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_arrays
            return grad * x  # should be 2 x

    from tinygraph.ops.function import apply

    with pytest.raises(tg.GradcheckError, match=r"input 0 .*shape \(3,\)"):
        gradcheck(lambda x: apply(WrongSquare, x), Tensor(np.ones(3), requires_grad=True))
