"""Property-based tests: random expressions over random shapes, each gradchecked in float64."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unary ops that keep the shape, each safe on any real input (logs and divisions see only positive values).
UNARY = {
    "tanh": tg.tanh,
    "sigmoid": tg.sigmoid,
    "neg": tg.neg,
    "exp of tanh": lambda v: tg.exp(tg.tanh(v)),
    "log of exp": lambda v: tg.log(tg.exp(tg.tanh(v))),
    "log of v*v+1": lambda v: tg.log(v * v + 1.0),
    "square": lambda v: v**2,
    "sqrt of v*v+1": lambda v: (v * v + 1.0) ** 0.5,
    "reciprocal": lambda v: 1.0 / (v * v + 1.0),
    "scale": lambda v: v * 0.7 - 0.2,
    "softmax last": lambda v: tg.softmax(v, axis=-1) if v.ndim else v,
    "log_softmax first": lambda v: tg.log_softmax(v, axis=0) if v.ndim else v,
    "reshape round trip": lambda v: v.reshape(-1).reshape(v.shape),
    "transpose twice": lambda v: v.T.T,
    "pad then slice": lambda v: tg.pad(v, 1)[tuple(slice(1, -1) for _ in v.shape)] if v.ndim else v,
    "reverse": lambda v: v[tuple(slice(None, None, -1) for _ in v.shape)],
}

# Binary ops between the running value and a (possibly broadcast) operand.
BINARY = {
    "add": lambda v, w: v + w,
    "sub": lambda v, w: v - w,
    "mul": lambda v, w: v * w,
    "div by w*w+1": lambda v, w: v / (w * w + 1.0),
    "pow with tensor exponent": lambda v, w: (v * v + 1.0) ** tg.tanh(w),
}

REDUCTIONS = ["none", "sum", "mean", "max", "sum keepdims", "mean keepdims", "max keepdims"]


@st.composite
def shapes(draw, min_dims=0):
    return tuple(draw(st.lists(st.integers(1, 3), min_size=min_dims, max_size=3)))


@st.composite
def broadcast_partner(draw, shape):
    """A shape that broadcasts to `shape`: some leading axes dropped, some kept axes set to 1."""
    kept = shape[draw(st.integers(0, len(shape))):]
    return tuple(1 if draw(st.booleans()) else n for n in kept)


def reduce(v, kind, axis):
    if kind == "none":
        return v
    name, keepdims = kind.split(" ")[0], kind.endswith("keepdims")
    return getattr(tg, name)(v, axis=axis if v.ndim else None, keepdims=keepdims)


@st.composite
def expressions(draw):
    shape = draw(shapes())
    partner = draw(broadcast_partner(shape))
    steps = draw(st.lists(
        st.one_of(st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY))),
                  st.tuples(st.sampled_from(["x", "y"]), st.sampled_from(sorted(BINARY)))),
        min_size=1, max_size=5,
    ))
    kind = draw(st.sampled_from(REDUCTIONS))
    axis = draw(st.integers(-len(shape), len(shape) - 1)) if shape else None
    seed = draw(st.integers(0, 2**16))
    return shape, partner, steps, kind, axis, seed


def build(steps, kind, axis):
    def fn(x, y):
        v = x
        for where, name in steps:
            if where == "unary":
                v = UNARY[name](v)
            else:
                v = BINARY[name](v, x if where == "x" else y)
        return reduce(v, kind, axis)

    return fn


@SETTINGS
@given(expressions())
def test_random_expressions_pass_gradcheck(expression):
    shape, partner, steps, kind, axis, seed = expression
    rng = np.random.default_rng(seed)
    # Seeded normals, not hypothesis floats: ties (max) and exact zeros make central differences meaningless.
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    y = Tensor(rng.standard_normal(partner), requires_grad=True)
    fn = build(steps, kind, axis)
    assert gradcheck(fn, x, y, atol=1e-5, rtol=1e-4)


@SETTINGS
@given(expressions())
def test_random_expressions_keep_float32(expression):
    shape, partner, steps, kind, axis, seed = expression
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    y = Tensor(rng.standard_normal(partner).astype(np.float32), requires_grad=True)
    out = build(steps, kind, axis)(x, y)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
    if y.grad is not None:
        assert y.grad.dtype == np.float32 and y.grad.shape == y.shape


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = draw(shapes())[:2]
    batch_a = tuple(1 if draw(st.booleans()) else b for b in batch[draw(st.integers(0, len(batch))):])
    batch_b = tuple(1 if draw(st.booleans()) else b for b in batch[draw(st.integers(0, len(batch))):])
    a = (k,) if draw(st.booleans()) and not batch_a else batch_a + (n, k)
    b = (k,) if draw(st.booleans()) and not batch_b else batch_b + (k, m)
    return a, b, draw(st.integers(0, 2**16))


@SETTINGS
@given(matmul_shapes())
def test_random_matmul_passes_gradcheck(case):
    a_shape, b_shape, seed = case
    rng = np.random.default_rng(seed)
    a = Tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = Tensor(rng.standard_normal(b_shape), requires_grad=True)
    np.testing.assert_allclose(tg.matmul(a, b).data, np.matmul(a.data, b.data), rtol=1e-12)
    assert gradcheck(lambda p, q: tg.tanh(p @ q), a, b)


@st.composite
def index_cases(draw):
    shape = draw(shapes(min_dims=1))
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["slice", "int", "all"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            step = draw(st.sampled_from([None, 1, 2, -1, -2]))
            parts.append(slice(start, stop, step))
        else:
            parts.append(slice(None))
    repeats = draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5))
    return shape, tuple(parts), np.array(repeats), draw(st.integers(0, 2**16))


@SETTINGS
@given(index_cases())
def test_random_indexing_passes_gradcheck(case):
    shape, index, repeats, seed = case
    x = Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    np.testing.assert_array_equal(x[index].data, x.data[index])
    if x.data[index].size:
        assert gradcheck(lambda t: t[index] * 2.0, x)
    assert gradcheck(lambda t: t[repeats] * 3.0, x)  # repeated integer indices add up
