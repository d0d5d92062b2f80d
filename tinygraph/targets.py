"""What `fit`, `evaluate` and validation accept as inputs and targets, all checked before the network is built or
changed: a rejected `fit` leaves an unbuilt network unbuilt."""
import copy

import numpy as np

from . import checks
from .grad_mode import no_grad


def class_labels(where, y, classes):
    """Class labels from integer labels (N,) or one-hot/probability rows (N, classes), checked."""
    y = checks.as_array(where, "the labels", y)
    if y.ndim == 2 and y.shape[1] == classes and y.dtype.kind in "biuf":
        return y.argmax(axis=-1)
    if y.ndim == 1 and y.dtype.kind in "iu":
        return checks.label_range(where, y, classes)
    raise ValueError(
        f"{where}: expected integer labels of shape (N,) or one-hot targets of shape (N, {classes}) "
        f"for {classes} outputs, got {y.dtype} of shape {y.shape}"
    )


def same_length(where, x, y, what="y"):
    """y (any array-like) as an array with one row per sample of x."""
    y = checks.as_array(where, what, y)
    if y.ndim == 0 or len(y) != len(x):
        shown = f"the single value {y.item()!r}" if y.ndim == 0 else f"{len(y)}"
        raise ValueError(f"{where}: x has {len(x)} samples but {what} has {shown}; give one target per sample")
    return y


def training_data(net, x, y, validation_data):
    """fit's (x, y, validation pair or None), each checked against the output the layers would produce; the
    network is not built or changed."""
    x = net._inputs("Network.fit", x)
    y = fit_targets(net, x, y)
    out_shape = output_shape(net, "Network.fit", x.shape[1:], x.dtype)
    check_targets(net, "Network.fit", y, out_shape)
    return x, y, validation_pair(net, validation_data, x.shape[1:], out_shape)


def output_shape(net, where, sample_shape, dtype):
    """The shape of one output sample for input samples of `sample_shape`. An unbuilt network is built on a
    throwaway copy (layers and random generator), so that the real one stays unbuilt if anything is refused."""
    sample_shape = tuple(sample_shape)
    if net.built:
        if sample_shape != tuple(net.input_shape):
            raise ValueError(f"{where}: samples have shape {sample_shape}, the network was built for "
                             f"{net.input_shape}")
        layers, rng = net.layers, net.rng
    else:
        try:
            layers, rng = copy.deepcopy((net.layers, net.rng))
        except Exception:  # a layer of the user's that cannot be copied: build the network itself, as before
            layers, rng = net.layers, net.rng
    out = np.zeros((1,) + sample_shape, dtype=dtype)
    with no_grad():
        for layer in layers:
            out = layer(out, rng=rng)
    return tuple(out.shape[1:])


def fit_targets(net, x, y):
    """`y` as the array fit trains on: floats in x's dtype, or integer labels kept for cross-entropy."""
    y = same_length("Network.fit", x, y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"Network.fit: the targets of shape {y.shape} contain NaN or infinite values")
        return y.astype(x.dtype, copy=False)
    if y.dtype.kind in "biu" and (y.ndim > 1 or net.loss_name == "mse"):
        return y.astype(x.dtype)
    if y.dtype.kind not in "iu":
        raise TypeError(f"Network.fit: targets must be numbers, got dtype {y.dtype}")
    return y


def check_targets(net, where, y, out_shape):
    """Targets that fit the network's output (labels in range for cross-entropy, the output's shape otherwise)."""
    if net.loss_name == "cross_entropy" and y.ndim == 1:
        if y.dtype.kind not in "iu":
            raise TypeError(f"{where}: labels for cross_entropy must be integers, got dtype {y.dtype}")
        checks.label_range(where, y, out_shape[-1] if out_shape else 1)
    elif net.loss_name is not None and tuple(y.shape[1:]) != tuple(out_shape):
        hint = ""
        if y.ndim == 1:  # one value per sample: a column for a single output, else class labels to encode
            hint = (" (write y.reshape(-1, 1) for one target per sample)" if tuple(out_shape) == (1,) else
                    " (convert labels with tinygraph.datasets.one_hot)")
        raise ValueError(
            f"{where}: targets of shape {y.shape} do not match the network's output of shape "
            f"(N, {', '.join(map(str, out_shape))}){hint}"
        )
    elif net.loss_name == "cross_entropy" and y.size and y.min() < 0:
        # Cross-entropy -sum(t * log p) with a negative t has no minimum: the loss falls without end.
        raise ValueError(f"{where}: targets for cross_entropy must be probabilities (one-hot rows, >= 0), got "
                         f"values down to {y.min()} in targets of shape {y.shape}")


def validation_pair(net, validation_data, sample_shape, out_shape):
    """fit's `validation_data` checked against the samples fit trains on: (x_val, y_val), or None."""
    if validation_data is None:
        return None
    where = "Network.fit (validation_data)"
    try:
        x_val, y_val = validation_data
    except (TypeError, ValueError):
        raise ValueError("Network.fit: validation_data must be a pair (x_val, y_val)") from None
    x_val = net._inputs(where, x_val)
    y_val = same_length(where, x_val, y_val, "y_val")
    if tuple(x_val.shape[1:]) != tuple(sample_shape):
        raise ValueError(f"Network.fit: validation samples have shape {x_val.shape[1:]}, the network takes "
                         f"{tuple(sample_shape)}")
    if len(out_shape) != 1:
        raise ValueError(f"Network.fit: validation accuracy needs outputs of shape (N, classes), got "
                         f"{(None,) + tuple(out_shape)}")
    class_labels(where, y_val, out_shape[0])
    return x_val, y_val
