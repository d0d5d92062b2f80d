"""Pictures of a network and its training, with matplotlib: curves, filters, feature maps, confusions.

Each function returns a `matplotlib.figure.Figure` (shown inline when it is a notebook cell's value; written with
`fig.savefig("name.png")`). The figures are made without pyplot, so nothing is left open in pyplot's global list of
figures and no window opens, whatever the backend.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import checks, targets
from .grad_mode import no_grad
from .tensor import Tensor

__all__ = ["plot_history", "plot_filters", "plot_feature_maps", "plot_confusion", "plot_misclassified"]

DIVERGING = "RdBu_r"  # signed values: blue below zero, red above, white at zero
POSITIVE = "viridis"
BARS = 16  # a layer output this small (class scores) is drawn as bars, one per value
PADDING = "#d9d9d9"  # the gaps between tiles (NaN in the montage)


def plot_history(history):
    """The loss per epoch (and per batch, when `history` has "batch_loss"), and each accuracy per epoch
    ("val_accuracy" after `fit(..., validation_data=...)`). `history` is `net.history` or the network itself."""
    history = getattr(history, "history", history)
    if not hasattr(history, "get"):
        raise TypeError(f"plot_history: expected net.history (a dict of lists), got {type(history).__name__}")
    losses = list(history.get("loss", ()))
    if not losses:
        raise ValueError("plot_history: the history holds no loss yet; train first with net.fit(...)")
    accuracies = {k: list(v) for k, v in history.items() if "accuracy" in k and len(v)}
    fig = Figure(figsize=(9 if accuracies else 5, 3.6), layout="constrained")
    axes = fig.subplots(1, 2 if accuracies else 1, squeeze=False)[0]
    epochs = np.arange(1, len(losses) + 1)
    batch_losses = list(history.get("batch_loss", ()))
    if batch_losses:
        # Batches spread evenly over the epochs, each epoch's point at its end.
        at = np.linspace(0, len(losses), len(batch_losses) + 1)[1:]
        axes[0].plot(at, batch_losses, color="#9fc5e8", linewidth=0.8, label="per batch")
    axes[0].plot(epochs, losses, marker="o", markersize=3, color="#1f4e79", label="per epoch (mean)")
    axes[0].set(title="training loss", xlabel="epoch", ylabel="loss")
    if min(losses) > 0 and max(losses) / min(losses) > 20:
        axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    if accuracies:
        for key, values in accuracies.items():
            axes[1].plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
        axes[1].set(title="accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
        axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_filters(layer):
    """A convolutional layer's filters (F, kh, kw, C) as one tiled image (`skimage.util.montage`), one tile per
    filter and channel (a row per filter when there are several channels), on one colour scale symmetric about 0."""
    filters = getattr(layer, "filters", layer)
    name = getattr(layer, "name", "filters")
    if filters is None:
        raise ValueError(f"plot_filters: {name} has no filters yet; build it first (fit the network, or call it on "
                         f"a batch)")
    w = np.asarray(filters.data if isinstance(filters, Tensor) else filters, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a ConvolutionalLayer or filters of shape (F, kh, kw, C), got "
                         f"{type(layer).__name__} with shape {w.shape}")
    count, kh, kw, channels = w.shape
    tiles = np.moveaxis(w, -1, 1).reshape(count * channels, kh, kw)
    columns = channels if channels > 1 else int(np.ceil(np.sqrt(count)))
    grid = (-(-count * channels // columns), columns)
    image = _montage(tiles, grid)
    limit = float(np.abs(w).max()) or 1.0
    height, width = image.shape
    scale = 5.0 / max(height, width)
    fig = Figure(figsize=(max(3.0, width * scale + 1.2), max(2.5, height * scale + 0.8)), layout="constrained")
    ax = fig.subplots()
    shown = ax.imshow(image, cmap=_with_gaps(DIVERGING), vmin=-limit, vmax=limit, interpolation="nearest")
    fig.colorbar(shown, ax=ax, shrink=0.8, label="weight")
    ax.set_title(f"{name}: {count} filters {kh}x{kw}, {channels} channel{'s' * (channels > 1)}", fontsize=10)
    _label_tiles(ax, count, grid, (kh, kw), by_channel=channels > 1)
    return fig


def plot_feature_maps(net, x_sample, max_channels=16):
    """Each layer's output for one input `x_sample` (one sample, or a batch of one), as tiles: one tile per
    channel of an image-shaped output (the first `max_channels`), a square of cells for a vector."""
    x = checks.float_inputs("plot_feature_maps", np.asarray(x_sample))
    one_sample = tuple(x.shape) == tuple(net.input_shape) if net.built else x.ndim in (1, 3)
    if one_sample:
        x = x[None]
    if len(x) != 1:
        raise ValueError(f"plot_feature_maps: expected one sample, got a batch of {len(x)} (shape {x.shape})")
    net._build(x)
    maps, out = [("input", x[0])], Tensor(x)
    with no_grad():
        for layer in net.layers:
            out = layer(out, training=False, rng=net.rng)
            kind = layer.get_config().get("activation")
            maps.append((f"{layer.name} ({kind})" if isinstance(kind, str) else layer.name, out.data[0]))
    columns = min(4, len(maps))
    rows = -(-len(maps) // columns)
    fig = Figure(figsize=(3.0 * columns, 3.0 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (label, values) in zip(axes, maps):
        if np.size(values) <= BARS:
            _bars(ax, label, np.ravel(values))
            continue
        image, shown = _feature_tiles(values, max_channels)
        limit = float(np.nanmax(np.abs(image))) or 1.0
        if label == "input":
            ax.imshow(image, cmap=_with_gaps("gray_r"), interpolation="nearest")
        elif np.nanmin(image) < 0:
            ax.imshow(image, cmap=_with_gaps(DIVERGING), vmin=-limit, vmax=limit, interpolation="nearest")
        else:
            ax.imshow(image, cmap=_with_gaps(POSITIVE), vmin=0, vmax=limit, interpolation="nearest")
        ax.set_title(f"{label}\n{shown}", fontsize=9)
        ax.set_axis_off()
    for ax in axes[len(maps):]:
        ax.remove()
    fig.suptitle("each layer's output for one input (tiles: blue < 0 < red, or dark to yellow when none is "
                 "negative)", fontsize=10)
    return fig


def plot_confusion(net, x, y):
    """The confusion matrix of `net`'s predicted classes against labels `y` (`sklearn.metrics.confusion_matrix`,
    drawn by `ConfusionMatrixDisplay`): row = true class, column = predicted. `plot_misclassified` shows the
    worst mistakes themselves."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    _, labels, predicted, probabilities = _predictions("plot_confusion", net, x, y)
    classes = np.arange(probabilities.shape[1])
    matrix = confusion_matrix(labels, predicted, labels=classes)
    fig = Figure(figsize=(5.6, 5), layout="constrained")
    ax = fig.subplots()
    ConfusionMatrixDisplay(matrix, display_labels=classes).plot(ax=ax, cmap="Blues", colorbar=False,
                                                                values_format="d")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"confusion matrix: {accuracy:.1%} right on {len(labels)} images", fontsize=10)
    return fig


