"""linear (fused matmul + bias): what the op table cannot say (one-sided gradients, mixed dtypes) and errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def test_float32_with_an_array_bias_stays_float32(rng):
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    out32 = tg.linear(Tensor(x.astype(np.float32)), Tensor(w.astype(np.float32)), b.astype(np.float32))
    assert out32.dtype == np.float32


def test_a_float64_bias_keeps_float64():
    x, w = np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)
    assert tg.linear(x, w, np.zeros(2)).dtype == np.float64


def test_gradient_to_one_side_only(leaf):
    x, w, b = leaf((3, 4)), leaf((4, 2), requires_grad=False), leaf((2,))
    assert gradcheck(tg.linear, x, w, b)
    assert w.grad is None


@pytest.mark.parametrize("x_shape, w_shape, b_shape, message", [
    ((5, 4), (3, 3), (3,), r"linear: x has 4 features but w expects 3 \(x \(5, 4\), w \(3, 3\), b \(3,\)\)"),
    ((5, 4, 1), (4, 3), (3,), r"linear: x must be \(N, in\) and w \(in, out\)"),
    ((5, 4), (4, 3), (4,), r"linear: b must have shape \(3,\)"),
])
def test_errors(x_shape, w_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        tg.linear(np.ones(x_shape), np.ones(w_shape), np.ones(b_shape))
