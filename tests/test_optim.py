"""Optimizers: the update rules, in place and in float32, against PyTorch's definitions."""
import numpy as np
import pytest

import tinygraph as tg


def param(values):
    p = tg.Tensor(np.asarray(values, dtype=np.float32), requires_grad=True)
    return p


def test_sgd_updates_in_place():
    p = param([1.0, 2.0])
    buffer = p.data
    p.grad = np.array([0.5, -1.0], dtype=np.float32)
    tg.SGD([p], lr=0.1).step()
    assert p.data is buffer and p.data.dtype == np.float32
    assert np.allclose(p.data, [0.95, 2.1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_step_of_a_large_parameter_chunk_by_chunk_equals_the_formula(dtype):
    """A parameter above optim._CHUNK values is updated a chunk at a time: the same values as p - lr * g."""
    from tinygraph import optim

    rng = np.random.default_rng(0)
    data = rng.standard_normal((optim._CHUNK + 12345) // 5 * 5).astype(dtype).reshape(-1, 5)
    p = tg.Tensor(data.copy(), requires_grad=True)
    p.grad = rng.standard_normal(data.shape).astype(dtype)
    tg.SGD([p], lr=0.03).step()
    assert p.data.dtype == dtype and np.array_equal(p.data, data - dtype(0.03) * p.grad)


def test_sgd_momentum():
    p = param([0.0])
    opt = tg.SGD([p], lr=1.0, momentum=0.9)
    for _ in range(2):
        p.grad = np.array([1.0], dtype=np.float32)
        opt.step()
    assert np.allclose(p.data, [-(1 + 1.9)])


def test_adam_matches_the_reference_formula():
    p = param([1.0, -2.0])
    opt = tg.Adam([p], lr=0.01)
    m = v = np.zeros(2)
    x = np.array([1.0, -2.0])
    for t in range(1, 4):
        g = np.array([0.3, -0.1]) * t
        p.grad = g.astype(np.float32)
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    assert np.allclose(p.data, x, atol=1e-6) and p.data.dtype == np.float32


def test_zero_grad_and_skipping_missing_grads():
    p, q = param([1.0]), param([2.0])
    p.grad = np.array([1.0], dtype=np.float32)
    opt = tg.SGD([p, q], lr=1.0)
    opt.step()
    assert np.allclose(q.data, [2.0])
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "fast"])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="SGD: the learning rate must be a positive number"):
        tg.SGD([param([1.0])], lr=lr)


@pytest.mark.parametrize("optimizer", [tg.SGD, tg.Adam])
def test_keras_learning_rate_is_answered_with_lr(optimizer):
    with pytest.raises(TypeError, match=rf"^{optimizer.__name__}: write lr=0.1, not learning_rate= \(the optimizers "
                                        r"take PyTorch's lr=; Network.fit takes the tutorial's learning_rate=\)$"):
        optimizer([param([1.0])], learning_rate=0.1)
    assert optimizer([param([1.0])], lr=0.1).lr == 0.1 and optimizer([param([1.0])], 0.2).lr == 0.2


def test_other_keywords_are_refused_as_python_refuses_them():
    with pytest.raises(TypeError, match=r"^Adam: write eps=1e-07, not epsilon="):
        tg.Adam([param([1.0])], epsilon=1e-7)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epsilon'"):  # SGD has no eps
        tg.SGD([param([1.0])], epsilon=1e-7)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nesterov'"):
        tg.SGD([param([1.0])], nesterov=True)


def test_an_optimizer_of_ones_own_keeps_its_keywords():
    class Scaled(tg.SGD):
        def __init__(self, parameters, learning_rate=0.1, **others):
            super().__init__(parameters, lr=learning_rate)

    assert Scaled([param([1.0])], learning_rate=0.3).lr == 0.3


def test_bad_settings():
    with pytest.raises(ValueError, match="momentum"):
        tg.SGD([param([1.0])], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="no parameters"):
        tg.Adam([], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        tg.SGD([tg.Tensor([1.0])], lr=0.1)
