"""NumPy's functions on Tensors: each covered ufunc and function records the same ops as tinygraph's own version
(forward values and gradients equal), the values match NumPy's on plain arrays, and what cannot be differentiated
is refused by name."""
import numpy as np
import pytest
from cases import DOMAINS

import tinygraph as tg
from tinygraph import Tensor, ops
from tinygraph.numpy_functions import FUNCTIONS, VALUE_ONLY
from tinygraph.numpy_protocol import PREDICATES, REDUCERS, UFUNCS, UnsupportedNumpyCall

_real, _positive, _away = DOMAINS["real"], DOMAINS["positive"], DOMAINS["away_from_zero"]


def _distinct(rng, shape):
    # No ties: max/min/maximum/minimum pick one element; a tie would make both versions' choice a convention.
    return rng.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.37 - 1.0


# (id, NumPy call, tinygraph's own version, input shapes, input sampler, the ops they need)
CASES = [
    # ufuncs of one operand
    ("exp", np.exp, tg.exp, [(2, 3)], _real, ["exp"]),
    ("log", np.log, tg.log, [(2, 3)], _positive, ["log"]),
    ("tanh", np.tanh, lambda x: x.tanh(), [(2, 3)], _real, ["tanh"]),
    ("sqrt", np.sqrt, lambda x: ops.sqrt(x), [(4,)], _positive, ["sqrt"]),
    ("absolute", np.absolute, lambda x: ops.abs(x), [(2, 3)], _away, ["abs"]),
    ("abs", np.abs, lambda x: ops.abs(x), [(3,)], _away, ["abs"]),
    ("sin", np.sin, lambda x: ops.sin(x), [(2, 3)], _real, ["sin"]),
    ("cos", np.cos, lambda x: ops.cos(x), [(2, 3)], _real, ["cos"]),
    ("log1p", np.log1p, lambda x: ops.log1p(x), [(2, 3)], _positive, ["log1p"]),
    ("expm1", np.expm1, lambda x: ops.expm1(x), [(2, 3)], _real, ["expm1"]),
    ("square", np.square, lambda x: ops.square(x), [(2, 3)], _real, ["square"]),
    ("sign", np.sign, lambda x: ops.sign(x), [(2, 3)], _away, ["sign"]),
    ("negative", np.negative, lambda x: -x, [(2, 3)], _real, []),
    ("positive", np.positive, lambda x: x, [(2, 3)], _real, []),
    # ufuncs of two operands, with broadcasting
    ("add", np.add, lambda a, b: a + b, [(2, 3), (3,)], _real, []),
    ("subtract", np.subtract, lambda a, b: a - b, [(2, 3), (2, 1)], _real, []),
    ("multiply", np.multiply, lambda a, b: a * b, [(2, 3), (3,)], _real, []),
    ("divide", np.divide, lambda a, b: a / b, [(2, 3), (3,)], _away, []),
    ("true_divide", np.true_divide, lambda a, b: a / b, [(3,), (2, 3)], _away, []),
    ("power tensor exponent", np.power, lambda a, b: a ** b, [(2, 3), (2, 3)], _positive, []),
    ("power number", lambda a: np.power(a, 3), lambda a: a ** 3, [(2, 3)], _real, []),
    ("maximum", np.maximum, lambda a, b: ops.maximum(a, b), [(2, 3), (2, 3)], _distinct, ["maximum"]),
    ("minimum", np.minimum, lambda a, b: ops.minimum(a, b), [(2, 3), (2, 3)], _distinct, ["minimum"]),
    ("matmul", np.matmul, lambda a, b: a @ b, [(2, 3), (3, 4)], _real, []),
    ("matmul batched", np.matmul, lambda a, b: a @ b, [(5, 2, 3), (3,)], _real, []),
    # ufunc.reduce
    ("add.reduce", lambda x: np.add.reduce(x, axis=1), lambda x: x.sum(axis=1), [(2, 3)], _real, []),
    ("add.reduce default axis", np.add.reduce, lambda x: x.sum(axis=0), [(2, 3)], _real, []),
    ("multiply.reduce", lambda x: np.multiply.reduce(x, axis=0), lambda x: ops.prod(x, axis=0), [(2, 3)],
     _positive, ["prod"]),
    ("maximum.reduce", lambda x: np.maximum.reduce(x, axis=-1, keepdims=True),
     lambda x: x.max(axis=-1, keepdims=True), [(2, 3)], _distinct, []),
    ("minimum.reduce", lambda x: np.minimum.reduce(x, axis=0), lambda x: ops.min(x, axis=0), [(2, 3)],
     _distinct, ["min"]),
    ("logaddexp.reduce", lambda x: np.logaddexp.reduce(x, axis=1), lambda x: ops.logsumexp(x, axis=1), [(2, 3)],
     _real, ["logsumexp"]),
    # reductions
    ("sum", np.sum, lambda x: x.sum(), [(2, 3)], _real, []),
    ("sum axis keepdims", lambda x: np.sum(x, axis=(0, 2), keepdims=True),
     lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)], _real, []),
    ("sum positional axis", lambda x: np.sum(x, -1), lambda x: x.sum(axis=-1), [(2, 3)], _real, []),
    ("mean", lambda x: np.mean(x, axis=0), lambda x: x.mean(axis=0), [(2, 3)], _real, []),
    ("max", lambda x: np.max(x, axis=1), lambda x: x.max(axis=1), [(2, 3)], _distinct, []),
    ("amax", np.amax, lambda x: x.max(), [(2, 3)], _distinct, []),
    ("min", lambda x: np.min(x, axis=1), lambda x: ops.min(x, axis=1), [(2, 3)], _distinct, ["min"]),
    ("amin", np.amin, lambda x: ops.min(x), [(2, 3)], _distinct, ["min"]),
    ("prod", lambda x: np.prod(x, axis=1), lambda x: ops.prod(x, axis=1), [(2, 3)], _positive, ["prod"]),
    ("var", lambda x: np.var(x, axis=1), lambda x: ops.var(x, axis=1), [(2, 3)], _real, ["var"]),
    ("var ddof", lambda x: np.var(x, ddof=1), lambda x: ops.var(x, ddof=1), [(2, 3)], _real, ["var"]),
    ("std", lambda x: np.std(x, axis=0, keepdims=True), lambda x: ops.std(x, axis=0, keepdims=True), [(3, 2)],
     _real, ["std"]),
    # products and contractions
    ("dot vectors", np.dot, lambda a, b: a @ b, [(3,), (3,)], _real, []),
    ("dot matrices", np.dot, lambda a, b: a @ b, [(2, 3), (3, 4)], _real, []),
    ("dot scalar", lambda a: np.dot(a, 2.0), lambda a: a * 2.0, [(2, 3)], _real, []),
    ("tensordot int", lambda a, b: np.tensordot(a, b, axes=2), None, [(2, 3, 4), (3, 4, 5)], _real, []),
    ("tensordot pairs", lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), None, [(2, 3, 4), (4, 5, 2)],
     _real, []),
    ("dot 3-d", np.dot, None, [(2, 2, 3), (4, 3, 5)], _real, []),
    ("outer", np.outer, lambda a, b: a.reshape(-1, 1) * b.reshape(1, -1), [(3,), (2, 2)], _real, []),
    # moving elements
    ("reshape", lambda x: np.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), [(2, 3)], _real, []),
    ("ravel", np.ravel, lambda x: x.reshape(-1), [(2, 3)], _real, []),
    ("transpose", np.transpose, lambda x: x.T, [(2, 3, 4)], _real, []),
    ("transpose axes", lambda x: np.transpose(x, (1, 0, 2)), lambda x: x.transpose(1, 0, 2), [(2, 3, 4)], _real, []),
    ("pad", lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=0.5), lambda x: x.pad(((1, 0), (0, 2)), 0.5),
     [(2, 3)], _real, []),
    ("where", lambda a, b: np.where(np.asarray(a) > 0, a, b), lambda a, b: ops.where(a.data > 0, a, b), [(2, 3), (3,)],
     _real, ["where"]),
    ("clip", lambda x: np.clip(x, -0.5, 0.5), lambda x: ops.clip(x, -0.5, 0.5), [(2, 3)], _away, ["clip"]),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 3)), lambda x: ops.broadcast_to(x, (2, 3)), [(3,)], _real,
     ["broadcast_to"]),
    ("concatenate", lambda a, b: np.concatenate([a, b], axis=1), lambda a, b: ops.concatenate([a, b], axis=1),
     [(2, 3), (2, 1)], _real, ["concatenate"]),
    ("stack", lambda a, b: np.stack((a, b), axis=-1), lambda a, b: ops.stack([a, b], axis=-1), [(2, 3), (2, 3)],
     _real, ["stack"]),
    ("split", lambda x: np.split(x, [1], axis=1)[1], lambda x: ops.split(x, [1], axis=1)[1], [(2, 3)], _real,
     ["split"]),
    ("squeeze", lambda x: np.squeeze(x, axis=1), lambda x: ops.squeeze(x, axis=1), [(2, 1, 3)], _real, ["squeeze"]),
    ("expand_dims", lambda x: np.expand_dims(x, 1), lambda x: ops.expand_dims(x, 1), [(2, 3)], _real,
     ["expand_dims"]),
    ("flip", lambda x: np.flip(x, axis=0), lambda x: ops.flip(x, axis=0), [(2, 3)], _real, ["flip"]),
    ("swapaxes", lambda x: np.swapaxes(x, 0, 2), lambda x: ops.swapaxes(x, 0, 2), [(2, 3, 4)], _real, ["swapaxes"]),
    ("moveaxis", lambda x: np.moveaxis(x, 0, -1), lambda x: ops.moveaxis(x, 0, -1), [(2, 3, 4)], _real,
     ["moveaxis"]),
    ("repeat", lambda x: np.repeat(x, 2, axis=1), lambda x: ops.repeat(x, 2, axis=1), [(2, 3)], _real, ["repeat"]),
    ("tile", lambda x: np.tile(x, (2, 1)), lambda x: ops.tile(x, (2, 1)), [(2, 3)], _real, ["tile"]),
    ("copy", lambda x: np.copy(x) * x, lambda x: ops.clone(x) * x, [(2, 3)], _real, ["clone"]),
    # the tutorial's helpers, whole
    ("tutorial softmax", lambda x: np.exp(x - x.max()) / np.sum(np.exp(x - x.max())),
     lambda x: ops.softmax(x.reshape(-1)).reshape(x.shape), [(10,)], _real, []),
    ("tutorial mse", lambda p: np.mean(np.power(np.linspace(0, 1, 6).reshape(2, 3) - p, 2)),
     lambda p: ops.mse(p, np.linspace(0, 1, 6).reshape(2, 3)), [(2, 3)], _real, []),
]


