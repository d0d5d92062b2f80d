"""The Tensor API: properties, conversions, repr, operators (reflected too), comparisons, hashing."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor


def test_properties():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(data, requires_grad=True, name="w")
    assert t.data is data
    assert t.grad is None and t.requires_grad and t.name == "w"
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.ndim == 2 and t.size == 6
    assert t.is_leaf and t.op is None
    y = t * 2.0
    assert not y.is_leaf and y.op == "mul" and y.name is None


def test_construction_from_lists_scalars_and_tensors():
    assert Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert Tensor(3.0).shape == ()
    t = Tensor(np.ones(2))
    assert Tensor(t).data is t.data


def test_unsupported_data_is_rejected():
    with pytest.raises(TypeError, match="Tensor: data of dtype"):
        Tensor(np.array(["a", "b"]))


def test_numpy_item_and_array_protocol():
    t = Tensor(np.array([[1.5, 2.5]]))
    assert t.numpy() is t.data
    assert Tensor(np.float64(2.5)).item() == 2.5
    assert Tensor(np.array([[4.0]])).item() == 4.0
    with pytest.raises(ValueError, match=r"item.*\(1, 2\)"):
        t.item()
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.array(t) is not t.data
    np.testing.assert_array_equal(np.array(t), t.data)


def test_len():
    assert len(Tensor(np.ones((4, 2)))) == 4
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_repr_shows_shape_dtype_and_op():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True, name="x")
    assert repr(x) == "Tensor(name='x', shape=(2, 3), dtype=float32, requires_grad=True)"
    r = repr(tg.tanh(x))
    assert "shape=(2, 3)" in r and "dtype=float32" in r and "op=tanh" in r
    assert repr(Tensor(np.arange(3))) == f"Tensor(shape=(3,), dtype={np.arange(3).dtype})"


OPERATORS = {
    "t + 2": (lambda t: t + 2.0, lambda a: a + 2.0, "add"),
    "2 + t": (lambda t: 2.0 + t, lambda a: 2.0 + a, "add"),
    "t - 2": (lambda t: t - 2.0, lambda a: a - 2.0, "add"),
    "2 - t": (lambda t: 2.0 - t, lambda a: 2.0 - a, "add"),
    "t * 3": (lambda t: t * 3.0, lambda a: a * 3.0, "mul"),
    "3 * t": (lambda t: 3 * t, lambda a: 3 * a, "mul"),
    "t / 4": (lambda t: t / 4.0, lambda a: a / 4.0, "div"),
    "4 / t": (lambda t: 4.0 / t, lambda a: 4.0 / a, "div"),
    "t ** 2": (lambda t: t**2, lambda a: a**2, "pow"),
    "2 ** t": (lambda t: 2.0**t, lambda a: 2.0**a, "pow"),
    "-t": (lambda t: -t, lambda a: -a, "neg"),
    "+t": (lambda t: +t, lambda a: +a, None),
    "array + t": (lambda t: np.full(3, 2.0) + t, lambda a: 2.0 + a, "add"),
    "array - t": (lambda t: np.full(3, 2.0) - t, lambda a: 2.0 - a, "add"),
    "array * t": (lambda t: np.full(3, 2.0) * t, lambda a: 2.0 * a, "mul"),
    "array / t": (lambda t: np.full(3, 2.0) / t, lambda a: 2.0 / a, "div"),
    "array ** t": (lambda t: np.full(3, 2.0) ** t, lambda a: 2.0**a, "pow"),
    "t @ array": (lambda t: t @ np.ones((3, 2)), lambda a: a @ np.ones((3, 2)), "matmul"),
    "array @ t": (lambda t: np.ones((2, 3)) @ t, lambda a: np.ones((2, 3)) @ a, "matmul"),
    "t + Tensor": (lambda t: t + Tensor(np.ones(3)), lambda a: a + 1.0, "add"),
}


@pytest.mark.parametrize("name", OPERATORS)
def test_operators_record_the_op(name):
    fn, reference, op = OPERATORS[name]
    a = np.array([1.0, 2.0, 4.0])
    t = Tensor(a, requires_grad=True)
    out = fn(t)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, reference(a), rtol=1e-14)
    assert out.requires_grad
    assert out.op == op


def test_array_on_the_left_gives_a_gradient():
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (np.array([3.0, 5.0]) * t).sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 5.0])


def test_methods_mirror_functions():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = Tensor(a)
    np.testing.assert_array_equal(t.add(1.0).data, a + 1)
    np.testing.assert_array_equal(t.sub(1.0).data, a - 1)
    np.testing.assert_array_equal(t.mul(2.0).data, a * 2)
    np.testing.assert_array_equal(t.div(2.0).data, a / 2)
    np.testing.assert_array_equal(t.neg().data, -a)
    np.testing.assert_array_equal(t.pow(2).data, a**2)
    np.testing.assert_array_equal(t.matmul(t).data, a @ a)
    np.testing.assert_array_equal(t.mse(np.zeros((2, 2))).data, np.mean(a**2))


COMPARISONS = {
    "==": (lambda t, o: t == o, np.equal),
    "!=": (lambda t, o: t != o, np.not_equal),
    "<": (lambda t, o: t < o, np.less),
    "<=": (lambda t, o: t <= o, np.less_equal),
    ">": (lambda t, o: t > o, np.greater),
    ">=": (lambda t, o: t >= o, np.greater_equal),
}


@pytest.mark.parametrize("other", ["scalar", "array", "tensor"])
@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_give_bool_tensors_without_grad(name, other):
    fn, reference = COMPARISONS[name]
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    operand = {"scalar": 2.0, "array": b, "tensor": Tensor(b)}[other]
    out = fn(Tensor(a, requires_grad=True), operand)
    assert isinstance(out, Tensor) and out.dtype == np.bool_
    assert not out.requires_grad and out._ctx is None
    np.testing.assert_array_equal(out.data, reference(a, b if other != "scalar" else 2.0))


def test_truth_value_follows_numpy():
    assert bool(Tensor(np.array([5.0])) == 5.0)
    assert not bool(Tensor(np.array([5.0])) == 0.0)
    assert not bool(Tensor(0.0))
    with pytest.raises(ValueError):
        bool(Tensor(np.ones(3)) == 1.0)


def test_tensors_hash_by_identity():
    a, b = Tensor(np.ones(2)), Tensor(np.ones(2))
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert len({a, b, a}) == 2
    assert hash(a) == hash(a)


def test_getitem_and_shape_methods():
    t = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    assert t[1].shape == (4,) and t[1].op == "getitem"
    assert t.reshape(4, 3).shape == (4, 3)
    assert t.reshape((2, 6)).shape == (2, 6)
    assert t.T.shape == (4, 3)
    assert t.flatten().shape == (12,)
    assert t.pad(1).shape == (5, 6)


def test_iteration_yields_rows_that_record_the_op():
    t = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(t)
    assert len(rows) == 3 and all(r.shape == (2,) and r.op == "getitem" for r in rows)
    a, b, c = t
    (a + 2.0 * c).sum().backward()
    np.testing.assert_array_equal(t.grad, [[1, 1], [0, 0], [2, 2]])
    with pytest.raises(TypeError, match="0-d"):
        iter(Tensor(1.0))
