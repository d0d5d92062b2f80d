"""Network: chaining, training, prediction, files, and its errors."""
import os
import pathlib

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.layers import ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32).reshape(4, 1, 2)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def xor_network(seed=0):
    return (
        tg.Network(seed=seed)
        .add(FCLayer(3)).add(ActivationLayer("tanh"))
        .add(FCLayer(1)).add(ActivationLayer("tanh"))
    )


def small_cnn(seed=0):
    return (
        tg.Network(seed=seed)
        .add(ConvolutionalLayer(3, (3, 3), padding=(1, 1), stride=2)).add(ActivationLayer("tanh"))
        .add(MaxPoolingLayer((2, 2), stride=2)).add(FlattenLayer())
        .add(FCLayer(4)).add(ActivationLayer("softmax"))
    )


def digits(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 4, n)


def test_chaining_returns_the_network():
    net = tg.Network()
    assert net.add(FCLayer(1)) is net
    assert net.use("mse") is net
    assert net.fit(XOR_X, XOR_Y, epochs=1, learning_rate=0.1, verbose=0) is net


def test_layers_get_numbered_names():
    net = xor_network()
    assert [layer.name for layer in net.layers] == ["FCLayer_1", "ActivationLayer_1", "FCLayer_2", "ActivationLayer_2"]
    net.predict(XOR_X)
    assert [p.name for p in net.parameters()] == [
        "FCLayer_1.weights", "FCLayer_1.bias", "FCLayer_2.weights", "FCLayer_2.bias"
    ]


def test_xor_learns_with_mse():
    net = xor_network().use("mse").fit(XOR_X, XOR_Y, epochs=1000, learning_rate=0.1, verbose=0)
    assert net.history["loss"][-1] < 0.01
    assert np.array_equal(net.predict(XOR_X).round().ravel(), XOR_Y.ravel())


