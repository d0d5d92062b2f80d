"""Winograd's F(4x4, 3x3) path of correlate: its compiled transforms against their NumPy specifications (bit for
bit) and as adjoints, the path against the im2col path and finite differences, which layers take it."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph.ops import conv_reference, kernels, winograd

compiled = pytest.importorskip("tinygraph.ops.conv_backward")
TRANSFORMS = ("winograd_tiles", "winograd_tiles_adjoint", "winograd_untile", "winograd_untile_adjoint")
# (N, tile rows, tile columns, channels): one tile, many, one channel, a batch of none.
TILE_CASES = [(1, 1, 1, 1), (2, 3, 4, 5), (3, 2, 5, 16), (0, 2, 2, 3)]


def _random(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TILE_CASES, ids=str)
def test_transforms_equal_their_references_bit_for_bit(case, dtype):
    n, th, tw, c = case
    image, grad = _random((n, 4 * th + 2, 4 * tw + 2, c), dtype), _random((n, 4 * th, 4 * tw, c), dtype, 1)
    planes, bias = _random((36, n * th * tw, c), dtype, 2), _random(c, dtype, 3)
    for name, args in [("winograd_tiles", (image,)), ("winograd_untile_adjoint", (grad,))]:
        fast, slow = np.full(planes.shape, np.nan, dtype), np.full(planes.shape, np.nan, dtype)
        getattr(compiled, name)(*args, fast)
        getattr(conv_reference, name)(*args, slow)
        assert np.array_equal(fast, slow), name
    fast, slow = image.copy(), image.copy()  # the adjoint adds into what is there
    compiled.winograd_tiles_adjoint(planes, fast)
    conv_reference.winograd_tiles_adjoint(planes, slow)
    assert np.array_equal(fast, slow)
    for b in (None, bias):
        fast, slow = np.full(grad.shape, np.nan, dtype), np.full(grad.shape, np.nan, dtype)
        compiled.winograd_untile(planes, fast, b)
        conv_reference.winograd_untile(planes, slow, b)
        assert np.array_equal(fast, slow)


@pytest.mark.parametrize("case", TILE_CASES[:3], ids=str)
def test_each_adjoint_is_the_transpose_of_its_transform(case):
    """<T x, v> = <x, T* v> for the input and the output transform."""
    n, th, tw, c = case
    image, planes = _random((n, 4 * th + 2, 4 * tw + 2, c), np.float64), _random((36, n * th * tw, c), np.float64, 1)
    tiles, back = np.empty_like(planes), np.zeros_like(image)
    compiled.winograd_tiles(image, tiles)
    compiled.winograd_tiles_adjoint(planes, back)
    assert np.isclose(np.vdot(tiles, planes), np.vdot(image, back), rtol=1e-12)
    grad, out, m = _random((n, 4 * th, 4 * tw, c), np.float64, 2), np.empty((n, 4 * th, 4 * tw, c)), np.empty_like(planes)
    compiled.winograd_untile(planes, out)
    compiled.winograd_untile_adjoint(grad, m)
    assert np.isclose(np.vdot(out, grad), np.vdot(planes, m), rtol=1e-12)


def test_the_kernels_apply_the_documented_matrices():
    """One tile through the kernels equals Bᵀ d B, Aᵀ m A and their transposes written as matrix products."""
    d, m, g = _random((1, 6, 6, 1), np.float64), _random((36, 1, 1), np.float64, 1), _random((1, 4, 4, 1), np.float64, 2)
    b_t, a_t = winograd._B_T, winograd._A_T
    out = np.empty((36, 1, 1))
    compiled.winograd_tiles(d, out)
    np.testing.assert_allclose(out.reshape(6, 6), b_t @ d[0, :, :, 0] @ b_t.T, rtol=1e-14, atol=1e-13)
    back = np.zeros((1, 6, 6, 1))
    compiled.winograd_tiles_adjoint(m, back)
    np.testing.assert_allclose(back[0, :, :, 0], b_t.T @ m.reshape(6, 6) @ b_t, rtol=1e-14, atol=1e-13)
    y = np.empty((1, 4, 4, 1))
    compiled.winograd_untile(m, y)
    np.testing.assert_allclose(y[0, :, :, 0], a_t @ m.reshape(6, 6) @ a_t.T, rtol=1e-14, atol=1e-13)
    compiled.winograd_untile_adjoint(g, out)
    np.testing.assert_allclose(out.reshape(6, 6), a_t.T @ g[0, :, :, 0] @ a_t, rtol=1e-14, atol=1e-13)


@pytest.mark.parametrize("module", [compiled, conv_reference], ids=["compiled", "reference"])
def test_transforms_refuse_shapes_that_do_not_match(module):
    image, planes = np.zeros((2, 10, 10, 3)), np.zeros((36, 7, 3))  # 2 samples of 2x2 tiles need 8 rows
    with pytest.raises(ValueError, match="winograd_tiles: an image batch of 2x10x10x3"):
        module.winograd_tiles(image, planes)
    with pytest.raises(ValueError, match="winograd_untile"):
        module.winograd_untile(np.zeros((36, 8, 3)), np.zeros((2, 9, 8, 3)))


def test_compiled_transforms_refuse_strided_channels():
    with pytest.raises(ValueError, match="contiguous channels"):
        compiled.winograd_tiles(np.zeros((1, 6, 6, 6))[..., ::2], np.zeros((36, 1, 3)))


# (x shape, filters, padding, bias): outputs a multiple of 4 and not, "same", one sample (H, W, C), one 1x1 output,
# channels not a power of two.
CASES = [
    ((2, 6, 10, 16), 16, 0, True),
    ((2, 7, 5, 16), 17, 0, False),
    ((1, 5, 8, 20), 16, 1, True),
    ((3, 9, 9, 16), 24, "same", True),
    ((8, 8, 16), 16, "same", False),
    ((2, 3, 3, 16), 16, 0, True),
]


def _conv(case, dtype, seed=0):
    x_shape, filters, padding, with_bias = case
    x = tg.Tensor(_random(x_shape, dtype, seed), requires_grad=True)
    w = tg.Tensor(_random((filters, 3, 3, x_shape[-1]), dtype, seed + 1) / 10, requires_grad=True)
    b = tg.Tensor(_random(filters, dtype, seed + 2), requires_grad=True) if with_bias else None
    return x, w, b, padding


def _forward_and_gradients(case, dtype):
    x, w, b, padding = _conv(case, dtype)
    y = tg.correlate(x, w, b, padding=padding)
    (y * tg.Tensor(_random(y.shape, dtype, 9))).sum().backward()
    return [y.data, x.grad, w.grad] + ([] if b is None else [b.grad]), y._ctx


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_winograd_agrees_with_the_im2col_path(monkeypatch, case, dtype, tolerance):
    fast, ctx = _forward_and_gradients(case, dtype)
    assert ctx.winograd
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 10**9)
    slow, ctx = _forward_and_gradients(case, dtype)
    assert not ctx.winograd
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * np.abs(b).max())


@pytest.mark.parametrize("case", CASES[:3] + CASES[4:5], ids=str)
def test_winograd_passes_gradcheck(case):
    x, w, b, padding = _conv(case, np.float64)
    inputs = (x, w) if b is None else (x, w, b)
    assert tg.correlate(x, w, b, padding=padding)._ctx.winograd
    assert tg.gradcheck(lambda *t: tg.correlate(*t, padding=padding), *inputs)


def test_second_derivatives_through_the_winograd_forward():
    x, w, b, _ = _conv(((1, 4, 4, 16), 16, 0, True), np.float64)
    assert tg.gradgradcheck(lambda *t: tg.correlate(*t), x, w, b)


def test_the_numpy_references_give_the_same_results(monkeypatch):
    fast, _ = _forward_and_gradients(CASES[1], np.float64)
    for name in TRANSFORMS:
        monkeypatch.setattr(kernels, name, getattr(conv_reference, name))
    slow, _ = _forward_and_gradients(CASES[1], np.float64)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_only_one_input_needing_a_gradient(monkeypatch):
    for needs in ((True, False), (False, True)):
        x, w, _, _ = _conv(CASES[0], np.float64)
        x.requires_grad, w.requires_grad = needs
        tg.correlate(x, w).sum().backward()
        assert (x.grad is not None, w.grad is not None) == needs


def test_which_convolutions_take_it():
    """3x3, stride 1, dilation 1, MIN_CHANNELS in and out, one float dtype: the Keras example's second layer, not
    its first (one channel in) nor the tutorial's (stride 2)."""
    x32, x1 = np.zeros((1, 26, 26, 32), np.float32), np.zeros((1, 28, 28, 1), np.float32)
    w = np.zeros((64, 3, 3, 32), np.float32)
    assert winograd.suits(x32, w, None, (1, 1), (1, 1))
    assert not winograd.suits(x1, np.zeros((32, 3, 3, 1), np.float32), None, (1, 1), (1, 1))
    assert not winograd.suits(x32, w, None, (2, 2), (1, 1))
    assert not winograd.suits(x32, w, None, (1, 1), (2, 2))
    assert not winograd.suits(x32, np.zeros((64, 5, 5, 32), np.float32), None, (1, 1), (1, 1))
    assert not winograd.suits(x32, w.astype(np.float64), None, (1, 1), (1, 1))
    assert not winograd.suits(x32.astype(np.int64), w, None, (1, 1), (1, 1))
    assert not winograd.suits(x32[:0], w, None, (1, 1), (1, 1))  # an empty batch: the im2col path's zeros


