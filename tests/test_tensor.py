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


def test_repr_shows_the_values_as_numpy_prints_them():
    x = Tensor(np.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]], np.float32), requires_grad=True, name="x")
    assert repr(x) == ("Tensor([[0.5, 1. , 2. ],\n"
                       "        [3. , 4. , 5. ]], requires_grad=True, name='x')")  # rows indent under the first
    assert str(x) == repr(x)
    assert repr(tg.tanh(x[0, :2])) == "Tensor([0.4621172, 0.7615942], requires_grad=True, op=tanh)"
    assert repr(Tensor(2.5)) == "Tensor(2.5)"
    assert repr(x.sum()) == "Tensor(15.5, requires_grad=True, op=sum)"  # a 0-d result that NumPy made a scalar


@pytest.mark.parametrize("tensor, text", [
    (Tensor([1, 2]), "Tensor([1, 2])"),  # the default int, float32 and bool go unnamed, as PyTorch's defaults
    (Tensor(np.array([True, False])), "Tensor([ True, False])"),
    (Tensor(np.array([1, 2], np.int32)), "Tensor([1, 2], dtype=int32)"),
    (Tensor(np.array([0.25])), "Tensor([0.25], dtype=float64)"),
    (Tensor(np.zeros((0, 3), np.float32)), "Tensor([], shape=(0, 3))"),  # `[]` alone would hide the shape
    (Tensor(np.zeros(0, np.float32)), "Tensor([])"),
], ids=["int64", "bool", "int32", "float64", "(0, 3)", "(0,)"])
def test_repr_names_only_what_is_not_the_default(tensor, text):
    assert repr(tensor) == text


def test_repr_of_a_large_tensor_is_summarised_as_numpy_does():
    text = repr(Tensor(np.zeros((100, 100), np.float32)))
    assert "..." in text and len(text) < 1000


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


# ----- dtypes (the dtype rule of every op is in test_op_table.py) ------------------------------------------

def test_constructor_dtypes():
    assert Tensor(np.ones(2, np.float16)).dtype == np.float32
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.ones(2)).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert Tensor(np.arange(3, dtype=np.uint8)).dtype == np.uint8
    assert Tensor(np.array([True, False])).dtype == np.bool_
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_integer_and_bool_data_stay_and_cannot_require_grad():
    ints = Tensor(np.arange(4))
    assert (ints + 1).dtype.kind == "i"
    assert (ints * ints).dtype.kind == "i"
    assert ints.sum().dtype.kind == "i"
    assert ints.reshape(2, 2).dtype.kind == "i"
    assert ints[np.array([1, 1])].dtype.kind == "i"
    assert not (ints + 1).requires_grad
    flags = Tensor(np.array([True, False]))
    assert flags.reshape(2, 1).dtype == np.bool_
    for t in (ints, flags):
        with pytest.raises(TypeError, match="requires_grad"):
            t.requires_grad_()
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor(np.arange(3), requires_grad=True)


def test_mixing_float32_with_a_float64_tensor_promotes_like_numpy():
    out = Tensor(np.ones(2, np.float32)) + Tensor(np.ones(2))
    assert out.dtype == np.float64


# ----- errors ----------------------------------------------------------------------------------------------

def test_requires_grad_on_an_integer_tensor():
    with pytest.raises(TypeError, match=r"requires_grad: .*int.*\(3,\)"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"requires_grad: .*bool.*\(2,\)"):
        Tensor(np.array([True, False])).requires_grad_()


@pytest.mark.parametrize("call, error, message", [
    (lambda: Tensor(np.ones(2), dtype=np.float16), TypeError, "dtype float16 is not supported"),
    (lambda: (Tensor(np.ones(2), requires_grad=True) * 2).requires_grad_(False), ValueError, "only a leaf"),
    (lambda: Tensor(np.ones(2)).__array__(np.float32, copy=False), ValueError, "without a copy"),
], ids=["float16", "requires_grad_ on a non-leaf", "__array__ without a copy"])
def test_clear_errors_for_odd_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----- conversions, copies and casts -------------------------------------------------------------------------

def test_python_conversions_of_one_element_tensors():
    for t in (Tensor(2.75), Tensor([2.75]), Tensor(np.array([[2.75]]))):
        assert float(t) == 2.75 and int(t) == 2 and bool(t) and t.item() == 2.75
        assert f"{t:.1f}" == "2.8" and f"{t:>6.2f}" == "  2.75"
    assert not bool(Tensor(0.0)) and int(Tensor(-3.9)) == -3
    assert f"{Tensor(7)}" == str(Tensor(7))  # no spec: the printed form


