"""add, sub, mul, div, neg, pow, matmul: what the op table cannot say (edge cases, one-sided gradients) and errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def test_same_tensor_both_sides(leaf):
    assert gradcheck(lambda a: a * a + a / (a * a + 1) - a, leaf((2, 3)))


def test_pow_negative_base_integer_exponent():
    a = np.array([-2.0, -1.0, 3.0])
    np.testing.assert_array_equal((Tensor(a) ** 3).data, a**3)


def test_pow_with_a_tensor_exponent_at_zero_and_negative_bases():
    assert ((-2.0) ** Tensor(2.0)).item() == 4.0
    base, exponent = Tensor(np.float64(0.0), requires_grad=True), Tensor(2.0, requires_grad=True)
    (base**exponent).backward()
    assert base.grad == 0.0 and exponent.grad == 0.0
    a = Tensor(np.array([-1.5, 2.0, 0.7]), requires_grad=True)
    e = Tensor(np.array([2.0, 3.0, -1.0]))
    assert gradcheck(lambda a: a**e, a)


def test_matmul_gradient_to_one_side_only(leaf):
    a, b = leaf((2, 3)), leaf((3, 4), requires_grad=False)
    assert gradcheck(tg.matmul, a, b)
    (a @ b).sum().backward()
    assert b.grad is None


# ----- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [tg.add, lambda a, b: a + b, lambda a, b: a - b], ids=["add", "+", "-"])
def test_add_shape_mismatch(ones, fn):
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\).*\(4,\)"):
        fn(ones(2, 3), ones(4))


@pytest.mark.parametrize("fn", [tg.mul, tg.div], ids=["mul", "div"])
def test_mul_and_div_shape_mismatch(ones, fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: .*\(2, 3\).*\(2,\)"):
        fn(ones(2, 3), ones(2))


@pytest.mark.parametrize(
    "shapes",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((2, 2, 3), (3, 3, 4))],
    ids=str,
)
def test_matmul_shape_mismatch(ones, shapes):
    a, b = shapes
    pattern = r"matmul: .*" + r".*".join(map(lambda s: str(s).replace("(", r"\(").replace(")", r"\)"), shapes))
    with pytest.raises(ValueError, match=pattern):
        ones(*a) @ ones(*b)


def test_matmul_of_a_scalar(ones):
    with pytest.raises(ValueError, match=r"matmul: .*\(\), \(3,\)"):
        tg.matmul(ones(), ones(3))


def test_pow_bad_exponent(ones):
    with pytest.raises(TypeError, match=r"pow: the exponent must be a number or a Tensor"):
        ones(2) ** "two"
