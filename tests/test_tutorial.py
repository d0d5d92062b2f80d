"""The tutorial's own code on tinygraph: its names and signatures, its NumPy helpers differentiated by the engine,
its hand-written derivatives checked, and its two models trained on the bundled digits.

The tutorial's code (helpers, the sine layer, both models) lives once, as the tutorial writes it, in
examples/tutorial_original.py; these tests import it from there, so the example a user runs is the code tested.
"""
import importlib.util
import pathlib
import time
import warnings

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import DerivativeWarning, NeuralNetwork, Network, Tensor
from tinygraph.derivative_check import check
from tinygraph.layers import ActivationLayer, DropoutLayer, FCLayer, Layer

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("tutorial_original", ROOT / "examples" / "tutorial_original.py")
tutorial = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tutorial)


def samples(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def prime_of(f_prime):
    """The tutorial's use of a derivative: f_prime(input, output) times the output error."""
    return lambda x, y, g: f_prime(x, y) * g


# ----- the derivative check ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("f, f_prime", [(tutorial.tanh, tutorial.tanh_prime),
                                        (tutorial.sigmoid, tutorial.sigmoid_prime)])
def test_the_tutorials_right_derivatives_pass_the_check(f, f_prime):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check(f_prime.__name__, f.__name__, f, prime_of(f_prime), samples(10))


