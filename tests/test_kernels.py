"""The compiled im2col, relu and max-pool gradient kernels against their NumPy specifications, bit for bit (col2im's own
tests are in test_conv_kernel.py)."""
import numpy as np
import pytest

from tinygraph.ops import conv_reference
from tinygraph.ops.windows import output_size, sliding_windows

compiled = pytest.importorskip("tinygraph.ops.conv_backward")

# (N, H, W, C, kh, kw, sh, sw, dh, dw): one channel, many, strides and dilations that do not divide evenly.
WINDOW_CASES = [
    (2, 6, 7, 1, 3, 3, 1, 1, 1, 1),
    (3, 8, 8, 5, 3, 2, 2, 1, 1, 1),
    (1, 9, 10, 4, 3, 3, 1, 2, 2, 3),
    (2, 5, 5, 3, 5, 5, 1, 1, 1, 1),
    (0, 5, 5, 2, 2, 2, 1, 1, 1, 1),
    (2, 4, 4, 2, 1, 1, 3, 3, 1, 1),
]


def _rng(case):
    return np.random.default_rng(abs(hash(case)) % 2**32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", WINDOW_CASES, ids=str)
def test_copy_windows_equals_reference(case, dtype):
    n, h, w, c, kh, kw, sh, sw, dh, dw = case
    x = _rng(case).standard_normal((n, h, w, c)).astype(dtype)
    for source in (x, x[:, ::-1], np.asfortranarray(x)):  # contiguous, reversed rows, other strides
        windows = sliding_windows(source, kh, kw, sh, sw, dh, dw)
        fast, slow = np.full(windows.shape, np.nan, dtype), np.full(windows.shape, np.nan, dtype)
        compiled.copy_windows(fast, windows)
        conv_reference.copy_windows(slow, windows)
        assert np.array_equal(fast, slow) and np.array_equal(fast, windows)


@pytest.mark.parametrize("kernel", [compiled.copy_windows, conv_reference.copy_windows])
def test_copy_windows_rejects_another_shape(kernel):
    windows = sliding_windows(np.zeros((1, 4, 4, 2)), 2, 2, 1, 1)
    with pytest.raises(ValueError, match=r"copy_windows: out of shape \(1, 3, 3, 2, 2, 1\) does not match"):
        kernel(np.zeros((1, 3, 3, 2, 2, 1)), windows)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_positive_equals_reference(dtype):
    x = np.random.default_rng(0).standard_normal(1001).astype(dtype)
    x[:6] = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300 if dtype == np.float64 else 1e-40]
    results = []
    for kernel in (compiled.relu_positive, conv_reference.relu_positive):
        out, positive = np.empty_like(x), np.empty(x.shape, np.uint8)
        kernel(x, out, positive)
        results.append((out, positive))
    (fast, fast_mask), (slow, slow_mask) = results
    assert np.array_equal(fast, slow, equal_nan=True) and np.array_equal(fast_mask, slow_mask)
    assert np.array_equal(fast_mask, x > 0) and np.isnan(fast[2]) and fast[3] == np.inf and fast[4] == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_gradient_equals_reference(dtype):
    rng = np.random.default_rng(1)
    grad = rng.standard_normal(1001).astype(dtype)
    grad[:4] = [np.nan, np.inf, -0.0, np.nan]
    positive = (rng.random(1001) > 0.5).astype(np.uint8)
    positive[:4] = [0, 0, 1, 1]  # a NaN gradient stays NaN where the mask is 0, as in grad * positive
    fast, slow = np.empty_like(grad), np.empty_like(grad)
    compiled.relu_gradient(grad, positive, fast)
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, on both sides
        conv_reference.relu_gradient(grad, positive.view(bool), slow)
        assert np.array_equal(fast, slow, equal_nan=True) and np.array_equal(fast, grad * positive, equal_nan=True)
    with pytest.raises(ValueError, match="relu_gradient: grad, positive and out must have one size"):
        compiled.relu_gradient(grad, positive[:3], fast)


