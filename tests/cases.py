"""The core-op case table: one `OpCase` row per op (or spelling of an op) drives every table-shaped test.

tests/test_op_table.py feeds each row to four tests, for every combination of its `shapes` and `kwargs`:
forward against the NumPy `reference` in float64 (shape, dtype and values), a float64 central-difference
`tinygraph.gradcheck` (rows with grad=True), and the dtype rule in float32 and float64 (outputs and gradients keep the
inputs' float dtype). tests/test_hypothesis.py draws its random expressions from the rows whose `kind` says how they
compose ("unary", "binary", "reduction").

To add an op, append one row to CASES at the bottom of this file, and nothing else, e.g.

    OpCase("abs", tg.abs, np.abs, UNARY_SHAPES, domain="away_from_zero", kind="unary"),
    OpCase("var", tg.var, strict_axes(np.var), REDUCTION_SHAPES, kwargs=REDUCTION_KWARGS, kind="reduction"),
    *spellings(OpCase("maximum", tg.maximum, np.maximum, BROADCAST_SHAPES, domain=("real", distinct_sampler),
                      kind="binary"), {"Tensor.maximum": method("maximum")}),

The tests pick it up under its name (ids like `sum-(2, 3, 2)-axis=-1-keepdims=True`). Reuse the shape grids below
(they cover scalars, broadcasting both ways and empty arrays) or give your own; a domain is a name from DOMAINS or any
sampler (rng, shape) -> ndarray; inputs listed in `constants` (labels, targets) are passed as plain arrays. A
combination of a shape and a kwargs dict that NumPy's reference itself refuses (axis out of range, reshape to a wrong
size) is not generated, but each shape and each kwargs dict of a row must be used at least once, or importing this
module fails. Errors and behaviour that is not table-shaped (ties, stability, index kinds) go in the op family's own
test module (test_arithmetic.py, test_reduce.py, test_activation.py, test_shape.py, test_linear.py, test_loss.py).
"""
import itertools
import math
import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Callable

import numpy as np

import tinygraph as tg
from tinygraph import Tensor

# ----- input domains: a name, or any function (rng, shape) -> ndarray ---------------------------------------------


def _real(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _away_from_zero(rng, shape):
    # Kinks (relu) and poles (1/x) sit at 0; a central difference must not straddle them.
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


DOMAINS = {"real": _real, "positive": _positive, "away_from_zero": _away_from_zero}


def sample(rng, shape, domain="real"):
    """A float64 (or, for a custom sampler, any dtype) array of `shape` drawn from `domain` (a name or a sampler)."""
    sampler = DOMAINS[domain] if isinstance(domain, str) else domain
    return np.asarray(sampler(rng, shape))


def normal(scale):
    """Sampler: normals times `scale` (large logits, say)."""
    return lambda rng, shape: scale * rng.standard_normal(shape)


def labels(classes):
    """Sampler: integer class labels in [0, classes)."""
    return lambda rng, shape: rng.integers(0, classes, shape)


def one_hot_rows(rng, shape):
    """Sampler: one-hot rows along the last axis."""
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def soft_rows(rng, shape):
    """Sampler: rows of probabilities along the last axis."""
    return rng.dirichlet(np.ones(shape[-1]), shape[:-1] or None)


# ----- the row ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpCase:
    """One row of the table.

    name       unique; the first part of every test id.
    op         the tinygraph function under test: op(*inputs, **kwargs) -> Tensor; inputs are Tensors except at
               the positions listed in `constants`.
    reference  the plain-NumPy function of arrays with the same signature.
    shapes     one entry per call: a tuple holding one shape per input, e.g. [((2, 3), (3,)), ((), (2, 3))].
    domain     where inputs are drawn: "real", "positive", "away_from_zero", or a sampler (rng, shape) -> ndarray;
               one for all inputs or a tuple with one per input.
    kwargs     the grid of attribute dicts (axis, keepdims, exponent, index ...) crossed with `shapes`.
    grad       gradcheck the row (and check gradient dtypes).
    constants  positions of inputs passed as plain NumPy arrays (targets, labels, the array in `array + t`): they
               get no gradient and keep their sampled dtype in the dtype test.
    kind       how test_hypothesis may chain the row: "unary" (one input, output of its shape), "binary" (two
               inputs that broadcast, output of the broadcast shape), "reduction" (takes axis= and keepdims=), or
               "" (not drawn).
    rtol, atol forward tolerances against the reference; both 0 means exactly equal.
    """

    name: str
    op: Callable[..., Tensor]
    reference: Callable[..., Any]
    shapes: tuple
    domain: Any = "real"
    kwargs: tuple = ({},)
    grad: bool = True
    constants: tuple = ()
    kind: str = ""
    rtol: float = 1e-12
    atol: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "shapes", tuple(tuple(tuple(s) for s in entry) for entry in self.shapes))
        object.__setattr__(self, "kwargs", tuple(dict(k) for k in self.kwargs))
        arity = {len(entry) for entry in self.shapes}
        if len(arity) != 1:
            raise ValueError(f"{self.name}: every shapes entry needs the same number of inputs, got {self.shapes}")
        if isinstance(self.domain, tuple) and len(self.domain) != self.arity:
            raise ValueError(f"{self.name}: {len(self.domain)} domains for {self.arity} inputs")
        if self.kind not in ("", "unary", "binary", "reduction"):
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    @property
    def arity(self):
        return len(self.shapes[0])

    @property
    def domains(self):
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * self.arity

    def arrays(self, rng, shapes):
        """Sampled inputs, one array per input, float64 for the named domains."""
        return [sample(rng, shape, domain) for shape, domain in zip(shapes, self.domains)]

    def inputs(self, arrays, dtype=np.float64, requires_grad=True):
        """The op's arguments: Tensors of `dtype`, except plain arrays (unchanged) at the `constants` positions."""
        return [a if i in self.constants else Tensor(a.astype(dtype), requires_grad=requires_grad and self.grad)
                for i, a in enumerate(arrays)]

    def accepts(self, shapes, kwargs):
        """Whether NumPy's reference takes this combination (the table generates only those)."""
        arrays = self.arrays(np.random.default_rng(0), shapes)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.reference(*arrays, **kwargs)
            except Exception:
                return False
        return True

    @cached_property
    def combinations(self):
        """Every accepted (shapes, kwargs) combination of this row (computed once: the three tests share it)."""
        combos = [(s, k) for s, k in itertools.product(self.shapes, self.kwargs) if self.accepts(s, k)]
        unused = [s for s in self.shapes if all(c[0] != s for c in combos)]
        unused += [k for k in self.kwargs if all(c[1] is not k for c in combos)]
        if unused:
            raise ValueError(f"{self.name}: NumPy's reference refuses every combination with {unused}")
        return combos


