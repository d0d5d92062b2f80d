"""predict's blocks of samples (tinygraph/inference.py): the same outputs as one forward, bit for bit whatever the
thread count, errors naming all of the inputs, and each helper thread recording nothing."""
import threading

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import inference, parallel
from tinygraph.grad_mode import is_anomaly_enabled, is_grad_enabled
from tinygraph.layers import ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 8 samples, every size of work split: small inputs use the threads. Yields set_threads."""
    monkeypatch.setattr(inference, "BLOCK_SAMPLES", 8)
    monkeypatch.setattr(inference, "MIN_BLOCK_SAMPLES", 2)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    previous = parallel.threads()
    yield parallel.set_threads
    parallel.set_threads(previous)


def mlp(dtype=np.float32):
    net = tg.Network(seed=0, dtype=dtype)
    for size in (16, 8, 3):
        net.add(FCLayer(size)).add(ActivationLayer("tanh"))
    return net.add(ActivationLayer("softmax"))


def cnn(dtype=np.float32):
    net = tg.Network(seed=0, dtype=dtype)
    net.add(ConvolutionalLayer(4, (3, 3), padding=1)).add(ActivationLayer("relu")).add(MaxPoolingLayer((2, 2), 2))
    return net.add(FlattenLayer()).add(FCLayer(5))


@pytest.mark.parametrize("make, shape", [(mlp, (7, 5)), (cnn, (6, 6, 2))], ids=["mlp", "cnn"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_in_blocks_equals_one_forward_whatever_the_thread_count(small_blocks, make, shape, dtype):
    x = np.random.default_rng(0).standard_normal((45,) + shape).astype(dtype)
    net = make(dtype)
    small_blocks(1)
    alone = net.predict(x, batch_size=20)  # batches of 20, 20 and 5, cut into blocks of at most 8
    small_blocks(3)
    shared = net.predict(x, batch_size=20)
    assert shared.dtype == dtype and np.array_equal(alone, shared)
    with tg.no_grad():
        whole = net(x).data
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(shared, whole, **tolerance)  # BLAS may round rows of a smaller product differently
    np.testing.assert_allclose(net.predict(x[:3]), whole[:3], **tolerance)  # one block: run as one forward


def test_the_blocks_cut_each_batch_into_equal_parts():
    assert inference.blocks(1000, 1000, 500) == [slice(0, 500), slice(500, 1000)]
    assert inference.blocks(1300, 1000, 500) == [slice(0, 500), slice(500, 1000), slice(1000, 1300)]
    assert inference.blocks(10, 4, 500) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert inference.blocks(7, 7, 3) == [slice(0, 3), slice(3, 6), slice(6, 7)]


def test_a_wide_layer_makes_smaller_blocks(monkeypatch):
    net = cnn()
    sample = np.zeros((1, 6, 6, 2), dtype=np.float32)
    net.predict(sample)
    assert inference.block_samples(net, sample) == inference.BLOCK_SAMPLES
    widest_bytes = 6 * 6 * 4 * 4  # the convolution's output of one sample, float32
    monkeypatch.setattr(inference, "BLOCK_BYTES", 100 * widest_bytes)
    assert inference.block_samples(net, sample) == 100
    monkeypatch.setattr(inference, "BLOCK_BYTES", widest_bytes)
    assert inference.block_samples(net, sample) == inference.MIN_BLOCK_SAMPLES


def test_bad_inputs_in_a_later_block_name_the_shape_of_all_the_inputs(small_blocks):
    small_blocks(2)
    x = np.ones((50, 5))
    x[40, 2] = np.nan
    with pytest.raises(ValueError, match=r"Network.predict: the inputs of shape \(50, 5\) contain NaN or infinite"):
        mlp().predict(x)
    with pytest.raises(ValueError, match=r"Network.predict: the inputs of shape \(3, 5\) contain NaN or infinite "
                                         r"values \(as float32\)"):
        mlp().predict(np.full((3, 5), 1e39))  # an unbuilt network: the first sample is checked before building
    with pytest.raises(ValueError, match="expected a non-empty batch"):
        mlp().predict(np.zeros((0, 5)))


def test_every_thread_runs_the_layers_without_recording_and_with_the_callers_anomaly_mode(small_blocks):
    small_blocks(3)
    seen = []

    def spy(t):
        seen.append((threading.current_thread().name, is_grad_enabled(), is_anomaly_enabled()))
        return t * 1.0

    net = mlp().add(ActivationLayer(spy))
    x = np.random.default_rng(1).standard_normal((64, 5)).astype(np.float32)
    with tg.detect_anomaly():
        out = net.predict(x)
    assert out.shape == (64, 3) and not isinstance(out, tg.Tensor)
    assert seen and all(not recording and anomaly for _, recording, anomaly in seen)
    assert is_grad_enabled() and not is_anomaly_enabled()


def test_a_layer_of_the_users_own_runs_its_blocks_one_after_another(small_blocks):
    """The tutorial's FC layer keeps its input on the layer and reads it back: on two threads at once the blocks
    would swap inputs (seen: wrong outputs). A network with such a layer runs its blocks on the calling thread."""
    from tinygraph.layers import Layer

    class TutorialFC(Layer):
        def __init__(self):
            super().__init__()
            self.weights = np.random.default_rng(0).standard_normal((16, 3))

        def forward_propagation(self, input_data):
            self.input = input_data
            threading.current_thread()  # a switch point between the write and the read
            self.seen = getattr(self, "seen", set()) | {threading.current_thread().name}
            return np.dot(self.input, self.weights)

    small_blocks(2)
    net = tg.Network(seed=0).add(FCLayer(16)).add(TutorialFC())
    x = np.random.default_rng(1).standard_normal((64, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="does not train the array attributes"):
        out = net.predict(x)
    assert not inference.concurrent(net) and net.layers[1].seen == {threading.current_thread().name}
    assert np.allclose(out, net.forward(x).data)


def test_a_wrong_sample_shape_is_named_with_the_whole_batch():
    net = tg.Network(seed=0).add(FCLayer(3))
    net.predict(np.zeros((4, 784), np.float32))
    with pytest.raises(ValueError, match=r"got a batch of shape \(100, 5\), i.e. 100 samples of shape \(5,\)"):
        net.predict(np.zeros((100, 5), np.float32))
