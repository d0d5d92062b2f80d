"""The tutorial's own code, "Neural Networks: For Beginners. By Beginners.", run on tinygraph.

Only the import lines differ from the tutorial (and the data comes from tinygraph's bundled sample of real MNIST
digits instead of keras): the helper functions are the tutorial's plain NumPy, derivatives included, and the two
models are written as the tutorial writes them. tinygraph differentiates the helpers itself, checks each
hand-written derivative once, and warns about the one that is wrong (softmax_prime).

    python examples/tutorial_original.py                 # both models, 30 epochs on 1,000 digits, as the tutorial
    python examples/tutorial_original.py --model cnn --epochs 5
    python examples/tutorial_original.py --derivative supplied   # train with the hand-written derivatives instead
"""
import argparse
import functools
import time

import numpy as np
from sklearn.metrics import accuracy_score

# The tutorial imports its own classes and keras; these lines are the only ones that change.
from tinygraph import NeuralNetwork
from tinygraph.datasets import load_mnist, one_hot as to_categorical
from tinygraph.layers import (
    ActivationLayer, ConvolutionalLayer, DropoutLayer, FCLayer, FlattenLayer, Layer, MaxPoolingLayer,
)


# ----- the tutorial's helper functions, as its readers write them --------------------------------------------------

def tanh(X):
    return np.tanh(X)


def tanh_prime(X, output):
    return 1 - np.tanh(X) ** 2


def relu(X):
    return np.maximum(X, np.zeros(X.shape))


def sigmoid(X):
    return 1. / (1. + np.exp(-X))


def sigmoid_prime(X, output):
    return sigmoid(X) * (1 - sigmoid(X))


def softmax(X):
    exps = np.exp(X - X.max())
    return exps / np.sum(exps)


def softmax_prime(X, output):
    # Reconstructed (the tutorial's text was not at hand): it walks the softmax Jacobian in a loop and returns the
    # loop's last value, one diagonal entry s[-1] * (1 - s[-1]), which then scales the whole output error.
    for i in range(len(output)):
        for j in range(len(output)):
            if i == j:
                derivative = output[i] * (1 - output[i])
            else:
                derivative = -output[i] * output[j]
    return derivative


def mse(y, y_pred):
    return np.mean(np.power(y - y_pred, 2))


def mse_prime(y, y_pred):
    return 2 * (y_pred - y) / y.size


class SineLayer(Layer):
    """The tutorial's example of a custom layer: no parameters, a hand-written backward."""

    def forward_propagation(self, input):
        self.input = input
        self.output = np.sin(input)
        return self.output

    def backward_propagation(self, output_error, learning_rate):
        return np.cos(self.input) * output_error


# ----- the data, as the tutorial prepares it ------------------------------------------------------------------------

def tutorial_data():
    (x_train, y_train), (x_test, y_test) = load_mnist(source="sample")
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1).astype('float32') / 255
    x_test = x_test.reshape(x_test.shape[0], 28, 28, 1).astype('float32') / 255
    y_train = to_categorical(y_train)
    return x_train, y_train, x_test, y_test


# ----- the two models, as the tutorial writes them -------------------------------------------------------------------

def fc_model(x_train, y_train, epochs=30):
    fc_net = NeuralNetwork()
    (fc_net.add(FCLayer(100)).add(ActivationLayer(tanh, tanh_prime)).add(DropoutLayer(p=0.75))
           .add(FCLayer(50)).add(ActivationLayer(tanh, tanh_prime))
           .add(FCLayer(10)).add(ActivationLayer(tanh, tanh_prime)).add(ActivationLayer(softmax, softmax_prime))
           .use(mse, mse_prime)
           .fit(x_train[0:1000], y_train[0:1000], epochs=epochs, learning_rate=0.1))
    return fc_net


def conv_model(x_train, y_train, epochs=30):
    conv_net = NeuralNetwork()
    (conv_net.add(ConvolutionalLayer(filter_shape=(3, 3), filters_count=5, stride=2, padding=(1, 1)))
             .add(ActivationLayer(tanh, tanh_prime)).add(MaxPoolingLayer(pool_shape=(2, 2))).add(FlattenLayer())
             .add(FCLayer(100)).add(ActivationLayer(tanh, tanh_prime)).add(DropoutLayer(p=0.75))
             .add(FCLayer(50)).add(ActivationLayer(tanh, tanh_prime))
             .add(FCLayer(10)).add(FlattenLayer()).add(ActivationLayer(tanh, tanh_prime))
             .add(ActivationLayer(softmax, softmax_prime))
             .use(mse, mse_prime)
             .fit(x_train[0:1000], y_train[0:1000], epochs=epochs, learning_rate=0.1))
    return conv_net


def accuracy(net, x_test, y_test):
    preds = net.predict(x_test)
    preds = [np.argmax(p) for p in preds]
    return accuracy_score(y_test, preds)


MODELS = {"mlp": fc_model, "cnn": conv_model}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--derivative", choices=["engine", "supplied"], default="engine",
                        help="engine (default): tinygraph's exact derivatives; supplied: the tutorial's own")
    parser.add_argument("--seed", type=int, help="seed NumPy's global generator (tinygraph draws its weights from it)")
    args = parser.parse_args()
    if args.seed is not None:
        np.random.seed(args.seed)
    if args.derivative == "supplied":
        # The models' lines stay the tutorial's: every use(mse, mse_prime) of this run gets derivative="supplied".
        NeuralNetwork.use = functools.partialmethod(NeuralNetwork.use, derivative="supplied")
    x_train, y_train, x_test, y_test = tutorial_data()
    for name in (["mlp", "cnn"] if args.model == "both" else [args.model]):
        started, cpu = time.perf_counter(), time.process_time()
        net = MODELS[name](x_train, y_train, epochs=args.epochs)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        epochs = f"{args.epochs} epoch{'s' * (args.epochs != 1)}"
        print(f"{name}: accuracy {accuracy(net, x_test, y_test):.4f} on the {len(x_test)} held-out digits, "
              f"{seconds:.1f}s training ({cpu:.1f}s of CPU; {epochs}, derivatives: {args.derivative})", flush=True)


if __name__ == "__main__":
    main()
