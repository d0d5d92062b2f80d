"""Forward values of every op against plain NumPy, and the dtype rules."""
import numpy as np
import pytest
from cases import MATMUL_SHAPES

import tinygraph as tg
from tinygraph import Tensor

# An overflow or a division by zero inside a stable op is a bug, not a warning.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

BROADCAST_PAIRS = [((3,), (3,)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (4,)), ((), (2, 3)), ((2, 3), ())]


def data(rng, shape, positive=False):
    x = rng.uniform(0.5, 2.0, shape) if positive else rng.standard_normal(shape)
    return np.asarray(x)


# ----- arithmetic ----------------------------------------------------------------------------------------------

BINARY = {
    "add": (tg.add, np.add, lambda a, b: a + b),
    "sub": (tg.sub, np.subtract, lambda a, b: a - b),
    "mul": (tg.mul, np.multiply, lambda a, b: a * b),
    "div": (tg.div, np.divide, lambda a, b: a / b),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_matches_numpy(rng, name, shapes):
    fn, reference, operator = BINARY[name]
    a, b = data(rng, shapes[0]), data(rng, shapes[1], positive=True)
    expected = reference(a, b)
    np.testing.assert_allclose(fn(Tensor(a), Tensor(b)).data, expected, rtol=1e-12)
    np.testing.assert_allclose(operator(Tensor(a), Tensor(b)).data, expected, rtol=1e-12)
    assert fn(Tensor(a), Tensor(b)).shape == np.shape(expected)


def test_neg(rng):
    a = data(rng, (2, 3))
    np.testing.assert_array_equal(tg.neg(Tensor(a)).data, -a)
    np.testing.assert_array_equal((-Tensor(a)).data, -a)


@pytest.mark.parametrize("exponent", [2, 3, 0, 1, -1, 0.5, 2.0, -1.5])
def test_pow_number(rng, exponent):
    a = data(rng, (2, 3), positive=True)
    np.testing.assert_allclose(tg.pow(Tensor(a), exponent).data, a**exponent, rtol=1e-12)
    np.testing.assert_allclose((Tensor(a) ** exponent).data, a**exponent, rtol=1e-12)


def test_pow_negative_base_integer_exponent():
    a = np.array([-2.0, -1.0, 3.0])
    np.testing.assert_array_equal((Tensor(a) ** 3).data, a**3)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), ())], ids=str)
def test_pow_tensor_exponent(rng, shapes):
    a, e = data(rng, shapes[0], positive=True), data(rng, shapes[1])
    np.testing.assert_allclose((Tensor(a) ** Tensor(e)).data, a**e, rtol=1e-12)
    np.testing.assert_allclose(tg.pow(Tensor(a), Tensor(e)).data, a**e, rtol=1e-12)


def test_rpow_number_base(rng):
    e = data(rng, (4,))
    np.testing.assert_allclose((2.0 ** Tensor(e)).data, 2.0**e, rtol=1e-12)




@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_matches_numpy(rng, shapes):
    a, b = data(rng, shapes[0]), data(rng, shapes[1])
    expected = np.matmul(a, b)
    out = tg.matmul(Tensor(a), Tensor(b))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, expected, rtol=1e-12)


# ----- reductions ------------------------------------------------------------------------------------------------

