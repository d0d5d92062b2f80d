"""sum, mean, max: what the op table cannot say (ties, scalars, empty axes) and errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_of_a_scalar_are_exact(name):
    out = getattr(tg, name)(Tensor(np.float64(3.5)))
    assert out.shape == () and out.item() == 3.5


def test_mean_over_an_empty_axis_is_nan_as_in_numpy():
    assert np.isnan(tg.mean(Tensor(np.zeros((0, 3))), axis=0).data).all()


def test_max_of_a_list():
    assert tg.max([1.0, 2.0]).item() == 2.0


MAX_TIES = [
    # (data, axis, keepdims, expected gradient of sum(max)): only the first maximum of each group gets it
    # (axis=None shares it among ties: tests/test_ops_reduce_more.py)
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], 1, False, [[0, 1, 0], [1, 0, 0]]),
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], -1, True, [[0, 1, 0], [1, 0, 0]]),
    ([[1.0, 3.0, 3.0], [1.0, 3.0, 0.0]], 0, False, [[1, 1, 1], [0, 0, 0]]),
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


# ----- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [2, -3, (0, 5)], ids=str)
def test_bad_axis(ones, name, axis):
    with pytest.raises(ValueError, match=rf"{name}: axis -?\d+ is out of range.*\(2, 3\)"):
        getattr(tg, name)(ones(2, 3), axis=axis)


def test_repeated_axis(ones):
    with pytest.raises(ValueError, match=r"sum: .*repeats.*\(2, 3\)"):
        tg.sum(ones(2, 3), axis=(1, -1))


def test_non_integer_axis(ones):
    with pytest.raises(TypeError, match=r"sum: axis must be an int"):
        tg.sum(ones(2, 3), axis=1.5)


def test_bool_axis():
    with pytest.raises(TypeError, match="axis must be an int"):
        tg.sum(Tensor(np.ones((2, 3))), axis=True)


def test_max_of_empty():
    with pytest.raises(ValueError, match=r"max: .*empty.*\(0, 3\)"):
        tg.max(Tensor(np.ones((0, 3))))
