"""Issue 13, the training side: divergence (2), Tensor(array) sharing (3), nothing built by a refused fit (4), clear
errors (13, 14, 16, 17) and inputs cast to the network's dtype (18). Each test would have caught its finding."""
import tracemalloc

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.layers import ActivationLayer, FCLayer

# Several tests make weights infinite on purpose; NumPy then warns from inside the ops before fit refuses.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:overflow:RuntimeWarning")


def mlp(seed=0, **kwargs):
    return tg.Network(seed=seed, **kwargs).add(FCLayer(4)).add(ActivationLayer("tanh")).add(FCLayer(3))


def data(n=12, features=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, features), dtype=np.float32), rng.integers(0, 3, n)


def weights(net):
    return [p.data.copy() for p in net.parameters()]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


class BlowUp(tg.SGD):
    """SGD whose `at`-th step (counted over the optimizer's life) leaves every weight infinite."""

    at = 0

    def __init__(self, parameters, lr=0.01):
        super().__init__(parameters, lr)
        self.steps = 0

    def step(self):
        super().step()
        self.steps += 1
        if self.steps == self.at:
            for p in self.parameters:
                p.data[...] = np.inf


# ----- item 2: divergence is caught whichever step causes it, and the network keeps finite weights ----------------
def test_a_last_step_that_overflows_the_weights_is_caught_and_undone():
    """One step (the last) makes the weights infinite; the loss, checked before each step, never saw it."""
    x, y = np.full((4, 2), 1e3, np.float32), np.ones((4, 1), np.float32)
    net = tg.Network(seed=0).add(FCLayer(1)).use("mse")
    net.predict(x)
    before = weights(net)
    with pytest.raises(ValueError, match=r"the weights became NaN or infinite during epoch 1 \(FCLayer_1\.weights"
                                         r".*smaller learning rate.*put back to its weights \(and optimizer state\) "
                                         r"from before this fit.*detect_anomaly"):
        net.fit(x, y, epochs=1, learning_rate=1e35, batch_size=4, verbose=0)
    assert same(weights(net), before) and np.isfinite(net.predict(x)).all()


def test_an_epoch_that_diverges_is_undone_with_the_optimizer_state():
    x, y = data()
    BlowUp.at = 5  # epoch 2 of 3 (3 steps an epoch)
    net = mlp().use("cross_entropy", optimizer=BlowUp)
    reference = mlp().use("cross_entropy", optimizer="sgd").fit(x, y, 1, 0.1, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"the (loss became nan at epoch 2, batch 3|weights became NaN or infinite "
                                         r"during epoch 2).* from the end of epoch 1, the last ones checked finite"):
        net.fit(x, y, 3, 0.1, batch_size=4, verbose=0)
    assert same(weights(net), weights(reference)) and len(net.history["loss"]) == 1


def test_adam_state_is_restored_with_the_weights():
    x, y = data()
    net = mlp().use("cross_entropy", optimizer="adam").fit(x, y, 1, 0.01, batch_size=4, verbose=0)
    state, kept = net.optimizer.state(), weights(net)
    calls = [0]

    def loss(pred, target):  # NaN on the second batch of the next fit
        calls[0] += 1
        return tg.cross_entropy(pred, target) * (float("nan") if calls[0] == 2 else 1.0)

    net.use(loss, optimizer=net.optimizer)
    with pytest.raises(ValueError, match=r"the loss became nan at epoch 1, batch 2.*try a smaller learning rate"):
        net.fit(x, y, 2, 0.01, batch_size=4, verbose=0)
    assert same(weights(net), kept) and net.optimizer._t == state["_t"] == 3
    assert same(net.optimizer._m, state["_m"]) and same(net.optimizer._v, state["_v"])


def test_no_learning_rate_advice_when_the_first_batch_already_overflows():
    net = tg.Network(seed=0).add(FCLayer(1)).use("mse")
    with pytest.raises(ValueError) as caught:
        net.fit(np.ones((4, 2), np.float32), np.full((4, 1), 1e20), 1, 0.1, verbose=0)
    message = str(caught.value)
    assert "before any step was taken, so the learning rate is not the cause" in message
    assert "targets up to 1e+20" in message and "smaller learning rate" not in message
    assert "No step was taken" in message and "detect_anomaly" in message


