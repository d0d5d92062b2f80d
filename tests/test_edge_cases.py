"""Edge cases that once gave a silently wrong value or gradient."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, gradcheck


def test_gradcheck_reaches_non_contiguous_inputs():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)).T, requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(), x)


@pytest.mark.parametrize("index", [((0, 0),), [0, 0], (np.array([0, 0]),)], ids=str)
def test_repeated_indices_in_any_form_add_up(index):
    x = Tensor(np.arange(3.0), requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])


def test_changing_an_index_array_after_use_does_not_change_the_gradient():
    x = Tensor(np.zeros(4), requires_grad=True)
    index = np.array([0, 1])
    y = x[index]
    index[:] = 3
    (y * Tensor(np.array([1.0, 2.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 0.0, 0.0])


def test_cross_entropy_with_rows_that_do_not_sum_to_one():
    logits = Tensor(np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0], [0.2, 0.1, 0.0]]), requires_grad=True)
    target = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.3, 0.3, 0.4]])
    assert gradcheck(lambda z: tg.cross_entropy(z, target), logits)


def test_losses_of_integer_tensors_are_floats():
    assert tg.mse(Tensor([1, 2]), Tensor([2, 4])).item() == pytest.approx(2.5)
    assert tg.cross_entropy(Tensor([[1, 2, 3]]), [2]).item() == pytest.approx(0.40760596)


def test_sigmoid_keeps_its_accuracy_for_large_negative_inputs():
    x = np.array([-40.0, -20.0, -17.0, 0.0, 17.0, 40.0])
    expected = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(tg.sigmoid(Tensor(x.astype(np.float32))).data, expected, rtol=1e-6)
    t = Tensor(np.float32([-20.0]), requires_grad=True)
    tg.log(tg.sigmoid(t)).sum().backward()
    np.testing.assert_allclose(t.grad, [1.0], rtol=1e-6)


def test_pow_with_a_tensor_exponent_at_zero_and_negative_bases():
    assert ((-2.0) ** Tensor(2.0)).item() == 4.0
    base, exponent = Tensor(np.float64(0.0), requires_grad=True), Tensor(2.0, requires_grad=True)
    (base**exponent).backward()
    assert base.grad == 0.0 and exponent.grad == 0.0
    a = Tensor(np.array([-1.5, 2.0, 0.7]), requires_grad=True)
    e = Tensor(np.array([2.0, 3.0, -1.0]))
    assert gradcheck(lambda a: a**e, a)


def test_linear_with_a_float64_bias_keeps_float64():
    x, w = np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)
    assert tg.linear(x, w, np.zeros(2)).dtype == np.float64


def test_mean_over_an_empty_axis_is_nan_as_in_numpy():
    assert np.isnan(tg.mean(Tensor(np.zeros((0, 3))), axis=0).data).all()


@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.max([1.0, 2.0]), None, None),
    (lambda: tg.sum(Tensor(np.ones((2, 3))), axis=True), TypeError, "axis must be an int"),
    (lambda: tg.reshape(Tensor(np.ones(4)), (2.5, 2)), TypeError, "reshape: the shape must be a tuple of ints"),
    (lambda: tg.pad(Tensor(np.ones((2, 3))), ((1, 1), (1, 1), (1, 1))), ValueError, r"pad: pad_width must be"),
    (lambda: tg.pad(Tensor(np.ones(3)), 1.5), ValueError, "pad: pad_width must be"),
    (lambda: tg.transpose(Tensor(np.ones((2, 3))), (1.5, 0)), TypeError, "transpose: axes must be ints"),
    (lambda: tg.correlate(np.ones((1, 4, 4, 1)), np.ones((0, 3, 3, 1))), ValueError, "at least one filter"),
    (lambda: Tensor(np.ones(2), dtype=np.float16), TypeError, "dtype float16 is not supported"),
    (lambda: (Tensor(np.ones(2), requires_grad=True) * 2).requires_grad_(False), ValueError, "only a leaf"),
    (lambda: Tensor(np.ones(2)).__array__(np.float32, copy=False), ValueError, "without a copy"),
])
def test_clear_errors_for_odd_arguments(call, error, message):
    if error is None:
        assert call().item() == 2.0
        return
    with pytest.raises(error, match=message):
        call()
