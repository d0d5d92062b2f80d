"""--plots DIR: the pictures of a trained network, and the backward pass of one test digit as a page."""
import os

import tinygraph
from tinygraph import plot
from tinygraph.datasets import one_hot
from tinygraph.engine import every_tensor, topological_order
from tinygraph.layers import ConvolutionalLayer


def write_plots(net, args, x_test, y_test):
    folder = args.plots
    figures = {"history.png": plot.plot_history(net.history)}
    convolutions = [layer for layer in net.layers if isinstance(layer, ConvolutionalLayer)]
    if convolutions:
        figures["filters.png"] = plot.plot_filters(convolutions[0])
    figures["feature_maps.png"] = plot.plot_feature_maps(net, x_test[0])
    figures["confusion.png"] = plot.plot_confusion(net, x_test, y_test)
    figures["misclassified.png"] = plot.plot_misclassified(net, x_test, y_test)
    for name, figure in figures.items():
        figure.savefig(os.path.join(folder, name), dpi=100)
    loss, clusters = one_digit_loss(net, args, x_test[:1], y_test[:1])
    page = tinygraph.explain_backward(loss, os.path.join(folder, "backward.html"), clusters=clusters)
    print(f"wrote {', '.join(figures)} and {os.path.basename(page)} to {folder}")


def one_digit_loss(net, args, x, y):
    """The loss of one test digit as the training computes it, and each layer's part of its graph (drawn boxed)."""
    out = tinygraph.Tensor(x, name="image")
    clusters, seen = {}, {id(out)}
    for layer in net.layers:
        out = layer(out, training=False)
        clusters[layer.name] = topological_order(out, follow=every_tensor, visited=seen)
    target = one_hot(y, 10) if args.loss == "mse" else y
    return net.loss(out, target), clusters
