"""The tutorial's convolutional network on MNIST: 5 filters 3x3 stride 2 padding 1, tanh, max-pool 2x2, flatten,
FC 100 tanh, FC 50 tanh, FC 10 tanh, softmax.

    python examples/cnn_mnist.py                 # the tutorial's recipe: 1,000 digits, per-sample SGD on MSE
    python examples/cnn_mnist.py --recipe fast   # a wider network, mini-batches, cross-entropy and Adam
"""
from _common import network, parse_args, train_and_report

from tinygraph.layers import (
    ActivationLayer, ConvolutionalLayer, DropoutLayer, FCLayer, FlattenLayer, MaxPoolingLayer,
)


def tutorial_layers():
    return [
        ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2), ActivationLayer("tanh"),
        MaxPoolingLayer((2, 2), stride=2), FlattenLayer(),
        FCLayer(100), ActivationLayer("tanh"), FCLayer(50), ActivationLayer("tanh"),
    ]


def fast_layers():
    return [
        ConvolutionalLayer(16, (3, 3), padding=(1, 1)), ActivationLayer("relu"), MaxPoolingLayer(),
        ConvolutionalLayer(32, (3, 3), padding=(1, 1)), ActivationLayer("relu"), MaxPoolingLayer(),
        FlattenLayer(), FCLayer(128), ActivationLayer("relu"), DropoutLayer(rate=0.3),
    ]


def main():
    args = parse_args(__doc__, fast=dict(epochs=4, lr=0.002))
    train_and_report(network(args, tutorial_layers() if args.recipe == "tutorial" else fast_layers()), args)


if __name__ == "__main__":
    main()
