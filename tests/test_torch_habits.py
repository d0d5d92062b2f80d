"""What PyTorch and NumPy users type in their first hour: in-place updates, constructors, PyTorch's method names."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor


def test_the_hand_written_sgd_step_updates_the_parameter_in_place():
    w = Tensor(np.ones((2, 2), np.float32), requires_grad=True, name="w")
    x = Tensor(np.ones((3, 2), np.float32))
    for _ in range(2):
        loss = ((x @ w) ** 2).sum()
        w.grad = None
        loss.backward()
        before = w
        with tg.no_grad():
            w -= 0.01 * w.grad
        assert w is before and w.is_leaf and w.requires_grad and w.dtype == np.float32
    np.testing.assert_allclose(w.data, 1 - 0.12 - 0.01 * 12 * (1 - 0.12), rtol=1e-6)


@pytest.mark.parametrize("update", [lambda w: w.__isub__(1.0), lambda w: w.__iadd__(1.0),
                                    lambda w: w.__imul__(2.0), lambda w: w.__itruediv__(2.0)],
                         ids=["-=", "+=", "*=", "/="])
def test_in_place_updates_of_a_parameter_while_recording_are_refused(update):
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"is a leaf that requires grad.*with tg.no_grad\(\)"):
        update(w)
    np.testing.assert_array_equal(w.data, [1.0, 1.0])


def test_in_place_operators_on_results_record_the_op_as_a_new_tensor():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = w * 3
    alias = y
    y += w
    assert y is not alias and y.op == "add"
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [4.0, 4.0])
    total = Tensor(np.zeros(2))
    total += w  # a constant accumulating a recorded value becomes recorded
    assert total.requires_grad


def test_in_place_operators_on_constants_write_in_place_and_are_noticed():
    c = Tensor(np.array([1.0, 2.0]))
    w = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = (w * c).sum()
    c += 1.0
    np.testing.assert_array_equal(c.data, [2.0, 3.0])
    with pytest.raises(RuntimeError, match="changed in place after mul used it"):
        y.backward()


def test_pytorch_method_names_are_answered_with_tinygraphs():
    x = Tensor(np.ones(3), requires_grad=True)
    for name, hint in [("cuda", "runs on the CPU"), ("to", r"x\.astype\(dtype\)"), ("exp_", r"x = x\.exp"),
                       ("zero_", r"x\.grad = None"), ("masked_fill", r"tg\.where")]:
        with pytest.raises(AttributeError, match=rf"Tensor has no attribute '{name}' \(a PyTorch spelling\): .*{hint}"):
            getattr(x, name)
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'nonsense'$"):
        x.nonsense
    assert not hasattr(x, "__array_interface__")


def test_pytorch_casts_and_mm():
    x = Tensor(np.array([[1.5, 2.0]]), requires_grad=True)
    assert x.float().dtype == np.float32 and x.double().dtype == np.float64 and x.long().dtype == np.int64
    np.testing.assert_array_equal(x.mm(x.T).data, [[6.25]])
    x.float().sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0]])


def test_tensor_and_the_constructors():
    assert isinstance(tg.tensor([1.0, 2.0]), Tensor) and tg.tensor([1.0], requires_grad=True).requires_grad
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(tg.ones(2).data, [1.0, 1.0])
    np.testing.assert_array_equal(tg.full((2,), 7.0).data, [7.0, 7.0])
    np.testing.assert_array_equal(tg.arange(3).data, [0, 1, 2])
    np.testing.assert_array_equal(tg.eye(2).data, np.eye(2))
    np.random.seed(0)
    first = tg.randn(2, 2, requires_grad=True)
    np.random.seed(0)
    assert first.requires_grad and np.array_equal(first.data, tg.randn(2, 2).data)
    assert 0 <= tg.rand(5).data.min() and tg.rand(5).data.max() < 1
    import tinygraph.tensor

    assert tinygraph.tensor.Tensor is Tensor  # the module still works as a module


def test_ragged_data_and_integer_parameters_say_what_to_write():
    with pytest.raises(ValueError, match=r"^Tensor: the data cannot form an array"):
        Tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match=r"Tensor\(x\.astype\(np\.float32\), requires_grad=True\)"):
        Tensor(np.arange(3), requires_grad=True)