# ----- readable test ids ------------------------------------------------------------------------------------------


def _fmt(value):
    if isinstance(value, np.ndarray):
        if value.dtype == np.bool_:
            return "mask(" + "/".join("".join("1" if b else "0" for b in row) for row in np.atleast_2d(value)) + ")"
        return str(value.tolist())
    if isinstance(value, slice):
        text = ":".join("" if v is None else str(v) for v in (value.start, value.stop, value.step))
        return text[:-1] if text.endswith(":") else text
    if value is Ellipsis:
        return "..."
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_fmt, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(_fmt, value)) + "]"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value.item()!r})"
    return repr(value)


def case_id(case, shapes, kwargs):
    return "-".join([case.name, *map(str, shapes), *(f"{k}={_fmt(v)}" for k, v in kwargs.items())])


def params(cases=None, grad=None):
    """pytest params (case, shapes, kwargs) for every combination of every row (only grad=True rows if grad)."""
    import pytest

    rows = CASES if cases is None else cases
    return [pytest.param(case, shapes, kwargs, id=case_id(case, shapes, kwargs))
            for case in rows if grad is None or case.grad == grad
            for shapes, kwargs in case.combinations]


def method(name):
    """The Tensor-method spelling of an op: method("sum")(t, axis=0) is t.sum(axis=0)."""
    return lambda t, *args, **kwargs: getattr(t, name)(*args, **kwargs)


# ----- NumPy references --------------------------------------------------------------------------------------------


def check_axes(x, axis):
    """Refuse an axis out of range, even on a 0-d array (NumPy's reductions take axis 0 and -1 there)."""
    for ax in () if axis is None else np.atleast_1d(axis):
        if not -x.ndim <= ax < x.ndim:
            raise ValueError(f"axis {ax} out of range for {x.ndim} axes")


def ref_log_softmax(x, axis=-1):
    check_axes(x, axis)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def ref_softmax(x, axis=-1):
    return np.exp(ref_log_softmax(x, axis))


def strict_axes(reduction):
    """`reduction` with `check_axes` first."""

    def reference(x, axis=None, keepdims=False):
        check_axes(x, axis)
        return reduction(x, axis=axis, keepdims=keepdims)

    return reference


def ref_relu(x):
    return np.maximum(x, 0)


def ref_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ref_flatten(x, start_axis=0):
    if not -x.ndim <= start_axis < max(x.ndim, 1):
        raise ValueError("start_axis out of range")
    return x.reshape(x.shape[:start_axis % max(x.ndim, 1)] + (-1,))


def ref_pad(x, pad_width, value=0.0):
    return np.pad(x, pad_width, mode="constant", constant_values=value)


def ref_linear(x, w, b=None):
    return x @ w if b is None else x @ w + b


def ref_mse(pred, target):
    return np.mean((pred - target) ** 2)


def ref_cross_entropy(logits, target):
    target = np.asarray(target)
    if logits.ndim == 1:
        logits, target = logits[None], target[None]
    log_probs = ref_log_softmax(logits, -1)
    if target.dtype.kind in "iu":
        return -np.mean(log_probs[np.arange(len(target)), target])
    return -np.mean((target * log_probs).sum(-1))


# ----- shape grids ------------------------------------------------------------------------------------------------

UNARY_SHAPES = [((),), ((4,),), ((5,),), ((2, 3),), ((2, 3, 2),), ((0, 3),)]

# Broadcasting both ways, scalars on either side, and empty arrays.
BROADCAST_SHAPES = [
    ((2, 3), (2, 3)), ((3,), (3,)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (4,)),
    ((), (2, 3)), ((2, 3), ()), ((), ()), ((0, 3), (3,)), ((1, 3), (0, 1)),
]

# Every form np.matmul takes: vectors on either side, stacks, and batch axes that broadcast.
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
]
EMPTY_MATMUL_SHAPES = [((0, 3), (3, 4)), ((2, 0), (0, 3))]

REDUCTION_SHAPES = [((),), ((4,),), ((2, 3, 4),), ((2, 3, 2),)]
AXES = [None, 0, 1, -1, -2, (0, 2), (-1, 0), (0, 1, 2), ()]
REDUCTION_KWARGS = [{}] + [{"axis": axis, "keepdims": keepdims} for axis in AXES for keepdims in (False, True)]

EXPONENTS = [2, 3, 0, 1, -1, 0.5, 2.0, -1.5, 2.5, np.float64(1.5)]
SCALARS = [2.0, np.float64(1.5), 3]  # Python floats, NumPy float64 scalars and ints as the other operand
SOFTMAX_KWARGS = [{}] + [{"axis": axis} for axis in (0, 1, 2, -1, -2)]
SOFTMAX_SHAPES = [((5,),), ((3, 4),), ((2, 3, 2),), ((3, 4, 5),), ((0, 3),)]

RESHAPE_TARGETS = [(4, 6), (-1,), (2, -1), (-1, 3, 2), (24,), (1, 24, 1), (6, 2), (3, -1), (2, 1, 6), (1,), (3, 0)]
RESHAPE_SHAPES = [((2, 3, 4),), ((2, 3, 2),), ((),), ((0, 3),)]
TRANSPOSE_AXES = [(0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, -2), (-1, 0, 1), (1, 0), (-1, -2)]
TRANSPOSE_SHAPES = [((2, 3, 4),), ((2, 3, 2),), ((2, 3),)]
PAD_WIDTHS = [1, (1, 2), ((1, 2), (0, 3)), ((0, 0), (2, 0))]
PAD_KWARGS = [{"pad_width": w, "value": v} for w in PAD_WIDTHS for v in (0.0, -1.5, 1.5)] + [
    {"pad_width": 1, "value": np.float64(2.5)}]

