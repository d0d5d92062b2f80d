"""Bad input raises ValueError/TypeError whose message names the op and the shapes."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor


def ones(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


@pytest.mark.parametrize("fn", [tg.add, lambda a, b: a + b, lambda a, b: a - b], ids=["add", "+", "-"])
def test_add_shape_mismatch(fn):
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\).*\(4,\)"):
        fn(ones(2, 3), ones(4))


@pytest.mark.parametrize("fn", [tg.mul, tg.div], ids=["mul", "div"])
def test_mul_and_div_shape_mismatch(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: .*\(2, 3\).*\(2,\)"):
        fn(ones(2, 3), ones(2))


@pytest.mark.parametrize(
    "shapes",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((2, 2, 3), (3, 3, 4))],
    ids=str,
)
def test_matmul_shape_mismatch(shapes):
    a, b = shapes
    pattern = r"matmul: .*" + r".*".join(map(lambda s: str(s).replace("(", r"\(").replace(")", r"\)"), shapes))
    with pytest.raises(ValueError, match=pattern):
        ones(*a) @ ones(*b)


def test_matmul_of_a_scalar():
    with pytest.raises(ValueError, match=r"matmul: .*\(\), \(3,\)"):
        tg.matmul(ones(), ones(3))


@pytest.mark.parametrize("shape", [(4,), (5, -1), (-1, -1)], ids=str)
def test_reshape_to_an_incompatible_shape(shape):
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\)"):
        ones(2, 3).reshape(shape)


def test_reshape_to_a_non_shape():
    with pytest.raises(TypeError, match="reshape: the shape must be a tuple of ints"):
        tg.reshape(ones(2, 3), ("a", 3))


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [2, -3, (0, 5)], ids=str)
def test_reduction_bad_axis(name, axis):
    with pytest.raises(ValueError, match=rf"{name}: axis -?\d+ is out of range.*\(2, 3\)"):
        getattr(tg, name)(ones(2, 3), axis=axis)


def test_reduction_repeated_axis():
    with pytest.raises(ValueError, match=r"sum: .*repeats.*\(2, 3\)"):
        tg.sum(ones(2, 3), axis=(1, -1))


def test_reduction_non_integer_axis():
    with pytest.raises(TypeError, match=r"sum: axis must be an int"):
        tg.sum(ones(2, 3), axis=1.5)


def test_max_of_empty():
    with pytest.raises(ValueError, match=r"max: .*empty.*\(0, 3\)"):
        tg.max(Tensor(np.ones((0, 3))))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_bad_axis(name):
    fn = getattr(tg, name)
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range.*\(2, 3\)"):
        fn(ones(2, 3), axis=2)
    with pytest.raises(TypeError, match=rf"{name}: axis must be one int"):
        fn(ones(2, 3), axis=(0, 1))


def test_transpose_bad_axes():
    with pytest.raises(ValueError, match=r"transpose: .*\(2, 3\)"):
        tg.transpose(ones(2, 3), (0, 0))


def test_flatten_bad_start_axis():
    with pytest.raises(ValueError, match=r"flatten: start_axis 3 .*\(2, 3\)"):
        tg.flatten(ones(2, 3), 3)


def test_pad_negative_width():
    with pytest.raises(ValueError, match=r"pad: .*\(2, 3\)"):
        tg.pad(ones(2, 3), -1)


def test_getitem_out_of_range():
    with pytest.raises(IndexError, match=r"getitem: .*\(2, 3\)"):
        ones(2, 3)[5]


def test_pow_bad_exponent():
    with pytest.raises(TypeError, match=r"pow: the exponent must be a number or a Tensor"):
        ones(2) ** "two"


def test_backward_from_a_non_scalar_without_gradient():
    with pytest.raises(ValueError, match=r"backward: .*single-element.*\(2, 3\)"):
        (ones(2, 3) * 2.0).backward()


def test_requires_grad_on_an_integer_tensor():
    with pytest.raises(TypeError, match=r"requires_grad: .*int.*\(3,\)"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"requires_grad: .*bool.*\(2,\)"):
        Tensor(np.array([True, False])).requires_grad_()


def test_mse_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse: .*\(3,\).*\(3, 1\)"):
        tg.mse(ones(3), np.ones((3, 1)))


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]], ids=str)
def test_cross_entropy_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 3\)"):
        tg.cross_entropy(ones(2, 3), np.array(labels))


def test_cross_entropy_label_count():
    with pytest.raises(ValueError, match=r"cross_entropy: 2 rows of logits \(2, 3\) but 3 labels"):
        tg.cross_entropy(ones(2, 3), np.array([0, 1, 2]))


def test_cross_entropy_target_shape():
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(2, 4\).*\(2, 3\)"):
        tg.cross_entropy(ones(2, 3), np.ones((2, 4)))


def test_cross_entropy_float_labels():
    with pytest.raises(TypeError, match=r"cross_entropy: integer labels expected.*\(2,\)"):
        tg.cross_entropy(ones(2, 3), np.array([0.0, 1.0]))


def test_cross_entropy_logits_rank():
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\).*\(2, 3, 4\)"):
        tg.cross_entropy(ones(2, 3, 4), np.array([0, 1]))