def test_no_learning_rate_advice_when_the_weights_are_already_nan():
    x, y = data()
    net = mlp().use("cross_entropy").fit(x, y, 1, 0.1, verbose=0)
    net.parameters()[0].data[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"the weights already hold NaN or infinite values \(FCLayer_1\.weights\), "
                                         r"so training cannot start and a smaller learning rate cannot help"):
        net.fit(x, y, 1, 0.01, verbose=0)
    assert net.history["loss"] == [net.history["loss"][0]]


def test_fit_after_a_refused_divergence_trains_from_the_restored_weights():
    x, y = data()
    BlowUp.at = 2
    net = mlp().use("cross_entropy", optimizer=BlowUp)
    with pytest.raises(ValueError, match="diverged"):
        net.fit(x, y, 2, 0.1, batch_size=4, verbose=0)
    net.use("cross_entropy").fit(x, y, 2, 0.05, batch_size=4, verbose=0)
    assert np.isfinite(net.history["loss"]).all() and np.isfinite(net.predict(x)).all()


def test_another_error_after_the_weights_went_bad_says_they_were_put_back():
    """Not a divergence fit found itself (in a distributed fit: another rank's failure): the error is raised as it
    is, with a note saying the network was put back."""
    x, y = data()
    BlowUp.at = 4  # the first step of epoch 2

    def loss(pred, target):
        if not np.isfinite(pred.data).all():
            raise RuntimeError("the loss function broke")
        return tg.cross_entropy(pred, target)

    net = mlp().use(loss, optimizer=BlowUp)
    reference = mlp().use(tg.cross_entropy).fit(x, y, 1, 0.1, batch_size=4, verbose=0)
    with pytest.raises(RuntimeError, match="the loss function broke") as caught:
        net.fit(x, y, 2, 0.1, batch_size=4, verbose=0)
    assert caught.value.__notes__ == ["Network.fit: the weights had become NaN or infinite. The network has been put "
                                      "back to its weights (and optimizer state) from the end of epoch 1, the last "
                                      "ones checked finite."]
    assert same(weights(net), weights(reference))


# ----- item 3 (documentation): Tensor(array) shares, as torch.from_numpy does -----------------------------------
def test_tensor_shares_numpy_arrays_and_copies_the_rest_as_documented():
    for dtype in (np.float32, np.float64, np.int64, np.bool_):
        array = np.ones(3, dtype=dtype)
        assert tg.Tensor(array).data is array
    assert tg.Tensor(np.ones(3, np.float16)).dtype == np.float32  # a cast, hence a copy
    w = np.ones(2, np.float32)
    p = tg.Tensor(w, requires_grad=True)
    p.grad = np.ones(2, np.float32)
    tg.SGD([p], lr=0.5).step()
    assert np.array_equal(w, [0.5, 0.5])  # the optimizer changed the caller's array, as the docstring says
    assert "shares" in tg.Tensor.__doc__ and "torch.from_numpy" in tg.Tensor.__doc__


def test_a_write_into_a_shared_array_before_backward_is_caught_by_anomaly_mode():
    array = np.array([1.0, 2.0, 3.0])
    a = tg.Tensor(array, requires_grad=True)
    with tg.detect_anomaly():
        y = (a * a).sum()
        array[0] = 100.0
        with pytest.raises(tg.AnomalyError, match="was changed after mul saved it"):
            y.backward()


