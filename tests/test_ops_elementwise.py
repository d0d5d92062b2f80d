"""abs ... where, leaky_relu ... gelu, and masks: what the op table cannot say (kinks, ties, NaN, tails, PyTorch's
conventions) and the errors. Forward values and gradchecks over shapes are rows of tests/cases.py."""
import numpy as np
import pytest
from op_checks import assert_matches_torch, value_and_grads

import tinygraph as tg
from tinygraph import Tensor

NAN, INF = float("nan"), float("inf")


# ----- kinks, ties and NaN, with the gradients PyTorch gives ----------------------------------------------------

KINKS = {
    # name: (tinygraph, values, expected gradient of the sum)
    "abs at 0 and NaN": (tg.abs, [0.0, -2.0, 3.0, NAN], [0, -1, 1, 0]),
    "sqrt at 0": (tg.sqrt, [0.0, 4.0], [INF, 0.25]),
    "clip at the bounds": (lambda x: tg.clip(x, -1, 1), [-1.0, 1.0, 0.0, 2.0, -2.0, NAN], [1, 1, 1, 0, 0, 0]),
    "clip below only": (lambda x: tg.clip(x, min=0), [-1.0, 0.0, 1.0], [0, 1, 1]),
    "clip above only": (lambda x: tg.clip(x, max=0), [-1.0, 0.0, 1.0], [1, 1, 0]),
    "leaky_relu at 0": (lambda x: tg.leaky_relu(x, 0.1), [0.0, -1.0, 1.0], [0.1, 0.1, 1]),
    "elu at 0": (lambda x: tg.elu(x, 2.0), [0.0, 1.0], [2.0, 1.0]),
    "softplus far out": (tg.softplus, [-1000.0, 0.0, 1000.0], [0.0, 0.5, 1.0]),
    "gelu at 0": (tg.gelu, [0.0], [0.5]),
}


@pytest.mark.parametrize("name", KINKS)
def test_gradient_at_kinks(name):
    fn, values, expected = KINKS[name]
    with np.errstate(divide="ignore"):
        _, (grad,) = value_and_grads(fn, values)
    np.testing.assert_array_equal(grad, expected)


TORCH_KINKS = {
    "abs": (tg.abs, lambda t, x: t.abs(x), [[0.0, -2.0, 3.0]]),
    "clip": (lambda x: tg.clip(x, -1, 1), lambda t, x: t.clamp(x, -1, 1), [[-1.0, 1.0, 0.0, 2.0, -2.0, NAN]]),
    "maximum ties": (tg.maximum, lambda t, a, b: t.maximum(a, b), [[1.0, 2.0, 3.0], [1.0, 1.0, 3.0]]),
    "minimum ties": (tg.minimum, lambda t, a, b: t.minimum(a, b), [[1.0, 2.0, 3.0], [1.0, 1.0, 3.0]]),
    "leaky_relu": (lambda x: tg.leaky_relu(x, 0.1), lambda t, x: t.nn.functional.leaky_relu(x, 0.1),
                   [[0.0, -1.0, 1.0]]),
    "elu": (lambda x: tg.elu(x, 2.0), lambda t, x: t.nn.functional.elu(x, 2.0), [[0.0, -1.0, 1.0]]),
    "relu": (tg.relu, lambda t, x: t.relu(x), [[0.0, -1.0, 1.0]]),
    "clip with tensor bounds": (tg.clip, lambda t, x, lo, hi: t.clamp(x, lo, hi),
                                [[0.0, 5.0, -1.0, 1.0, 1.0, 3.0], [1.0, 1.0, -1.0, 2.0, 1.0, 2.0],
                                 [0.5, 2.0, 0.0, 1.0, 1.0, 1.0]]),
}


@pytest.mark.parametrize("name", TORCH_KINKS)
def test_kinks_match_torch(name):
    fn, torch_fn, arrays = TORCH_KINKS[name]
    torch = pytest.importorskip("torch")
    assert_matches_torch(fn, lambda *t: torch_fn(torch, *t), *arrays)