# Every kind of index on a (3, 5) input: basic, advanced with repeats, mixed, boolean.
INDICES = [
    1, -1,
    (slice(1, None), slice(None, 3)),
    (slice(None, None, -1), slice(None, None, -2)),
    (slice(-2, None), slice(-1, 0, -2)),
    (Ellipsis, None, 1),
    np.array([0, 2, 0, 0]),
    [1, 1, 2], [1, 1, 1],
    (np.array([0, 1, 1]), np.array([3, 3, 0])),
    (np.array([0, 1, 1, 0]), np.array([3, 3, 3, 3])),
    (slice(None), np.array([4, 0, 4])),
    np.array([True, False, True]),
    np.array([[True, False, True, True, False]] * 3),
    np.array([[True, False, False, True, True], [False, True, True, False, False], [True, True, False, False, True]]),
]

LINEAR_SHAPES = [((n, n_in), (n_in, n_out))
                 for n, n_in, n_out in [(5, 4, 3), (1, 3, 2), (4, 5, 3), (2, 1, 1), (3, 4, 1)]]
LOSS_SHAPES = [((),) * 2, ((4,),) * 2, ((3, 2),) * 2]
CROSS_ENTROPY_SHAPES = [((5, 4), (5,)), ((6, 4), (6,)), ((1, 4), (1,))]
POW_TENSOR_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), ()), ((3, 1), (1, 4)), ((0, 3), (3,))]


# ----- the table ----------------------------------------------------------------------------------------------------


def spellings(case, others):
    """`case` and the same row under other spellings of its op: {name: op} (operators, Tensor methods)."""
    return [case] + [replace(case, name=name, op=op) for name, op in others.items()]


# Operators between a Tensor and a Python or NumPy scalar s, or a float64 NumPy array c (whose __array_ufunc__ hands
# the call to the Tensor); each works on plain arrays too, so it is its own reference.
SCALAR_OPERATORS = {
    "a + s": lambda a, s: a + s, "s + a": lambda a, s: s + a, "a - s": lambda a, s: a - s,
    "s - a": lambda a, s: s - a, "a * s": lambda a, s: a * s, "s * a": lambda a, s: s * a,
    "a / s": lambda a, s: a / s, "s / a": lambda a, s: s / a,
}
ARRAY_OPERATORS = {
    "c + a": lambda c, a: c + a, "a + c": lambda a, c: a + c, "c - a": lambda c, a: c - a,
    "a - c": lambda a, c: a - c, "c * a": lambda c, a: c * a, "a * c": lambda a, c: a * c,
    "c / a": lambda c, a: c / a, "a / c": lambda a, c: a / c,
}