def test_fit_makes_no_shuffled_copy_of_the_data_set():
    """Each batch is gathered when it comes: the peak memory of an epoch is far below one copy of x."""
    rng = np.random.default_rng(0)
    x, y = rng.random((40_000, 50), dtype=np.float32), rng.integers(0, 2, 40_000)  # 8 MB of inputs
    net = tg.Network(seed=0).add(FCLayer(2)).use("cross_entropy")
    net.fit(x[:10], y[:10], 1, 0.1, verbose=0)
    tracemalloc.start()
    try:
        net.fit(x, y, 1, 0.1, batch_size=2000, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 2, peak


# ----- item 4: a refused fit builds nothing ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    dict(y=np.array([0, 1, 2, 7] * 3)),  # labels out of range for 3 outputs
    dict(y=np.zeros((12, 4), np.float32)),  # one-hot rows of the wrong width
    dict(validation_data=(np.ones((2, 6)), np.array([0, 9]))),  # labels out of range in the validation data
    dict(validation_data=(np.ones((2, 5)), np.array([0, 1]))),  # validation samples of another shape
    dict(verbose="loud"),
    dict(learning_rate=True),
])
def test_a_refused_fit_leaves_the_network_unbuilt(bad):
    x6, y = data(features=6)
    net = mlp().use("cross_entropy")
    state = net.rng.bit_generator.state
    arguments = dict(dict(y=y, learning_rate=0.1, verbose=0), **bad)
    with pytest.raises((ValueError, TypeError)):
        net.fit(x6, arguments.pop("y"), 1, **arguments)
    assert not any(layer.built for layer in net.layers) and net.parameters() == [] and net.optimizer is None
    assert net.rng.bit_generator.state == state and net.history["loss"] == []
    x5, y5 = data(features=5)
    trained = net.fit(x5, y5, 1, 0.1, verbose=0)  # the corrected call now works, as on a fresh network
    assert same(weights(trained), weights(mlp().use("cross_entropy").fit(x5, y5, 1, 0.1, verbose=0)))


# ----- item 13: clear errors, each naming the call -------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda net, x, y: net.fit(x, y, 1, 0.1, verbose="loud"),
     r"Network.fit: verbose must be 0 \(silent\), 1 \(a line per epoch\) or 2 \(with its time\), got 'loud'"),
    (lambda net, x, y: net.evaluate(x, 3),
     r"Network.evaluate: x has 12 samples but y has the single value 3; give one target per sample"),
    (lambda net, x, y: net.fit(x, y, 1, 0.1, verbose=0, validation_data=(x, 3)),
     r"Network.fit \(validation_data\): x has 12 samples but y_val has the single value 3"),
    (lambda net, x, y: net.fit([[1.0, 2.0], [3.0]], [0, 1], 1, 0.1, verbose=0),
     r"Network.fit: the inputs must be an array with rows of equal length, got a ragged list \(setting an array"),
    (lambda net, x, y: net.fit(x[:2], [[1.0, 0.0], [1.0]], 1, 0.1, verbose=0),
     r"Network.fit: y must be an array with rows of equal length, got a ragged list"),
    (lambda net, x, y: net.predict([[1.0], [2.0, 3.0]]), r"Network.predict: the inputs must be an array with rows"),
])
def test_clear_errors_before_any_training(call, message, capsys):
    x, y = data()
    net = mlp().use("cross_entropy")
    with pytest.raises(ValueError, match=message):
        call(net, x, y)
    assert "epoch" not in capsys.readouterr().out


# ----- item 14: what was silently accepted ---------------------------------------------------------------------
@pytest.mark.parametrize("lr", [True, False, np.bool_(True)])
def test_a_bool_learning_rate_is_refused(lr):
    x, y = data()
    with pytest.raises(ValueError, match="Network.fit: the learning rate must be a positive number, got"):
        mlp().use("cross_entropy").fit(x, y, 1, lr, verbose=0)
    with pytest.raises(ValueError, match="Adam: the learning rate must be a positive number"):
        tg.Adam([tg.Tensor(np.ones(2), requires_grad=True)], lr=lr)


@pytest.mark.parametrize("shape", [(4, 0), (4, 3, 0, 1)])
def test_inputs_without_features_are_refused(shape):
    with pytest.raises(ValueError, match=r"Network.fit: the samples have shape \(.*\), which holds no values"):
        mlp().use("mse").fit(np.ones(shape, np.float32), np.ones((4, 3)), 1, 0.1, verbose=0)
    with pytest.raises(ValueError, match=r"Network.predict: the samples have shape"):
        mlp().predict(np.ones(shape))


