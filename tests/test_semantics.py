"""README's "Semantics": dtype promotion, sum over no axes, mixed advanced indexing, index errors, and pow at the
edges of its domain (PyTorch's gradients)."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

F32, F64, I64 = np.float32, np.float64, np.int64


def f32(*values):
    return Tensor(np.array(values, F32))


def ints(*values):
    return Tensor(np.array(values, I64))


# expression: the dtype tinygraph gives (PyTorch, where it has the expression, agrees unless a comment says otherwise)
PROMOTION = {
    "float32 Tensor * Python float": (lambda: f32(1, 2) * 2.5, F32),
    "float32 Tensor + float64 array": (lambda: f32(1, 2) + np.ones(2), F32),
    "add(float32 Tensor, float64 array)": (lambda: tg.add(f32(1, 2), np.ones(2)), F32),
    "float64 array - float32 Tensor": (lambda: np.ones(2) - f32(1, 2), F32),
    "matmul(float32 Tensor, float64 array)": (lambda: tg.matmul(f32(1, 2), np.ones((2, 2))), F32),
    "float32 Tensor + float64 Tensor": (lambda: f32(1, 2) + Tensor(np.ones(2)), F64),
    "float64 Tensor * Python float": (lambda: Tensor(np.ones(2)) * 2.5, F64),
    "int64 Tensor * Python float": (lambda: ints(1, 2) * 2.5, F32),
    "int64 Tensor * float32 Tensor": (lambda: ints(1, 2) * f32(1, 2), F32),
    "int64 Tensor @ float32 Tensor": (lambda: ints(1, 2) @ f32(1, 2), F32),  # PyTorch refuses
    "int64 Tensor * float64 Tensor": (lambda: ints(1, 2) * Tensor(np.ones(2)), F64),
    "uint8 Tensor / 255": (lambda: Tensor(np.array([0, 255], np.uint8)) / 255, F32),
    "int64 Tensor / int64 Tensor": (lambda: ints(1, 2) / ints(2, 2), F32),
    "int64 Tensor ** 0.5": (lambda: ints(1, 4) ** 0.5, F32),
    "2.0 ** int64 Tensor": (lambda: 2.0 ** ints(1, 2), F32),
    "int64 Tensor ** 2": (lambda: ints(1, 2) ** 2, I64),
    "int64 Tensor + 1": (lambda: ints(1, 2) + 1, I64),
    "bool Tensor * float32 Tensor": (lambda: Tensor(np.array([True, False])) * f32(1, 2), F32),
    "mean of int64 Tensor": (lambda: ints(1, 2).mean(), F32),  # PyTorch refuses
    "var of int64 Tensor": (lambda: ints(1, 2).var(), F32),  # PyTorch refuses
    "float16 data": (lambda: Tensor(np.ones(2, np.float16)), F32),  # PyTorch keeps float16
}


@pytest.mark.parametrize("name", PROMOTION)
def test_dtype_promotion(name):
    expression, expected = PROMOTION[name]
    assert expression().dtype == expected


def test_promotion_table_agrees_with_torch():
    torch = pytest.importorskip("torch")
    a, b = torch.tensor([1, 2]), torch.tensor([1.0, 2.0])
    assert (a * 2.5).dtype == torch.float32 and (a * b).dtype == torch.float32 and (a / a).dtype == torch.float32
    assert (a**0.5).dtype == torch.float32 and (a * b.double()).dtype == torch.float64 and (a**2).dtype == torch.int64


def test_a_float32_model_fed_integer_pixels_and_float64_arrays_stays_float32():
    pixels = Tensor(np.arange(12, dtype=np.uint8).reshape(3, 4))
    w = Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    b = np.zeros(2)  # float64 array
    loss = tg.mse(tg.tanh(pixels / 255.0 @ w + b) * np.float64(0.5), np.ones((3, 2)))
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32


def test_integer_powers_and_division_errors():
    with pytest.raises(ValueError, match=r"pow: integers to negative integer powers are not allowed .*got exponent -1 "
                                         r"for a tensor of dtype int64 and shape \(2,\); write x.astype\(np.float32\)"):
        ints(1, 2) ** -1
    with pytest.raises(ValueError, match=r"pow: integers to negative integer powers .*exponent -2"):
        ints(1, 2) ** ints(1, -2)


def test_sum_over_no_axes_is_the_identity_as_in_numpy():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.sum(axis=())
    np.testing.assert_array_equal(y.data, np.sum(x.data, axis=()))
    assert y.shape == (2, 3)
    y.backward(np.full((2, 3), 2.0))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match=r"dim=\(\) reduces every axis in PyTorch but none in NumPy"):
        x.sum(dim=())


def test_mixed_advanced_indexing_follows_numpy():
    """An integer and an index array separated by a slice: NumPy puts the broadcast index axes first, (2, 3);
    PyTorch applies the integer first, (3, 2)."""
    data = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    x = Tensor(data, requires_grad=True)
    index = (0, slice(None), [0, 1])
    y = x[index]
    assert y.shape == data[index].shape == (2, 3, 5)
    np.testing.assert_array_equal(y.data, data[index])
    assert tg.gradcheck(lambda t: t[index] * t[index], x)
    torch = pytest.importorskip("torch")
    assert tuple(torch.tensor(data)[index].shape) == (3, 2, 5)  # the documented difference


@pytest.mark.parametrize("index, message", [
    (5, "index 5 is out of bounds for axis 0 with size 2"),
    ((slice(None), -4), "index -4 is out of bounds for axis 1 with size 3"),
    ([[0], [9]], "index 9 is out of bounds"),
    ((0, 0, 0), "too many indices"),
    (1.5, "only integers, slices"),
    ([1.5], "arrays used as indices must be of integer"),
    (Tensor(np.array([0.0, 1.0])), "arrays used as indices must be of integer"),
    (np.array([True, False, True]), "boolean index did not match"),
], ids=["out of bounds", "negative out of bounds", "array out of bounds", "too many", "float", "float list",
        "float Tensor", "bool mask of a wrong length"])
def test_index_errors_are_index_errors(index, message):
    with pytest.raises(IndexError, match=rf"getitem: .*{message}.*\(input shape \(2, 3\)\)"):
        Tensor(np.ones((2, 3)), requires_grad=True)[index]


# ----- pow at the edges of its domain: PyTorch's gradients, NaN and infinities included -----------------------------

BASES = [-2.0, -0.5, 0.0, 0.5, 2.0]
EXPONENTS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]


def test_pow_with_a_tensor_exponent_matches_torch_everywhere():
    """Bug 2: d/dx at 0 ** 0 was NaN (PyTorch 0); d/dy for a negative base was 0 (NaN); at 0 ** negative both
    were 0 (-inf)."""
    torch = pytest.importorskip("torch")
    a, e = (np.array(v) for v in zip(*[(x, y) for x in BASES for y in EXPONENTS]))
    g = np.linspace(0.5, 1.5, a.size)
    x, y = Tensor(a, requires_grad=True), Tensor(e, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # the forward warns as NumPy does; backward stays quiet
        out = x**y
    out.backward(g)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(e, requires_grad=True)
    (xt**yt).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(y.grad, yt.grad.numpy(), rtol=1e-14)
    assert x.grad[(a == 0) & (e == 0)] == 0 and np.isnan(y.grad[a < 0]).all()
    assert np.isinf(x.grad[(a == 0) & (e < 0)]).all() and (y.grad[(a == 0) & (e < 0)] == -np.inf).all()


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_pow_with_a_number_exponent_matches_torch(exponent):
    torch = pytest.importorskip("torch")
    a = np.array(BASES)
    x = Tensor(a, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (x**exponent).sum()
    out.backward()
    xt = torch.tensor(a, requires_grad=True)
    (xt**exponent).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-14)


def test_pow_with_an_array_exponent():
    x = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    y = x ** np.array([2.0, 0.5])
    np.testing.assert_allclose(y.data, [4.0, 3.0**0.5])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 0.5 * 3.0**-0.5])


@pytest.mark.parametrize("name", ["exp", "log1p", "tanh", "sigmoid", "softmax", "log_softmax", "sqrt", "sin", "cos",
                                  "expm1", "gelu", "softplus", "elu", "leaky_relu", "logsumexp", "mean", "var", "std"])
def test_float_valued_ops_of_integers_give_float32(name):
    out = getattr(tg, name)(np.array([[1, 2], [3, 4]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, getattr(tg, name)(np.array([[1.0, 2.0], [3.0, 4.0]])).data, rtol=1e-6)