CASES = [
    # ----- arithmetic: functions, operators and Tensor methods ----------------------------------------------
    *spellings(OpCase("add", tg.add, np.add, BROADCAST_SHAPES, kind="binary"),
               {"a + b": lambda a, b: a + b, "Tensor.add": method("add")}),
    *spellings(OpCase("sub", tg.sub, np.subtract, BROADCAST_SHAPES, kind="binary"),
               {"a - b": lambda a, b: a - b, "Tensor.sub": method("sub")}),
    *spellings(OpCase("mul", tg.mul, np.multiply, BROADCAST_SHAPES, kind="binary"),
               {"a * b": lambda a, b: a * b, "Tensor.mul": method("mul")}),
    *spellings(OpCase("div", tg.div, np.divide, BROADCAST_SHAPES, domain=("real", "away_from_zero"), kind="binary"),
               {"a / b": lambda a, b: a / b, "Tensor.div": method("div")}),
    *spellings(OpCase("neg", tg.neg, np.negative, UNARY_SHAPES, kind="unary", rtol=0),
               {"-a": lambda a: -a, "Tensor.neg": method("neg")}),
    *spellings(OpCase("pow", tg.pow, lambda a, exponent: a**exponent, [((),), ((2, 3),), ((0, 3),)],
                      domain="positive", kwargs=[{"exponent": e} for e in EXPONENTS], kind="unary"),
               {"a ** p": lambda a, exponent: a**exponent, "Tensor.pow": method("pow")}),
    *spellings(OpCase("pow_tensor", tg.pow, np.power, POW_TENSOR_SHAPES, domain=("positive", "real"), kind="binary"),
               {"a ** b": lambda a, b: a**b}),
    OpCase("s ** b", lambda b, s: s**b, lambda b, s: s**b, [((4,),), ((2, 3),), ((3,),), ((),)],
           kwargs=[{"s": 2.0}, {"s": np.float64(0.5)}], kind="unary"),
    *(OpCase(name, fn, fn, UNARY_SHAPES, kwargs=[{"s": s} for s in SCALARS], kind="unary",
             domain="away_from_zero" if name == "s / a" else "real") for name, fn in SCALAR_OPERATORS.items()),
    *(OpCase(name, fn, fn, BROADCAST_SHAPES, constants=(0,) if name.startswith("c") else (1,),
             domain=("real", "away_from_zero") if "/" in name else "real") for name, fn in ARRAY_OPERATORS.items()),
    OpCase("c ** b", lambda c, b: c**b, np.power, POW_TENSOR_SHAPES, domain=("positive", "real"), constants=(0,)),
    *spellings(OpCase("matmul", tg.matmul, np.matmul, MATMUL_SHAPES + EMPTY_MATMUL_SHAPES),
               {"a @ b": lambda a, b: a @ b, "Tensor.matmul": method("matmul")}),
    OpCase("c @ b", lambda c, b: c @ b, np.matmul, MATMUL_SHAPES + EMPTY_MATMUL_SHAPES, constants=(0,)),
    OpCase("a @ c", lambda a, c: a @ c, np.matmul, MATMUL_SHAPES + EMPTY_MATMUL_SHAPES, constants=(1,)),
    OpCase("linear", tg.linear, ref_linear, [(x, w, w[1:]) for x, w in LINEAR_SHAPES]),
    OpCase("linear (no bias)", tg.linear, ref_linear, LINEAR_SHAPES),
    # ----- reductions -----------------------------------------------------------------------------------------
    *spellings(OpCase("sum", tg.sum, strict_axes(np.sum), REDUCTION_SHAPES + [((0, 3),)], kwargs=REDUCTION_KWARGS,
                      kind="reduction"), {"Tensor.sum": method("sum")}),
    *spellings(OpCase("mean", tg.mean, strict_axes(np.mean), REDUCTION_SHAPES, kwargs=REDUCTION_KWARGS,
                      kind="reduction"), {"Tensor.mean": method("mean")}),
    *spellings(OpCase("max", tg.max, strict_axes(np.max), REDUCTION_SHAPES, kwargs=REDUCTION_KWARGS,
                      kind="reduction"), {"Tensor.max": method("max")}),
    # ----- activations ----------------------------------------------------------------------------------------
    *spellings(OpCase("exp", tg.exp, np.exp, UNARY_SHAPES, kind="unary"), {"Tensor.exp": method("exp")}),
    *spellings(OpCase("log", tg.log, np.log, UNARY_SHAPES, domain="positive", kind="unary"),
               {"Tensor.log": method("log")}),
    *spellings(OpCase("tanh", tg.tanh, np.tanh, UNARY_SHAPES, kind="unary"), {"Tensor.tanh": method("tanh")}),
    *spellings(OpCase("relu", tg.relu, ref_relu, UNARY_SHAPES, domain="away_from_zero", kind="unary"),
               {"Tensor.relu": method("relu")}),
    *spellings(OpCase("sigmoid", tg.sigmoid, ref_sigmoid, UNARY_SHAPES, kind="unary"),
               {"Tensor.sigmoid": method("sigmoid")}),
    *spellings(OpCase("softmax", tg.softmax, ref_softmax, SOFTMAX_SHAPES, kwargs=SOFTMAX_KWARGS, kind="unary"),
               {"Tensor.softmax": method("softmax")}),
    *spellings(OpCase("log_softmax", tg.log_softmax, ref_log_softmax, SOFTMAX_SHAPES, kwargs=SOFTMAX_KWARGS,
                      kind="unary", atol=1e-14), {"Tensor.log_softmax": method("log_softmax")}),
    # ----- shape ops (exact) ------------------------------------------------------------------------------------
    *spellings(OpCase("reshape", tg.reshape, np.reshape, RESHAPE_SHAPES,
                      kwargs=[{"shape": s} for s in RESHAPE_TARGETS + [()]], rtol=0),
               {"Tensor.reshape(shape)": lambda x, shape: x.reshape(shape)}),
    OpCase("Tensor.reshape(*shape)", lambda x, shape: x.reshape(*shape), np.reshape, RESHAPE_SHAPES,
           kwargs=[{"shape": s} for s in RESHAPE_TARGETS], rtol=0),
    *spellings(OpCase("flatten", tg.flatten, ref_flatten, [((2, 3, 4),), ((2, 3, 2),), ((4,),), ((),)],
                      kwargs=[{}] + [{"start_axis": a} for a in (0, 1, 2, -1, -2)], rtol=0),
               {"Tensor.flatten": method("flatten")}),
    *spellings(OpCase("transpose", tg.transpose, np.transpose, TRANSPOSE_SHAPES,
                      kwargs=[{}, {"axes": None}] + [{"axes": a} for a in TRANSPOSE_AXES], rtol=0),
               {"Tensor.transpose(axes)": lambda x, axes=None: x.transpose(axes)}),
    OpCase("Tensor.transpose(*axes)", lambda x, axes: x.transpose(*axes), lambda x, axes: np.transpose(x, axes or None),
           TRANSPOSE_SHAPES, kwargs=[{"axes": ()}] + [{"axes": a} for a in TRANSPOSE_AXES], rtol=0),
    OpCase("a.T", lambda x: x.T, np.transpose, [((),), ((4,),), ((2, 3),), ((2, 3, 4),), ((0, 3),)], rtol=0),
    *spellings(OpCase("pad", tg.pad, ref_pad, [((2, 3),)], kwargs=PAD_KWARGS, rtol=0), {"Tensor.pad": method("pad")}),
    *spellings(OpCase("getitem", tg.getitem, lambda x, index: x[index], [((3, 5),)],
                      kwargs=[{"index": i} for i in INDICES], rtol=0),
               {"a[index]": lambda x, index: x[index]}),
    # ----- losses ------------------------------------------------------------------------------------------------
    *spellings(OpCase("mse", tg.mse, ref_mse, LOSS_SHAPES), {"Tensor.mse": method("mse")}),
    OpCase("mse (array target)", tg.mse, ref_mse, LOSS_SHAPES, constants=(1,)),
    *spellings(OpCase("cross_entropy", tg.cross_entropy, ref_cross_entropy, CROSS_ENTROPY_SHAPES,
                      domain=("real", labels(4)), constants=(1,)),
               {"Tensor.cross_entropy": method("cross_entropy"),
                "cross_entropy (Tensor labels)": lambda z, y: tg.cross_entropy(z, Tensor(y))}),
    OpCase("cross_entropy (large logits)", tg.cross_entropy, ref_cross_entropy, [((5, 4), (5,))],
           domain=(normal(30.0), labels(4)), constants=(1,)),
    *spellings(OpCase("cross_entropy (one-hot)", tg.cross_entropy, ref_cross_entropy, [((5, 4), (5, 4)), ((4,), (4,))],
                      domain=("real", one_hot_rows), constants=(1,)),
               {"Tensor.cross_entropy (one-hot)": method("cross_entropy")}),
    OpCase("cross_entropy (soft)", tg.cross_entropy, ref_cross_entropy, [((5, 3), (5, 3)), ((5, 4), (5, 4))],
           domain=("real", soft_rows), constants=(1,)),
    OpCase("cross_entropy (one sample)", tg.cross_entropy, ref_cross_entropy, [((4,),)],
           kwargs=[{"target": 2}, {"target": np.eye(4)[2]}]),
]

# ----- issue 11: elementwise math, activations, more reductions, more shape ops (one block) ----------------------


def ref_gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return x * 0.5 * (1 + np.vectorize(math.erf, otypes=[float])(x / np.sqrt(2)))


