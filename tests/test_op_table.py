"""Every row of the op table (tests/cases.py): forward against NumPy, float64 gradcheck and gradgradcheck, and the
dtype rule."""
import numpy as np
import pytest
from cases import CASES, params

from tinygraph import Tensor, gradcheck, gradgradcheck

# An overflow or a division by zero inside a stable op is a bug, not a warning.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _seed(case, shapes, kwargs):
    """A fixed seed per combination, so a failing id reproduces alone."""
    return sum(map(ord, repr((case.name, shapes, sorted(kwargs)))))


@pytest.mark.parametrize("case, shapes, kwargs", params(CASES))
def test_forward_matches_numpy(case, shapes, kwargs):
    arrays = case.arrays(np.random.default_rng(_seed(case, shapes, kwargs)), shapes)
    expected = np.asarray(case.reference(*arrays, **kwargs))
    out = case.op(*case.inputs(arrays, requires_grad=False), **kwargs)
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    if case.rtol == case.atol == 0:
        np.testing.assert_array_equal(out.data, expected)
    else:
        np.testing.assert_allclose(out.data, expected, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("case, shapes, kwargs", params(CASES, grad=True))
def test_gradcheck(case, shapes, kwargs):
    arrays = case.arrays(np.random.default_rng(_seed(case, shapes, kwargs)), shapes)
    assert gradcheck(lambda *inputs: case.op(*inputs, **kwargs), *case.inputs(arrays))


@pytest.mark.parametrize("case, shapes, kwargs", params(CASES, grad=True))
def test_gradgradcheck(case, shapes, kwargs):
    """Second derivatives (backward recorded with create_graph=True), against the inputs and the output's gradient."""
    arrays = case.arrays(np.random.default_rng(_seed(case, shapes, kwargs)), shapes)
    assert gradgradcheck(lambda *inputs: case.op(*inputs, **kwargs), *case.inputs(arrays))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case, shapes, kwargs", params(CASES))
def test_dtype_is_kept_forward_and_backward(case, shapes, kwargs, dtype):
    """Float32 inputs give float32 outputs and gradients, whatever the float64 constants beside them."""
    arrays = case.arrays(np.random.default_rng(_seed(case, shapes, kwargs)), shapes)
    inputs = case.inputs(arrays, dtype=dtype)
    out = case.op(*inputs, **kwargs)
    assert out.dtype == dtype
    if not case.grad:
        return
    out.backward(np.ones(out.shape, dtype))
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    assert tensors and all(t.grad.dtype == dtype and t.grad.shape == t.shape for t in tensors)
