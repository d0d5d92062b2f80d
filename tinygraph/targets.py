"""What `fit`, `evaluate` and validation accept as targets, checked against the network before training."""
import numpy as np

from . import checks
from .grad_mode import no_grad


def class_labels(where, y, classes):
    """Class labels from integer labels (N,) or one-hot/probability rows (N, classes), checked."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == classes and y.dtype.kind in "biuf":
        return y.argmax(axis=-1)
    if y.ndim == 1 and y.dtype.kind in "iu":
        return checks.label_range(where, y, classes)
    raise ValueError(
        f"{where}: expected integer labels of shape (N,) or one-hot targets of shape (N, {classes}) "
        f"for {classes} outputs, got {y.dtype} of shape {y.shape}"
    )


def fit_targets(net, x, y):
    """`y` as the array fit trains on: floats in x's dtype, or integer labels kept for cross-entropy."""
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(f"Network.fit: x has {len(x)} samples but y has shape {y.shape}; they must match")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"Network.fit: the targets of shape {y.shape} contain NaN or infinite values")
        return y.astype(x.dtype, copy=False)
    if y.dtype.kind in "biu" and (y.ndim > 1 or net.loss_name == "mse"):
        return y.astype(x.dtype)
    if y.dtype.kind not in "iu":
        raise TypeError(f"Network.fit: targets must be numbers, got dtype {y.dtype}")
    return y


def check_targets(net, where, y):
    """Targets that fit the network's output (labels in range for cross-entropy, the output's shape otherwise)."""
    with no_grad():
        out_shape = net.forward(np.zeros((1,) + net.input_shape, dtype=np.float32)).shape[1:]
    if net.loss_name == "cross_entropy" and y.ndim == 1:
        if y.dtype.kind not in "iu":
            raise TypeError(f"{where}: labels for cross_entropy must be integers, got dtype {y.dtype}")
        checks.label_range(where, y, out_shape[-1] if out_shape else 1)
    elif net.loss_name is not None and tuple(y.shape[1:]) != tuple(out_shape):
        hint = " (convert labels with tinygraph.datasets.one_hot)" if y.ndim == 1 else ""
        raise ValueError(
            f"{where}: targets of shape {y.shape} do not match the network's output of shape "
            f"(N, {', '.join(map(str, out_shape))}){hint}"
        )


def validation_pair(net, validation_data):
    """fit's `validation_data` checked against the built network: (x_val, y_val), or None."""
    if validation_data is None:
        return None
    try:
        x_val, y_val = validation_data
    except (TypeError, ValueError):
        raise ValueError("Network.fit: validation_data must be a pair (x_val, y_val)") from None
    x_val = checks.float_inputs("Network.fit (validation_data)", x_val)
    if len(x_val) != len(y_val):
        raise ValueError(f"Network.fit: validation x has {len(x_val)} samples but y has {len(y_val)}")
    if tuple(x_val.shape[1:]) != tuple(net.input_shape):
        raise ValueError(f"Network.fit: validation samples have shape {x_val.shape[1:]}, the network takes "
                         f"{net.input_shape}")
    with no_grad():
        out_shape = net.forward(x_val[:1]).shape
    if len(out_shape) != 2:
        raise ValueError(f"Network.fit: validation accuracy needs outputs of shape (N, classes), got {out_shape}")
    class_labels("Network.fit (validation_data)", y_val, out_shape[1])
    return x_val, y_val