def test_fit_prints_the_tutorial_line(capsys):
    xor_network().use("mse").fit(XOR_X, XOR_Y, epochs=2, learning_rate=0.1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/2   error=") and len(lines[0].split("=")[1]) == 8


def test_per_sample_and_batched_gradients_agree():
    """The per-sample gradients summed equal the batch-mean gradient times the batch size."""
    x, y = digits(6)
    net = small_cnn().use("cross_entropy")
    net.predict(x[:1])
    params = net.parameters()
    summed = [np.zeros_like(p.data, dtype=np.float64) for p in params]
    for i in range(len(x)):
        for p in params:
            p.grad = None
        net._loss(net.forward(x[i:i + 1], training=True), y[i:i + 1]).backward()
        for total, p in zip(summed, params):
            total += p.grad
    for p in params:
        p.grad = None
    net._loss(net.forward(x, training=True), y).backward()
    for total, p in zip(summed, params):
        assert np.allclose(total, p.grad * len(x), rtol=1e-4, atol=1e-6)


def test_predict_leaves_no_graph_and_returns_an_array():
    net = small_cnn()
    x, _ = digits(5)
    out = net.predict(x, batch_size=2)
    assert isinstance(out, np.ndarray) and out.shape == (5, 4)
    assert all(p.grad is None for p in net.parameters())
    assert net.forward(x[:1]).requires_grad  # outside no_grad, a forward records the graph for training
    with tg.no_grad():
        assert net.forward(x[:1])._ctx is None


def test_validation_history_and_evaluate():
    x, y = digits(16)
    net = small_cnn().use("cross_entropy", optimizer="adam")
    net.fit(x, y, epochs=3, learning_rate=0.01, batch_size=4, validation_data=(x, y), verbose=0)
    assert len(net.history["loss"]) == 3 and len(net.history["val_accuracy"]) == 3
    accuracy = net.evaluate(x, y)
    assert accuracy == net.history["val_accuracy"][-1]
    assert net.evaluate(x, tg.datasets.one_hot(y, 4)) == accuracy


def test_summary(capsys):
    net = small_cnn()
    net.summary(input_shape=(8, 8, 1))
    out = capsys.readouterr().out
    assert "ConvolutionalLayer_1" in out and "(None, 4, 4, 3)" in out and "(None, 4)" in out
    assert "30" in out  # 3 filters of 3x3x1 plus 3 biases


def test_load_on_an_instance_is_refused_and_on_the_class_works(tmp_path):
    net = small_cnn().use("cross_entropy")
    net.predict(digits(2)[0])
    path = net.save(tmp_path / "m.npz")
    other = small_cnn(seed=1)
    with pytest.raises(TypeError, match=r"^Network.load returns a new network: write net = Network.load\(path\)$"):
        other.load(path)
    assert not other.built
    np.testing.assert_array_equal(tg.Network.load(path).predict(digits(2)[0]), net.predict(digits(2)[0]))
    assert "never runs code" in tg.Network.load.__doc__

    class Mine(tg.Network):
        pass

    assert type(Mine.load(path)) is Mine
    with pytest.raises(TypeError, match=r"write net = Mine.load\(path\)"):
        Mine().load(path)


def test_a_network_prints_its_layers():
    net = small_cnn()
    assert repr(net).splitlines() == [
        "Network(loss=None): 6 layers",
        "  ConvolutionalLayer_1     ConvolutionalLayer(filters_count=3, filter_shape=(3, 3), padding=(1, 1), "
        "stride=(2, 2))",
        "  ActivationLayer_1        ActivationLayer('tanh')",
        "  MaxPoolingLayer_1        MaxPoolingLayer(stride=(2, 2))",
        "  FlattenLayer_1           FlattenLayer()",
        "  FCLayer_1                FCLayer(output_size=4)",
        "  ActivationLayer_2        ActivationLayer('softmax')",
    ]
    net.use("cross_entropy").predict(digits(2)[0])
    lines = str(net).splitlines()
    assert lines[0] == "Network(loss='cross_entropy', input_shape=(8, 8, 1)): 6 layers"
    assert lines[1].endswith("  30 parameters") and lines[5].endswith("  52 parameters")
    assert repr(tg.Network()) == "Network(loss=None): 0 layers"


def test_calling_a_network_runs_forward():
    net = xor_network().use("mse")
    out = net(XOR_X)
    assert isinstance(out, tg.Tensor) and out.requires_grad and out.shape == (4, 1)
    np.testing.assert_array_equal(out.data, net.forward(XOR_X).data)
    with tg.no_grad():
        assert not net(XOR_X).requires_grad
    net(XOR_X).sum().backward()
    assert net.layers[0].weights.grad is not None


def test_fit_answers_pytorchs_lr_with_learning_rate():
    net = xor_network().use("mse")
    with pytest.raises(TypeError, match=r"^Network.fit: write learning_rate=0.1, not lr= \(fit takes the "
                                        r"tutorial's and Keras's learning_rate=; the optimizers, SGD\(params, "
                                        r"lr=...\) and Adam, take PyTorch's lr=\)$"):
        net.fit(XOR_X, XOR_Y, epochs=1, lr=0.1)
    with pytest.raises(TypeError, match=r"^Network.fit\(\) got an unexpected keyword argument 'lerning_rate'$"):
        net.fit(XOR_X, XOR_Y, epochs=1, lerning_rate=0.1)
    assert not net.built


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: tg.Network().use("mse").fit(XOR_X, XOR_Y, 1, 0.1), ValueError, "the network has no layers"),
        (lambda: xor_network().fit(XOR_X, XOR_Y, 1, 0.1), ValueError, "choose a loss first"),
        (lambda: xor_network().use("hinge"), ValueError, "unknown loss 'hinge'"),
        (lambda: xor_network().use("mse", optimizer="rmsprop"), ValueError, "unknown optimizer 'rmsprop'"),
        (lambda: xor_network().use("mse").fit(XOR_X, XOR_Y[:3], 1, 0.1), ValueError, "x has 4 samples but y"),
        (lambda: xor_network().use("mse").fit(XOR_X, XOR_Y, 0, 0.1), ValueError, "epochs must be a positive int"),
        (lambda: xor_network().use("mse").fit(XOR_X, XOR_Y, 1, -1.0), ValueError,
         "Network.fit: the learning rate must be a positive number, got -1.0"),
        (lambda: xor_network().use("mse").fit(XOR_X, np.zeros((4, 3)), 1, 0.1), ValueError,
         r"targets of shape \(4, 3\) do not match the network's output of shape \(N, 1\)"),
        (lambda: small_cnn().use("cross_entropy").fit(*digits(4)[:1], np.array([0, 1, 2, 7]), 1, 0.1), ValueError,
         r"labels must lie in \[0, 4\)"),
        (lambda: xor_network().use("mse").fit(np.full((4, 1, 2), np.nan), XOR_Y, 1, 0.1), ValueError,
         "contain NaN"),
        (lambda: tg.Network().add("FCLayer"), TypeError, "expected a layer"),
        (lambda: xor_network().use("mse").fit(XOR_X, XOR_Y, 1, 0.1, verbose=0).predict(np.ones((2, 5, 5))),
         ValueError, r"FCLayer_1: built for samples of shape \(1, 2\), got a batch of shape \(2, 5, 5\)"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_training_stops_with_the_epoch_and_batch():
    x = np.full((4, 1, 2), 1e3, dtype=np.float32)
    net = tg.Network(seed=0).add(FCLayer(1)).use("mse")
    with pytest.raises(ValueError, match=r"the loss became (inf|nan) at epoch \d+, batch \d+"):
        net.fit(x, np.full((4, 1), 1e3, dtype=np.float32), epochs=50, learning_rate=10.0, verbose=0)


def tutorial_cnn():
    return (
        tg.Network(seed=0)
        .add(ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2)).add(ActivationLayer("tanh"))
        .add(MaxPoolingLayer((2, 2), stride=2)).add(FlattenLayer())
        .add(FCLayer(100)).add(ActivationLayer("tanh")).add(FCLayer(50)).add(ActivationLayer("tanh"))
        .add(FCLayer(10)).add(ActivationLayer("tanh")).add(ActivationLayer("softmax"))
        .use("mse")
    )


