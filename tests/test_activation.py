"""exp, log, tanh, relu, sigmoid, softmax, log_softmax: what the op table cannot say (stability at large inputs,
accuracy in float32, normalisation) and errors. Every softmax test outside the table is here."""
import numpy as np
import pytest
from cases import ref_softmax

import tinygraph as tg
from tinygraph import Tensor

# An overflow or a division by zero inside a stable op is a bug, not a warning.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# ----- sigmoid ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_large_inputs_do_not_overflow(dtype):
    x = np.array([-1e30, -1000.0, -100.0, 0.0, 100.0, 1000.0, 1e30], dtype=dtype)
    out = tg.sigmoid(Tensor(x)).data
    assert out.dtype == dtype
    np.testing.assert_allclose(out, [0, 0, 0, 0.5, 1, 1, 1], atol=1e-30)
    assert np.all(np.isfinite(out))


def test_sigmoid_gradient_at_large_inputs():
    x = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    tg.sigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.25, 0.0])


def test_sigmoid_keeps_its_accuracy_for_large_negative_inputs():
    x = np.array([-40.0, -20.0, -17.0, 0.0, 17.0, 40.0])
    expected = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(tg.sigmoid(Tensor(x.astype(np.float32))).data, expected, rtol=1e-6)
    t = Tensor(np.float32([-20.0]), requires_grad=True)
    tg.log(tg.sigmoid(t)).sum().backward()
    np.testing.assert_allclose(t.grad, [1.0], rtol=1e-6)


# ----- softmax and log_softmax ---------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_softmax_sums_to_one_along_its_axis(rng, axis):
    x = rng.standard_normal((3, 4, 5))
    out = tg.softmax(Tensor(x), axis=axis).data
    np.testing.assert_allclose(out, ref_softmax(x, axis), rtol=1e-12)
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_stable_for_large_inputs(dtype):
    x = np.array([[1000.0, 1000.0], [1000.0, -1000.0], [-1000.0, -1000.0]], dtype=dtype)
    np.testing.assert_allclose(tg.softmax(Tensor(x)).data, [[0.5, 0.5], [1, 0], [0.5, 0.5]])
    log_probs = tg.log_softmax(Tensor(x)).data
    assert log_probs.dtype == dtype
    np.testing.assert_allclose(log_probs, [[-np.log(2)] * 2, [0, -2000], [-np.log(2)] * 2], rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_bad_axis(ones, name):
    fn = getattr(tg, name)
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range.*\(2, 3\)"):
        fn(ones(2, 3), axis=2)
    with pytest.raises(TypeError, match=rf"{name}: axis must be one int"):
        fn(ones(2, 3), axis=(0, 1))