def ref_pad_signed(x, pad_width, value=0.0):
    """np.pad, where a negative width crops instead."""
    widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    x = x[tuple(slice(-min(a, 0), n + min(b, 0)) for (a, b), n in zip(widths, x.shape))]
    return np.pad(x, np.maximum(widths, 0), mode="constant", constant_values=value)


def strict_dof(reduction):
    """np.var / np.std, refusing N - ddof <= 0 (NumPy's inf or NaN with a warning)."""

    def reference(x, axis=None, ddof=0, keepdims=False):
        check_axes(x, axis)
        if np.size(x) / max(np.size(reduction(x, axis=axis)), 1) - ddof <= 0:
            raise ValueError("no degrees of freedom left")
        return reduction(x, axis=axis, ddof=ddof, keepdims=keepdims)

    return reference


def method_spelling(case, name):
    """The row as the Tensor method `name`, on the first shapes and kwargs only: the method just forwards."""
    return replace(case, name=f"Tensor.{name}", op=method(name), shapes=case.shapes[:2], kwargs=case.kwargs[:4])


def axis_checked(function):
    """`function`, refusing an axis= out of range even on a 0-d array (where NumPy takes 0 and -1), as tinygraph."""

    def reference(x, *args, **kwargs):
        check_axes(x, kwargs.get("axis"))
        return function(x, *args, **kwargs)

    return reference


def split_scaled(split):
    """The parts of a split, each times its position + 1, joined again: one output that checks every part."""
    def op(x, indices_or_sections, axis=0):
        parts = split(x, indices_or_sections, axis=axis)
        join = tg.concatenate if isinstance(parts[0], Tensor) else np.concatenate
        return join([p * (i + 1) for i, p in enumerate(parts)], axis=axis)

    return op


def _outside_clip(rng, shape):
    # Kinks sit at the bounds -0.5 and 0.5: keep the values 0.1 away from them.
    return rng.choice([-1.5, -0.8, -0.3, 0.0, 0.3, 0.8, 1.5], shape) + rng.uniform(-0.1, 0.1, shape)


VAR_KWARGS = [{}, {"ddof": 1}, {"axis": 1, "ddof": 1}, {"axis": -1, "ddof": 0, "keepdims": True},
              {"axis": (0, 2), "ddof": 2}, {"axis": None, "ddof": 1.5}, {"axis": 0}]
CLIP_KWARGS = [{"min": -0.5, "max": 0.5}, {"min": -0.5}, {"max": 0.5}, {"min": np.float64(-0.5), "max": 1}]
SQUEEZE_SHAPES = [((1, 3, 1),), ((1,),), ((),), ((2, 1, 3),), ((1, 0, 1),)]
SHAPE_AXES3 = [{}, {"axis": 0}, {"axis": -1}, {"axis": (0, 2)}, {"axis": ()}, {"axis": None}]
JOIN_SHAPES = [((2, 3), (2, 3)), ((2, 3), (4, 3)), ((2, 3), (2, 1)), ((3,), (2,)), ((0, 3), (2, 3)),
               ((1, 2, 3), (1, 2, 3))]
TILE_REPS = [2, (2, 1), (1, 3), (2, 1, 2), (), 0, (0, 2)]
SPLITS = [{"indices_or_sections": 2}, {"indices_or_sections": 3, "axis": 1},
          {"indices_or_sections": [1, 3], "axis": -1}, {"indices_or_sections": [], "axis": 0},
          {"indices_or_sections": [-1, 1, 5], "axis": 1}, {"indices_or_sections": 1, "axis": 1}]

_ABS = OpCase("abs", tg.abs, np.abs, UNARY_SHAPES, domain="away_from_zero", kind="unary", rtol=0)
_CLIP = OpCase("clip", tg.clip, lambda x, min=None, max=None: np.clip(x, min, max), UNARY_SHAPES,
               domain=_outside_clip, kwargs=CLIP_KWARGS, rtol=0)
_MAXIMUM = OpCase("maximum", tg.maximum, np.maximum, BROADCAST_SHAPES, kind="binary", rtol=0)
_MINIMUM = OpCase("minimum", tg.minimum, np.minimum, BROADCAST_SHAPES, kind="binary", rtol=0)
_MIN = OpCase("min", tg.min, strict_axes(np.min), REDUCTION_SHAPES, kwargs=REDUCTION_KWARGS, kind="reduction")
_PROD = OpCase("prod", tg.prod, strict_axes(np.prod), REDUCTION_SHAPES + [((0, 3),)], kwargs=REDUCTION_KWARGS,
               kind="reduction")
_LOGSUMEXP = OpCase("logsumexp", tg.logsumexp, strict_axes(lambda x, axis, keepdims: np.log(
    np.sum(np.exp(x), axis=axis, keepdims=keepdims))), REDUCTION_SHAPES, kwargs=REDUCTION_KWARGS, kind="reduction",
    atol=1e-15)
_VAR = OpCase("var", tg.var, strict_dof(np.var), [((2, 3, 4),), ((5,),), ((),)], kwargs=VAR_KWARGS)
_STD = OpCase("std", tg.std, strict_dof(np.std), [((2, 3, 4),), ((5,),), ((),)], kwargs=VAR_KWARGS)
_SQUEEZE = OpCase("squeeze", tg.squeeze, axis_checked(np.squeeze), SQUEEZE_SHAPES, kwargs=SHAPE_AXES3, rtol=0)
_FLIP = OpCase("flip", tg.flip, np.flip, [((2, 3, 4),), ((4,),), ((),), ((0, 3, 1),)], kwargs=SHAPE_AXES3, rtol=0)
_SWAPAXES = OpCase("swapaxes", tg.swapaxes, np.swapaxes, [((2, 3, 4),), ((2, 3),)],
                   kwargs=[{"axis1": a, "axis2": b} for a, b in [(0, 1), (0, -1), (2, 2), (-1, 1)]], rtol=0)
_MOVEAXIS = OpCase("moveaxis", tg.moveaxis, np.moveaxis, [((2, 3, 4),), ((2, 3),)],
                   kwargs=[{"source": s, "destination": d} for s, d in
                           [(0, -1), (-1, 0), ((0, 1), (1, 0)), ((0, 2), (2, 1)), ([], [])]], rtol=0)
