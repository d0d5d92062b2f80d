"""The reverse-mode traversal: sharing, accumulation, graph freeing, grad mode, long chains."""
import sys

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor
from tinygraph.ops.function import Function, apply


def vector(*values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ----- tensors used more than once ------------------------------------------------------------------------

def test_tensor_used_twice_in_mul():
    x = vector(1.0, -2.0, 3.0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_tensor_used_twice_in_add():
    x = vector(1.0, -2.0, 3.0)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_diamond():
    x = vector(0.5, -1.5)
    a, b = x * 2.0, tg.tanh(x)
    (a * b).sum().backward()  # d/dx (2x tanh x) = 2 tanh x + 2x (1 - tanh^2 x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, 2 * t + 2 * x.data * (1 - t * t), rtol=1e-14)


def test_deep_diamond_reuses_shared_subgraph():
    x = vector(0.3)
    y = x
    for _ in range(30):
        y = y * 0.5 + y * 0.5  # every level fans out and joins again: 2**30 paths, linear work
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])


def test_node_shared_by_many_consumers_is_visited_once():
    calls = []

    class CountedDouble(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad.copy())
            return 2 * grad

    x = vector(1.0, 2.0)
    shared = apply(CountedDouble, x)
    total = shared * 0.0
    for k in range(1, 51):
        total = total + shared * float(k)
    total.sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [1275.0, 1275.0])
    np.testing.assert_allclose(x.grad, [2550.0, 2550.0])


# ----- accumulation and reset ------------------------------------------------------------------------------

def test_gradients_accumulate_over_two_backward_calls():
    x = vector(1.0, 2.0)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0 + 2.0, 3.0 + 4.0])


@pytest.mark.parametrize("reset", ["zero_grad", "assign None"])
def test_reset_gradient(reset):
    x = vector(1.0, 2.0)
    (x * 3.0).sum().backward()
    if reset == "zero_grad":
        x.zero_grad()
    else:
        x.grad = None
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_retain_graph_allows_a_second_backward_that_adds_the_same_gradient():
    x = vector(1.0, -2.0)
    y = (tg.exp(x) * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)


def test_second_backward_through_freed_graph_raises():
    x = vector(1.0, -2.0)
    y = (tg.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"freed.*retain_graph=True"):
        y.backward()


def test_backward_frees_saved_arrays():
    x = vector(1.0, 2.0)
    product = x * x
    product.sum().backward()
    assert product._ctx.saved_arrays is None


def test_partly_freed_graph_raises_when_reused():
    x = vector(1.0, 2.0)
    shared = tg.exp(x)
    shared.sum().backward()
    with pytest.raises(RuntimeError, match="exp"):
        (shared * 2.0).sum().backward()


# ----- the starting gradient -------------------------------------------------------------------------------

def test_backward_of_non_scalar_without_gradient_names_the_shape():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward.*\(2, 3\)"):
        (x * 2.0).backward()


def test_backward_from_a_non_scalar_without_gradient_says_single_element():
    with pytest.raises(ValueError, match=r"backward: .*single-element.*\(2, 3\)"):
        (Tensor(np.ones((2, 3)), requires_grad=True) * 2.0).backward()


@pytest.mark.parametrize("bad_shape", [(3, 2), (6,), (2, 3, 1), ()], ids=str)
def test_backward_with_a_gradient_of_the_wrong_shape(bad_shape):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: grad has shape .* the tensor has shape \(2, 3\)"):
        (x * 2.0).backward(np.ones(bad_shape))


def test_backward_with_an_explicit_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    g = np.arange(6.0).reshape(2, 3)
    (x * 2.0).backward(g)
    np.testing.assert_array_equal(x.grad, 2 * g)
    x.grad = None
    (x * 2.0).backward(Tensor(g))
    np.testing.assert_array_equal(x.grad, 2 * g)


def test_backward_of_a_single_element_non_scalar():
    x = vector(3.0)
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [6.0])


def test_backward_of_a_tensor_that_does_not_require_grad():
    with pytest.raises(ValueError, match=r"does not require grad"):
        Tensor(np.ones(())).backward()


