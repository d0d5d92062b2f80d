"""min, prod, var, std, logsumexp, argmax, argmin and max over the whole tensor: what the op table cannot say
(ties, zeros, -inf groups, NaN, empty tensors, PyTorch's conventions) and the errors."""
import numpy as np
import pytest
from op_checks import assert_matches_torch, value_and_grads

import tinygraph as tg
from tinygraph import Tensor

NAN, INF = float("nan"), float("inf")


# ----- max and min: ties ------------------------------------------------------------------------------------------

WHOLE_TIES = [
    # (values, expected gradient of max(x)): over the whole tensor, every maximum gets an equal share
    ([[5.0, 1.0, 5.0], [5.0, 5.0, 0.0]], [[0.25, 0, 0.25], [0.25, 0.25, 0]]),
    ([7.0, 7.0, 7.0], [1 / 3, 1 / 3, 1 / 3]),
    ([1.0, NAN, 3.0, NAN], [0, 0.5, 0, 0.5]),  # a NaN maximum: the NaNs share it
    (3.0, 1.0),
]


@pytest.mark.parametrize("values, expected", WHOLE_TIES, ids=[str(c[0]) for c in WHOLE_TIES])
def test_whole_tensor_max_and_min_share_ties(values, expected):
    _, (grad,) = value_and_grads(tg.max, values)
    np.testing.assert_allclose(grad, expected, rtol=1e-15)
    _, (grad,) = value_and_grads(lambda x: tg.min(-x), values)
    np.testing.assert_allclose(grad, -np.asarray(expected), rtol=1e-15)


def test_axis_reductions_send_ties_to_the_first():
    x = [[1.0, 1.0, 3.0], [2.0, 0.0, 0.0]]
    _, (grad,) = value_and_grads(lambda t: tg.min(t, axis=1), x)
    np.testing.assert_array_equal(grad, [[1, 0, 0], [0, 1, 0]])
    _, (grad,) = value_and_grads(lambda t: tg.max(t, axis=(0, 1)), [[2.0, 2.0]])  # every axis named: still first
    np.testing.assert_array_equal(grad, [[1, 0]])


@pytest.mark.parametrize("values", [[[1.0, 3.0], [3.0, 2.0]], [[1.0, 1.0], [3.0, 2.0]], [[NAN, 1.0], [2.0, NAN]]])
def test_max_and_min_match_torch(values):
    torch = pytest.importorskip("torch")
    assert_matches_torch(tg.max, torch.max, values)
    assert_matches_torch(tg.min, torch.min, values)
    assert_matches_torch(lambda x: tg.max(x, axis=1), lambda x: torch.max(x, dim=1).values, values)
    assert_matches_torch(lambda x: tg.min(x, axis=0), lambda x: torch.min(x, dim=0).values, values)


def test_max_and_min_over_non_empty_groups_of_an_empty_tensor():
    assert tg.max(Tensor(np.zeros((0, 3))), axis=1).shape == (0,)
    assert tg.min(Tensor(np.zeros((2, 0, 3))), axis=(0, 2), keepdims=True).shape == (1, 0, 1)


# ----- prod -----------------------------------------------------------------------------------------------------

PROD_ZEROS = [
    # (values, axis, expected gradient of the sum of prod)
    ([2.0, 0.0, 3.0], None, [0, 6, 0]),  # one zero: only it gets the product of the others
    ([2.0, 0.0, 0.0], None, [0, 0, 0]),  # two zeros: no gradient at all
    ([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]], 1, [[0, 6, 0], [0, 0, 0], [6, 3, 2]]),
    ([[0.0, 4.0], [5.0, 0.0]], 0, [[5, 0], [0, 4]]),
    ([0.0], None, [1]),
]


@pytest.mark.parametrize("values, axis, expected", PROD_ZEROS, ids=[str(c[:2]) for c in PROD_ZEROS])
def test_prod_with_zeros(values, axis, expected):
    _, (grad,) = value_and_grads(lambda x: tg.prod(x, axis=axis), values)
    np.testing.assert_array_equal(grad, expected)


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0], [2.0, 0.0, 0.0], [[1.5, -2.0], [0.0, 4.0]], [1.0, NAN, 2.0]])
def test_prod_matches_torch(values):
    torch = pytest.importorskip("torch")
    assert_matches_torch(tg.prod, torch.prod, values)
    if np.ndim(values) == 2:
        assert_matches_torch(lambda x: tg.prod(x, axis=0), lambda x: torch.prod(x, dim=0), values)


def test_prod_of_nothing_is_one():
    np.testing.assert_array_equal(tg.prod(Tensor(np.zeros((0, 3))), axis=0).data, [1, 1, 1])
    assert tg.prod(Tensor(np.zeros((0, 3)))).item() == 1.0


# ----- var and std ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
def test_var_and_std_match_torch(rng, axis, ddof):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5))
    dim = None if axis is None else axis
    assert_matches_torch(lambda t: tg.var(t, axis=axis, ddof=ddof), lambda t: torch.var(t, dim=dim, correction=ddof), x)
    assert_matches_torch(lambda t: tg.std(t, axis=axis, ddof=ddof, keepdims=True),
                         lambda t: torch.std(t, dim=dim, correction=ddof, keepdim=True), x)


def test_std_of_a_constant_has_gradient_zero_as_in_torch():
    torch = pytest.importorskip("torch")
    assert_matches_torch(lambda t: tg.std(t, axis=1, ddof=1), lambda t: torch.std(t, dim=1), [[2.0, 2.0, 2.0],
                                                                                                [1.0, 2.0, 4.0]])