_REPEAT = OpCase("repeat", tg.repeat, axis_checked(np.repeat), [((2, 3),), ((3,),), ((),), ((0, 3),)],
                 kwargs=[{"repeats": 2}, {"repeats": 0}, {"repeats": 2, "axis": 1}, {"repeats": [1, 0, 3], "axis": -1},
                         {"repeats": [2], "axis": 0}, {"repeats": np.array([2, 1]), "axis": 0}], rtol=0)
_TILE = OpCase("tile", tg.tile, np.tile, [((2, 3),), ((3,),), ((),)], kwargs=[{"reps": r} for r in TILE_REPS], rtol=0)
_BROADCAST_TO = OpCase("broadcast_to", tg.broadcast_to, np.broadcast_to, [((3,),), ((2, 1),), ((),)],
                       kwargs=[{"shape": s} for s in [(2, 3), (4, 2, 3), (2, 5), (3,), (0, 3), ()]], rtol=0)
_CONCATENATE = OpCase("concatenate", lambda a, b, axis=0: tg.concatenate([a, b], axis=axis),
                      lambda a, b, axis=0: np.concatenate([a, b], axis=axis), JOIN_SHAPES,
                      kwargs=[{}, {"axis": 1}, {"axis": -1}, {"axis": None}, {"axis": 2}], rtol=0)
_STACK = OpCase("stack", lambda a, b, axis=0: tg.stack([a, b], axis=axis),
                lambda a, b, axis=0: np.stack([a, b], axis=axis), [((2, 3), (2, 3)), ((), ()), ((0, 2), (0, 2))],
                kwargs=[{}, {"axis": 1}, {"axis": -1}, {"axis": 2}], rtol=0)
_SPLIT = OpCase("split", split_scaled(tg.split), split_scaled(np.split), [((4, 6),), ((2, 3, 4),)], kwargs=SPLITS,
                rtol=0)

CASES += [
    _ABS, method_spelling(_ABS, "abs"),
    *(OpCase(name, fn, ref, UNARY_SHAPES, domain=domain, kind="unary", rtol=rtol)
      for name, fn, ref, domain, rtol in [
          ("sqrt", tg.sqrt, np.sqrt, "positive", 0), ("Tensor.sqrt", method("sqrt"), np.sqrt, "positive", 0),
          ("square", tg.square, np.square, "real", 0), ("Tensor.square", method("square"), np.square, "real", 0),
          ("sin", tg.sin, np.sin, "real", 0), ("Tensor.sin", method("sin"), np.sin, "real", 0),
          ("cos", tg.cos, np.cos, "real", 0), ("Tensor.cos", method("cos"), np.cos, "real", 0),
          ("log1p", tg.log1p, np.log1p, "positive", 0), ("Tensor.log1p", method("log1p"), np.log1p, "positive", 0),
          ("expm1", tg.expm1, np.expm1, "real", 0), ("Tensor.expm1", method("expm1"), np.expm1, "real", 0),
          ("leaky_relu", tg.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), "away_from_zero", 0),
          ("elu", tg.elu, lambda x: np.where(x > 0, x, np.expm1(x)), "away_from_zero", 0),
          ("softplus", tg.softplus, lambda x: np.logaddexp(0, x), "real", 1e-15),
      ]),
    OpCase("gelu", tg.gelu, ref_gelu, UNARY_SHAPES, kind="unary", rtol=1e-14, atol=1e-15),
    OpCase("sign", tg.sign, np.sign, UNARY_SHAPES, grad=False, rtol=0),
    OpCase("Tensor.sign", method("sign"), np.sign, UNARY_SHAPES, grad=False, rtol=0),
    OpCase("leaky_relu (slope)", tg.leaky_relu, lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
           UNARY_SHAPES, domain="away_from_zero", kwargs=[{"negative_slope": s} for s in (0.2, -0.5, 0, 3)],
           kind="unary", rtol=0),
    OpCase("elu (alpha)", tg.elu, lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x)), UNARY_SHAPES,
           domain="away_from_zero", kwargs=[{"alpha": a} for a in (0.5, 2.0, np.float64(1.5))], kind="unary", rtol=0),
    OpCase("softplus (beta)", tg.softplus, lambda x, beta: np.logaddexp(0, beta * x) / beta, UNARY_SHAPES,
           domain=normal(30.0), kwargs=[{"beta": b} for b in (0.5, 2.0, 1)], rtol=1e-15),
    OpCase("gelu (tanh)", tg.gelu, ref_gelu, UNARY_SHAPES, kwargs=[{"approximate": "tanh"}], kind="unary",
           rtol=1e-14),
    _CLIP, method_spelling(_CLIP, "clip"), method_spelling(_CLIP, "clamp"),
    OpCase("clip (tensor bounds)", tg.clip, np.clip, [((2, 3),) * 3, ((2, 3), (3,), (2, 1)), ((), (2, 3), ())],
           rtol=0),
    _MAXIMUM, method_spelling(_MAXIMUM, "maximum"),
    OpCase("maximum (number)", lambda a, s: tg.maximum(a, s), lambda a, s: np.maximum(a, s), UNARY_SHAPES,
           kwargs=[{"s": s} for s in SCALARS], kind="unary", rtol=0),
    _MINIMUM, method_spelling(_MINIMUM, "minimum"),
    OpCase("where(a > 0, a, b)", lambda a, b: tg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
           BROADCAST_SHAPES, kind="binary", rtol=0),
    OpCase("where(mask, a, 0.0)", lambda a: tg.where(a < 0.5, a, 0.0), lambda a: np.where(a < 0.5, a, 0.0),
           UNARY_SHAPES, domain="away_from_zero", rtol=0),
    OpCase("mask * a", lambda a: (a > 0) * a, lambda a: (a > 0) * a, UNARY_SHAPES, domain="away_from_zero",
           kind="unary", rtol=0),
    _MIN, method_spelling(_MIN, "min"),
    _PROD, method_spelling(_PROD, "prod"),
    _LOGSUMEXP, method_spelling(_LOGSUMEXP, "logsumexp"),
    _VAR, method_spelling(_VAR, "var"),
    _STD, method_spelling(_STD, "std"),
    OpCase("pad (crop)", tg.pad, ref_pad_signed, [((3, 4),)],
           kwargs=[{"pad_width": w} for w in [-1, (-1, 2), ((1, -2), (0, -1)), ((-3, 0), (-2, -2)), ((0, 0), (3, -4))]],
           rtol=0),
    _SQUEEZE, method_spelling(_SQUEEZE, "squeeze"),
    OpCase("expand_dims", tg.expand_dims, np.expand_dims, [((2, 3),), ((),), ((0,),)],
           kwargs=[{"axis": a} for a in (0, -1, 2, (0, 2), (-1, 0), (1, 3, -1))], rtol=0),
    _FLIP, method_spelling(_FLIP, "flip"),
    _SWAPAXES, method_spelling(_SWAPAXES, "swapaxes"),
    _MOVEAXIS, method_spelling(_MOVEAXIS, "moveaxis"),
    _BROADCAST_TO, method_spelling(_BROADCAST_TO, "broadcast_to"),
    _REPEAT, method_spelling(_REPEAT, "repeat"),
    _TILE, method_spelling(_TILE, "tile"),
    _CONCATENATE,
    OpCase("concatenate (three, array)", lambda a, b, c: tg.concatenate((a, b, c), axis=1),
           lambda a, b, c: np.concatenate((a, b, c), axis=1), [((2, 1), (2, 3), (2, 2))], constants=(1,), rtol=0),
    _STACK,
    _SPLIT,
]

