"""correlate / convolve with dilation: forward against direct loops and PyTorch, gradients, "same", errors."""
import itertools

import numpy as np
import pytest
from test_conv import W, X, _inputs, _pair, loop_correlate

import tinygraph as tg

DILATIONS = [2, (1, 3), (3, 2)]


def _dilated_grid():
    """Kernel x stride x padding x dilation, sizes chosen so that most do not divide evenly."""
    cases = []
    combos = itertools.product([(2, 3), (3, 3), (1, 2)], [1, 2, (2, 3)], [0, (1, 2)], DILATIONS)
    for i, (kernel, stride, padding, dilation) in enumerate(combos):
        n, c, f = (1, 2)[i % 2], (1, 3)[(i // 2) % 2], (1, 3)[(i // 3) % 2]
        h, w = 7 + i % 3, 8 + (i // 3) % 2
        cases.append(((n, h, w, c, f, kernel, stride, padding), dilation))
    return cases


DILATED = _dilated_grid()


def test_dilated_grid_has_uneven_cases():
    def uneven(case, dilation):
        h, (kh, _), stride, padding = case[1], case[5], case[6], case[7]
        return (h + 2 * _pair(padding)[0] - _pair(dilation)[0] * (kh - 1) - 1) % _pair(stride)[0]

    assert sum(bool(uneven(*c)) for c in DILATED) >= 10
    assert {c[0][0] for c in DILATED} == {1, 2} and {c[0][3] for c in DILATED} == {1, 3}


@pytest.mark.parametrize("case, dilation", DILATED, ids=str)
def test_dilated_forward_matches_loops_and_gradcheck(case, dilation):
    x, w, b = _inputs(case, seed=11)
    stride, padding = case[6], case[7]
    args = {"stride": stride, "padding": padding, "dilation": dilation}
    out = tg.correlate(x, w, b, **args)
    np.testing.assert_allclose(out.data, loop_correlate(x, w, b, stride, padding, dilation), rtol=1e-12, atol=1e-12)
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    assert tg.gradcheck(lambda x, w, b: tg.correlate(x, w, b, **args), tx, tw, tb)


def test_dilation_one_is_the_undilated_op():
    x, w, b = _inputs((2, 7, 6, 3, 4, (3, 2), 1, 0))
    for dilation in (1, (1, 1)):
        np.testing.assert_array_equal(tg.correlate(x, w, b, 2, 1, dilation).data, tg.correlate(x, w, b, 2, 1).data)


def test_dilated_single_sample_method_and_convolve():
    x, w, b = _inputs((1, 9, 8, 2, 3, (3, 2), 1, 0), seed=4)
    single = tg.Tensor(x[0], requires_grad=True)
    out = single.correlate(w, b, stride=2, padding=1, dilation=(2, 3))
    np.testing.assert_allclose(out.data, loop_correlate(x, w, b, 2, 1, (2, 3))[0], atol=1e-12)
    assert tg.gradcheck(lambda s: tg.correlate(s, w, b, stride=2, padding=1, dilation=(2, 3)), single)
    flipped = loop_correlate(x, w[:, ::-1, ::-1], b, 1, 0, 2)
    np.testing.assert_allclose(tg.Tensor(x).convolve(w, b, dilation=2).data, flipped, atol=1e-12)
    tw = tg.Tensor(w, requires_grad=True)
    assert tg.gradcheck(lambda w: tg.convolve(x, w, b, stride=(1, 2), dilation=(2, 1)), tw)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")  # torch's own
@pytest.mark.parametrize("kernel, dilation", [((3, 3), 2), ((2, 4), (3, 1)), ((4, 2), (2, 3))])
def test_same_padding_with_dilation_keeps_the_size_and_matches_torch(kernel, dilation):
    torch = pytest.importorskip("torch")
    x, w, b = _inputs((2, 9, 8, 3, 4, kernel, 1, 0), seed=5)
    out = tg.correlate(x, w, b, padding="same", dilation=dilation)
    assert out.shape == (2, 9, 8, 4)
    expected = torch.nn.functional.conv2d(
        _nchw(torch, x), _nchw(torch, w), torch.tensor(b), padding="same", dilation=_pair(dilation)
    )
    np.testing.assert_allclose(out.data, expected.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def _nchw(torch, a, requires_grad=False):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)), requires_grad=requires_grad)


@pytest.mark.parametrize("case, dilation", DILATED[::5], ids=str)
def test_dilated_forward_and_gradients_match_torch(case, dilation):
    torch = pytest.importorskip("torch")
    x, w, b = _inputs(case, seed=6)
    stride, padding = case[6], case[7]
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    out = tg.correlate(tx, tw, tb, stride=stride, padding=padding, dilation=dilation)
    g = np.random.default_rng(7).standard_normal(out.shape)
    out.backward(g)
    px, pw, pb = _nchw(torch, x, True), _nchw(torch, w, True), torch.tensor(b, requires_grad=True)
    ref = torch.nn.functional.conv2d(px, pw, pb, stride=_pair(stride), padding=_pair(padding), dilation=_pair(dilation))
    ref.backward(_nchw(torch, g))
    np.testing.assert_allclose(out.data, ref.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    for mine, theirs in [(tx, px), (tw, pw)]:
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tb.grad, pb.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dilation": 0}, r"correlate: dilation must be >= 1, got 0 \(x \(2, 6, 6, 3\), w \(4, 3, 3, 3\)\)"),
        ({"dilation": (1, -2)}, r"correlate: dilation must be >= 1"),
        ({"dilation": (1, 2, 3)}, r"correlate: dilation must be an int or a pair of ints"),
        ({"dilation": 1.5}, r"correlate: dilation must be an int or a pair of ints, got 1.5"),
        ({"dilation": 3}, r"the 3x3 kernel with dilation \(3, 3\) spans 7x7 and does not fit the padded 6x6 input"),
        ({"dilation": (2, 4), "padding": 1}, r"spans 5x9 and does not fit the padded 8x8 input \(x \(2, 6, 6, 3\)"),
    ],
)
def test_dilation_errors_name_the_op_and_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tg.correlate(X, W, **kwargs)
    with pytest.raises(ValueError, match=message.replace("correlate", "convolve")):
        tg.convolve(X, W, **kwargs)


def test_convolutional_layer_takes_dilation():
    from tinygraph.layers import ConvolutionalLayer

    x = np.random.default_rng(9).standard_normal((2, 9, 8, 3))
    layer = ConvolutionalLayer(4, (3, 3), padding=(1, 1), dilation=2, seed=0)
    out = layer(x)
    assert out.shape == (2, 7, 6, 4) and layer.dilation == (2, 2)
    expected = loop_correlate(x, layer.filters.data, layer.bias.data, 1, 1, 2)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    config = layer.get_config()
    assert config["dilation"] == [2, 2] and ConvolutionalLayer(**config).dilation == (2, 2)
    assert ConvolutionalLayer(4, (3, 3)).get_config()["dilation"] == [1, 1]
    with pytest.raises(ValueError, match=r"ConvolutionalLayer: dilation must be >= 1"):
        ConvolutionalLayer(4, 3, dilation=0)
