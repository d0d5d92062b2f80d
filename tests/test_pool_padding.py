"""Pooling as PyTorch does it: padding, the default stride, NaN and -inf in windows; the pooling layers' keywords."""
import numpy as np
import pytest
from test_pool import _pair, loop_pool

import tinygraph as tg
from tinygraph.layers import AveragePoolingLayer, MaxPoolingLayer


def _nchw(torch, a, requires_grad=False):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), requires_grad=requires_grad)


def _torch_pool(op, x, g, pool, stride, padding):
    """PyTorch's output and input gradient for channels-last x and output gradient g."""
    torch = pytest.importorskip("torch")
    pool_fn = torch.nn.functional.max_pool2d if op is tg.maxpool else torch.nn.functional.avg_pool2d
    px = _nchw(torch, x, requires_grad=True)
    out = pool_fn(px, _pair(pool), _pair(pool if stride is None else stride), _pair(padding))
    out.backward(_nchw(torch, g))
    return out.detach().numpy().transpose(0, 2, 3, 1), px.grad.numpy().transpose(0, 2, 3, 1)


def _random_geometry(rng):
    pool = tuple(int(k) for k in rng.integers(1, 4, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in pool)
    return pool, stride, padding


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("op", [tg.maxpool, tg.avgpool])
def test_forward_and_gradient_match_torch_with_padding(op, seed):
    rng = np.random.default_rng(seed)
    pool, stride, padding = _random_geometry(rng)
    x = rng.standard_normal((int(rng.integers(1, 3)), 3 + seed % 4, 3 + seed % 3, int(rng.integers(1, 4))))
    tx = tg.Tensor(x, requires_grad=True)
    out = op(tx, pool, stride, padding)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected, expected_grad = _torch_pool(op, x, g, pool, stride, padding)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tx.grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(60))
def test_maxpool_nan_and_minus_infinity_match_torch_exactly(seed):
    """NaN propagates and takes the gradient (the LAST NaN of a window); a window of -inf gives it to its first
    input element, never to the -inf padding."""
    rng = np.random.default_rng(100 + seed)
    pool, stride, padding = _random_geometry(rng)
    values = rng.choice([np.nan, -np.inf, np.inf, 1.0, -1.0, 0.5], size=(2, 3 + seed % 4, 4, 2))
    tx = tg.Tensor(values, requires_grad=True)
    out = tg.maxpool(tx, pool, stride, padding)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected, expected_grad = _torch_pool(tg.maxpool, values, g, pool, stride, padding)
    np.testing.assert_array_equal(out.data, expected)  # NaN where torch has NaN
    np.testing.assert_array_equal(tx.grad, expected_grad)


@pytest.mark.parametrize("pool, stride", [(2, None), (3, 1), ((2, 3), (1, 2)), (1, 1)])
def test_maxpool_sends_the_gradient_to_the_nan(pool, stride):
    x = np.arange(36.0).reshape(1, 6, 6, 1)
    x[0, 1, 1, 0] = np.nan
    tx = tg.Tensor(x, requires_grad=True)
    out = tg.maxpool(tx, pool, stride)
    out.backward(np.ones(out.shape))
    holds_nan = np.isnan(out.data)
    assert holds_nan.any()
    # Every window holding the NaN outputs NaN and sends its 1 to the NaN.
    assert tx.grad[0, 1, 1, 0] == holds_nan.sum()
    assert tx.grad.sum() == out.size


def test_maxpool_several_nans_in_a_window_send_the_gradient_to_the_last():
    window = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, np.nan], [0.0, 0.0, 0.0]])
    tx = tg.Tensor(window[None, :, :, None], requires_grad=True)
    out = tx.maxpool((3, 3))
    out.sum().backward()
    assert np.isnan(out.data).all()
    np.testing.assert_array_equal(tx.grad[0, :, :, 0], [[0, 0, 0], [0, 0, 1], [0, 0, 0]])


