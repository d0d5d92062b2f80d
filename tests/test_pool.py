"""maxpool / avgpool: forward against loops, gradients by central differences, ties, errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph.ops import conv_reference, kernels

# (N, H, W, C, pool, stride[, padding]): tiling, floor margins, overlapping, gapped, tuples, stride None, padding.
CASES = [
    (2, 4, 4, 3, 2, 2),
    (1, 7, 5, 2, 2, 2),
    (2, 7, 6, 3, 3, 2),
    (1, 6, 7, 2, (2, 3), (1, 2)),
    (2, 5, 8, 1, (3, 2), (3, 1)),
    (1, 7, 7, 2, 2, 3),
    (3, 6, 6, 2, 3, None),
    (1, 5, 5, 3, 3, 1),
    (2, 4, 5, 2, 1, 1),
    (2, 7, 6, 3, 3, 2, 1),
    (1, 5, 5, 1, (2, 3), (1, 2), (1, 1)),
    (2, 6, 7, 2, 2, None, 1),
    (1, 4, 5, 1, 3, 3, (1, 0)),
    (1, 6, 5, 2, (3, 2), (2, 3), (0, 1)),
    (3, 3, 3, 1, 3, 1, 1),
]


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def loop_pool(x, pool, stride, reduce, padding=0):
    """The definition, one output pixel at a time; max pads with -inf, mean with zeros that count."""
    qh, qw = _pair(padding)
    x = np.pad(x, ((0, 0), (qh, qh), (qw, qw), (0, 0)), constant_values=-np.inf if reduce is np.max else 0)
    ph, pw = _pair(pool)
    sh, sw = _pair(pool if stride is None else stride)
    ho, wo = (x.shape[1] - ph) // sh + 1, (x.shape[2] - pw) // sw + 1
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]))
    for i in range(ho):
        for j in range(wo):
            out[:, i, j] = reduce(x[:, i * sh : i * sh + ph, j * sw : j * sw + pw], axis=(1, 2))
    return out


def _input(case, seed=0):
    n, h, w, c = case[:4]
    return np.random.default_rng(seed).standard_normal((n, h, w, c))


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("op, reduce", [(tg.maxpool, np.max), (tg.avgpool, np.mean)], ids=["max", "avg"])
def test_forward_and_gradcheck(case, op, reduce):
    x = _input(case)
    pool, stride, padding = (*case[4:], 0)[:3]
    expected = loop_pool(x, pool, stride, reduce, padding)
    np.testing.assert_allclose(op(x, pool, stride, padding).data, expected, rtol=1e-12)
    tx = tg.Tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda x: op(x, pool, stride, padding), tx)
    single = tg.Tensor(x[0], requires_grad=True)
    np.testing.assert_allclose(op(single, pool, stride, padding).data, expected[0], rtol=1e-12)
    assert tg.gradcheck(lambda x: op(x, pool, stride, padding), single)


@pytest.mark.parametrize("op", [tg.maxpool, tg.avgpool])
def test_single_sample_and_float32(op):
    x = tg.Tensor(_input((1, 7, 6, 3)).astype(np.float32)[0], requires_grad=True)
    out = op(x, (3, 2), (2, 1))
    assert out.shape == (3, 5, 3) and out.dtype == np.float32
    (out * 3.0).sum().backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32
    x64 = tg.Tensor(x.data.astype(np.float64), requires_grad=True)
    assert tg.gradcheck(lambda x: op(x, 2, 2), x64)


@pytest.mark.parametrize("pool, stride", [(2, 2), (3, 2), (3, 1), ((2, 3), (1, 2)), (2, 3)])
def test_maxpool_ties_send_gradient_to_one_element_per_window(pool, stride):
    x = tg.Tensor(np.ones((2, 7, 8, 3)), requires_grad=True)
    out = x.maxpool(pool, stride)
    out.backward(np.ones(out.shape))
    # Each window gives 1 to its first (top-left) element, and to no other.
    expected = np.zeros(x.shape)
    ph, pw = _pair(pool)
    sh, sw = _pair(stride)
    np.add.at(expected, (slice(None), np.arange(out.shape[1])[:, None] * sh, np.arange(out.shape[2]) * sw), 1.0)
    np.testing.assert_array_equal(x.grad, expected)
    assert x.grad.sum() == out.size


def test_maxpool_picks_the_first_maximum_in_row_major_order():
    window = np.array([[1.0, 5.0], [5.0, 5.0]])
    x = tg.Tensor(window[None, :, :, None], requires_grad=True)
    x.maxpool(2, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0, 1], [0, 0]])


def test_maxpool_stores_small_indices_not_masks():
    x = tg.Tensor(_input((2, 6, 6, 3)), requires_grad=True)
    out = tg.maxpool(x, 3, 1)
    (saved,) = out._ctx.saved_arrays
    assert saved.dtype == np.uint8 and saved.shape == out.shape


@pytest.mark.parametrize("op", [tg.maxpool, tg.avgpool])
def test_overlapping_gradient_same_with_either_kernel(monkeypatch, op):
    x = tg.Tensor(_input((3, 9, 8, 4), seed=5), requires_grad=True)
    g = np.random.default_rng(6).standard_normal(op(x, 3, (2, 1)).shape)
    op(x, 3, (2, 1)).backward(g)
    fast, x.grad = x.grad, None
    monkeypatch.setattr(kernels, "scatter_windows", conv_reference.scatter_windows)
    op(x, 3, (2, 1)).backward(g)
    assert np.array_equal(fast, x.grad)


@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
@pytest.mark.parametrize(
    "shape, pool, stride, message",
    [
        ((6, 6), 2, 2, r"x must be \(N, H, W, C\) .*\(6, 6\)"),
        ((1, 6, 6, 2), 0, 2, r"pool_shape must be >= 1"),
        ((1, 6, 6, 2), 2, (0, 1), r"stride must be >= 1"),
        ((1, 6, 6, 2), (2, 2, 2), 2, r"pool_shape must be an int or a pair"),
        ((1, 6, 3, 2), (2, 4), 2, r"the 2x4 window does not fit the input of shape \(1, 6, 3, 2\)"),
    ],
)
def test_errors_name_the_op_and_shapes(op, shape, pool, stride, message):
    with pytest.raises(ValueError, match=f"{op}: {message}"):
        getattr(tg, op)(np.zeros(shape), pool, stride)


def test_avgpool_of_integers_is_a_float_mean():
    x = np.arange(16).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(tg.avgpool(x, 2, 2).data[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("shape, pool", [((2, 7, 6, 3), 2), ((1, 9, 8, 20), (3, 2)), ((3, 4, 4, 1), 2)], ids=str)
def test_maxpool_backends_are_exact_with_ties(monkeypatch, backend, shape, pool):
    """The compiled max-pool gradient kernel and its NumPy reference both give the exact gradient, ties included."""
    from tinygraph.ops import conv_reference, kernels

    if backend == "numpy":
        monkeypatch.setattr(kernels, "scatter_winners", conv_reference.scatter_winners)
    x = tg.Tensor(np.random.default_rng(3).standard_normal(shape), requires_grad=True)
    assert tg.gradcheck(lambda x: x.maxpool(pool, pool), x)
    tied = tg.Tensor(np.ones(shape), requires_grad=True)
    out = tied.maxpool(pool, pool)
    out.backward(np.arange(out.size, dtype=np.float64).reshape(out.shape) + 1)
    ph, pw = _pair(pool)
    corners = tied.grad[:, : out.shape[1] * ph : ph, : out.shape[2] * pw : pw]
    np.testing.assert_array_equal(corners, np.arange(out.size).reshape(out.shape) + 1)
    assert np.count_nonzero(tied.grad) == out.size


@pytest.mark.parametrize("op", [tg.maxpool, tg.avgpool])
def test_a_channels_first_input_is_told_the_layout(op):
    with pytest.raises(ValueError) as caught:
        op(np.ones((4, 1, 28, 28)))
    text = str(caught.value)
    assert text.startswith(f"{op.__name__}: the 2x2 window does not fit the input of shape (4, 1, 28, 28)")
    assert text.endswith("; tinygraph is channels-last, (N, H, W, C) as in Keras; a PyTorch-layout batch "
                         "(N, C, H, W) needs x.transpose(0, 2, 3, 1)")
    assert op(np.ones((4, 1, 28, 28)).transpose(0, 2, 3, 1)).shape == (4, 14, 14, 1)
    with pytest.raises(ValueError) as caught:
        op(np.ones((4, 1, 1, 1)))  # as many rows as channels: no hint
    assert "channels-last" not in str(caught.value)