def test_var_without_degrees_of_freedom_warns_as_numpy(rng):
    x = rng.standard_normal(3)
    with pytest.warns(RuntimeWarning, match=r"var: degrees of freedom <= 0 \(N = 3, ddof = 3\)"):
        assert tg.var(Tensor(x), ddof=3).item() == np.inf
    with pytest.warns(RuntimeWarning, match="std: degrees of freedom"):
        assert np.isnan(tg.std(Tensor(np.ones(1)), ddof=1).item())


def test_var_of_float32_stays_float32_and_accurate(rng):
    x = (rng.standard_normal(10000) + 1000).astype(np.float32)
    out = tg.var(Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.item(), np.var(x.astype(np.float64)), rtol=1e-3)


# ----- logsumexp --------------------------------------------------------------------------------------------------

LOGSUMEXP_CASES = [
    # (rows, expected value per row): -inf rows, +inf, huge values, NaN
    ([[-INF, -INF], [0.0, -INF]], [-INF, 0.0]),
    ([[1000.0, 1000.0], [-1000.0, -1000.0]], [1000 + np.log(2), -1000 + np.log(2)]),
    ([[INF, 1.0], [INF, -INF]], [INF, INF]),
    ([[NAN, 1.0], [1.0, 2.0]], [NAN, 2 + np.log1p(np.exp(-1))]),
]


@pytest.mark.parametrize("rows, expected", LOGSUMEXP_CASES, ids=[str(c[0]) for c in LOGSUMEXP_CASES])
def test_logsumexp_is_stable(rows, expected):
    with np.errstate(over="raise"):
        out = tg.logsumexp(Tensor(np.array(rows)), axis=1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-15)


@pytest.mark.parametrize("rows", [c[0] for c in LOGSUMEXP_CASES[:3]] + [[[0.5, -1.0, 2.0]]], ids=str)
def test_logsumexp_matches_torch_including_inf_rows(rows):
    torch = pytest.importorskip("torch")
    # An all -inf row: value -inf and gradient NaN, as PyTorch.
    assert_matches_torch(lambda x: tg.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, dim=1), rows)
    assert_matches_torch(lambda x: tg.logsumexp(x, axis=-1, keepdims=True),
                         lambda x: torch.logsumexp(x, dim=-1, keepdim=True), rows)


def test_logsumexp_of_nothing_is_minus_inf():
    np.testing.assert_array_equal(tg.logsumexp(Tensor(np.zeros((2, 0))), axis=1).data, [-INF, -INF])
    assert tg.logsumexp(Tensor(np.zeros((0, 3))), axis=0).shape == (3,)


def test_logsumexp_gradient_is_softmax(rng):
    x = rng.standard_normal((3, 4)) * 30
    _, (grad,) = value_and_grads(lambda t: tg.logsumexp(t, axis=1), x)
    np.testing.assert_allclose(grad, tg.softmax(Tensor(x), axis=1).data, rtol=1e-13, atol=1e-300)


# ----- argmax and argmin ------------------------------------------------------------------------------------------

ARG_CASES = [
    ([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], None, False),
    ([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], 1, False),
    ([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], -2, True),
    ([[1.0, NAN, 3.0], [NAN, 0.0, NAN]], 1, False),
    (4.0, None, False),
]


@pytest.mark.parametrize("values, axis, keepdims", ARG_CASES, ids=[str(c) for c in ARG_CASES])
def test_argmax_and_argmin_as_numpy(values, axis, keepdims):
    x = Tensor(np.array(values), requires_grad=True)
    for name in ("argmax", "argmin"):
        expected = getattr(np, name)(np.array(values), axis=axis, keepdims=keepdims)
        for out in (getattr(tg, name)(x, axis=axis, keepdims=keepdims), getattr(x, name)(axis, keepdims)):
            assert out.dtype == np.int64 and not out.requires_grad and out.op is None
            np.testing.assert_array_equal(out.data, expected)


# ----- errors ---------------------------------------------------------------------------------------------------

ERRORS = [
    (lambda x: tg.min(x, axis=2), ValueError, r"min: axis 2 is out of range.*\(2, 3\)"),
    (lambda x: tg.min(x, axis=(0, 0)), ValueError, r"min: axis \(0, 0\) repeats"),
    (lambda x: tg.min(x[:0]), ValueError, r"min: cannot reduce over an empty axis \(input shape \(0, 3\)"),
    (lambda x: tg.max(x[:, :0], axis=1), ValueError, r"max: cannot reduce over an empty axis"),
    (lambda x: tg.prod(x, axis=1.0), TypeError, r"prod: axis must be an int"),
    (lambda x: tg.logsumexp(x, axis=-3), ValueError, r"logsumexp: axis -3 is out of range"),
    (lambda x: tg.var(x, ddof="1"), TypeError, r"var: ddof must be a number, got '1'"),
    (lambda x: tg.var(x, ddof=None), TypeError, r"var: ddof must be a number"),
    (lambda x: tg.std(x, ddof=np.inf), ValueError, r"std: ddof must be finite"),
    (lambda x: tg.std(x, axis=5), ValueError, r"std: axis 5 is out of range"),
    (lambda x: tg.argmax(x, axis=(0, 1)), TypeError, r"argmax: axis must be one int"),
    (lambda x: tg.argmin(x, axis=2), ValueError, r"argmin: axis 2 is out of range"),
    (lambda x: tg.argmax(x[:0]), ValueError, r"argmax: cannot reduce over an empty axis"),
    (lambda x: tg.argmin(x[:0], axis=0), ValueError, r"argmin: cannot reduce over an empty axis"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(ones, call, error, message):
    with pytest.raises(error, match=message):
        call(ones(2, 3))