@pytest.mark.parametrize("convert", [float, int, lambda t: t.item()], ids=["float", "int", "item"])
@pytest.mark.parametrize("shape", [(3,), (0,), (2, 2)], ids=str)
def test_conversions_need_one_element(convert, shape):
    name = getattr(convert, "__name__", "item").replace("<lambda>", "item")
    with pytest.raises(ValueError, match=rf"{name}: only a one-element tensor converts to a Python scalar, got shape "
                                         rf"\({shape[0]},"):
        convert(Tensor(np.ones(shape)))


@pytest.mark.parametrize("shape", [(3,), (0,), (2, 2)], ids=str)
def test_truth_of_many_elements_is_ambiguous(shape):
    with pytest.raises(ValueError, match=r"bool: the truth value of a tensor with \d+ elements \(shape .*\) is "
                                         r"ambiguous; write t.numpy\(\).any\(\) or t.numpy\(\).all\(\)"):
        bool(Tensor(np.ones(shape)))


def test_format_spec_of_many_elements():
    with pytest.raises(TypeError, match=r"format: the spec '.3f' formats one number, got a tensor of shape \(2,\)"):
        f"{Tensor(np.ones(2)):.3f}"


def test_tolist_as_numpy():
    assert Tensor(np.arange(4).reshape(2, 2)).tolist() == [[0, 1], [2, 3]]
    assert Tensor(1.5).tolist() == 1.5


def test_clone_is_a_copy_that_passes_the_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.clone()
    assert y.op == "clone" and y.data is not x.data and np.shares_memory(y.data, x.data) is False
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert tg.clone(np.ones(2)).requires_grad is False


def test_astype_between_floats_passes_the_gradient_back_in_the_input_dtype():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and y.op == "astype"
    (y * Tensor(np.array([0.1, 3.0]))).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [0.1, 3.0], rtol=1e-7)
    assert tg.gradcheck(lambda t: t.astype(np.float64) * t, Tensor(np.ones(3), requires_grad=True))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_astype_to_integers_or_bool_has_no_gradient(dtype):
    x = Tensor(np.array([1.7, 0.0, -2.2]), requires_grad=True)
    y = x.astype(dtype)
    assert y.dtype == np.dtype(dtype) and not y.requires_grad and y._ctx is None
    np.testing.assert_array_equal(y.data, np.array([1.7, 0.0, -2.2]).astype(dtype))
    assert Tensor([1, 2]).astype(np.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, "text", None])
def test_astype_unsupported(dtype):
    with pytest.raises(TypeError, match=r"astype: dtype .* is not supported; use np.float32, np.float64, an integer "
                                        r"dtype or bool \(input shape \(2,\)\)"):
        Tensor(np.ones(2)).astype(dtype)


def test_abs_operator():
    x = Tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    y = abs(x)
    assert y.op == "abs"
    np.testing.assert_array_equal(y.data, [2.0, 0.0, 3.0])


def test_every_result_converts_to_an_ndarray_of_its_shape():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    results = [x.sum(), x.max(), x.mean(), x.var(), x.logsumexp(), x[0, 1], x.argmax(), tg.mse(x, np.zeros((2, 3))),
               tg.cross_entropy(x, [0, 2]), x.sum(axis=1), x * 2, x.prod()]
    for r in results:
        for array in (np.asarray(r), np.array(r), r.numpy()):
            assert type(array) is np.ndarray and array.shape == r.shape
    assert np.asarray(x.sum()).ndim == 0


# ----- PyTorch's spellings -----------------------------------------------------------------------------------

def test_size_reads_as_numpys_int_and_says_what_to_write_when_called():
    x = Tensor(np.ones((2, 3)))
    assert x.size == 6 and isinstance(x.size, int) and repr(x.size) == "6" and x.size + 1 == 7
    assert x.numel() == 6 and x.dim() == 2 and x.ndim == 2 and x.dtype == np.float64
    for call in (lambda: x.size(), lambda: x.size(1)):
        with pytest.raises(TypeError, match=r"size: in tinygraph `size` is the number of elements \(6\), an int as "
                                            r"in NumPy, not a method; for PyTorch's x.size\(\) write x.shape \(here "
                                            r"\(2, 3\)\), for x.size\(d\) write x.shape\[d\]"):
            call()


