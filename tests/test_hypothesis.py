"""Property-based tests: random expressions over random shapes, each gradchecked in float64.

The steps are drawn from the op table (tests/cases.py): every row of kind "unary", "binary" or "reduction" whose
inputs are Tensors from the named domains. A new row of those kinds joins these tests by itself.
"""
from functools import lru_cache

import numpy as np
import pytest
from cases import BY_NAME, CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph import Tensor, gradcheck

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _drawable(case):
    return not case.constants and all(isinstance(d, str) for d in case.domains)


UNARY = sorted(c.name for c in CASES if c.kind == "unary" and _drawable(c))
BINARY = sorted(c.name for c in CASES if c.kind == "binary" and _drawable(c))
REDUCTIONS = ["none"] + sorted(c.name for c in CASES if c.kind == "reduction" and _drawable(c))

# A step's inputs are first mapped smoothly into its row's domain, and bounded, so that a chain of steps neither
# overflows (exp of exp of ...) nor meets a kink or a pole (relu and 1/x see only values >= 0.5).
INTO_DOMAIN = {
    "real": lambda v: 2.0 * tg.tanh(v),
    "positive": lambda v: tg.exp(tg.tanh(v)),
    "away_from_zero": lambda v: v * v + 0.5,
}

# Shape-keeping compositions of shape ops, which no single row of the table is.
SHAPE_STEPS = {
    "reshape round trip": lambda v: v.reshape(-1).reshape(v.shape),
    "transpose twice": lambda v: v.T.T,
    "pad then slice": lambda v: tg.pad(v, 1)[tuple(slice(1, -1) for _ in v.shape)] if v.ndim else v,
    "reverse": lambda v: v[tuple(slice(None, None, -1) for _ in v.shape)],
}


@lru_cache(maxsize=None)
def accepted_kwargs(name, shape):
    """Indices of the row's kwargs dicts that its reference takes for one input of `shape`."""
    case = BY_NAME[name]
    return tuple(i for i, kwargs in enumerate(case.kwargs) if case.accepts((shape,), kwargs))


@st.composite
def shapes(draw, min_dims=0):
    return tuple(draw(st.lists(st.integers(1, 3), min_size=min_dims, max_size=3)))


@st.composite
def broadcast_partner(draw, shape):
    """A shape that broadcasts to `shape`: some leading axes dropped, some kept axes set to 1."""
    kept = shape[draw(st.integers(0, len(shape))):]
    return tuple(1 if draw(st.booleans()) else n for n in kept)


@st.composite
def expressions(draw):
    """(shape, partner shape, steps, (reduction row, axis, keepdims), seed); a step is (where, row name, kwargs)."""
    shape = draw(shapes())
    partner = draw(broadcast_partner(shape))
    unary = [name for name in UNARY if accepted_kwargs(name, shape)]
    step = st.one_of(
        st.tuples(st.just("shape"), st.sampled_from(sorted(SHAPE_STEPS))),
        st.tuples(st.just("unary"), st.sampled_from(unary)),
        st.tuples(st.sampled_from(["x", "y"]), st.sampled_from(BINARY)),
    )
    steps = []
    for where, name in draw(st.lists(step, min_size=1, max_size=5)):
        # A unary step's kwargs: one dict of its row that the reference accepts for this shape.
        kwargs = BY_NAME[name].kwargs[draw(st.sampled_from(accepted_kwargs(name, shape)))] if where == "unary" else {}
        steps.append((where, name, kwargs))
    reduction = draw(st.sampled_from(REDUCTIONS))
    axis = draw(st.integers(-len(shape), len(shape) - 1)) if shape else None
    keepdims = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return shape, partner, steps, (reduction, axis, keepdims), seed


def build(steps, reduction):
    def fn(x, y):
        v = x
        for where, name, kwargs in steps:
            if where == "shape":
                v = SHAPE_STEPS[name](v)
                continue
            case = BY_NAME[name]
            into = [INTO_DOMAIN[d] for d in case.domains]
            if where == "unary":
                v = case.op(into[0](v), **kwargs)
            else:
                v = case.op(into[0](v), into[1](x if where == "x" else y))
        name, axis, keepdims = reduction
        return v if name == "none" else BY_NAME[name].op(v, axis=axis, keepdims=keepdims)

    return fn


@SETTINGS
@given(expressions())
def test_random_expressions_pass_gradcheck(expression):
    shape, partner, steps, reduction, seed = expression
    rng = np.random.default_rng(seed)
    # Seeded normals, not hypothesis floats: ties (max) and exact zeros make central differences meaningless.
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    y = Tensor(rng.standard_normal(partner), requires_grad=True)
    fn = build(steps, reduction)
    assert gradcheck(fn, x, y, atol=1e-5, rtol=1e-4)


@SETTINGS
@given(expressions())
def test_random_expressions_keep_float32(expression):
    shape, partner, steps, reduction, seed = expression
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    y = Tensor(rng.standard_normal(partner).astype(np.float32), requires_grad=True)
    out = build(steps, reduction)(x, y)
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
    matmul = BY_NAME["matmul"]
    np.testing.assert_allclose(matmul.op(a, b).data, matmul.reference(a.data, b.data), rtol=1e-12)
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