AXES = [None, 0, 1, -1, -2, (0, 2), (-1, 0), (0, 1, 2), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_match_numpy(rng, name, axis, keepdims):
    x = data(rng, (2, 3, 4))
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    out = getattr(tg, name)(Tensor(x), axis=axis, keepdims=keepdims)
    method = getattr(Tensor(x), name)(axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    np.testing.assert_allclose(method.data, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_of_a_scalar(name):
    out = getattr(tg, name)(Tensor(np.float64(3.5)))
    assert out.shape == () and out.item() == 3.5


# ----- elementwise functions ---------------------------------------------------------------------------------

UNARY = {
    "exp": (tg.exp, np.exp, False),
    "log": (tg.log, np.log, True),
    "tanh": (tg.tanh, np.tanh, False),
    "relu": (tg.relu, lambda x: np.maximum(x, 0), False),
    "sigmoid": (tg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), False),
}


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_numpy(rng, name, shape):
    fn, reference, positive = UNARY[name]
    x = data(rng, shape, positive)
    np.testing.assert_allclose(fn(Tensor(x)).data, reference(x), rtol=1e-12)
    np.testing.assert_allclose(getattr(Tensor(x), name)().data, reference(x), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_large_inputs_do_not_overflow(dtype):
    x = np.array([-1e30, -1000.0, -100.0, 0.0, 100.0, 1000.0, 1e30], dtype=dtype)
    out = tg.sigmoid(Tensor(x)).data
    assert out.dtype == dtype
    np.testing.assert_allclose(out, [0, 0, 0, 0.5, 1, 1, 1], atol=1e-30)
    assert np.all(np.isfinite(out))


def reference_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_softmax_and_log_softmax_match_numpy(rng, axis):
    x = data(rng, (3, 4, 5))
    expected = reference_log_softmax(x, axis)
    np.testing.assert_allclose(tg.log_softmax(Tensor(x), axis=axis).data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tg.softmax(Tensor(x), axis=axis).data, np.exp(expected), rtol=1e-12)
    np.testing.assert_allclose(tg.softmax(Tensor(x), axis=axis).data.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_stable_for_large_inputs(dtype):
    x = np.array([[1000.0, 1000.0], [1000.0, -1000.0], [-1000.0, -1000.0]], dtype=dtype)
    np.testing.assert_allclose(tg.softmax(Tensor(x)).data, [[0.5, 0.5], [1, 0], [0.5, 0.5]])
    log_probs = tg.log_softmax(Tensor(x)).data
    assert log_probs.dtype == dtype
    np.testing.assert_allclose(log_probs, [[-np.log(2)] * 2, [0, -2000], [-np.log(2)] * 2], rtol=1e-6)


# ----- shape ops ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 6), (-1,), (2, -1), (-1, 3, 2), (24,), (1, 24, 1)], ids=str)
def test_reshape(rng, shape):
    x = data(rng, (2, 3, 4))
    np.testing.assert_array_equal(tg.reshape(Tensor(x), shape).data, x.reshape(shape))
    np.testing.assert_array_equal(Tensor(x).reshape(*shape).data, x.reshape(shape))
    np.testing.assert_array_equal(Tensor(x).reshape(shape).data, x.reshape(shape))


FLATTENED = [(0, (24,)), (1, (2, 12)), (2, (2, 3, 4)), (-1, (2, 3, 4)), (-2, (2, 12))]


@pytest.mark.parametrize("start_axis,expected", FLATTENED)
def test_flatten(rng, start_axis, expected):
    x = data(rng, (2, 3, 4))
    out = tg.flatten(Tensor(x), start_axis=start_axis)
    assert out.shape == expected
    np.testing.assert_array_equal(out.data, x.reshape(expected))
    assert Tensor(x).flatten(start_axis).shape == expected


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, -2)], ids=str)
def test_transpose(rng, axes):
    x = data(rng, (2, 3, 4))
    np.testing.assert_array_equal(tg.transpose(Tensor(x), axes).data, np.transpose(x, axes))
    np.testing.assert_array_equal(Tensor(x).transpose(axes).data, np.transpose(x, axes))
    if axes is not None:
        np.testing.assert_array_equal(Tensor(x).transpose(*axes).data, np.transpose(x, axes))


def test_transpose_property_T(rng):
    x = data(rng, (2, 3, 4))
    np.testing.assert_array_equal(Tensor(x).T.data, x.T)
    np.testing.assert_array_equal(Tensor(x).transpose().data, x.T)


@pytest.mark.parametrize("pad_width", [1, (1, 2), ((1, 2), (0, 3)), ((0, 0), (2, 0))], ids=str)
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_pad(rng, pad_width, value):
    x = data(rng, (2, 3))
    expected = np.pad(x, pad_width, mode="constant", constant_values=value)
    np.testing.assert_array_equal(tg.pad(Tensor(x), pad_width, value=value).data, expected)
    np.testing.assert_array_equal(Tensor(x).pad(pad_width, value).data, expected)


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": (slice(1, None), slice(None, 3)),
    "negative step": (slice(None, None, -1), slice(None, None, -2)),
    "step and negative bounds": (slice(-2, None), slice(-1, 0, -2)),
    "ellipsis and newaxis": (Ellipsis, None, 1),
    "int array with repeats": np.array([0, 2, 0, 0]),
    "list with repeats": [1, 1, 2],
    "two int arrays": (np.array([0, 1, 1]), np.array([3, 3, 0])),
    "int array and slice": (slice(None), np.array([4, 0, 4])),
    "boolean mask (rows)": np.array([True, False, True]),
    "boolean mask (all)": "mask",
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem(rng, name):
    x = data(rng, (3, 5))
    index = x > 0 if name == "boolean mask (all)" else INDICES[name]
    np.testing.assert_array_equal(tg.getitem(Tensor(x), index).data, x[index])
    np.testing.assert_array_equal(Tensor(x)[index].data, x[index])


def test_getitem_with_tensor_index(rng):
    x = data(rng, (3, 5))
    np.testing.assert_array_equal(Tensor(x)[Tensor(x) > 0].data, x[x > 0])
    np.testing.assert_array_equal(Tensor(x)[Tensor(np.array([2, 2]))].data, x[[2, 2]])


# ----- losses --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_numpy(rng, with_bias):
    x, w, b = data(rng, (5, 4)), data(rng, (4, 3)), data(rng, (3,))
    expected = x @ w + b if with_bias else x @ w
    out = tg.linear(Tensor(x), Tensor(w), Tensor(b) if with_bias else None)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    out32 = tg.linear(Tensor(x.astype(np.float32)), Tensor(w.astype(np.float32)), b.astype(np.float32))
    assert out32.dtype == np.float32


@pytest.mark.parametrize("x_shape, w_shape, b_shape, message", [
    ((5, 4), (3, 3), (3,), r"linear: x has 4 features but w expects 3 \(x \(5, 4\), w \(3, 3\), b \(3,\)\)"),
    ((5, 4, 1), (4, 3), (3,), r"linear: x must be \(N, in\) and w \(in, out\)"),
    ((5, 4), (4, 3), (4,), r"linear: b must have shape \(3,\)"),
])
def test_linear_errors(x_shape, w_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        tg.linear(np.ones(x_shape), np.ones(w_shape), np.ones(b_shape))


@pytest.mark.parametrize("shape", [(), (4,), (3, 2)], ids=str)
def test_mse(rng, shape):
    pred, target = data(rng, shape), data(rng, shape)
    out = tg.mse(Tensor(pred), Tensor(target))
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), np.mean((pred - target) ** 2), rtol=1e-12)
    np.testing.assert_allclose(tg.mse(Tensor(pred), target).item(), np.mean((pred - target) ** 2), rtol=1e-12)