def test_maximum_sends_the_gradient_to_a_nan_operand():
    # PyTorch sends it to both operands; here only the NaN (the result) gets it, as max-pool sends it to a NaN.
    out, (ga, gb) = value_and_grads(tg.maximum, [NAN, 1.0, NAN], [0.0, NAN, NAN])
    assert np.isnan(out).all()
    np.testing.assert_array_equal(ga, [1, 0, 1])
    np.testing.assert_array_equal(gb, [0, 1, 1])
    _, (ga, gb) = value_and_grads(tg.minimum, [NAN, 1.0], [0.0, 2.0])
    np.testing.assert_array_equal(ga, [1, 1])
    np.testing.assert_array_equal(gb, [0, 0])


def test_clip_gradient_goes_to_exactly_one_input():
    # Bounds that cross (min > max give max, as NumPy and PyTorch) and meet (min == max).
    x, lo, hi = [0.0, 5.0, 1.0, 0.0, 1.0], [1.0, 1.0, 2.0, 1.0, 1.0], [0.5, 2.0, 1.0, 1.0, 1.0]
    out, grads = value_and_grads(tg.clip, x, lo, hi)
    np.testing.assert_array_equal(out, np.clip(x, lo, hi))
    np.testing.assert_array_equal(sum(grads), np.ones(5))
    np.testing.assert_array_equal(grads[1], [0, 0, 0, 1, 0])  # min == max > x: to min (PyTorch: to neither)
    np.testing.assert_array_equal(grads[2], [1, 1, 1, 0, 0])


def test_clip_keeps_integers_integers():
    out = tg.clip(Tensor(np.array([-3, 0, 7])), 0, 5)
    assert out.dtype == np.int64 and out.data.tolist() == [0, 0, 5]


def test_sign_has_no_gradient_and_keeps_nan():
    x = Tensor(np.array([-2.0, 0.0, 3.0, NAN]), requires_grad=True)
    s = tg.sign(x)
    assert not s.requires_grad and s.op is None
    np.testing.assert_array_equal(s.data, [-1, 0, 1, NAN])
    assert not x.sign().requires_grad


# ----- masks --------------------------------------------------------------------------------------------------------


def test_comparisons_are_masks():
    x = Tensor(np.array([-1.0, 0.5, 2.0, -3.0]), requires_grad=True)
    y = x[x > 0].sum() + tg.where(x > 0, x * x, 0.0).sum() + ((x < 0) * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [1, 2, 5, 1])


def test_masks_combine():
    x = Tensor(np.array([-1.0, 0.5, 2.0]))
    np.testing.assert_array_equal(((x > 0) & (x < 1)).data, [False, True, False])
    np.testing.assert_array_equal(((x < 0) | (x > 1)).data, [True, False, True])
    np.testing.assert_array_equal(((x > 0) ^ (x > 1)).data, [False, True, False])
    np.testing.assert_array_equal((~(x > 0)).data, [True, False, False])
    np.testing.assert_array_equal(((x > 0) & np.array([True, False, True])).data, [False, False, True])
    assert not ((x > 0) & (x < 1)).requires_grad


@pytest.mark.parametrize("expression", [lambda x: x & (x > 0), lambda x: ~x, lambda x: (x > 0) | 1.5],
                         ids=["float & mask", "~float", "mask | float"])
def test_masks_operators_refuse_floats(expression):
    with pytest.raises(TypeError, match="bool masks"):
        expression(Tensor(np.ones(3)))


def test_where_takes_a_bool_tensor_list_or_array():
    a, b = Tensor(np.array([1.0, 2.0])), Tensor(np.array([10.0, 20.0]))
    for condition in ([True, False], np.array([True, False]), Tensor(np.array([True, False]))):
        np.testing.assert_array_equal(tg.where(condition, a, b).data, [1.0, 20.0])