def test_mse_prime_passes_the_check():
    y = np.eye(10)[3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check("mse_prime", "mse", lambda p: tutorial.mse(y, p),
                     lambda p, out, g: tutorial.mse_prime(y, p) * g, samples(10))


def test_softmax_prime_is_caught_with_the_worst_element_and_both_values():
    x = samples(10)
    with pytest.warns(DerivativeWarning) as caught:
        check("softmax_prime", "softmax", tutorial.softmax, prime_of(tutorial.softmax_prime), x)
    message = str(caught[0].message)
    assert message.startswith("softmax_prime disagrees with the derivative of softmax: at element (")
    # The two values named are the two vector-Jacobian products at that element.
    s = tutorial.softmax(x)
    g = np.random.default_rng(0).standard_normal(10)
    index = int(message.split("at element (")[1].split(",")[0])
    exact = (s * (g - np.dot(g, s)))[index]
    given = (tutorial.softmax_prime(x, s) * g)[index]
    assert f"softmax_prime gives {given:.6g} and the derivative of softmax gives {exact:.6g}" in message
    assert "derivative='supplied' trains with yours" in message


def test_a_forward_the_engine_cannot_differentiate_is_checked_by_central_differences():
    def rounded_tanh(X):  # np.round is refused on a Tensor: the engine cannot differentiate this
        return np.round(np.tanh(X), 12)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not check("tanh_prime", "rounded_tanh", rounded_tanh, prime_of(tutorial.tanh_prime), samples(6))
    with pytest.warns(DerivativeWarning, match="twice_prime disagrees with central differences of rounded_tanh"):
        check("twice_prime", "rounded_tanh", rounded_tanh, lambda x, y, g: 2 * tutorial.tanh_prime(x, y) * g,
              samples(6))


def test_a_derivative_of_the_wrong_shape_is_named():
    with pytest.warns(DerivativeWarning, match=r"jacobian disagrees .* its result has shape \(4, 4\) where the input "
                                               r"gradient has shape \(4,\)"):
        check("jacobian", "softmax", tutorial.softmax, lambda x, y, g: np.diagflat(y) - np.outer(y, y), samples(4))


# ----- training with the engine's or the supplied derivative -----------------------------------------------------

def one_step_grads(layer_factory, network_derivative=None):
    """The first layer's weight gradient after one training step of FC(4) -> layer -> FC(3) on one sample."""
    net = NeuralNetwork(seed=0).add(FCLayer(4)).add(layer_factory()).add(FCLayer(3))
    net.use(tutorial.mse, tutorial.mse_prime, derivative=network_derivative)
    x, y = samples((1, 5)).astype(np.float32), np.eye(3, dtype=np.float32)[[1]]
    net.fit(x, y, epochs=1, learning_rate=1e-12, shuffle=False, verbose=0)
    return net.layers[0].weights.grad.copy()


def test_a_wrong_derivative_trains_with_the_engines_unless_supplied_is_asked():
    def tanh_wrong(X, output):
        return 3 * (1 - np.tanh(X) ** 2)

    with pytest.warns(DerivativeWarning):
        engine = one_step_grads(lambda: ActivationLayer(tutorial.tanh, tanh_wrong))
    exact = one_step_grads(lambda: ActivationLayer("tanh"))
    with pytest.warns(DerivativeWarning):
        given = one_step_grads(lambda: ActivationLayer(tutorial.tanh, tanh_wrong, derivative="supplied"))
    with pytest.warns(DerivativeWarning):
        network_wide = one_step_grads(lambda: ActivationLayer(tutorial.tanh, tanh_wrong), network_derivative="supplied")
    np.testing.assert_allclose(engine, exact, rtol=1e-5)
    np.testing.assert_allclose(given, 3 * exact, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(network_wide, 3 * exact, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layer_derivative, network_derivative", [("supplied", None), (None, "supplied")])
def test_the_warning_says_yours_trains_under_derivative_supplied(layer_derivative, network_derivative):
    def tanh_wrong(X, output):
        return 3 * (1 - np.tanh(X) ** 2)

    with pytest.warns(DerivativeWarning) as caught:
        one_step_grads(lambda: ActivationLayer(tutorial.tanh, tanh_wrong, derivative=layer_derivative),
                       network_derivative=network_derivative)
    message = str(caught[0].message)
    assert "tinygraph trains with yours, as derivative='supplied' asks" in message
    assert "tinygraph trains with the exact derivative" not in message


def test_the_warning_says_the_exact_derivative_trains_by_default():
    def tanh_wrong(X, output):
        return 3 * (1 - np.tanh(X) ** 2)

    with pytest.warns(DerivativeWarning) as caught:
        one_step_grads(lambda: ActivationLayer(tutorial.tanh, tanh_wrong))
    assert "tinygraph trains with the exact derivative; derivative='supplied' trains with yours" in \
        str(caught[0].message)


def test_the_tutorials_right_derivatives_train_as_the_engines_and_warn_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        given = one_step_grads(lambda: ActivationLayer(tutorial.tanh, tutorial.tanh_prime), network_derivative="supplied")
        engine = one_step_grads(lambda: ActivationLayer(tutorial.tanh, tutorial.tanh_prime))
    np.testing.assert_allclose(given, engine, rtol=1e-5, atol=1e-8)


def test_the_tutorials_softmax_works_on_one_sample_at_a_time():
    """On a batch, the tutorial's softmax (one global sum) is applied sample by sample, as the tutorial applies it."""
    layer = ActivationLayer(tutorial.softmax, tutorial.softmax_prime)
    x = samples((5, 10)).astype(np.float32)
    with tg.no_grad():
        out = layer(x).data
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert out.dtype == np.float32
    # With a graph too: each row differentiated on its own (stacked), equal to tinygraph's softmax over axis -1.
    a, b = Tensor(x.astype(np.float64), requires_grad=True), Tensor(x.astype(np.float64), requires_grad=True)
    with pytest.warns(DerivativeWarning):
        (ActivationLayer(tutorial.softmax, tutorial.softmax_prime)(a) ** 2).sum().backward()
    (tg.softmax(b, axis=-1) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10)


def test_an_elementwise_function_runs_on_whole_batches():
    layer = ActivationLayer(tutorial.tanh, tutorial.tanh_prime)
    x = Tensor(samples((4, 3)), requires_grad=True)
    out = layer(x)
    assert out.op == "tanh" and layer._piece.whole_batches  # one op for the batch, no per-sample stacking


def test_a_loss_that_sums_over_its_array_is_averaged_over_the_samples_of_a_batch():
    def sse(y, y_pred):  # a sum: on a whole batch it would be N times the per-sample mean
        return np.sum((y - y_pred) ** 2)

    loss = tg.tutorial.TutorialLoss(sse, lambda y, y_pred: 2 * (y_pred - y))
    pred, target = Tensor(samples((3, 4)), requires_grad=True), samples((3, 4), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(pred, target)
    value.backward()
    np.testing.assert_allclose(value.data, np.mean(np.sum((target - pred.data) ** 2, axis=1)))
    np.testing.assert_allclose(pred.grad, 2 * (pred.data - target) / 3)
    assert not loss.piece.whole_batches


# ----- custom layers in the tutorial's style ---------------------------------------------------------------------

def test_a_forward_propagation_layer_is_recorded_and_its_backward_checked():
    x = Tensor(samples((3, 4)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tutorial.SineLayer()(x)
    assert out.op == "sin"
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(x.data))


def test_a_forward_propagation_layer_trains_with_its_backward_when_asked():
    class WrongSine(Layer):
        derivative = "supplied"

        def __init__(self):  # the tutorial's layers need not call Layer.__init__
            self.calls = 0

        def forward_propagation(self, input):
            self.input = input
            return np.sin(input)

        def backward_propagation(self, output_error, learning_rate):
            self.calls += 1
            assert learning_rate == 0  # parameters are the optimizer's to change
            return 2 * np.cos(self.input) * output_error

    layer = WrongSine()
    x = Tensor(samples((1, 4)), requires_grad=True)
    with pytest.warns(DerivativeWarning, match="WrongSine.backward_propagation disagrees with the derivative of "
                                               "WrongSine.forward_propagation"):
        out = layer(x)
    assert out.op == "supplied_derivative"
    out.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.cos(x.data))
    assert layer.calls >= 1


def test_array_weights_of_a_forward_propagation_layer_are_reported():
    class TutorialDense(Layer):
        def __init__(self):
            self.weights = np.ones((4, 2))

        def forward_propagation(self, input):
            return np.dot(input, self.weights)

    with pytest.warns(UserWarning, match="does not train the array attributes weights"):
        TutorialDense()(np.ones((1, 4)))


def test_a_layer_without_forward_says_what_to_write():
    with pytest.raises(NotImplementedError, match=r"forward\(self, x, training=False\).*forward_propagation"):
        Layer()(np.ones((1, 2)))


# ----- names and signatures ----------------------------------------------------------------------------------------

def test_tutorial_names():
    assert NeuralNetwork is Network and tg.NeuralNetwork is Network
    assert DropoutLayer(p=0.75).rate == 0.25 and DropoutLayer(rate=0.25).rate == 0.25


@pytest.mark.parametrize("make, error, message", [
    (lambda: DropoutLayer(0.75), TypeError, r"DropoutLayer\(0\.75\) is ambiguous.*DropoutLayer\(p=0\.75\).*"
                                            r"DropoutLayer\(rate=0\.75\)"),
    (lambda: DropoutLayer(), TypeError, "give one of rate= .* or p="),
    (lambda: DropoutLayer(p=0.5, rate=0.5), TypeError, "give one of rate="),
    (lambda: DropoutLayer(p=0), ValueError, r"p \(the probability to keep\) must be in \(0, 1\]"),
    (lambda: ActivationLayer("tanh", tutorial.tanh_prime), ValueError, "tinygraph knows the derivative of 'tanh'"),
    (lambda: ActivationLayer(tutorial.tanh, 3), TypeError, "activation_prime must be a function"),
    (lambda: ActivationLayer(tutorial.tanh, tutorial.tanh_prime, derivative="mine"), ValueError,
     "derivative must be 'engine'"),
    (lambda: ActivationLayer(tutorial.tanh, derivative="supplied"), ValueError, "supply it as ActivationLayer"),
    (lambda: Network().use("mse", tutorial.mse_prime), TypeError, r"use\(loss, loss_prime\) takes two functions"),
    (lambda: Network().use(tutorial.mse, tutorial.mse_prime, derivative="exact"), ValueError,
     "Network.use: derivative must be"),
])
def test_ambiguous_or_wrong_tutorial_forms_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_use_keeps_the_optimizer_in_second_place_and_the_tutorials_argument_order():
    net = Network(seed=0).add(FCLayer(2)).use("mse", "adam")
    assert net._optimizer_spec == "adam" and net.loss_name == "mse"
    seen = []

    def loss(y_true, y_pred):  # the tutorial's order: the target first
        seen.append((type(y_true).__name__, type(y_pred).__name__))
        return np.mean(np.abs(y_true - y_pred)) if hasattr(tg.ops, "abs") else np.mean((y_true - y_pred) ** 2)

    net = Network(seed=0).add(FCLayer(2)).use(loss, lambda y, p: np.sign(p - y) / y.size)
    net.fit(np.ones((2, 3), dtype=np.float32), np.zeros((2, 2), dtype=np.float32), epochs=1, learning_rate=0.1,
            verbose=0)
    assert seen[0] == ("ndarray", "ndarray") and ("ndarray", "Tensor") in seen


# ----- the two models of the tutorial, as it writes them, on the bundled digits ------------------------------------

@pytest.fixture(scope="module")
def digits():
    return tutorial.tutorial_data()


@pytest.mark.parametrize("model, bound", [("mlp", 0.85), ("cnn", 0.84)])
def test_the_tutorials_models_train_to_the_stated_accuracy(model, bound, digits, recwarn):
    """30 epochs on x_train[0:1000], per-sample SGD on MSE, exactly the tutorial's code; the weights are drawn from
    NumPy's global generator, seeded here so that the run is repeatable (seeds 0-2 were measured for the bound)."""
    x_train, y_train, x_test, y_test = digits
    np.random.seed(0)
    started = time.perf_counter()
    net = tutorial.MODELS[model](x_train, y_train, epochs=30)
    accuracy = tutorial.accuracy(net, x_test, y_test)
    print(f"{model}: accuracy {accuracy:.4f} in {time.perf_counter() - started:.1f}s")
    assert accuracy >= bound
    messages = [str(w.message) for w in recwarn if issubclass(w.category, DerivativeWarning)]
    assert len(messages) == 1 and messages[0].startswith("softmax_prime disagrees with the derivative of softmax")
