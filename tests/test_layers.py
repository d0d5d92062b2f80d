"""Layers: lazy building, output shapes, initialisation, dropout, and their errors."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph.layers import (
    ActivationLayer, AveragePoolingLayer, ConvolutionalLayer, DropoutLayer, FCLayer, FlattenLayer, MaxPoolingLayer,
)


def batch(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "layer, in_shape, out_shape",
    [
        (FCLayer(7), (4, 5), (4, 7)),
        (FCLayer(10), (2, 28, 28, 1), (2, 10)),
        (FCLayer(3), (2, 1, 784), (2, 3)),
        (ActivationLayer("tanh"), (3, 4), (3, 4)),
        (ActivationLayer("softmax"), (3, 4), (3, 4)),
        (ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2), (2, 28, 28, 1), (2, 14, 14, 5)),
        (ConvolutionalLayer(4, 3), (1, 8, 8, 3), (1, 6, 6, 4)),
        (MaxPoolingLayer((2, 2), stride=2), (2, 14, 14, 5), (2, 7, 7, 5)),
        (AveragePoolingLayer((3, 3), stride=1), (1, 5, 5, 2), (1, 3, 3, 2)),
        (FlattenLayer(), (2, 7, 7, 5), (2, 245)),
        (DropoutLayer(rate=0.5), (3, 4), (3, 4)),
    ],
    ids=lambda v: type(v).__name__ if hasattr(v, "forward") else str(v),
)
def test_output_shapes(layer, in_shape, out_shape):
    assert layer(batch(*in_shape)).shape == out_shape


def test_fc_builds_lazily_on_first_input():
    layer = FCLayer(3, seed=0)
    assert not layer.built and layer.parameters() == []
    layer(batch(2, 4, 5))
    assert layer.built and layer.input_shape == (4, 5)
    weights, bias = layer.parameters()
    assert weights.shape == (20, 3) and bias.shape == (3,)
    assert weights.requires_grad and weights.dtype == np.float32
    with pytest.raises(ValueError, match=r"FCLayer.*built for samples of shape \(4, 5\).*\(2, 6\)"):
        layer(batch(2, 6))


def test_conv_layer_parameters_are_channels_last():
    layer = ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2, seed=0)
    layer(batch(1, 28, 28, 1))
    filters, bias = layer.parameters()
    assert filters.shape == (5, 3, 3, 1) and bias.shape == (5,)


def test_initialisers_and_seeding():
    glorot = FCLayer(50, seed=1)
    glorot(batch(1, 100))
    limit = np.sqrt(6 / 150)
    assert np.abs(glorot.weights.data).max() <= limit and np.all(glorot.bias.data == 0)
    tutorial = FCLayer(50, init="uniform", seed=1)
    tutorial(batch(1, 100))
    assert np.abs(tutorial.weights.data).max() <= 0.5 and np.abs(tutorial.weights.data).max() > limit
    assert np.any(tutorial.bias.data != 0)
    again = FCLayer(50, seed=1)
    again(batch(1, 100))
    assert np.array_equal(again.weights.data, glorot.weights.data)
    generator = FCLayer(50, seed=np.random.default_rng(1))
    generator(batch(1, 100))
    assert np.array_equal(generator.weights.data, glorot.weights.data)


def test_network_seed_makes_runs_identical():
    def build():
        net = tg.Network(seed=3).add(FCLayer(4)).add(ActivationLayer("tanh")).add(FCLayer(2))
        return net.predict(batch(5, 6))

    assert np.array_equal(build(), build())


def test_dropout_is_inverted_and_only_in_training():
    layer = DropoutLayer(rate=0.25, seed=0)
    x = np.ones((200, 50), dtype=np.float32)
    assert np.array_equal(layer(x).data, x)
    out = layer(x, training=True).data
    kept = out != 0
    assert 0.7 < kept.mean() < 0.8
    assert np.allclose(out[kept], 1 / 0.75) and out.dtype == np.float32


def test_layers_compose_ops_so_gradients_flow():
    fc = FCLayer(3, seed=0)
    x = tg.Tensor(batch(2, 4).astype(np.float64), requires_grad=True)
    fc(x)
    fc.weights.data = fc.weights.data.astype(np.float64)
    fc.bias.data = fc.bias.data.astype(np.float64)
    assert tg.gradcheck(lambda x, w, b: fc(x).tanh().sum(), x, fc.weights, fc.bias)


def test_custom_activation_function():
    layer = ActivationLayer(lambda t: t * 2)
    assert np.allclose(layer(np.ones((1, 3))).data, 2)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: ActivationLayer("swish"), ValueError, "ActivationLayer: unknown activation 'swish'"),
        (lambda: ActivationLayer(3), TypeError, "ActivationLayer"),
        (lambda: FCLayer(0), ValueError, "FCLayer: output_size must be a positive int"),
        (lambda: FCLayer(3, init="zeros"), ValueError, "FCLayer: unknown init 'zeros'"),
        (lambda: ConvolutionalLayer(0, 3), ValueError, "ConvolutionalLayer: filters_count"),
        (lambda: ConvolutionalLayer(2, (3, 0)), ValueError, "ConvolutionalLayer: filter_shape"),
        (lambda: ConvolutionalLayer(2, 3, stride=0), ValueError, "ConvolutionalLayer: stride"),
        (lambda: MaxPoolingLayer((0, 2)), ValueError, "MaxPoolingLayer: pool_shape"),
        (lambda: DropoutLayer(rate=1.0), ValueError, "DropoutLayer: rate must be in"),
    ],
)
def test_bad_hyper_parameters(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_wrong_input_rank_for_conv_and_pool():
    with pytest.raises(ValueError, match=r"ConvolutionalLayer.*\(N, H, W, C\).*\(28, 28\)"):
        ConvolutionalLayer(2, 3)(batch(1, 28, 28))
    with pytest.raises(ValueError, match=r"MaxPoolingLayer.*\(N, H, W, C\)"):
        MaxPoolingLayer()(batch(2, 8, 8))


@pytest.mark.parametrize("layer", [ConvolutionalLayer(2, 3), MaxPoolingLayer(), AveragePoolingLayer()])
def test_one_channel_images_without_their_channel_axis_are_told_x_none(layer):
    with pytest.raises(ValueError) as caught:
        layer(batch(4, 28, 28))
    assert str(caught.value) == (f"{type(layer).__name__}: expects batches of shape (N, H, W, C), got samples of shape "
                                 f"(28, 28); for one-channel images (N, H, W), pass x[..., None]")
    assert layer(batch(4, 28, 28)[..., None]).shape[:1] == (4,)


CHANNELS_LAST = ("tinygraph is channels-last, (N, H, W, C) as in Keras; a PyTorch-layout batch (N, C, H, W) needs "
                 "x.transpose(0, 2, 3, 1)")


def test_a_channels_first_batch_is_refused_before_any_filter_is_built():
    net = (tg.Network(seed=0).add(ConvolutionalLayer(2, (3, 3))).add(FlattenLayer()).add(FCLayer(3)).use("mse"))
    x, y = batch(4, 1, 28, 28), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    with pytest.raises(ValueError) as caught:
        net.fit(x, y, epochs=1, verbose=0)
    assert str(caught.value) == ("ConvolutionalLayer_1: samples of shape (1, 28, 28) (H, W, C) are smaller than "
                                 "the 3x3 filters; " + CHANNELS_LAST)
    assert not net.built and net.parameters() == []
    net.fit(x.transpose(0, 2, 3, 1), y, epochs=1, verbose=0)
    assert net.layers[0].filters.shape == (2, 3, 3, 1)


@pytest.mark.parametrize("layer, shape", [
    (ConvolutionalLayer(2, (5, 3), padding=(1, 0)), (1, 2, 6, 1)),
    (ConvolutionalLayer(2, 3, dilation=2), (1, 4, 9, 2)),
])
def test_filters_too_large_for_channels_last_samples_get_no_layout_hint(layer, shape):
    with pytest.raises(ValueError, match=r"samples of shape .* are smaller than the \dx\d filters") as caught:
        layer(batch(*shape))
    assert "channels-last" not in str(caught.value) and not layer.parameters()


@pytest.mark.parametrize("layer", [MaxPoolingLayer(), AveragePoolingLayer((4, 4), padding=1)])
def test_a_pooling_layer_refuses_a_channels_first_batch_and_stays_unbuilt(layer):
    with pytest.raises(ValueError, match=r"samples of shape \(1, 28, 28\) \(H, W, C\).* are smaller than the "
                                         r"\dx\d window; tinygraph is channels-last") as caught:
        layer(batch(4, 1, 28, 28))
    assert str(caught.value).endswith(CHANNELS_LAST) and not layer.built
    assert layer(batch(4, 1, 28, 28).transpose(0, 2, 3, 1)).shape in [(4, 14, 14, 1), (4, 7, 7, 1)]


def test_filters_that_just_fit_are_built():
    assert ConvolutionalLayer(2, (5, 3), padding=(1, 0))(batch(1, 3, 3, 1)).shape == (1, 1, 1, 2)
    assert ConvolutionalLayer(2, 3, dilation=2)(batch(1, 5, 5, 2)).shape == (1, 1, 1, 2)
    assert ConvolutionalLayer(2, 9, padding="same")(batch(1, 2, 2, 1)).shape == (1, 2, 2, 2)


def test_another_tutorials_fc_layer_input_size_is_answered():
    with pytest.raises(TypeError, match=r"^FCLayer\(4, 8\): the input size is inferred from the first batch: "
                                        r"write FCLayer\(8\)"):
        FCLayer(4, 8)
    with pytest.raises(TypeError, match=r"write FCLayer\(10\)"):
        FCLayer(np.int64(784), np.int64(10))


def test_a_layer_prints_as_the_call_that_makes_it():
    assert repr(FCLayer(10)) == "FCLayer(output_size=10)"
    assert repr(FCLayer(10, init="he")) == "FCLayer(output_size=10, init='he')"
    assert repr(ConvolutionalLayer(8, 3, padding="same", stride=2)) == \
        "ConvolutionalLayer(filters_count=8, filter_shape=(3, 3), padding='same', stride=(2, 2))"
    assert repr(ActivationLayer("tanh")) == "ActivationLayer('tanh')"
    assert repr(DropoutLayer(rate=0.25)) == "DropoutLayer(rate=0.25)"

    def tanh(x):
        return np.tanh(x)

    def tanh_prime(x, y):
        return 1 - np.tanh(x) ** 2

    assert repr(ActivationLayer(tanh, tanh_prime)) == "ActivationLayer(tanh, tanh_prime)"
    assert repr(ActivationLayer(tanh)) == "ActivationLayer(tanh)"
    assert repr(ActivationLayer(tanh, tanh_prime, derivative="supplied")) == \
        "ActivationLayer(tanh, tanh_prime, derivative='supplied')"


def test_numpy_scalars_are_accepted_and_saved_as_plain_numbers(tmp_path):
    net = (
        tg.Network(seed=0)
        .add(ConvolutionalLayer(np.int64(2), 3, padding=np.int64(1)))
        .add(FlattenLayer()).add(DropoutLayer(rate=np.float32(0.25))).add(FCLayer(np.int64(3)))
    )
    net.predict(batch(1, 5, 5, 1))
    assert net.layers[0].padding == (1, 1) and type(net.layers[-1].output_size) is int
    net.save(tmp_path / "m.npz")
    assert tg.Network.load(tmp_path / "m.npz").layers[0].padding == (1, 1)


@pytest.mark.parametrize("padding", [-1, (1, -1), (1, 2, 3), "full", 1.5])
def test_bad_padding_is_refused_when_the_layer_is_made(padding):
    with pytest.raises(ValueError, match="ConvolutionalLayer: padding must (be|not be negative)"):
        ConvolutionalLayer(2, 3, padding=padding)