def test_draw_graph_of_the_tutorial_cnn_step_renders_every_layer(tmp_path):
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed")
    net = tutorial_cnn()
    graph = net.draw_graph(np.zeros((28, 28, 1), dtype=np.float32))
    svg = tg.save_graph(graph, tmp_path / "step.svg")
    text = pathlib.Path(svg).read_text()
    for layer in net.layers:
        assert layer.name in text
    assert "loss: mse" in text and "stride=(2, 2)" in text
    assert all(p.grad is None for p in net.parameters())


def test_draw_graph_with_gradients_leaves_training_state_alone():
    net = tutorial_cnn()
    x = np.random.default_rng(0).random((28, 28, 1), dtype=np.float32)
    net.predict(x[None])
    before = [p.data.copy() for p in net.parameters()]
    source = net.draw_graph(x, y_sample=np.eye(10, dtype=np.float32)[3], show_grads=True).source
    assert "|grad|=" in source and "subgraph cluster_" in source
    assert all(p.grad is None for p in net.parameters())
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.parameters()))


def mlp3(seed=0):
    return tg.Network(seed=seed).add(FCLayer(5)).add(ActivationLayer("tanh")).add(FCLayer(3))


def three_classes(n=10):
    rng = np.random.default_rng(1)
    return rng.random((n, 4), dtype=np.float32), rng.integers(0, 3, n)


def test_evaluate_refuses_labels_that_do_not_fit_the_outputs():
    x, y = three_classes()
    net = mlp3()
    net.predict(x)
    with pytest.raises(ValueError, match=r"Network.evaluate: expected integer labels of shape \(N,\) or one-hot"):
        net.evaluate(x, y[:, None])
    with pytest.raises(ValueError, match=r"one-hot targets of shape \(N, 3\) for 3 outputs, got float32 of shape"):
        net.evaluate(x, tg.datasets.one_hot(y, 5))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        net.evaluate(x, y + 3)


def test_validation_data_is_checked_before_training():
    x, y = three_classes()
    net = mlp3().use("cross_entropy")
    with pytest.raises(ValueError, match=r"validation samples have shape \(5,\), the network takes \(4,\)"):
        net.fit(x, y, 1, 0.1, validation_data=(np.ones((3, 5)), y[:3]), verbose=0)
    with pytest.raises(ValueError, match=r"Network.fit \(validation_data\): expected integer labels"):
        net.fit(x, y, 1, 0.1, validation_data=(x, y + 0.5), verbose=0)
    assert net.history["loss"] == []


def test_fit_checks_the_sample_shape_of_a_built_network():
    x, y = three_classes()
    net = mlp3().use("cross_entropy").fit(x, y, 1, 0.1, verbose=0)
    with pytest.raises(ValueError, match=r"Network.fit: samples have shape \(2, 2\), the network was built for \(4,\)"):
        net.fit(x.reshape(-1, 2, 2), y, 1, 0.1, verbose=0)


def test_drawing_does_not_change_what_training_does_next():
    from tinygraph.layers import DropoutLayer

    x, y = three_classes(16)

    def trained(draw):
        net = tg.Network(seed=0).add(FCLayer(8)).add(DropoutLayer(rate=0.5)).add(FCLayer(3)).use("cross_entropy")
        net.fit(x, y, 1, 0.1, batch_size=4, verbose=0)
        if draw:
            net.draw_graph(x[0])
        net.fit(x, y, 1, 0.1, batch_size=4, verbose=0)
        return [p.data for p in net.parameters()]

    assert all(np.array_equal(a, b) for a, b in zip(trained(False), trained(True)))