def reference_cross_entropy(logits, labels):
    return -np.mean(reference_log_softmax(logits, -1)[np.arange(len(labels)), labels])


def test_cross_entropy_labels_and_one_hot(rng):
    logits, labels = data(rng, (6, 4)), rng.integers(0, 4, 6)
    expected = reference_cross_entropy(logits, labels)
    one_hot = np.eye(4)[labels]
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), labels).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), Tensor(labels)).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), one_hot).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(Tensor(logits).cross_entropy(one_hot).item(), expected, rtol=1e-12)


def test_cross_entropy_soft_targets(rng):
    logits, target = data(rng, (5, 3)), rng.dirichlet(np.ones(3), 5)
    expected = -np.mean((target * reference_log_softmax(logits, -1)).sum(-1))
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), target).item(), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=dtype)
    labels = np.array([1, 2])
    expected = (1e4 + np.log(2)) / 2  # row 0 loses by 1e4, row 1 splits evenly between two classes
    for target in (labels, np.eye(3)[labels]):
        out = tg.cross_entropy(Tensor(logits), target)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.item(), expected, rtol=1e-6)


def test_cross_entropy_single_sample_1d_logits(rng):
    logits = data(rng, (4,))
    expected = reference_cross_entropy(logits[None], np.array([2]))
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), 2).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(tg.cross_entropy(Tensor(logits), np.eye(4)[2]).item(), expected, rtol=1e-12)


# ----- dtype rules -------------------------------------------------------------------------------------------

