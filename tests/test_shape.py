"""reshape, flatten, transpose, pad, getitem: what the op table cannot say (stated shapes, Tensor and repeated
indices, index arrays changed after use) and errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor

FLATTENED = [(0, (24,)), (1, (2, 12)), (2, (2, 3, 4)), (-1, (2, 3, 4)), (-2, (2, 12))]


@pytest.mark.parametrize("start_axis,expected", FLATTENED)
def test_flatten_gives_the_stated_shape(rng, start_axis, expected):
    x = rng.standard_normal((2, 3, 4))
    out = tg.flatten(Tensor(x), start_axis=start_axis)
    assert out.shape == expected
    np.testing.assert_array_equal(out.data, x.reshape(expected))
    assert Tensor(x).flatten(start_axis).shape == expected


def test_getitem_with_tensor_index(rng):
    x = rng.standard_normal((3, 5))
    np.testing.assert_array_equal(Tensor(x)[Tensor(x) > 0].data, x[x > 0])
    np.testing.assert_array_equal(Tensor(x)[Tensor(np.array([2, 2]))].data, x[[2, 2]])


def test_getitem_repeats_add_up():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([1, 1, 3, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 3, 0, 1])


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


# ----- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4,), (5, -1), (-1, -1)], ids=str)
def test_reshape_to_an_incompatible_shape(ones, shape):
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\)"):
        ones(2, 3).reshape(shape)


@pytest.mark.parametrize("x, shape", [(Tensor(np.ones((2, 3)), requires_grad=True), ("a", 3)),
                                      (Tensor(np.ones(4)), (2.5, 2))], ids=["str", "float"])
def test_reshape_to_a_non_shape(x, shape):
    with pytest.raises(TypeError, match="reshape: the shape must be a tuple of ints"):
        tg.reshape(x, shape)


def test_transpose_bad_axes(ones):
    with pytest.raises(ValueError, match=r"transpose: .*\(2, 3\)"):
        tg.transpose(ones(2, 3), (0, 0))


def test_transpose_non_integer_axes():
    with pytest.raises(TypeError, match="transpose: axes must be ints"):
        tg.transpose(Tensor(np.ones((2, 3))), (1.5, 0))


def test_flatten_bad_start_axis(ones):
    with pytest.raises(ValueError, match=r"flatten: start_axis 3 .*\(2, 3\)"):
        tg.flatten(ones(2, 3), 3)


def test_pad_cropping_more_than_the_axis(ones):
    # A negative width crops (tests/test_ops_shape_more.py); more than the axis holds is refused.
    with pytest.raises(ValueError, match=r"pad: .*crop 4 elements from an axis of length 2.*\(2, 3\)"):
        tg.pad(ones(2, 3), -2)


@pytest.mark.parametrize("shape, pad_width", [((2, 3), ((1, 1), (1, 1), (1, 1))), ((3,), 1.5)], ids=str)
def test_pad_malformed_width(shape, pad_width):
    with pytest.raises(ValueError, match="pad: pad_width must be"):
        tg.pad(Tensor(np.ones(shape)), pad_width)


def test_getitem_out_of_range(ones):
    with pytest.raises(IndexError, match=r"getitem: .*\(2, 3\)"):
        ones(2, 3)[5]