# ----- issue 11: convolution and pooling (one block) -----------------------------------------------------------------


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def one_or_batch(reference):
    """A reference of (N, H, W, C) batches that also takes one (H, W, C) sample."""
    def wrapped(x, *args, **kwargs):
        return reference(x[None], *args, **kwargs)[0] if x.ndim == 3 else reference(x, *args, **kwargs)

    return wrapped


def _windows(x, span, stride, step=(1, 1)):
    """x (N, H, W, C) cut into (N, Ho, Wo, C, kh, kw) windows spanning `span`, every step-th row and column kept."""
    (sh, sw), (dh, dw) = stride, step
    return np.lib.stride_tricks.sliding_window_view(x, span, axis=(1, 2))[:, ::sh, ::sw, :, ::dh, ::dw]


@one_or_batch
def ref_correlate(x, w, b=None, stride=1, padding=0, dilation=1):
    (kh, kw), (dh, dw) = w.shape[1:3], _pair(dilation)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    if isinstance(padding, str):  # "same": span - 1 in all, the odd one below and right
        pads = [((s - 1) // 2, s // 2) for s in span]
    else:
        pads = [(p, p) for p in _pair(padding)]
    windows = _windows(np.pad(x, [(0, 0), *pads, (0, 0)]), span, _pair(stride), (dh, dw))
    out = np.einsum("nijcab,fabc->nijf", windows, w)
    return out if b is None else out + b


def ref_convolve(x, w, b=None, **kwargs):
    return ref_correlate(x, w[:, ::-1, ::-1], b, **kwargs)


@one_or_batch
def ref_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Each input pixel adds x[n, i, j] @ w[:, a, b] at (i*sh + a*dh, j*sw + b*dw); then `padding` is cropped."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    (n, h, wd, _), (_, kh, kw, c) = x.shape, w.shape
    full = np.zeros((n, (h - 1) * sh + dh * (kh - 1) + 1 + oh, (wd - 1) * sw + dw * (kw - 1) + 1 + ow, c))
    for a, bb in itertools.product(range(kh), range(kw)):
        full[:, a * dh : a * dh + (h - 1) * sh + 1 : sh, bb * dw : bb * dw + (wd - 1) * sw + 1 : sw] += x @ w[:, a, bb]
    out = full[:, ph : full.shape[1] - ph, pw : full.shape[2] - pw]
    return out if b is None else out + b


def ref_pool(reduce, fill):
    """Max or mean pooling; the padding is `fill` (-inf for max; zeros that count in the mean, as PyTorch)."""
    @one_or_batch
    def reference(x, pool_shape=(2, 2), stride=None, padding=0):
        (qh, qw), pool = _pair(padding), _pair(pool_shape)
        padded = np.pad(x, ((0, 0), (qh, qh), (qw, qw), (0, 0)), constant_values=fill)
        return reduce(_windows(padded, pool, _pair(pool if stride is None else stride)), axis=(-2, -1))

    return reference


CONV_SHAPES = [((2, 7, 6, 3), (4, 3, 3, 3), (4,)), ((1, 6, 8, 1), (2, 2, 3, 1), (2,)), ((7, 6, 2), (3, 3, 2, 2), (3,))]
CONV_KWARGS = [{}, {"stride": 2, "padding": 1}, {"dilation": 2},
               {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)}, {"padding": "same", "dilation": (1, 2)}]
CONV_T_SHAPES = [((2, 4, 5, 3), (3, 3, 3, 2), (2,)), ((1, 3, 3, 1), (1, 2, 3, 4), (4,)),
                 ((4, 4, 2), (2, 3, 2, 3), (3,))]
CONV_T_KWARGS = [{}, {"stride": 2, "padding": 1, "output_padding": 1}, {"dilation": 2, "padding": (2, 1)},
                 {"stride": (3, 2), "dilation": (1, 2), "output_padding": (2, 1)}]
POOL_SHAPES = [((2, 7, 6, 3),), ((1, 5, 5, 1),), ((6, 7, 2),)]
POOL_KWARGS = [{}, {"pool_shape": 3}, {"pool_shape": 3, "stride": 2, "padding": 1},
               {"pool_shape": (3, 2), "stride": 1}, {"pool_shape": (2, 3), "stride": (1, 2), "padding": (1, 0)}]

# Sums of a few dozen products: an output near zero differs from einsum's order of additions by ~1e-15.
_CORRELATE = OpCase("correlate", tg.correlate, ref_correlate, CONV_SHAPES, kwargs=CONV_KWARGS, atol=1e-13)
_CONVOLVE = OpCase("convolve", tg.convolve, ref_convolve, CONV_SHAPES, kwargs=CONV_KWARGS, atol=1e-13)
_CONV_T = OpCase("conv_transpose", tg.conv_transpose, ref_conv_transpose, CONV_T_SHAPES, kwargs=CONV_T_KWARGS,
                 atol=1e-13)
_MAXPOOL = OpCase("maxpool", tg.maxpool, ref_pool(np.max, -np.inf), POOL_SHAPES, kwargs=POOL_KWARGS, rtol=0)
_AVGPOOL = OpCase("avgpool", tg.avgpool, ref_pool(np.mean, 0.0), POOL_SHAPES, kwargs=POOL_KWARGS)

CASES += [
    # The Tensor-method spellings and the bias-free calls on fewer combinations: the functions carry the grid.
    _CORRELATE,
    replace(_CORRELATE, name="Tensor.correlate", op=method("correlate"), kwargs=CONV_KWARGS[2:4]),
    replace(_CORRELATE, name="correlate (no bias)", shapes=[s[:2] for s in CONV_SHAPES], kwargs=CONV_KWARGS[1:3]),
    _CONVOLVE,
    replace(_CONVOLVE, name="Tensor.convolve", op=method("convolve"), kwargs=CONV_KWARGS[2:4]),
    _CONV_T,
    replace(_CONV_T, name="conv_transpose (no bias)", shapes=[s[:2] for s in CONV_T_SHAPES],
            kwargs=CONV_T_KWARGS[1:3]),
    _MAXPOOL,
    replace(_MAXPOOL, name="Tensor.maxpool", op=method("maxpool"), kwargs=POOL_KWARGS[1:3]),
    _AVGPOOL,
    replace(_AVGPOOL, name="Tensor.avgpool", op=method("avgpool"), kwargs=POOL_KWARGS[1:3]),
]

# ----- issue 11: losses (reduction=, binary cross-entropies, cross-entropy's class axis 1, gradients to targets) ----


def ref_reduced(losses, reduction="mean"):
    if reduction == "none":
        return losses
    total = np.sum(losses)
    return total if reduction == "sum" else (total / losses.size if losses.size else np.nan)


def ref_mse_reduced(pred, target, reduction="mean"):
    return ref_reduced((pred - target) ** 2, reduction)


def ref_bce(p, t, reduction="mean"):
    return ref_reduced(-(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100)), reduction)