def test_where_numbers_take_the_tensor_dtype():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    assert tg.where(x > 0, x, 0.0).dtype == np.float32
    assert tg.where(x > 0, 2.5, x).dtype == np.float32


# ----- gelu and softplus: exact in the tails ---------------------------------------------------------------------


def test_gelu_is_exact_to_float64_precision():
    mpmath = pytest.importorskip("mpmath")  # comes with PyTorch (through sympy)
    mpmath.mp.dps = 40
    x = np.concatenate([np.linspace(-9, 9, 721), [-37.0, -20.0, 1e-300, 40.0]])
    exact = np.array([float(v * mpmath.ncdf(v)) for v in x])
    # Within a few ulp, plus the x**2 ulp that rounding x / sqrt(2) costs where Phi is steep in relative terms
    # (1 + erf, as in PyTorch's formula, loses everything there: gelu(-37) would be 0).
    error = np.abs(tg.gelu(Tensor(x)).data - exact) / np.abs(np.where(exact == 0, 1, exact))
    assert (error <= (x * x + 4) * np.finfo(float).eps).all()
    assert tg.gelu(Tensor(np.array(-37.0))).item() < 0


def test_gelu_matches_torch_in_both_forms(rng):
    torch = pytest.importorskip("torch")
    x = np.concatenate([rng.standard_normal(50) * 3, [0.0, -7.0, 7.0]])
    # PyTorch's 1 + erf(x / sqrt 2) is exact to 1e-16 absolute only, where Phi is small.
    assert_matches_torch(tg.gelu, torch.nn.functional.gelu, x, rtol=1e-13, atol=1e-14)
    assert_matches_torch(lambda t: tg.gelu(t, approximate="tanh"),
                         lambda t: torch.nn.functional.gelu(t, approximate="tanh"), x, rtol=1e-13, atol=1e-14)


def test_gelu_float32_and_integers():
    assert tg.gelu(Tensor(np.ones(3, np.float32))).dtype == np.float32
    out = tg.gelu(Tensor(np.array([1, 2])))
    assert out.dtype == np.float32  # integers give the default float (README, Semantics)
    np.testing.assert_allclose(out.data, [0.8413447460685429, 1.9544997361036416], rtol=1e-7)
    exact = tg.gelu(Tensor(np.array([1.0, 2.0])))
    np.testing.assert_allclose(exact.data, [0.8413447460685429, 1.9544997361036416], rtol=1e-15)


def test_softplus_is_stable_and_exact(rng):
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 25.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = tg.softplus(Tensor(x)).data
    np.testing.assert_allclose(out, np.logaddexp(0, x), rtol=1e-15)
    assert out[5] > 25.0  # exact, where PyTorch returns x above its threshold of 20


def test_softplus_matches_torch_below_its_threshold(rng):
    torch = pytest.importorskip("torch")
    x = rng.uniform(-13, 13, 40)  # beta * x below PyTorch's threshold of 20
    assert_matches_torch(lambda t: tg.softplus(t, beta=1.5), lambda t: torch.nn.functional.softplus(t, beta=1.5), x)


# ----- agreement with PyTorch on random inputs ------------------------------------------------------------------

TORCH_SAME = {
    "abs": (tg.abs, "abs", "real"), "sqrt": (tg.sqrt, "sqrt", "positive"), "sin": (tg.sin, "sin", "real"),
    "cos": (tg.cos, "cos", "real"), "log1p": (tg.log1p, "log1p", "positive"), "expm1": (tg.expm1, "expm1", "real"),
    "square": (tg.square, "square", "real"), "elu": (tg.elu, "nn.functional.elu", "real"),
    "leaky_relu": (tg.leaky_relu, "nn.functional.leaky_relu", "real"),
    "softplus": (tg.softplus, "nn.functional.softplus", "real"),
}


