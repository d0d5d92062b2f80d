"""mse, cross_entropy: what the op table cannot say (stability, the gradient's closed form, odd targets) and errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=dtype)
    labels = np.array([1, 2])
    expected = (1e4 + np.log(2)) / 2  # row 0 loses by 1e4, row 1 splits evenly between two classes
    for target in (labels, np.eye(3)[labels]):
        out = tg.cross_entropy(Tensor(logits), target)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.item(), expected, rtol=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 2.0, 1.0]])
    labels = np.array([1, 1])
    z = Tensor(logits, requires_grad=True)
    tg.cross_entropy(z, labels).backward()
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    np.testing.assert_allclose(z.grad, (probs - np.eye(3)[labels]) / 2, atol=1e-15)


def test_cross_entropy_with_rows_that_do_not_sum_to_one():
    logits = Tensor(np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0], [0.2, 0.1, 0.0]]), requires_grad=True)
    target = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.3, 0.3, 0.4]])
    assert gradcheck(lambda z: tg.cross_entropy(z, target), logits)


def test_losses_of_integer_tensors_are_floats():
    assert tg.mse(Tensor([1, 2]), Tensor([2, 4])).item() == pytest.approx(2.5)
    assert tg.cross_entropy(Tensor([[1, 2, 3]]), [2]).item() == pytest.approx(0.40760596)


# ----- errors ---------------------------------------------------------------------------------------------------

def test_mse_shape_mismatch(ones):
    with pytest.raises(ValueError, match=r"mse: .*\(3,\).*\(3, 1\)"):
        tg.mse(ones(3), np.ones((3, 1)))


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]], ids=str)
def test_cross_entropy_labels_out_of_range(ones, labels):
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 3\)"):
        tg.cross_entropy(ones(2, 3), np.array(labels))


def test_cross_entropy_label_count(ones):
    with pytest.raises(ValueError, match=r"cross_entropy: integer labels of shape \(3,\) do not fit logits of shape "
                                         r"\(2, 3\): labels need shape \(2,\)"):
        tg.cross_entropy(ones(2, 3), np.array([0, 1, 2]))


def test_cross_entropy_target_shape(ones):
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(2, 4\).*\(2, 3\)"):
        tg.cross_entropy(ones(2, 3), np.ones((2, 4)))


def test_cross_entropy_float_labels(ones):
    with pytest.raises(TypeError, match=r"cross_entropy: integer labels expected.*\(2,\)"):
        tg.cross_entropy(ones(2, 3), np.array([0.0, 1.0]))


def test_cross_entropy_logits_rank(ones):
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\).*got shape \(\)"):
        tg.cross_entropy(ones(), np.array(0))
