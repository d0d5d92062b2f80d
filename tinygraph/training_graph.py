"""Drawing one training step of a Network: each layer's ops in a labelled cluster, then the loss."""
import contextlib

import numpy as np

from . import checks
from .engine import every_tensor, topological_order
from .tensor import Tensor
from .viz import draw_graph


def draw_training_step(net, x_sample, y_sample=None, show_shapes=True, show_grads=False, rankdir="TB"):
    """The graph of one training step of `net` on `x_sample` (one sample, or a batch once the network is built).
    With `show_grads`, runs backward and shows gradient norms; the parameters' own gradients and every random
    stream of the network are left as they were."""
    if net.loss is None:
        raise ValueError("Network.draw_graph: choose a loss first with use(), the graph ends in it")
    one_sample = not net.built or tuple(np.shape(x_sample)) == tuple(net.input_shape)
    x = checks.float_inputs("Network.draw_graph", np.asarray(x_sample)[None] if one_sample else x_sample)
    net._build(x)
    out = Tensor(x, name="input")
    clusters, seen = {}, {id(out)}
    with _random_state_kept(net):
        for layer in net.layers:
            out = layer(out, training=True, rng=net.rng)
            clusters[layer.name] = topological_order(out, follow=every_tensor, visited=seen)
    loss = net._loss(out, _sample_target(net, out, y_sample))
    loss_label = f"loss: {net.loss_name or getattr(net.loss, '__name__', 'custom')}"
    clusters[loss_label] = topological_order(loss, follow=every_tensor, visited=seen)
    saved = [p.grad for p in net.parameters()]
    try:
        if show_grads:
            _backward_retaining(loss, clusters)
        return draw_graph(loss, show_shapes=show_shapes, show_grads=show_grads, rankdir=rankdir, clusters=clusters)
    finally:
        # The drawing shows this step's gradients; the parameters keep the ones training left.
        for p, grad in zip(net.parameters(), saved):
            p.grad = grad


@contextlib.contextmanager
def _random_state_kept(net):
    """Random draws inside (dropout masks) leave every generator of the network as it was, so that drawing does
    not change what training does next."""
    generators = {id(g): g for g in [net.rng] + [getattr(layer, "_rng", None) for layer in net.layers] if g}
    states = [(g, g.bit_generator.state) for g in generators.values()]
    try:
        yield
    finally:
        for generator, state in states:
            generator.bit_generator.state = state


def _sample_target(net, out, y_sample):
    """The given target, shaped as a batch; zeros of the right kind when none is given."""
    if y_sample is not None:
        y = np.asarray(y_sample)
        if net.loss_name == "cross_entropy":
            return np.atleast_1d(y)
        return y[None] if y.ndim < out.ndim else y
    if net.loss_name == "cross_entropy":
        return np.zeros(out.shape[0], dtype=np.int64)
    return np.zeros(out.shape, dtype=out.dtype)


def _backward_retaining(loss, clusters):
    """Backward with every intermediate keeping its gradient, starting from fresh parameter gradients."""
    for members in clusters.values():
        for tensor in members:
            if tensor._ctx is not None:
                tensor.retain_grad()
            elif tensor.requires_grad:
                tensor.grad = None
    loss.backward()