# Every op, with Python floats, float64 NumPy scalars and float64 constant arrays as the other operand.
FLOAT32_EXPRESSIONS = {
    "x * 2.0": lambda x: x * 2.0,
    "2.0 * x": lambda x: 2.0 * x,
    "x + np.float64(1)": lambda x: x + np.float64(1),
    "np.float64(1) + x": lambda x: np.float64(1) + x,
    "2.0 - x": lambda x: 2.0 - x,
    "x - 0.5": lambda x: x - 0.5,
    "x / np.ones(3)": lambda x: x / np.ones(3),
    "np.ones(3) / (x*x+1)": lambda x: np.ones(3) / (x * x + 1),
    "np.ones(3) + x": lambda x: np.ones(3) + x,
    "np.ones(3) * x": lambda x: np.ones(3) * x,
    "np.ones(3) - x": lambda x: np.ones(3) - x,
    "x * np.ones((2, 3))": lambda x: x * np.ones((2, 3)),
    "-x": lambda x: -x,
    "x ** 2": lambda x: x**2,
    "x ** 0.5": lambda x: (x * x) ** 0.5,
    "x ** np.float64(1.5)": lambda x: (x * x + 1) ** np.float64(1.5),
    "2.0 ** x": lambda x: 2.0**x,
    "(x*x+1) ** Tensor(2.0)": lambda x: (x * x + 1) ** Tensor(np.float32(2.0)),
    "x @ np.ones(3)": lambda x: x @ np.ones(3),
    "np.ones((4, 3)) @ x": lambda x: np.ones((4, 3)) @ x,
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(axis=0),
    "max": lambda x: x.max(),
    "exp": tg.exp,
    "log": lambda x: tg.log(x * x + 1),
    "tanh": tg.tanh,
    "relu": tg.relu,
    "sigmoid": tg.sigmoid,
    "softmax": tg.softmax,
    "log_softmax": lambda x: tg.log_softmax(x, axis=0),
    "reshape": lambda x: x.reshape(3, 1),
    "flatten": tg.flatten,
    "transpose": lambda x: x.reshape(1, 3).T,
    "pad": lambda x: tg.pad(x, 1, value=np.float64(2.5)),
    "getitem": lambda x: x[np.array([0, 0, 2])],
    "mse with float64 target": lambda x: tg.mse(x, np.ones(3)),
    "cross_entropy labels": lambda x: tg.cross_entropy(x.reshape(1, 3), np.array([1])),
    "cross_entropy float64 one-hot": lambda x: tg.cross_entropy(x.reshape(1, 3), np.eye(3)[1:2]),
}


@pytest.mark.parametrize("name", FLOAT32_EXPRESSIONS)
def test_float32_stays_float32_forward_and_backward(name):
    x = Tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = FLOAT32_EXPRESSIONS[name](x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", FLOAT32_EXPRESSIONS)
def test_float64_stays_float64(name):
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    out = FLOAT32_EXPRESSIONS[name](x)
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float64


def test_constructor_dtypes():
    assert Tensor(np.ones(2, np.float16)).dtype == np.float32
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.ones(2)).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert Tensor(np.arange(3, dtype=np.uint8)).dtype == np.uint8
    assert Tensor(np.array([True, False])).dtype == np.bool_
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_integer_and_bool_data_stay_and_cannot_require_grad():
    ints = Tensor(np.arange(4))
    assert (ints + 1).dtype.kind == "i"
    assert (ints * ints).dtype.kind == "i"
    assert ints.sum().dtype.kind == "i"
    assert ints.reshape(2, 2).dtype.kind == "i"
    assert ints[np.array([1, 1])].dtype.kind == "i"
    assert not (ints + 1).requires_grad
    flags = Tensor(np.array([True, False]))
    assert flags.reshape(2, 1).dtype == np.bool_
    for t in (ints, flags):
        with pytest.raises(TypeError, match="requires_grad"):
            t.requires_grad_()
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor(np.arange(3), requires_grad=True)


def test_mixing_float32_with_a_float64_tensor_promotes_like_numpy():
    out = Tensor(np.ones(2, np.float32)) + Tensor(np.ones(2))
    assert out.dtype == np.float64
