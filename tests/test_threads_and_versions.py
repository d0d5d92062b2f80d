"""Grad mode is per thread; in-place writes through tinygraph are noticed by backward."""
import threading

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor
from tinygraph.layers import ActivationLayer, FCLayer


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    inside, done = threading.Event(), threading.Event()
    recorded = []

    def predicting():
        with tg.no_grad():
            inside.set()
            done.wait(5)

    def training():
        inside.wait(5)
        x = Tensor(np.ones(3), requires_grad=True)
        recorded.extend((x * 2).requires_grad for _ in range(1000))
        done.set()

    threads = [threading.Thread(target=predicting), threading.Thread(target=training)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorded) == 1000 and all(recorded)
    assert tg.is_grad_enabled()


def test_threads_entering_and_leaving_no_grad_leave_recording_on():
    barrier = threading.Barrier(4)
    states = []

    def toggle():
        barrier.wait()
        for _ in range(2000):
            with tg.no_grad():
                states.append(tg.is_grad_enabled())
        states.append(tg.is_grad_enabled())

    threads = [threading.Thread(target=toggle) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert states.count(False) == 8000 and states.count(True) == 4
    assert tg.is_grad_enabled()


def test_a_decorated_function_used_by_several_threads():
    @tg.no_grad()
    def inside():
        return tg.is_grad_enabled()

    results = []
    threads = [threading.Thread(target=lambda: results.extend(inside() for _ in range(500))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [False] * 1500 and tg.is_grad_enabled()


def _network():
    return (tg.Network(seed=3).add(FCLayer(8)).add(ActivationLayer("tanh")).add(FCLayer(3))
            .use("cross_entropy", "adam"))


def test_two_networks_trained_in_two_threads_equal_the_same_trained_one_after_the_other():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 5)).astype(np.float32), rng.integers(0, 3, 64)
    sequential = [_network().fit(x, y, epochs=3, batch_size=8, verbose=0) for _ in range(2)]
    parallel = [_network(), _network()]
    predictions = []

    def predict_meanwhile():
        for _ in range(50):
            predictions.append(sequential[0].predict(x))

    threads = [threading.Thread(target=net.fit, args=(x, y), kwargs=dict(epochs=3, batch_size=8, verbose=0))
               for net in parallel] + [threading.Thread(target=predict_meanwhile)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(sequential, parallel):
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
    assert len(predictions) == 50


def test_an_in_place_write_after_forward_makes_backward_refuse_naming_the_op():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    y = (a * a).sum()
    with tg.no_grad():
        a[0] = 100.0
    with pytest.raises(RuntimeError, match=r"backward: input 0 of mul \(shape \(2,\), 'a'\) was changed in place"):
        y.backward()


def test_an_optimizer_step_between_forward_and_backward_is_noticed():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.grad = np.ones(2)
    tg.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="changed in place after mul used it"):
        loss.backward()


def test_writes_that_do_not_touch_saved_data_and_forwards_after_a_write_are_fine():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    other = Tensor(np.zeros(2))
    y = (a + 1).sum()  # add saves nothing
    with tg.no_grad():
        a[1] = 5.0
    other[0] = 1.0
    y.backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    a.grad = None
    (a * a).sum().backward()  # recorded after the write
    np.testing.assert_array_equal(a.grad, [2.0, 10.0])


def test_setitem_on_a_tensor_that_requires_grad_needs_no_grad():
    a = Tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"setitem: .*requires grad.*no_grad"):
        a[0] = 1.0
    with tg.no_grad():
        a[0] = 1.0
    np.testing.assert_array_equal(a.data, [1.0, 0.0, 0.0])
