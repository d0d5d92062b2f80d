"""The tutorial's convolutional network on MNIST: 5 filters 3x3 stride 2 padding 1, tanh, max-pool 2x2, flatten,
FC 100 tanh, FC 50 tanh, FC 10 tanh, softmax.

    python examples/cnn_mnist.py                 # the tutorial's recipe
    python examples/cnn_mnist.py --recipe fast   # mini-batches, cross-entropy and Adam
"""
from _common import network, parse_args, train_and_report

from tinygraph.layers import ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer


def main():
    args = parse_args(__doc__.splitlines()[0])
    net = network(args, [
        ConvolutionalLayer(5, (3, 3), padding=(1, 1), stride=2), ActivationLayer("tanh"),
        MaxPoolingLayer((2, 2), stride=2), FlattenLayer(),
        FCLayer(100), ActivationLayer("tanh"), FCLayer(50), ActivationLayer("tanh"),
    ])
    train_and_report(net, args)


if __name__ == "__main__":
    main()