def plot_misclassified(net, x, y, count=16):
    """The `count` misclassified images `net` was most confident about, with the true and predicted labels and
    the predicted class's probability (softmax of the outputs when they are not probabilities already)."""
    count = checks.positive_int("plot_misclassified", "count", count)
    x, labels, predicted, probabilities = _predictions("plot_misclassified", net, x, y)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[np.arange(len(labels)), predicted]
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    columns = min(len(worst), int(np.ceil(np.sqrt(count)))) or 1
    rows = max(1, -(-len(worst) // columns))
    fig = Figure(figsize=(1.7 * columns + 0.4, 1.9 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, i in zip(axes, worst):
        ax.imshow(_as_image(x[i]), cmap="gray_r", interpolation="nearest")
        ax.set_title(f"true {labels[i]}, said {predicted[i]}\n{confidence[i]:.0%} sure", fontsize=8, color="#990000")
        ax.set_axis_off()
    for ax in axes[len(worst):]:
        ax.set_axis_off()
    if not len(worst):
        axes[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(f"the {len(worst)} most confident of {len(wrong)} mistakes on {len(labels)} images", fontsize=10)
    return fig


# ----- helpers -----------------------------------------------------------------------------------------------
def _montage(tiles, grid=None):
    """Tiles (K, h, w) in one image, a one-pixel NaN gap around each (drawn in PADDING)."""
    from skimage.util import montage

    return montage(tiles.astype(np.float64), fill=np.nan, grid_shape=grid, padding_width=1)


def _label_tiles(ax, count, grid, tile, by_channel):
    """Filter numbers: above each tile, or as the rows' ticks (and channels as the columns') for a grid of
    filters by channels. A montage tile k starts one gap pixel after (row, column) * (tile + gap)."""
    (rows, columns), (h, w) = grid, tile

    def centre(i, size):
        return 1 + i * (size + 1) + (size - 1) / 2

    if by_channel:
        ax.set_yticks([centre(i, h) for i in range(rows)], range(rows), fontsize=7)
        ax.set_xticks([centre(i, w) for i in range(columns)], range(columns), fontsize=7)
        ax.set(xlabel="channel", ylabel="filter")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        return
    ax.set_axis_off()
    for k in range(count):
        row, column = divmod(k, columns)
        ax.text(centre(column, w), row * (h + 1), str(k), ha="center", va="center", fontsize=7, color="#333333")


def _with_gaps(name):
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=PADDING)


def _bars(ax, label, values):
    ax.bar(np.arange(values.size), values, color=np.where(values < 0, "#2166ac", "#b2182b"))
    ax.axhline(0, color="#555555", linewidth=0.6)
    ax.set_xticks(np.arange(values.size), np.arange(values.size), fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"{label}\n{values.size} values", fontsize=9)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def _feature_tiles(values, max_channels):
    """An image of one sample's activations and a text of what it shows."""
    values = np.asarray(values, dtype=np.float64)
    shape = "x".join(map(str, values.shape))
    if values.ndim == 3:
        channels = values.shape[-1]
        kept = min(channels, max_channels)
        text = f"{shape}" + (f" (first {kept} channels)" if kept < channels else "")
        return _montage(np.moveaxis(values[..., :kept], -1, 0)), text
    if values.ndim == 2:
        return values, shape
    flat = values.ravel()
    side = max(1, int(np.ceil(np.sqrt(flat.size))))
    square = np.full(side * side, np.nan)
    square[:flat.size] = flat
    return square.reshape(side, side), f"{flat.size} values"


def _predictions(where, net, x, y):
    """(x, true labels, predicted labels, probabilities) for a labelled set."""
    x = checks.float_inputs(where, x)
    y = targets.same_length(where, x, y)
    outputs = net.predict(x)
    if outputs.ndim != 2:
        raise ValueError(f"{where}: needs class scores of shape (N, classes) from the network, got {outputs.shape}")
    labels = targets.class_labels(where, y, outputs.shape[1])
    probabilities = outputs
    is_probability = np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1, atol=1e-3)
    if not is_probability:
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    return x, labels, outputs.argmax(axis=1), probabilities


def _as_image(sample):
    """One sample as a 2-D image: (H, W, 1) and (H, W) as they are, a flat square vector reshaped."""
    sample = np.asarray(sample)
    if sample.ndim == 3 and sample.shape[-1] in (1, 3):
        return sample[..., 0] if sample.shape[-1] == 1 else sample
    if sample.ndim == 1:
        side = int(round(np.sqrt(sample.size)))
        if side * side == sample.size:
            return sample.reshape(side, side)
        return sample[None]
    return sample