def _missing(needed):
    return [name for name in needed if not hasattr(ops, name)]


def _run(fn, arrays, seed):
    """fn on fresh float64 leaves; returns the output's values and each leaf's gradient for a random output error."""
    leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    assert isinstance(out, Tensor), f"{out!r} is not a Tensor: the graph was dropped"
    if not out.requires_grad:  # a function whose derivative is zero everywhere it exists (sign)
        return out.data, [None] * len(leaves)
    error = np.random.default_rng(seed).standard_normal(out.shape)
    (out * error).sum().backward()
    return out.data, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("name, numpy_call, own, shapes, sampler, needed", CASES, ids=[c[0] for c in CASES])
def test_numpy_call_records_the_same_as_tinygraphs_own(name, numpy_call, own, shapes, sampler, needed):
    if _missing(needed):
        pytest.skip(f"this tinygraph has no {', '.join(_missing(needed))} op yet")
    rng = np.random.default_rng(0)
    arrays = [sampler(rng, shape) for shape in shapes]
    values, grads = _run(numpy_call, arrays, seed=1)
    with np.errstate(all="ignore"):
        expected = numpy_call(*arrays)  # NumPy itself, on plain arrays
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)
    if own is not None:
        own_values, own_grads = _run(own, arrays, seed=1)
        np.testing.assert_allclose(values, own_values, rtol=1e-12, atol=1e-12)
        for grad, own_grad in zip(grads, own_grads):
            assert (grad is None) == (own_grad is None)
            if grad is not None:
                np.testing.assert_allclose(grad, own_grad, rtol=1e-12, atol=1e-12)
    if grads[0] is not None and name != "positive":
        assert tg.gradcheck(numpy_call, *[Tensor(a, requires_grad=True) for a in arrays])


