"""conv_transpose: the definition by loops, the adjoint of correlate, PyTorch's ConvTranspose2d, gradients, errors."""
import itertools

import numpy as np
import pytest

import tinygraph as tg


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def loop_conv_transpose(x, w, b, stride, padding, output_padding, dilation):
    """The definition: each input pixel adds x[n, i, j] · w (C_in, kh, kw, C_out) at stride, dilated; then crop."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    n, h, wd, _ = x.shape
    _, kh, kw, c_out = w.shape
    full = np.zeros((n, (h - 1) * sh + dh * (kh - 1) + 1 + oh, (wd - 1) * sw + dw * (kw - 1) + 1 + ow, c_out))
    for s, i, j, a, bb in itertools.product(range(n), range(h), range(wd), range(kh), range(kw)):
        full[s, i * sh + a * dh, j * sw + bb * dw] += x[s, i, j] @ w[:, a, bb]
    out = full[:, ph : full.shape[1] - ph, pw : full.shape[2] - pw]
    return out if b is None else out + b


def _grid():
    """(N, H, W, C_in, C_out, kernel) rotated through stride x padding x output_padding x dilation (valid ones)."""
    cases = []
    combos = itertools.product([1, 2, (3, 2)], [0, 1, (2, 0)], [0, 1, (2, 1)], [1, 2, (1, 3)])
    for stride, padding, output_padding, dilation in combos:
        if any(o >= max(s, d) for o, s, d in zip(*map(_pair, (output_padding, stride, dilation)))):
            continue  # PyTorch's rule, tested among the errors
        i = len(cases)
        n, c_in, c_out = (1, 2)[i % 2], (1, 3)[(i // 2) % 2], (1, 2)[(i // 3) % 2]
        kernel = [(3, 3), (2, 3), (3, 2)][i % 3]
        (sh, _), (ph, _), (dh, _) = _pair(stride), _pair(padding), _pair(dilation)
        h = max(3 + i % 2, 2 + (2 * ph - dh * (kernel[0] - 1)) // sh)  # a padding that crops less than everything
        cases.append((n, h, 4, c_in, c_out, kernel, stride, padding, output_padding, dilation))
    return cases


GRID = _grid()


def _inputs(case, seed=0, dtype=np.float64):
    n, h, w, c_in, c_out, (kh, kw) = case[:6]
    rng = np.random.default_rng(seed)
    shapes = [(n, h, w, c_in), (c_in, kh, kw, c_out), (c_out,)]
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in shapes)


def _kwargs(case):
    return dict(zip(("stride", "padding", "output_padding", "dilation"), case[6:]))


def test_grid_covers_every_value():
    assert len(GRID) > 30
    for axis, values in [(0, {1, 2}), (3, {1, 3}), (4, {1, 2})]:
        assert {case[axis] for case in GRID} == values
    assert {str(case[8]) for case in GRID} == {"0", "1", "(2, 1)"}


@pytest.mark.parametrize("case", GRID, ids=str)
def test_forward_matches_loops_and_gradcheck(case):
    x, w, b = _inputs(case)
    out = tg.conv_transpose(x, w, b, **_kwargs(case))
    np.testing.assert_allclose(out.data, loop_conv_transpose(x, w, b, *case[6:]), rtol=1e-12, atol=1e-12)
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    assert tg.gradcheck(lambda x, w, b: tg.conv_transpose(x, w, b, **_kwargs(case)), tx, tw, tb)


@pytest.mark.parametrize("case", GRID[::3], ids=str)
def test_is_the_adjoint_of_correlate(case):
    """<correlate(x, w), y> == <x, conv_transpose(y, w)> for x of conv_transpose's output shape.

    With output_padding >= stride (allowed below the dilation) correlate reaches past y's last row: the identity
    then holds for y padded with zeros, i.e. for correlate's output cropped to y.
    """
    y, w, _ = _inputs(case, seed=1)
    kwargs = _kwargs(case)
    x_shape = tg.conv_transpose(y, w, **kwargs).shape
    x = np.random.default_rng(2).standard_normal(x_shape)
    correlated = tg.correlate(x, w, stride=kwargs["stride"], padding=kwargs["padding"], dilation=kwargs["dilation"])
    reaches_past = any(o >= s for o, s in zip(_pair(case[8]), _pair(case[6])))
    assert correlated.shape == y.shape or reaches_past
    correlated = correlated[:, : y.shape[1], : y.shape[2]]
    assert correlated.shape == y.shape
    left, right = np.vdot(correlated.data, y), np.vdot(x, tg.conv_transpose(y, w, **kwargs).data)
    assert abs(left - right) <= 1e-13 * (np.abs(x).sum() * np.abs(w).sum() * np.abs(y).max())
    # And the other way round: conv_transpose's input gradient is that correlation.
    ty = tg.Tensor(y, requires_grad=True)
    tg.conv_transpose(ty, w, **kwargs).backward(x)
    np.testing.assert_allclose(ty.grad, correlated.data, rtol=1e-12, atol=1e-12)


def _nchw(torch, a, requires_grad=False):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), requires_grad=requires_grad)


@pytest.mark.parametrize("case", GRID[::2], ids=str)
def test_forward_and_gradients_match_torch(case):
    torch = pytest.importorskip("torch")
    x, w, b = _inputs(case, seed=3)
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    out = tg.conv_transpose(tx, tw, tb, **_kwargs(case))
    g = np.random.default_rng(4).standard_normal(out.shape)
    out.backward(g)
    # PyTorch's weight is (C_in, C_out, kh, kw): ours (C_in, kh, kw, C_out) with the channels moved.
    px, pw, pb = _nchw(torch, x, True), _nchw(torch, w, True), torch.tensor(b, requires_grad=True)
    stride, padding, output_padding, dilation = (_pair(v) for v in case[6:])
    ref = torch.nn.functional.conv_transpose2d(px, pw, pb, stride, padding, output_padding, 1, dilation)
    ref.backward(_nchw(torch, g))
    np.testing.assert_allclose(out.data, ref.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    for mine, theirs in [(tx, px), (tw, pw)]:
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad, pb.grad.numpy(), rtol=1e-12)


def test_single_sample_without_bias_and_each_gradient_alone():
    x, w, _ = _inputs((1, 4, 3, 2, 3, (3, 2)), seed=5)
    single = tg.Tensor(x[0], requires_grad=True)
    out = tg.conv_transpose(single, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(out.data, loop_conv_transpose(x, w, None, 2, 1, 1, 1)[0], atol=1e-12)
    assert out.shape == (8, 5, 3)
    assert tg.gradcheck(lambda s: tg.conv_transpose(s, w, stride=2, padding=1, output_padding=1), single)
    tw = tg.Tensor(w, requires_grad=True)
    assert tg.gradcheck(lambda w: tg.conv_transpose(x, w, stride=(1, 2), dilation=2), tw)


def test_float32_stays_float32_and_integers_give_floats():
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs((2, 3, 4, 2, 3, (3, 3)), dtype=np.float32))
    out = tg.conv_transpose(x, w, b, stride=2, padding=1)
    assert out.dtype == np.float32
    (out * 2.0).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    ints = tg.conv_transpose(np.ones((1, 2, 2, 1), np.int64), np.ones((1, 2, 2, 1), np.int64), stride=2)
    assert ints.dtype == np.float64
    np.testing.assert_array_equal(ints.data, np.ones((1, 4, 4, 1)))


def test_gradient_of_a_transposed_upstream_gradient():
    x, w, b = (tg.Tensor(a, requires_grad=True) for a in _inputs((2, 3, 3, 2, 2, (2, 3)), seed=6))
    assert tg.gradcheck(lambda x, w: tg.conv_transpose(x, w, b, stride=2, padding=1).transpose((3, 1, 2, 0)), x, w)


Y, WT = np.zeros((2, 4, 5, 3)), np.zeros((3, 3, 3, 2))


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.zeros((4, 5)), WT), {}, r"x must be \(N, H, W, C\) or one \(H, W, C\) sample \(x \(4, 5\)"),
        ((Y, np.zeros((3, 3, 3))), {}, r"w must be \(C_in, kh, kw, C_out\) with at least one output channel"),
        ((Y, np.zeros((2, 3, 3, 3))), {}, r"x has 3 channels but w expects 2 \(w is \(C_in, kh, kw, C_out\)"),
        ((Y, np.zeros((3, 3, 3, 0))), {}, r"w must be .* with at least one output channel .*w \(3, 3, 3, 0\)"),
        ((Y, WT, np.zeros(3)), {}, r"b must have shape \(2,\), one value per filter .*b \(3,\)"),
        ((np.zeros((2, 0, 5, 3)), WT), {}, r"x and the kernel need at least one row and one column"),
        ((Y, WT), {"stride": 0}, r"stride must be >= 1, got 0 \(x \(2, 4, 5, 3\), w \(3, 3, 3, 2\)\)"),
        ((Y, WT), {"dilation": (1, 0)}, r"dilation must be >= 1"),
        ((Y, WT), {"padding": -1}, r"padding must not be negative, got -1 \(x \(2, 4, 5, 3\)"),
        ((Y, WT), {"padding": "same"}, r"padding must be an int or \(rows, cols\), got 'same'"),
        ((Y, WT), {"padding": (1, 2, 3)}, r"padding must be an int, \(rows, cols\)"),
        ((Y, WT), {"output_padding": -1}, r"output_padding must not be negative"),
        ((Y, WT), {"output_padding": "valid"}, r"output_padding must be an int or \(rows, cols\)"),
        ((Y, WT), {"output_padding": 1}, r"output_padding \(1, 1\) must be smaller than the stride \(1, 1\) or the "
                                          r"dilation \(1, 1\)"),
        ((Y, WT), {"stride": (2, 1), "output_padding": (1, 1)}, r"output_padding \(1, 1\) must be smaller"),
        ((Y, WT), {"padding": 3}, r"padding \(3, 3\) crops the whole output: .* gives 0x1 \(x \(2, 4, 5, 3\)"),
    ],
)
def test_errors_name_the_op_and_shapes(args, kwargs, message):
    with pytest.raises(ValueError, match=f"conv_transpose: {message}"):
        tg.conv_transpose(*args, **kwargs)


def test_output_padding_up_to_the_dilation_is_allowed():
    out = tg.conv_transpose(Y, WT, stride=1, dilation=3, output_padding=2)
    assert out.shape == (2, 4 + 6 + 2, 5 + 6 + 2, 2)


@pytest.mark.parametrize(
    "op, shapes, kwargs",
    [
        (tg.conv_transpose, [(2, 3, 3, 2), (2, 3, 3, 3), (3,)], {"stride": 2, "padding": 1, "output_padding": 1}),
        (tg.conv_transpose, [(3, 3, 2), (2, 2, 3, 3), (3,)],
         {"stride": (1, 2), "padding": (1, 0), "output_padding": (1, 1), "dilation": 2}),
        (tg.correlate, [(2, 6, 5, 2), (3, 3, 2, 2), (3,)], {"stride": 2, "padding": 1}),
        (tg.correlate, [(1, 6, 5, 2), (3, 2, 3, 2), (3,)], {"padding": "same", "dilation": (2, 1)}),
        (tg.correlate, [(7, 6, 2), (2, 2, 2, 2), (2,)], {"stride": (2, 1), "padding": (1, 0), "dilation": 2}),
    ],
    ids=str,
)
def test_second_derivatives(op, shapes, kwargs):
    """Under create_graph each op's backward runs as the other op (and a filter correlation): gradgradcheck."""
    rng = np.random.default_rng(8)
    inputs = [tg.Tensor(rng.standard_normal(shape), requires_grad=True) for shape in shapes]
    assert tg.gradgradcheck(lambda x, w, b: op(x, w, b, **kwargs), *inputs)
    x, w, b = inputs
    assert tg.gradgradcheck(lambda w: op(x.data, w, **kwargs), w)


def test_a_channels_first_input_is_told_the_layout():
    with pytest.raises(ValueError) as caught:
        tg.conv_transpose(np.ones((1, 1, 5, 5)), np.ones((1, 2, 3, 3)))  # PyTorch's x and ConvTranspose2d weight
    text = str(caught.value)
    assert text.startswith("conv_transpose: x has 5 channels but w expects 1")
    assert ("tinygraph is channels-last, (N, H, W, C) as in Keras; a PyTorch-layout batch (N, C, H, W) needs "
            "x.transpose(0, 2, 3, 1), and a PyTorch weight (C_in, C_out, kh, kw) needs w.transpose(0, 2, 3, 1)") in text
    fixed = tg.conv_transpose(np.ones((1, 1, 5, 5)).transpose(0, 2, 3, 1), np.ones((1, 2, 3, 3)).transpose(0, 2, 3, 1))
    assert fixed.shape == (1, 7, 7, 2)