@pytest.mark.parametrize("name", TORCH_SAME)
def test_unary_matches_torch(name, rng):
    torch = pytest.importorskip("torch")
    fn, torch_name, domain = TORCH_SAME[name]
    torch_fn = torch
    for part in torch_name.split("."):
        torch_fn = getattr(torch_fn, part)
    x = rng.uniform(0.1, 3, (3, 4)) if domain == "positive" else rng.standard_normal((3, 4)) * 2
    assert_matches_torch(fn, torch_fn, x)


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((4,), (2, 4)), ((), (3,))], ids=str)
def test_binary_and_where_match_torch(shapes, rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    assert_matches_torch(tg.maximum, torch.maximum, a, b)
    assert_matches_torch(tg.minimum, torch.minimum, a, b)
    assert_matches_torch(lambda a, b: tg.where(a > b, a, b * 2), lambda a, b: torch.where(a > b, a, b * 2), a, b)
    assert_matches_torch(lambda x, lo: tg.clip(x, lo, 0.5), lambda x, lo: torch.clamp(x, lo, torch.tensor(0.5,
                         dtype=torch.float64)), a, b)


# ----- errors ---------------------------------------------------------------------------------------------------

ERRORS = [
    (lambda x: tg.clip(x), ValueError, r"clip: give min, max or both \(input shape \(2, 3\)\)"),
    (lambda x: tg.clip(x, "0", 1), TypeError, r"clip: min must be a number.*'0'"),
    (lambda x: tg.clip(x, 0, [True]), TypeError, r"clip: max must be a number"),
    (lambda x: tg.clip(x, np.zeros(4), 1), ValueError, r"clip: shapes \(2, 3\), \(4,\), \(\) do not broadcast"),
    (lambda x: tg.clip(x, np.zeros(3), np.zeros((2, 1, 2))), ValueError, r"clip: shapes .*\(2, 1, 2\) do not"),
    (lambda x: tg.maximum(x, np.ones(4)), ValueError, r"maximum: shapes \(2, 3\), \(4,\) do not broadcast"),
    (lambda x: tg.minimum(np.ones((3, 2)), x), ValueError, r"minimum: shapes \(3, 2\), \(2, 3\)"),
    (lambda x: tg.where(x, x, x), TypeError, r"where: the condition must be a bool mask.*float64.*c != 0"),
    (lambda x: tg.where(np.array([1, 0]), x, x), TypeError, r"where: .*int64"),
    (lambda x: tg.where(x > 0, x, np.ones(4)), ValueError, r"where: shapes \(2, 3\), \(2, 3\), \(4,\)"),
    (lambda x: tg.where(np.array([True, False]), x, x), ValueError, r"where: shapes \(2,\), \(2, 3\)"),
    (lambda x: tg.sign(x > 0), TypeError, r"sign: a bool tensor has no sign"),
    (lambda x: tg.leaky_relu(x, "0.1"), TypeError, r"leaky_relu: negative_slope must be a number"),
    (lambda x: tg.leaky_relu(x, float("nan")), ValueError, r"leaky_relu: negative_slope must be finite"),
    (lambda x: tg.elu(x, alpha=None), TypeError, r"elu: alpha must be a number"),
    (lambda x: tg.elu(x, alpha=True), TypeError, r"elu: alpha must be a number"),
    (lambda x: tg.softplus(x, beta=0), ValueError, r"softplus: beta must be positive, got 0.0"),
    (lambda x: tg.softplus(x, beta="1"), TypeError, r"softplus: beta must be a number"),
    (lambda x: tg.gelu(x, approximate="erf"), ValueError, r'gelu: approximate must be "none".*"tanh"'),
    (lambda x: tg.gelu(x, approximate=True), ValueError, r"gelu: approximate must be"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(ones, call, error, message):
    with pytest.raises(error, match=message):
        call(ones(2, 3))