def test_backward_on_a_leaf():
    x = Tensor(np.float64(2.0), requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_constants_get_no_gradient():
    x, c = vector(1.0, 2.0), Tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_op_returning_a_gradient_of_the_wrong_shape_is_named():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return np.ones(7)

    x = vector(1.0, 2.0)
    with pytest.raises(ValueError, match=r"broken backward.*\(2,\)"):
        apply(Broken, x).sum().backward()


def test_op_returning_none_gives_no_gradient():
    class Blocked(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return None

    x = vector(1.0, 2.0)
    (apply(Blocked, x) + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# ----- grad mode ----------------------------------------------------------------------------------------------

def test_no_grad_context_manager_records_nothing():
    x = vector(1.0, 2.0)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = tg.tanh(x * 2.0).sum()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None


def test_no_grad_decorator_records_nothing():
    @tg.no_grad()
    def forward(x):
        return (x * x).sum()

    x = vector(1.0, 2.0)
    y = forward(x)
    assert not y.requires_grad and y._ctx is None
    assert tg.is_grad_enabled()
    assert (x * x).requires_grad


def test_no_grad_decorator_survives_recursion_and_exceptions():
    @tg.no_grad()
    def countdown(n):
        if n == 0:
            raise KeyError("bottom")
        return countdown(n - 1)

    with pytest.raises(KeyError):
        countdown(3)
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = vector(1.0, 2.0)
    with tg.no_grad():
        with tg.enable_grad():
            assert (x * x).requires_grad
        assert not (x * x).requires_grad
    assert tg.is_grad_enabled()


# ----- detach, requires_grad_, retain_grad -------------------------------------------------------------------

def test_detach_cuts_the_graph():
    x = vector(1.0, 2.0)
    d = (x * 3.0).detach()
    assert not d.requires_grad and d._ctx is None
    (x * x.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad, x.data)


def test_requires_grad_():
    x = Tensor(np.ones(2))
    assert x.requires_grad_() is x and x.requires_grad
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    x.requires_grad_(False)
    assert not (x * 2.0).requires_grad


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = vector(1.0, 2.0)
    hidden, plain = x * 3.0, x * 4.0
    hidden.retain_grad()
    (hidden * hidden + plain).sum().backward()
    np.testing.assert_array_equal(hidden.grad, 2 * hidden.data)
    assert plain.grad is None
    np.testing.assert_array_equal(x.grad, 6 * hidden.data + 4.0)


# ----- long chains -------------------------------------------------------------------------------------------

def test_chain_of_10000_ops_under_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        x = Tensor(np.float64(0.5), requires_grad=True)
        y = x
        for _ in range(5000):
            y = tg.tanh(y) + 0.01  # two ops per step
        y.backward()
        del y  # freeing a deep chain must not recurse either
    finally:
        sys.setrecursionlimit(limit)
    assert np.isfinite(x.grad) and x.grad != 0


# ----- stored gradients ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "build",
    [
        lambda x, y: x + y,  # add hands one array to both inputs
        lambda x, y: (x.reshape(3, 1) + y.reshape(3, 1)).sum(),  # views of the upstream gradient
        lambda x, y: x.sum() + y.sum(),  # read-only broadcast views
        lambda x, y: (x - y).T.sum(),
    ],
    ids=["add", "reshape", "sum", "transpose"],
)
def test_leaf_gradients_are_independent_writeable_arrays(build):
    x, y = vector(1.0, 2.0, 3.0), vector(4.0, 5.0, 6.0)
    out = build(x, y)
    out.backward(np.ones(out.shape))
    for t in (x, y):
        assert isinstance(t.grad, np.ndarray) and t.grad.flags.writeable
    assert not np.shares_memory(x.grad, y.grad)
    before = y.grad.copy()
    x.grad[...] = 0.0
    np.testing.assert_array_equal(y.grad, before)


def test_retained_gradient_does_not_alias_the_leaf_gradient():
    x = vector(1.0, 2.0)
    z = x + 0.0
    z.retain_grad()
    z.backward(np.array([1.0, 1.0]))
    assert not np.shares_memory(z.grad, x.grad)


def test_gradient_dtype_follows_the_leaf():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x * np.float64(2.0)).sum().backward(np.float64(1.0))
    assert x.grad.dtype == np.float32