def test_every_table_entry_has_a_test():
    """Each ufunc, reducer and function of the protocol's tables is exercised above (by the NumPy name it has)."""
    names = " ".join(c[0] for c in CASES) + " argmax argmin"  # (these two: test_argmax_and_argmin_...)
    for table in (UFUNCS, FUNCTIONS):
        for func in table:
            assert func.__name__ in names or f"{func.__name__}." in names, func.__name__
    for func in REDUCERS:
        assert f"{func.__name__}.reduce" in names


def test_argmax_and_argmin_give_indices_without_a_graph():
    x = Tensor(np.array([[0.1, 0.7, -0.3], [2.0, -1.0, 0.5]]), requires_grad=True)
    assert np.array_equal(np.asarray(np.argmax(x, axis=1)), [1, 0])
    assert np.array_equal(np.asarray(np.argmin(x)), 4)
    assert np.array_equal(np.asarray(np.argmax(x, axis=0, keepdims=True)), [[1, 0, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_ndarray_on_the_left_records_the_op_and_keeps_the_tensors_dtype(dtype):
    t = Tensor(np.ones((2, 3), dtype=dtype), requires_grad=True)
    y = np.arange(6.0).reshape(2, 3)  # float64
    for out, op in [(y + t, "add"), (y - t, "add"), (y * t, "mul"), (y / t, "div"), (y @ t.T, "matmul"),
                    (y ** t, "pow"), (np.float64(2.0) * t, "mul")]:
        assert isinstance(out, Tensor) and out.op == op and out.dtype == dtype


def test_comparisons_give_bool_tensors_without_a_gradient():
    t = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = np.array([1.0, -2.0, 2.0])
    for out, expected in [(np.greater(y, t), [True, False, False]), (y >= t, [True, False, True]),
                          (np.less(t, 1.0), [True, True, False]), (y == t, [False, False, True]),
                          (np.isfinite(t), [True, True, True])]:
        assert isinstance(out, Tensor) and out.dtype == bool and not out.requires_grad
        assert out.data.tolist() == expected


def test_asarray_gives_the_data_also_for_zero_d_results():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert np.asarray(t) is t.data
    for result, value in [(t.sum(), 15.0), (t.mean(), 2.5), (t[1, 2], 5.0), (np.sum(t), 15.0), (t.max(), 5.0)]:
        array = np.asarray(result)
        assert isinstance(array, np.ndarray) and array.shape == () and array == value
    assert np.array(t.sum(), dtype=np.float32).dtype == np.float32 and float(np.asarray(t.sum())) == 15.0


def test_value_only_functions_read_the_data():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
    assert np.allclose(t, np.arange(6.0).reshape(2, 3)) and np.array_equal(t, t.data)
    assert np.zeros_like(t).shape == (2, 3) and np.any(t) and not np.all(t)
    assert np.array_equal(np.where(t.data > 2), np.where(t > 2))
    assert all(f in VALUE_ONLY for f in (np.shape, np.allclose, np.zeros_like))
    assert np.greater in PREDICATES


@pytest.mark.parametrize("call, message", [
    (lambda t, y: np.add(y, t, out=y), r"np\.add on a Tensor: out= cannot hold"),
    (lambda t, y: np.exp(t, out=np.empty(3)), r"np\.exp on a Tensor: out= cannot hold"),
    (lambda t, y: np.exp(t, where=y > 0), r"np\.exp on a Tensor: where= would leave"),
    (lambda t, y: np.sum(t, where=y > 0), r"np\.sum on a Tensor: where= would leave"),
    (lambda t, y: np.multiply(t, 2, dtype=np.float32), r"np\.multiply on a Tensor: the keyword dtype="),
    (lambda t, y: np.sum(t, dtype=np.float32), r"np\.sum on a Tensor: the keyword dtype="),
    (lambda t, y: np.floor(t), r"np\.floor on a Tensor: its derivative is zero almost everywhere.*np\.floor\(t\.data"),
    (lambda t, y: np.arctan(t), r"np\.arctan on a Tensor: tinygraph has no op for it; compose it"),
    (lambda t, y: np.log2(t), r"np\.log2 on a Tensor: .*np\.log\(x\) / np\.log\(2\)"),
    (lambda t, y: np.add.accumulate(t), r"np\.add\.accumulate on a Tensor: only plain calls"),
    (lambda t, y: np.multiply.outer(t, t), r"np\.multiply\.outer on a Tensor"),
    (lambda t, y: np.cumsum(t), r"np\.cumsum on a Tensor: tinygraph cannot differentiate it"),
    (lambda t, y: np.round(t), r"np\.round on a Tensor: .*np\.round\(t\.data\)"),
    (lambda t, y: np.linalg.norm(t), r"numpy\.linalg\.norm on a Tensor: .*np\.sqrt\(np\.sum\(x \* x\)\)"),
    (lambda t, y: np.sort(t), r"np\.sort on a Tensor"),
    (lambda t, y: np.median(t), r"np\.median on a Tensor"),
    (lambda t, y: np.reshape(t, (3, 1), order="F"), r"np\.reshape on a Tensor: only order='C'"),
    (lambda t, y: np.pad(t, 1, mode="edge"), r"np\.pad on a Tensor: only mode='constant'"),
    (lambda t, y: np.unique(t), r"np\.unique on a Tensor: tinygraph cannot differentiate it; use one of"),
])
def test_what_cannot_be_recorded_is_refused_by_name(call, message):
    t, y = Tensor([1.0, 2.0, 3.0], requires_grad=True), np.ones(3)
    with pytest.raises(UnsupportedNumpyCall, match=message):
        call(t, y)
    assert issubclass(UnsupportedNumpyCall, TypeError)


def test_in_place_on_an_array_says_what_to_write():
    y = np.ones(3)
    with pytest.raises(TypeError, match=r"a = a \+ t instead of a \+= t"):
        y += Tensor([1.0, 2.0, 3.0])


def test_tensordot_with_unpaired_axes_is_a_value_error():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"np\.tensordot: axes=\(\[1\], \[0\]\) do not pair axes of equal length"):
        np.tensordot(a, b, axes=([1], [0]))
    with pytest.raises(ValueError, match=r"np\.tensordot: axes=3 is more than the axes"):
        np.tensordot(a, b, axes=3)


def test_a_missing_op_is_named_with_what_to_write(monkeypatch):
    monkeypatch.delattr(ops, "sqrt", raising=False)
    with pytest.raises(UnsupportedNumpyCall, match=r"np\.sqrt on a Tensor: this tinygraph has no sqrt op.*x \*\* 0\.5"):
        np.sqrt(Tensor([1.0, 4.0]))


def test_the_tutorials_helpers_build_the_same_graph_as_the_methods():
    x = Tensor(np.linspace(-1, 1, 10), requires_grad=True)
    y = np.eye(10)[3]
    loss = np.mean(np.power(y - np.tanh(x), 2))
    assert [loss.op, loss._ctx.parents[0].op] == ["mul", "sum"]
    loss.backward()
    x2 = Tensor(np.linspace(-1, 1, 10), requires_grad=True)
    ((y - x2.tanh()) ** 2).mean().backward()
    np.testing.assert_allclose(x.grad, x2.grad, rtol=1e-15)


def test_np_copy_is_a_recorded_clone():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    copied = np.copy(t)
    assert copied.op == "clone" and copied.data is not t.data
    (copied * copied).sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, 4.0, 6.0])
