"""The tutorial's fully connected network on MNIST: FC 100 tanh, FC 50 tanh, FC 10 tanh, softmax.

    python examples/mlp_mnist.py                 # the tutorial's recipe
    python examples/mlp_mnist.py --recipe fast   # mini-batches, cross-entropy and Adam
"""
from _common import network, parse_args, train_and_report

from tinygraph.layers import ActivationLayer, FCLayer


def main():
    args = parse_args(__doc__.splitlines()[0], fast_epochs=15)
    net = network(args, [FCLayer(100), ActivationLayer("tanh"), FCLayer(50), ActivationLayer("tanh")])
    train_and_report(net, args)


if __name__ == "__main__":
    main()