def test_padding_never_wins_even_against_minus_infinity():
    tx = tg.Tensor(np.full((1, 3, 3, 1), -np.inf), requires_grad=True)
    out = tg.maxpool(tx, 2, 2, padding=1)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(out.data, np.full((1, 2, 2, 1), -np.inf))
    # Each window's first input element: (0, 0), (0, 1), (1, 0), (1, 1).
    np.testing.assert_array_equal(tx.grad[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_integer_maxpool_pads_with_the_lowest_integer():
    x = np.array([[-5, -7], [-9, -6]], dtype=np.int64)[None, :, :, None]
    out = tg.maxpool(x, 2, 1, padding=1)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data[0, :, :, 0], [[-5, -5, -7], [-5, -5, -6], [-9, -6, -6]])


def test_avgpool_counts_the_padding_as_pytorch_does_by_default():
    out = tg.avgpool(np.ones((1, 2, 2, 1)), 2, 2, padding=1)
    np.testing.assert_array_equal(out.data[0, :, :, 0], [[0.25, 0.25], [0.25, 0.25]])


@pytest.mark.parametrize("op, reduce", [(tg.maxpool, np.max), (tg.avgpool, np.mean)], ids=["max", "avg"])
def test_stride_defaults_to_the_pool_size(op, reduce):
    """Bug 8: maxpool(x, (3, 3)) moved by 2; PyTorch and Keras move by the pool size."""
    x = np.random.default_rng(0).standard_normal((2, 9, 10, 2))
    out = op(x, (3, 3))
    assert out.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(out.data, loop_pool(x, 3, 3, reduce), rtol=1e-12)
    method = getattr(tg.Tensor(x), op.__name__)
    assert method((3, 2)).shape == (2, 3, 5, 2) and method().shape == (2, 4, 5, 2)
    # The tutorial's 2x2 pooling with stride 2 is what it was.
    np.testing.assert_array_equal(op(x).data, op(x, (2, 2), 2).data)


@pytest.mark.parametrize("layer_type, op", [(MaxPoolingLayer, tg.maxpool), (AveragePoolingLayer, tg.avgpool)])
def test_layers_take_padding_and_default_the_stride_to_the_pool(layer_type, op):
    x = np.random.default_rng(1).standard_normal((2, 7, 7, 3))
    layer = layer_type((3, 3), padding=1)
    assert layer.stride == (3, 3) and layer.padding == (1, 1)
    np.testing.assert_array_equal(layer(x).data, op(x, 3, 3, 1).data)
    config = layer.get_config()
    assert config == {"pool_shape": [3, 3], "stride": [3, 3], "padding": [1, 1]}
    assert layer_type(**config).get_config() == config
    assert layer_type((2, 2), stride=2).get_config()["padding"] == [0, 0]
    with pytest.raises(ValueError, match=rf"{layer_type.__name__}: padding \(2, 2\) must be at most half"):
        layer_type((3, 3), padding=2)


@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
@pytest.mark.parametrize(
    "pool, padding, message",
    [
        (3, 2, r"padding \(2, 2\) must be at most half the 3x3 window, i.e. at most \(1, 1\) \(input shape \(1, 6, 5"),
        ((2, 4), (1, 3), r"padding \(1, 3\) must be at most half the 2x4 window"),
        (2, -1, r"padding must not be negative, got -1 \(input shape \(1, 6, 5, 2\)\)"),
        (2, "same", r"padding must be an int or \(rows, cols\), got 'same' \(input shape"),
        (2, (1, 1, 1), r"padding must be an int, \(rows, cols\)"),
        (2, 1.5, r"padding must be an int, \(rows, cols\)"),
        ((9, 2), (1, 0), r"the 9x2 window does not fit the input of shape \(1, 6, 5, 2\) padded by \(1, 0\)"),
    ],
)
def test_padding_errors_name_the_op_and_shapes(op, pool, padding, message):
    with pytest.raises(ValueError, match=f"{op}: {message}"):
        getattr(tg, op)(np.zeros((1, 6, 5, 2)), pool, 1, padding)
