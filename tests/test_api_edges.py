"""Edges of the public API: NumPy functions called with keywords and defaults, in-place writes that NumPy refuses,
tutorial-style layers holding parameters, and a network whose layers were replaced between fits."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph.layers import FCLayer, Layer
from tinygraph.numpy_protocol import UnsupportedNumpyCall


def _x(shape=(4, 3)):
    return tg.Tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape), requires_grad=True)


# ----- NumPy functions bound by NumPy's own signature ------------------------------------------------------------
def test_np_split_defaults_to_axis_0_and_records():
    x = _x()
    parts = np.split(x, 2)
    assert [p.shape for p in parts] == [(2, 3), (2, 3)]
    np.testing.assert_array_equal(parts[1].data, np.split(x.data, 2)[1])
    (parts[1] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.r_[np.zeros((2, 3)), 2 * np.ones((2, 3))])


@pytest.mark.parametrize("call", [
    lambda a: np.expand_dims(a, axis=0),
    lambda a: np.swapaxes(a, axis1=0, axis2=1),
    lambda a: np.moveaxis(a, source=0, destination=1),
    lambda a: np.tile(a, reps=(2, 1)),
    lambda a: np.repeat(a, repeats=2, axis=1),
    lambda a: np.squeeze(a[None], axis=0),
    lambda a: np.flip(a, axis=1),
    lambda a: np.copy(a, order="K"),
])
def test_numpy_functions_take_their_keywords(call):
    x = _x()
    out = call(x)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, call(x.data))


def test_np_copy_with_another_order_is_refused_by_name():
    with pytest.raises(UnsupportedNumpyCall, match="np.copy.*order='F'"):
        np.copy(_x(), order="F")


# ----- in-place writes -----------------------------------------------------------------------------------------
def test_in_place_update_of_a_zero_d_result():
    total = _x().sum().detach()
    with tg.no_grad():
        total += 1
        total[()] = total.item() * 2
    assert total.item() == (66 + 1) * 2


@pytest.mark.parametrize("target, other, error", [
    (np.ones(3), np.ones((2, 3)), ValueError),  # the result would not fit the tensor
    (np.array([1, 2, 3]), 0.5, TypeError),  # a float result cannot be written into integers
])
def test_in_place_operator_errors_name_the_operator(target, other, error):
    t = tg.Tensor(target)
    with pytest.raises(error, match=r"^\+=: .*shape \(3,\).*write x = x \+ y"):
        t += other


def test_setitem_errors_name_setitem():
    t = tg.Tensor(np.ones(3))
    with pytest.raises(IndexError, match="^setitem: .*shape \\(3,\\)"):
        t[5] = 1.0


# ----- a tutorial-style layer with parameters -------------------------------------------------------------------
class _TutorialDense(Layer):
    def __init__(self, inputs, outputs):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weights = self.add_parameter("weights", rng.uniform(-0.5, 0.5, (inputs, outputs)).astype(np.float32))
        self.bias = self.add_parameter("bias", np.zeros(outputs, dtype=np.float32))

    def forward_propagation(self, input):
        return np.dot(input, self.weights) + self.bias


def test_first_forward_propagation_layer_trains_its_parameters():
    # Its input requires no grad: the layer must still be recorded, or its parameters never get a gradient.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    layer = _TutorialDense(3, 4)
    before = layer.weights.data.copy()
    tg.Network(seed=0).add(layer).add(FCLayer(2)).use("mse").fit(x, y, epochs=2, learning_rate=0.05, verbose=0)
    assert layer.weights.grad is not None
    assert not np.allclose(layer.weights.data, before)


# ----- the network's optimizer follows its parameters ---------------------------------------------------------
def test_fit_after_a_layer_is_replaced_optimizes_the_new_parameters():
    rng = np.random.default_rng(2)
    x, y = rng.random((8, 3)).astype(np.float32), rng.random((8, 2)).astype(np.float32)
    net = tg.Network(seed=0).add(FCLayer(2)).use("mse").fit(x, y, epochs=1, verbose=0)
    net.layers[0] = FCLayer(2)  # same shapes, new Tensors: `==` between the lists would compare values
    net.fit(x, y, epochs=1, verbose=0)
    assert [id(p) for p in net.optimizer.parameters] == [id(p) for p in net.parameters()]


def test_plot_confusion_with_a_single_label_says_what_is_wrong():
    pytest.importorskip("matplotlib")
    from tinygraph.plot import plot_confusion

    net = tg.Network(seed=0).add(FCLayer(3))
    with pytest.raises(ValueError, match="x has 4 samples but y has the single value 3"):
        plot_confusion(net, np.random.default_rng(0).random((4, 2)), 3)


# ----- constructors -------------------------------------------------------------------------------------------
def test_arange_of_floats_is_float32_as_the_other_constructors():
    assert tg.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert tg.arange(3).dtype == np.arange(3).dtype
    assert tg.arange(0, 1, 0.5, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("make", [lambda: tg.zeros(-1), lambda: tg.ones(2.5), lambda: tg.full((2, -1), 0.0),
                                  lambda: tg.randn((2, "3"))])
def test_constructors_refuse_bad_shapes_by_name(make):
    with pytest.raises(ValueError, match="a shape is made of non-negative ints"):
        make()


# ----- optimizers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda w: tg.optim.SGD([w], momentum="0.9"), "SGD: momentum must be a number"),
    (lambda w: tg.optim.Adam([w], betas=0.9), r"Adam: betas must be a pair \(beta1, beta2\)"),
    (lambda w: tg.optim.Adam([w], eps=None), "Adam: eps must be a number"),
])
def test_optimizer_arguments_of_the_wrong_type_are_named(make, message):
    with pytest.raises(TypeError, match=message):
        make(tg.Tensor(np.ones(3), requires_grad=True))


@pytest.mark.parametrize("make", [lambda w: tg.optim.SGD([w], lr=0.1), lambda w: tg.optim.SGD([w], 0.1, momentum=0.5),
                                  lambda w: tg.optim.Adam([w], lr=0.1)])
def test_step_after_a_recorded_backward_uses_the_gradient_values(make):
    x, y = (tg.Tensor(np.array([1.0, 2.0]), requires_grad=True) for _ in range(2))
    (x ** 3).sum().backward(create_graph=True)  # x.grad is a Tensor
    (y ** 3).sum().backward()
    make(x).step(), make(y).step()
    np.testing.assert_array_equal(x.data, y.data)


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy"])
def test_one_target_per_sample_for_a_single_output_is_told_to_reshape(loss):
    x, y = np.random.default_rng(0).random((8, 3)), (np.arange(8) % 2).astype(np.float32)
    net = tg.Network(seed=0).add(FCLayer(1)).use(loss)
    with pytest.raises(ValueError, match=r"write y.reshape\(-1, 1\)"):
        net.fit(x, y, epochs=1, verbose=0)


def test_a_forward_propagation_that_drops_the_graph_is_refused_by_name():
    # np.asarray turns the Tensor into an array: trained on, every layer before this one would get no gradient.
    class Doubling(Layer):
        def forward_propagation(self, input):
            return np.asarray(input) * 2.0

    rng = np.random.default_rng(3)
    net = tg.Network(seed=0).add(FCLayer(3)).add(Doubling()).add(FCLayer(2)).use("mse")
    with pytest.raises(TypeError, match="Doubling.forward_propagation returned a plain ndarray for a Tensor input"):
        net.fit(rng.random((8, 3)), rng.random((8, 2)), epochs=1, verbose=0)


# ----- grad modes as bare decorators ------------------------------------------------------------------------------
def test_grad_modes_decorate_bare_as_in_pytorch():
    @tg.no_grad
    def doubled(x):
        return x * 2

    @tg.detect_anomaly  # taken for detect_anomaly(mode=doubled) before: the name became a context manager
    def anomaly_on():
        return tg.grad_mode.is_anomaly_enabled()

    assert not doubled(tg.Tensor([1.0], requires_grad=True)).requires_grad
    assert anomaly_on() is True and not tg.grad_mode.is_anomaly_enabled()


def test_summary_takes_an_int_input_shape_and_names_a_bad_one(capsys):
    tg.Network().add(FCLayer(3)).summary(input_shape=5)
    assert "18" in capsys.readouterr().out  # 5 * 3 weights and 3 biases
    with pytest.raises(ValueError, match="Network.summary: a shape is made of non-negative ints"):
        tg.Network().add(FCLayer(3)).summary(input_shape=(2.5,))


def test_draw_graph_keeps_the_parameters_gradients_when_its_backward_fails(monkeypatch):
    from tinygraph import engine

    rng = np.random.default_rng(4)
    x, y = rng.random((4, 3)).astype(np.float32), rng.random((4, 2)).astype(np.float32)
    net = tg.Network(seed=0).add(FCLayer(2)).use("mse").fit(x, y, epochs=1, verbose=0)
    before = [p.grad for p in net.parameters()]

    def failing(*args, **kwargs):
        raise RuntimeError("backward failed")

    monkeypatch.setattr(engine, "backward", failing)
    with pytest.raises(RuntimeError, match="backward failed"):
        net.draw_graph(x[0], y[0], show_grads=True)
    assert all(p.grad is g for p, g in zip(net.parameters(), before))


# ----- transpose(a, b): NumPy's order of all axes, not PyTorch's swap of two ----------------------------------------
def test_transpose_of_two_axes_that_would_not_swap_them_is_refused():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"write x.swapaxes\(0, 1\)"):
        x.transpose(0, 1)  # NumPy's identity on a 2-D tensor: silently untransposed for a PyTorch user
    with pytest.raises(ValueError, match=r"write x.swapaxes\(1, 2\)"):
        tg.Tensor(np.ones((2, 3, 4))).transpose(1, 2)
    for same in (x.transpose(1, 0), x.transpose(), x.transpose((1, 0)), x.T):  # where both meanings agree
        np.testing.assert_array_equal(same.data, x.data.T)
    np.testing.assert_array_equal(x.permute(0, 1).data, x.data)  # permute lists every axis, as NumPy's transpose


class _TutorialDenseWithBackward(_TutorialDense):
    def backward_propagation(self, output_error, learning_rate):
        return np.dot(output_error, np.asarray(self.weights).T)


def test_supplied_derivative_of_a_layer_with_parameters_is_refused_not_left_untrained():
    rng = np.random.default_rng(5)
    net = tg.Network(seed=0).add(_TutorialDenseWithBackward(3, 2)).use("mse", derivative="supplied")
    with pytest.raises(ValueError, match=r"parameters .*weights.* unchanged .* derivative='engine'"):
        net.fit(rng.random((4, 3)), rng.random((4, 2)), epochs=1, verbose=0)