def ref_bce_logits(x, t, reduction="mean"):
    return ref_reduced(np.logaddexp(0, x) - x * t, reduction)


def ref_cross_entropy_axis1(logits, target, reduction="mean"):
    axis = 1 if logits.ndim > 1 else 0  # PyTorch's layout: classes on axis 1, or 0 for one sample
    log_probs = ref_log_softmax(logits, axis)
    if target.dtype.kind in "iu":
        losses = -np.take_along_axis(log_probs, np.expand_dims(target, axis), axis).squeeze(axis)
    else:
        losses = -(target * log_probs).sum(axis)
    return ref_reduced(losses, reduction)


def unit(rng, shape):
    """Sampler: uniform in [0, 1) (binary targets)."""
    return rng.uniform(0.0, 1.0, shape)


def inner_probabilities(rng, shape):
    """Sampler: probabilities away from 0 and 1, where binary_cross_entropy's logs are smooth."""
    return rng.uniform(0.05, 0.95, shape)


def soft_axis1(rng, shape):
    """Sampler: class probabilities along axis 1 (axis 0 of a 1-D shape), cross-entropy's class axis."""
    axis = 1 if len(shape) > 1 else 0
    rest = shape[:axis] + shape[axis + 1:]
    return np.moveaxis(rng.dirichlet(np.ones(shape[axis]), rest or None), -1, axis)


REDUCTION_CHOICES = [{}, {"reduction": "mean"}, {"reduction": "sum"}, {"reduction": "none"}]
BINARY_LOSS_SHAPES = LOSS_SHAPES + [((2, 0),) * 2]
CLASS_AXIS_SHAPES = [((2, 4, 3), (2, 3)), ((2, 4, 3, 2), (2, 3, 2)), ((2, 4, 0), (2, 0)), ((5, 4), (5,))]
SOFT_SHAPES = [((5, 3), (5, 3)), ((2, 4, 3), (2, 4, 3)), ((4,), (4,))]
_BCE = OpCase("binary_cross_entropy", tg.binary_cross_entropy, ref_bce, BINARY_LOSS_SHAPES,
              domain=(inner_probabilities, unit), kwargs=REDUCTION_CHOICES)
_BCE_LOGITS = OpCase("binary_cross_entropy_with_logits", tg.binary_cross_entropy_with_logits, ref_bce_logits,
                     BINARY_LOSS_SHAPES, domain=("real", unit), kwargs=REDUCTION_CHOICES)

CASES += [
    OpCase("mse (reduction)", tg.mse, ref_mse_reduced, BINARY_LOSS_SHAPES, kwargs=REDUCTION_CHOICES),
    *spellings(_BCE, {"Tensor.binary_cross_entropy": method("binary_cross_entropy")}),
    replace(_BCE, name="binary_cross_entropy (array target)", constants=(1,), kwargs=REDUCTION_CHOICES[:2]),
    *spellings(_BCE_LOGITS, {"Tensor.binary_cross_entropy_with_logits": method("binary_cross_entropy_with_logits")}),
    replace(_BCE_LOGITS, name="binary_cross_entropy_with_logits (large logits)", domain=(normal(30.0), unit)),
    replace(_BCE_LOGITS, name="binary_cross_entropy_with_logits (array target)", constants=(1,),
            kwargs=REDUCTION_CHOICES[:2]),
    # Labels (N, d1, ...) for logits (N, C, d1, ...); probabilities on axis 1 that require grad themselves.
    OpCase("cross_entropy (class axis 1)", tg.cross_entropy, ref_cross_entropy_axis1, CLASS_AXIS_SHAPES,
           domain=("real", labels(4)), constants=(1,), kwargs=REDUCTION_CHOICES),
    OpCase("cross_entropy (target gradient)", tg.cross_entropy, ref_cross_entropy_axis1, SOFT_SHAPES,
           domain=("real", soft_axis1), kwargs=REDUCTION_CHOICES),
]

BY_NAME = {case.name: case for case in CASES}
if len(BY_NAME) != len(CASES):
    raise ValueError("tests/cases.py: two rows share a name")