def test_an_empty_batch_of_a_winograd_layer():
    x, w, b, _ = _conv(((0, 6, 6, 16), 16, 0, True), np.float32)
    y = tg.correlate(x, w, b)
    y.sum().backward()
    assert y.shape == (0, 4, 4, 16) and x.grad.shape == x.shape
    assert not w.grad.any() and not b.grad.any()


def test_agrees_with_torch():
    torch = pytest.importorskip("torch")
    x, w, b, _ = _conv(CASES[0], np.float64)
    y = tg.correlate(x, w, b)
    assert y._ctx.winograd
    g = _random(y.shape, np.float64, 5)
    (y * tg.Tensor(g)).sum().backward()
    tx, tw, tb = (torch.tensor(t.data.copy(), requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.conv2d(tx.permute(0, 3, 1, 2), tw.permute(0, 3, 1, 2), tb).permute(0, 2, 3, 1)
    (ty * torch.tensor(g)).sum().backward()
    for ours, theirs in [(y.data, ty), (x.grad, tx.grad), (w.grad, tw.grad), (b.grad, tb.grad)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_stays_in_the_windows_that_hold_it(bad):
    """Winograd mixes a whole tile: an input, or an output gradient, that is not all finite takes the im2col path,
    so a NaN or inf reaches the 9 outputs (or input pixels) whose windows hold it, as in PyTorch."""
    x, w, b, _ = _conv(((1, 8, 8, 8), 8, 0, True), np.float32)
    x.data[0, 2, 2, 0] = bad
    y = tg.correlate(x, w, b)
    assert not y._ctx.winograd and np.count_nonzero(~np.isfinite(y.data).any(axis=-1)) == 9
    x, w, b, _ = _conv(((1, 8, 8, 8), 8, 0, True), np.float32)
    y = tg.correlate(x, w, b)
    g = np.ones(y.shape, np.float32)
    g[0, 2, 2, 0] = bad
    y.backward(g)
    assert np.count_nonzero(~np.isfinite(x.grad).any(axis=-1)) == 9


def test_values_near_float32s_limit_take_the_im2col_path():
    """The transforms scale values up by ~1e4: 1e37 inputs with 1e-3 filters overflow there, not in im2col."""
    x = tg.Tensor(np.full((1, 6, 6, 8), 1e37, np.float32))
    w = tg.Tensor(np.full((8, 3, 3, 8), 1e-3, np.float32), requires_grad=True)
    y = tg.correlate(x, w)
    assert not y._ctx.winograd
    np.testing.assert_allclose(y.data, 7.2e35, rtol=1e-5)


def test_a_strided_bias():
    x, w, _, _ = _conv(((2, 6, 6, 8), 8, 0, False), np.float32)
    b = tg.Tensor(np.arange(16, dtype=np.float32), requires_grad=True)[::2]
    y = tg.correlate(x, w, b)
    assert y._ctx.winograd
    np.testing.assert_allclose(y.data, (tg.correlate(x, w) + b).data, rtol=1e-5, atol=1e-4)
