"""correlate / convolve: forward against direct loops and scipy, gradients by central differences, errors."""
import itertools

import numpy as np
import pytest
from scipy import signal

import tinygraph as tg
from tinygraph import Tensor, gradcheck

KERNELS = [(1, 1), (2, 3), (3, 3), (5, 5)]
STRIDES = [1, 2, 3, (2, 1)]
PADDINGS = [0, (1, 1), (2, 1)]


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def loop_correlate(x, w, b, stride, padding, dilation=1):
    """The definition, one output element at a time."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    f, kh, kw, _ = w.shape
    ho, wo = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1, (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], ho, wo, f))
    for n in range(x.shape[0]):
        for i in range(ho):
            for j in range(wo):
                patch = xp[n, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
                for k in range(f):
                    out[n, i, j, k] = np.sum(patch * w[k]) + (0 if b is None else b[k])
    return out


def _grid():
    """Every kernel x stride x padding, with batch, channels, filters and sizes rotated through the cases."""
    cases = []
    for i, (kernel, stride, padding) in enumerate(itertools.product(KERNELS, STRIDES, PADDINGS)):
        n, c, f = (1, 3)[i % 2], (1, 3)[(i // 2) % 2], (1, 4)[(i // 4) % 2]
        h, w = 5 + i % 3, 6 + (i // 3) % 3
        cases.append((n, h, w, c, f, kernel, stride, padding))
    return cases


GRID = _grid()


def _inputs(case, seed=0, dtype=np.float64):
    n, h, w, c, f, (kh, kw), _, _ = case
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((n, h, w, c)).astype(dtype),
        rng.standard_normal((f, kh, kw, c)).astype(dtype),
        rng.standard_normal(f).astype(dtype),
    )


def test_grid_covers_every_value():
    for axis, values in [(0, {1, 3}), (3, {1, 3}), (4, {1, 4})]:
        assert {case[axis] for case in GRID} == values
    assert any((case[1] + 2 * _pair(case[7])[0] - case[5][0]) % _pair(case[6])[0] for case in GRID)


@pytest.mark.parametrize("case", GRID, ids=str)
def test_forward_matches_loops(case):
    x, w, b = _inputs(case)
    stride, padding = case[6], case[7]
    out = tg.correlate(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(out.data, loop_correlate(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GRID, ids=str)
def test_gradcheck_x_w_b(case):
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs(case, seed=1))
    stride, padding = case[6], case[7]
    assert tg.gradcheck(lambda x, w, b: tg.correlate(x, w, b, stride=stride, padding=padding), x, w, b)


def test_without_bias_gradcheck_and_two_gradients():
    x, w, _ = (tg.Tensor(a, requires_grad=True) for a in _inputs(GRID[20]))
    assert tg.gradcheck(lambda x, w: tg.correlate(x, w, stride=2, padding=1), x, w)
    out = tg.correlate(x, w, None, stride=2, padding=1)
    np.testing.assert_allclose(out.data, loop_correlate(x.data, w.data, None, 2, 1), atol=1e-12)


def test_bias_gradient_is_sum_over_batch_and_positions():
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs((3, 6, 6, 2, 4, (3, 3), 1, 0)))
    g = np.random.default_rng(2).standard_normal((3, 4, 4, 4))
    tg.correlate(x, w, b).backward(g)
    np.testing.assert_allclose(b.grad, g.sum(axis=(0, 1, 2)))


def test_only_some_inputs_require_grad():
    x, w, b = _inputs((2, 6, 5, 3, 4, (3, 3), 1, 1))
    tw = tg.Tensor(w, requires_grad=True)
    tg.correlate(x, tw, b, padding=1).sum().backward()
    assert tw.grad.shape == w.shape
    tx = tg.Tensor(x, requires_grad=True)
    tg.correlate(tx, w, b, padding=1).sum().backward()
    assert tx.grad.shape == x.shape


def test_single_sample():
    x, w, b = _inputs((1, 7, 6, 3, 4, (3, 2), 2, 1))
    single = tg.Tensor(x[0], requires_grad=True)
    out = tg.correlate(single, w, b, stride=2, padding=1)
    np.testing.assert_allclose(out.data, loop_correlate(x, w, b, 2, 1)[0], atol=1e-12)
    assert tg.gradcheck(lambda s: tg.correlate(s, w, b, stride=2, padding=1), single)
    assert tg.Tensor(x[0]).correlate(w, b, 2, 1).shape == out.shape


def test_float32_stays_float32():
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs((2, 8, 8, 3, 4, (3, 3), 1, 1), dtype=np.float32))
    out = tg.correlate(x, w, b, stride=(2, 1), padding=1)
    assert out.dtype == np.float32
    (out * 2.0).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, loop_correlate(x.data, w.data, b.data, (2, 1), 1), rtol=1e-4, atol=1e-4)


def test_gradient_of_broadcast_and_transposed_upstream_gradients():
    # `sum` sends a read-only broadcast view, `transpose` a non-contiguous one.
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs((2, 7, 7, 3, 4, (3, 3), 2, 1)))
    tg.correlate(x, w, b, stride=2, padding=1).sum().backward()
    assert np.isfinite(x.grad).all()
    assert tg.gradcheck(lambda x, w: tg.correlate(x, w, padding=1).transpose((3, 1, 2, 0)), x, w)


def test_padding_strings():
    x, w, b = _inputs((2, 7, 6, 3, 4, (3, 5), 1, 0))
    np.testing.assert_allclose(tg.correlate(x, w, b, padding="valid").data, loop_correlate(x, w, b, 1, 0), atol=1e-12)
    same = tg.correlate(x, w, b, padding="SAME")
    assert same.shape == (2, 7, 6, 4)
    np.testing.assert_allclose(same.data, loop_correlate(x, w, b, 1, (1, 2)), atol=1e-12)


def test_same_padding_even_kernel_matches_tensorflow_placement():
    x, w, b = _inputs((1, 6, 7, 2, 3, (2, 4), 1, 0))
    # TensorFlow pads an even kernel's extra row and column at the bottom and right.
    expected = loop_correlate(np.pad(x, ((0, 0), (0, 1), (1, 2), (0, 0))), w, b, 1, 0)
    xt = tg.Tensor(x, requires_grad=True)
    out = tg.correlate(xt, w, b, padding="same")
    assert out.shape == (1, 6, 7, 3)
    np.testing.assert_allclose(out.data, expected, atol=1e-12)
    assert tg.gradcheck(lambda x: tg.correlate(x, w, b, padding="same"), xt)


def scipy_convolve(x, w, b, stride, padding):
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    out = np.stack(
        [
            np.stack([sum(signal.convolve2d(xp[n, :, :, c], w[f, :, :, c], mode="valid") for c in range(x.shape[3]))
                      for f in range(w.shape[0])], axis=-1)
            for n in range(x.shape[0])
        ]
    )
    return out[:, ::sh, ::sw] + b


@pytest.mark.parametrize("case", GRID[::7], ids=str)
def test_convolve_matches_scipy_and_gradcheck(case):
    x, w, b = _inputs(case, seed=3)
    stride, padding = case[6], case[7]
    out = tg.convolve(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(out.data, scipy_convolve(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    assert tg.gradcheck(lambda x, w, b: tg.convolve(x, w, b, stride=stride, padding=padding), tx, tw, tb)


def test_convolve_is_correlate_with_rotated_filters():
    x, w, b = _inputs((2, 7, 7, 3, 4, (2, 3), 1, 0))
    flipped = w[:, ::-1, ::-1, :]
    np.testing.assert_array_equal(tg.convolve(x, w, b, 2, 1).data, tg.correlate(x, flipped, b, 2, 1).data)
    assert tg.Tensor(x).convolve(w, None, 1, 0).shape == (2, 6, 5, 4)


X, W, B = np.zeros((2, 6, 6, 3)), np.zeros((4, 3, 3, 3)), np.zeros(4)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.zeros((6, 6)), W), {}, r"correlate: x must be .*\(6, 6\)"),
        ((X, np.zeros((4, 3, 3))), {}, r"correlate: w must be .*\(4, 3, 3\)"),
        ((X, np.zeros((4, 3, 3, 2))), {}, r"correlate: x has 3 channels but w expects 2.*\(2, 6, 6, 3\)"),
        ((X, np.zeros((4, 7, 3, 3))), {}, r"correlate: the 7x3 kernel does not fit the padded 6x6 input"),
        ((X, np.zeros((4, 9, 3, 3))), {"padding": 1}, r"correlate: the 9x3 kernel does not fit the padded 8x8"),
        ((X, W), {"stride": 0}, r"correlate: stride must be >= 1.*\(2, 6, 6, 3\)"),
        ((X, W), {"stride": (1, 2, 3)}, r"correlate: stride must be an int or a pair"),
        ((X, W), {"padding": -1}, r"correlate: padding must not be negative.*\(4, 3, 3, 3\)"),
        ((X, W), {"padding": "same", "stride": 2}, r'correlate: padding "same" needs stride 1'),
        ((X, W), {"padding": "full"}, r"correlate: padding must be .*'full'"),
        ((X, W, np.zeros(3)), {}, r"correlate: b must have shape \(4,\).*b \(3,\)"),
    ],
)
def test_errors_name_the_op_and_shapes(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tg.correlate(*args, **kwargs)


def test_at_least_one_filter():
    with pytest.raises(ValueError, match="at least one filter"):
        tg.correlate(np.ones((1, 4, 4, 1)), np.ones((0, 3, 3, 1)))


def test_convolve_errors_name_convolve():
    with pytest.raises(ValueError, match=r"convolve: x has 3 channels but w expects 2"):
        tg.convolve(X, np.zeros((4, 3, 3, 2)))


CHANNELS_LAST = ("tinygraph is channels-last, (N, H, W, C) as in Keras; a PyTorch-layout batch (N, C, H, W) needs "
                 "x.transpose(0, 2, 3, 1)")


@pytest.mark.parametrize("op", [tg.correlate, tg.convolve])
@pytest.mark.parametrize("x_shape, w_shape, fixed_w_shape, message", [
    ((1, 1, 5, 5), (2, 1, 3, 3), (2, 3, 3, 1), "x has 5 channels but w expects 3"),  # PyTorch's x and w
    ((4, 1, 28, 28), (2, 3, 3, 28), (2, 3, 3, 1), "the 3x3 kernel does not fit the padded 1x28 input"),
])
def test_a_channels_first_input_is_told_the_layout(op, x_shape, w_shape, fixed_w_shape, message):
    with pytest.raises(ValueError) as caught:
        op(np.ones(x_shape), np.ones(w_shape))
    text = str(caught.value)
    assert text.startswith(f"{op.__name__}: {message}") and CHANNELS_LAST in text
    assert "a PyTorch weight (F, C, kh, kw) needs w.transpose(0, 2, 3, 1)" in text
    fixed = op(np.ones(x_shape).transpose(0, 2, 3, 1), np.ones(fixed_w_shape))
    assert fixed.shape[-1] == w_shape[0]


def test_one_channels_first_sample_is_told_its_transpose():
    with pytest.raises(ValueError, match=r"a PyTorch-layout sample \(C, H, W\) needs x.transpose\(1, 2, 0\)"):
        tg.correlate(np.ones((1, 5, 5)), np.ones((2, 1, 3, 3)))


def test_a_channels_last_input_gets_no_layout_hint():
    with pytest.raises(ValueError) as caught:
        tg.correlate(np.ones((2, 6, 6, 1)), np.ones((4, 3, 3, 2)))  # rows >= channels
    assert str(caught.value).startswith("correlate: x has 1 channel but w expects 2")
    assert "channels-last" not in str(caught.value)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("block_bytes", [1, 600, 1 << 22])
def test_inference_and_blocked_paths_agree_with_the_training_path(monkeypatch, block_bytes, channels):
    """The forward and both gradients run a block of samples at a time, with or without a gradient (the filter
    gradient from the im2col matrix made again in blocks, as for a large input)."""
    import tinygraph.ops.conv as conv
    import tinygraph.ops.im2col as im2col

    monkeypatch.setattr(im2col, "_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(conv, "_KEPT_COLS_BYTES", 0)
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((5, 7, 6, channels)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 2, channels)), requires_grad=True)
    b = Tensor(rng.standard_normal(4))
    with tg.no_grad():
        inferred = tg.correlate(x, w, b, stride=(2, 1), padding=(1, 1)).data
    trained = tg.correlate(x, w, b, stride=(2, 1), padding=(1, 1))
    np.testing.assert_allclose(inferred, trained.data, rtol=1e-13)
    assert gradcheck(lambda x, w: tg.correlate(x, w, b, stride=(2, 1), padding=(1, 1)), x, w)