@pytest.mark.parametrize("kernel", [compiled.relu_positive, conv_reference.relu_positive])
def test_relu_positive_in_place_and_size_check(kernel):
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    positive = np.empty(4, np.uint8)
    kernel(x, x, positive)
    assert x.tolist() == [0, 2, 0, 4] and positive.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="relu_positive: x, out and positive must have one size"):
        kernel(x, np.empty(3), positive)


# (N, H, W, C, ph, pw, sh, sw): tiling, overlapping, gapped windows and margins the floor leaves out.
POOL_CASES = [
    (2, 6, 6, 3, 2, 2, 2, 2),
    (2, 7, 9, 17, 2, 2, 2, 2),
    (1, 7, 7, 2, 3, 3, 2, 2),
    (3, 8, 6, 1, 3, 2, 1, 1),
    (2, 9, 9, 4, 2, 2, 3, 3),
    (1, 5, 5, 2, 5, 5, 1, 1),
    (0, 4, 4, 2, 2, 2, 2, 2),
    (1, 33, 17, 1, 16, 16, 1, 1),
]


def _pool_input(case, dtype):
    n, h, w, c = case[:4]
    return _rng(case).integers(-3, 3, (n, h, w, c)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_scatter_winners_equals_reference(case, dtype):
    x = _pool_input(case, dtype)
    ph, pw, sh, sw = case[4:]
    shape = (x.shape[0], output_size(x.shape[1], ph, sh), output_size(x.shape[2], pw, sw), x.shape[3])
    winner = _rng(case).integers(0, ph * pw, shape).astype(np.uint8)
    grad = _rng(case).standard_normal(shape).astype(dtype)
    fast, slow = np.zeros_like(x), np.zeros_like(x)
    compiled.scatter_winners(winner, grad, fast, *case[4:])
    conv_reference.scatter_winners(winner, grad, slow, *case[4:])
    assert np.array_equal(fast, slow)
    # Every output's gradient reaches exactly one input element: the sums agree (the windows may overlap).
    np.testing.assert_allclose(fast.sum(), grad.sum(), rtol=1e-4, atol=1e-4)


def test_scatter_winners_rejects_shapes_that_do_not_fit():
    image, small = np.zeros((1, 4, 4, 2)), np.zeros((1, 3, 3, 2))
    winner = np.zeros((1, 3, 3, 2), np.uint8)
    with pytest.raises(ValueError, match="do not fit the 2x2 windows"):
        compiled.scatter_winners(winner, small, image, 2, 2, 2, 2)
    with pytest.raises(ValueError, match="at most 256 elements per window"):
        compiled.scatter_winners(winner, small, image, 17, 16, 1, 1)


@pytest.mark.parametrize("kernel", [compiled.scatter_winners, conv_reference.scatter_winners])
def test_scatter_winners_sends_inf_and_nan_to_the_winner_only(kernel):
    winner = np.array([[[[3], [0]]]], np.uint8)  # (1, 1, 2, 1): windows of 2x2, stride 2
    grad = np.array([[[[np.inf], [np.nan]]]])
    out = np.zeros((1, 2, 4, 1))
    kernel(winner, grad, out, 2, 2, 2, 2)
    expected = np.array([[0, 0, np.nan, 0], [0, np.inf, 0, 0]])
    assert np.array_equal(out[0, :, :, 0], expected, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_op_on_arrays_large_enough_for_the_compiled_passes(dtype):
    """relu's forward and backward on 100,000 values (the compiled passes, in chunks on tinygraph's threads) equal
    np.maximum and g * (x > 0), NaN and signed zeros included."""
    import tinygraph as tg

    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((2, 100_000)).astype(dtype)
    x[:3], g[:3] = [np.nan, 0.0, -0.0], [1.0, np.nan, np.nan]
    t = tg.Tensor(x.copy(), requires_grad=True)
    y = tg.relu(t)
    y.backward(g)
    assert np.array_equal(y.data, np.maximum(x, 0), equal_nan=True)
    assert np.array_equal(t.grad, g * (x > 0), equal_nan=True) and t.grad.dtype == dtype
