"""The tutorial's fully connected network on MNIST: FC 100 tanh, FC 50 tanh, FC 10 tanh, softmax.

    python examples/mlp_mnist.py                 # the tutorial's recipe: 1,000 digits, per-sample SGD on MSE
    python examples/mlp_mnist.py --recipe fast   # a wider network, mini-batches, cross-entropy and Adam
"""
from _common import network, parse_args, train_and_report

from tinygraph.layers import ActivationLayer, DropoutLayer, FCLayer


def tutorial_layers():
    return [FCLayer(100), ActivationLayer("tanh"), FCLayer(50), ActivationLayer("tanh")]


def fast_layers():
    return [
        FCLayer(256), ActivationLayer("relu"), DropoutLayer(rate=0.3),
        FCLayer(128), ActivationLayer("relu"), DropoutLayer(rate=0.3),
    ]


def main():
    args = parse_args(__doc__, fast=dict(epochs=12))
    train_and_report(network(args, tutorial_layers() if args.recipe == "tutorial" else fast_layers()), args)


if __name__ == "__main__":
    main()