DIM_CASES = {  # method, its tinygraph spelling
    "sum": (lambda t: t.sum(dim=1), lambda t: t.sum(axis=1)),
    "sum keepdim": (lambda t: t.sum(dim=(0, 2), keepdim=True), lambda t: t.sum(axis=(0, 2), keepdims=True)),
    "mean": (lambda t: t.mean(dim=-1, keepdim=True), lambda t: t.mean(axis=-1, keepdims=True)),
    "prod": (lambda t: t.prod(dim=0), lambda t: t.prod(axis=0)),
    "logsumexp": (lambda t: t.logsumexp(dim=1), lambda t: t.logsumexp(axis=1)),
    "var ddof": (lambda t: t.var(dim=1, correction=1), lambda t: t.var(axis=1, ddof=1)),
    "std unbiased": (lambda t: t.std(dim=2, unbiased=True), lambda t: t.std(axis=2, ddof=1)),
    "var unbiased=False": (lambda t: t.var(unbiased=False), lambda t: t.var(ddof=0)),
    "argmax": (lambda t: t.argmax(dim=1), lambda t: t.argmax(axis=1)),
    "softmax": (lambda t: t.softmax(dim=1), lambda t: t.softmax(axis=1)),
    "log_softmax": (lambda t: t.log_softmax(dim=0), lambda t: t.log_softmax(axis=0)),
    "flip": (lambda t: t.flip(dim=1), lambda t: t.flip(axis=1)),
    "t": (lambda t: t[0].t(), lambda t: t[0].T),
    "view": (lambda t: t.view(6, -1), lambda t: t.reshape(6, -1)),
    "view tuple": (lambda t: t.view((4, 6)), lambda t: t.reshape(4, 6)),
    "unsqueeze": (lambda t: t.unsqueeze(-1), lambda t: t.reshape(2, 3, 4, 1)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.transpose(2, 0, 1)),
}


@pytest.mark.parametrize("name", DIM_CASES)
def test_pytorch_spellings_that_mean_the_same_are_accepted(name):
    torch_spelling, ours = DIM_CASES[name]
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    out, expected = torch_spelling(x), ours(x)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected.data)


def test_every_method_with_an_axis_takes_dim():
    import inspect

    members = {name: member for cls in reversed(Tensor.__mro__) for name, member in vars(cls).items()}
    takes_axis = [name for name, member in members.items() if not name.startswith("_") and callable(member)
                  and "axis" in inspect.signature(member).parameters]
    assert {"sum", "mean", "max", "min", "softmax", "var", "squeeze"} <= set(takes_axis)
    assert all(hasattr(getattr(Tensor, name), "__wrapped__") for name in takes_axis)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.max(dim=1), TypeError, r"max: PyTorch's max\(dim=d\) returns \(values, indices\); tinygraph's "
                                        r"max\(axis=d\) returns the values only: write x.max\(axis=d\), and "
                                        r"x.argmax\(axis=d\) for the indices"),
    (lambda x: x.min(dim=0, keepdim=True), TypeError, r"min: .*x.argmin\(axis=d\)"),
    (lambda x: x.sum(dim=()), ValueError, r"sum: dim=\(\) reduces every axis in PyTorch but none in NumPy; write "
                                          r"axis=None to reduce every axis, or axis=\(\) for none"),
    (lambda x: x.mean(dim=[]), ValueError, r"mean: dim=\[\] reduces every axis"),
    (lambda x: x.var(dim=1), TypeError, r"var: PyTorch's var\(dim=d\) divides by n - 1, NumPy's var\(axis=d\) by n; "
                                        r"write x.var\(axis=d, ddof=1\)"),
    (lambda x: x.std(dim=1), TypeError, r"std: .*x.std\(axis=d, ddof=1\)"),
    (lambda x: x.var(ddof=1, unbiased=True), TypeError, r"var: give one of ddof="),
    (lambda x: x.sum(dim=1, axis=1), TypeError, r"sum: got both dim= \(PyTorch's spelling\) and axis=; write axis= "
                                                r"only"),
    (lambda x: x.sum(keepdim=True, keepdims=True), TypeError, r"sum: got both keepdim= .* write keepdims= only"),
    (lambda x: x.t(), ValueError, r"t: transposes at most 2 axes, got shape \(2, 3, 4\); write x.T to reverse every "
                                  r"axis, x.transpose\(axes\) to permute them or x.swapaxes\(a, b\) to swap two"),
    (lambda x: x.view(np.int32), TypeError, r"view: reinterpreting the bytes as <class 'numpy.int32'> is not "
                                            r"supported; write x.astype\(dtype\)"),
    (lambda x: x.unsqueeze(4), ValueError, r"expand_dims: axis 4 is out of range"),
], ids=["max(dim)", "min(dim)", "sum(dim=())", "mean(dim=[])", "var(dim)", "std(dim)", "ddof and unbiased",
        "dim and axis", "keepdim and keepdims", "t() of 3 axes", "view(dtype)", "unsqueeze out of range"])
def test_pytorch_spellings_that_mean_something_else_say_what_to_write(call, error, message):
    with pytest.raises(error, match=message):
        call(Tensor(np.ones((2, 3, 4))))


def test_functions_take_dim_too():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(tg.sum(x, dim=1, keepdim=True).data, [[3.0], [12.0]])
    assert tg.concatenate([x, x], dim=1).shape == (2, 6) and tg.softmax(x, dim=0).shape == (2, 3)
    with pytest.raises(TypeError, match=r"max: PyTorch's max\(dim=d\) returns \(values, indices\)"):
        tg.max(x, dim=1)