def test_negative_one_hot_targets_are_refused_for_cross_entropy():
    x, y = data()
    targets = -tg.datasets.one_hot(y, 3)
    with pytest.raises(ValueError, match=r"targets for cross_entropy must be probabilities \(one-hot rows, >= 0\), "
                                         r"got values down to -1.0"):
        mlp().use("cross_entropy").fit(x, targets, 1, 0.1, verbose=0)
    mlp().use("mse").fit(x, targets, 1, 0.1, verbose=0)  # for mse, -1 is a fine target (tanh reaches it)


# ----- item 16: an optimizer given one Tensor instead of a list ---------------------------------------------------
def test_optimizers_refuse_what_step_could_never_update():
    w = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=r"SGD: parameters must be a list of Tensors, got one Tensor of shape "
                                        r"\(3, 2\); write SGD\(\[W\], \.\.\.\)"):
        tg.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: parameter \(3, 2\) is the result of mul, not a leaf"):
        tg.Adam([w * 2], lr=0.1)
    with pytest.raises(TypeError, match=r"call it: net.parameters\(\)"):
        tg.SGD(mlp().parameters, lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameters must be Tensors, got ndarray"):
        tg.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="a parameter appears twice"):
        tg.SGD([w, w], lr=0.1)
    w.grad = np.ones((3, 2))
    tg.SGD([w], lr=0.5).step()
    assert np.array_equal(w.data, np.full((3, 2), 0.5))


# ----- item 17: one sample without its batch axis ---------------------------------------------------------------
def test_a_built_layer_given_one_unbatched_sample_says_how_to_pass_it():
    layer = FCLayer(10)
    layer(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"FCLayer: built for samples of shape \(28, 28, 1\), got a batch of shape "
                                         r"\(28, 28, 1\), i.e. 28 samples of shape \(28, 1\); for one sample without "
                                         r"its batch axis, pass x\[None\]"):
        layer(np.zeros((28, 28, 1)))
    assert layer(np.zeros((28, 28, 1))[None]).shape == (1, 10)
    with pytest.raises(ValueError, match=r"FCLayer: expected a batch of samples, got a scalar"):
        layer(np.float32(1.0))


# ----- item 18: inputs take the network's dtype ------------------------------------------------------------------
def test_float64_inputs_train_a_float32_network_in_float32():
    x, y = data()
    net = mlp().use("cross_entropy").fit(x.astype(np.float64), y, 2, 0.1, batch_size=4, verbose=0)
    assert net.dtype == np.float32 and all(p.dtype == np.float32 for p in net.parameters())
    assert net.predict(x.astype(np.float64)).dtype == np.float32
    same_in_float32 = mlp().use("cross_entropy").fit(x, y, 2, 0.1, batch_size=4, verbose=0)
    assert same(weights(net), weights(same_in_float32))  # the float64 data was cast once, up front
    assert net.evaluate(x.astype(np.float64), y) == net.evaluate(x, y)


def test_a_float64_network_keeps_float64(tmp_path):
    x, y = data()
    net = mlp(dtype=np.float64).use("cross_entropy").fit(x, y, 1, 0.1, verbose=0)  # float32 data widened
    assert net.dtype == np.float64 and all(p.dtype == np.float64 for p in net.parameters())
    assert net.predict(x).dtype == np.float64
    loaded = tg.Network.load(net.save(tmp_path / "net64.npz"))
    assert loaded.dtype == np.float64 and loaded.predict(x).dtype == np.float64
    assert np.array_equal(loaded.predict(x), net.predict(x))
    with pytest.raises(TypeError, match="Network: dtype must be float32 or float64, got float16"):
        tg.Network(dtype=np.float16)


def test_inputs_too_large_for_the_network_dtype_are_refused():
    net = mlp()
    with pytest.raises(ValueError, match=r"Network.predict: the inputs of shape \(2, 5\) contain NaN or infinite "
                                         r"values \(as float32\)"):
        net.predict(np.full((2, 5), 1e39))
