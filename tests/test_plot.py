"""tinygraph.plot: each function returns a Figure with the expected axes, titles and image shapes (Agg, no
display), PNGs are written, pyplot is left untouched; the examples' --plots writes the pictures and the page."""
import os
import pathlib
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

import tinygraph as tg  # noqa: E402
from tinygraph import plot  # noqa: E402
from tinygraph.layers import (  # noqa: E402
    ActivationLayer, ConvolutionalLayer, FCLayer, FlattenLayer, MaxPoolingLayer,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained two epochs on random 8x8 images of 3 classes (the class sets the mean brightness)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    x = (rng.random((60, 8, 8, 1)) + y[:, None, None, None]).astype(np.float32) / 3
    net = tg.Network(seed=0)
    for layer in [ConvolutionalLayer(4, (3, 3), padding=(1, 1)), ActivationLayer("relu"), MaxPoolingLayer(),
                  FlattenLayer(), FCLayer(3)]:
        net.add(layer)
    net.use("cross_entropy", optimizer="adam").fit(x, y, epochs=2, learning_rate=0.01, batch_size=8,
                                                   validation_data=(x, y), verbose=0)
    return net, x, y


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    """Every plotting function leaves pyplot's list of open figures as it was."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def image_shapes(fig):
    return [ax.images[0].get_array().shape for ax in fig.axes if ax.images]


def png_bytes(fig, path):
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return data


# ----- plot_history ------------------------------------------------------------------------------------------
def test_history_plots_the_loss_and_the_validation_accuracy(trained, tmp_path):
    net = trained[0]
    fig = plot.plot_history(net.history)
    assert isinstance(fig, Figure) and [ax.get_title() for ax in fig.axes] == ["training loss", "accuracy"]
    loss_line = fig.axes[0].lines[-1]
    np.testing.assert_array_equal(loss_line.get_xdata(), [1, 2])
    np.testing.assert_allclose(loss_line.get_ydata(), net.history["loss"])
    assert fig.axes[1].lines[0].get_label() == "val_accuracy"
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), net.history["val_accuracy"])
    png_bytes(fig, tmp_path / "history.png")
    assert plot.plot_history(net) is not None  # the network itself is accepted too


def test_history_per_batch_losses_spread_over_the_epochs():
    fig = plot.plot_history({"loss": [2.0, 1.0], "batch_loss": [3.0, 1.0, 1.5, 0.5]})
    (ax,) = fig.axes
    batch, epoch = ax.lines
    np.testing.assert_allclose(batch.get_xdata(), [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(epoch.get_ydata(), [2.0, 1.0])


def test_history_errors():
    with pytest.raises(ValueError, match="no loss yet; train first"):
        plot.plot_history({"loss": []})
    with pytest.raises(TypeError, match="expected net.history"):
        plot.plot_history([1.0, 2.0])


# ----- plot_filters ------------------------------------------------------------------------------------------
def test_filters_are_tiles_on_one_symmetric_colour_scale(trained, tmp_path):
    layer = trained[0].layers[0]
    fig = plot.plot_filters(layer)
    # Four 3x3 filters of one channel: a 2x2 grid with one-pixel gaps.
    assert image_shapes(fig) == [(9, 9)]
    image = fig.axes[0].images[0]
    limit = np.abs(layer.filters.data).max()
    assert image.get_clim() == pytest.approx((-limit, limit))
    tiles = np.asarray(image.get_array())
    np.testing.assert_allclose(tiles[1:4, 1:4], layer.filters.data[0, :, :, 0])
    np.testing.assert_allclose(tiles[1:4, 5:8], layer.filters.data[1, :, :, 0])
    assert "ConvolutionalLayer_1: 4 filters 3x3, 1 channel" in fig.axes[0].get_title()
    png_bytes(fig, tmp_path / "filters.png")


def test_filters_of_several_channels_are_a_row_per_filter():
    layer = ConvolutionalLayer(3, (2, 2))
    layer(np.zeros((1, 5, 5, 2), np.float32))
    fig = plot.plot_filters(layer)
    assert image_shapes(fig) == [(3 * 3 + 1, 2 * 3 + 1)]
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("channel", "filter")
    tiles = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(tiles[4:6, 4:6], layer.filters.data[1, :, :, 1])  # filter 1, channel 1


def test_filters_errors():
    with pytest.raises(ValueError, match="has no filters yet; build it first"):
        plot.plot_filters(ConvolutionalLayer(2, (3, 3)))
    with pytest.raises(ValueError, match=r"filters of shape \(F, kh, kw, C\), got ndarray with shape \(3, 3\)"):
        plot.plot_filters(np.ones((3, 3)))


# ----- plot_feature_maps -------------------------------------------------------------------------------------
def test_feature_maps_show_every_layer_for_one_sample(trained, tmp_path):
    net, x, _ = trained
    fig = plot.plot_feature_maps(net, x[0])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input\n8x8x1"
    assert titles[1:] == ["ConvolutionalLayer_1\n8x8x4", "ActivationLayer_1 (relu)\n8x8x4", "MaxPoolingLayer_1\n4x4x4",
                          "FlattenLayer_1\n64 values", "FCLayer_1\n3 values"]
    # Four 8x8 channels in a 2x2 grid; 64 values as an 8x8 square; the 3 class scores as bars.
    assert image_shapes(fig) == [(10, 10), (19, 19), (19, 19), (11, 11), (8, 8)]
    bars = fig.axes[-1].patches
    with tg.no_grad():
        scores = net.forward(x[:1]).data[0]
    np.testing.assert_allclose([b.get_height() for b in bars], scores, rtol=1e-6)
    png_bytes(fig, tmp_path / "maps.png")
    assert image_shapes(plot.plot_feature_maps(net, x[:1])) == image_shapes(fig)  # a batch of one too


def test_feature_maps_keep_the_first_channels_and_refuse_batches(trained):
    net, x, _ = trained
    fig = plot.plot_feature_maps(net, x[0], max_channels=1)
    assert fig.axes[1].get_title() == "ConvolutionalLayer_1\n8x8x4 (first 1 channels)"
    assert image_shapes(fig)[1] == (10, 10)
    with pytest.raises(ValueError, match=r"expected one sample, got a batch of 2"):
        plot.plot_feature_maps(net, x[:2])


# ----- plot_confusion and plot_misclassified -----------------------------------------------------------------
def test_confusion_matrix_is_sklearns(trained, tmp_path):
    net, x, y = trained
    predicted = net.predict(x).argmax(axis=1)
    fig = plot.plot_confusion(net, x, y)
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.images[0].get_array(), confusion_matrix(y, predicted, labels=[0, 1, 2]))
    assert ax.get_title() == f"confusion matrix: {np.mean(predicted == y):.1%} right on 60 images"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted label", "True label")
    png_bytes(fig, tmp_path / "confusion.png")
    one_hot = np.eye(3)[y]
    np.testing.assert_array_equal(plot.plot_confusion(net, x, one_hot).axes[0].images[0].get_array(),
                                  ax.images[0].get_array())


def test_misclassified_are_the_most_confident_mistakes_first(tmp_path):
    net = tg.Network(seed=0).add(FCLayer(3)).use("cross_entropy")
    x = np.eye(4, dtype=np.float32)
    net.forward(x)
    w = net.layers[0].parameters()[0]
    w.data[...] = np.array([[0, 5, 0], [0, 0, 1], [9, 0, 0], [0, 0, 2]], np.float32)  # predicts 1, 2, 0, 2
    net.layers[0].parameters()[1].data[...] = 0
    y = np.array([0, 2, 1, 0])  # wrong: sample 0 (said 1), 2 (said 0), 3 (said 2); sample 2 the most sure
    fig = plot.plot_misclassified(net, x, y, count=2)  # flat samples of 4 values show as 2x2
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert [t.split("\n")[0] for t in titles] == ["true 1, said 0", "true 0, said 1"]
    assert image_shapes(fig) == [(2, 2), (2, 2)]
    assert fig._suptitle.get_text() == "the 2 most confident of 3 mistakes on 4 images"
    png_bytes(fig, tmp_path / "wrong.png")
    right = plot.plot_misclassified(net, x, np.array([1, 2, 0, 2]))
    assert "no mistakes" in [t.get_text() for ax in right.axes for t in ax.texts]


def test_confusion_errors(trained):
    net, x, y = trained
    with pytest.raises(ValueError, match="plot_confusion: x has 60 samples but y has 59"):
        plot.plot_confusion(net, x, y[:59])
    with pytest.raises(ValueError, match="plot_misclassified: count must be"):
        plot.plot_misclassified(net, x, y, count=0)


def test_tinygraph_plot_loads_on_first_use():
    assert tg.plot is plot and "plot_history" in dir(tg.plot)


# ----- the examples -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("script, pictures", [
    ("cnn_mnist.py", ["history", "filters", "feature_maps", "confusion", "misclassified"]),
    ("mlp_mnist.py", ["history", "feature_maps", "confusion", "misclassified"]),
])
def test_examples_write_the_pictures_and_the_backward_page(script, pictures, tmp_path):
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--samples", "50", "--epochs", "1",
                             "--plots", "out/pictures"], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "pictures"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{name}.png" for name in pictures] + ["backward.html"])
    for name in pictures:
        assert (folder / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    page = (folder / "backward.html").read_text()
    assert "FCLayer_1" in page and "<svg" in page
    assert f"to {os.path.join('out', 'pictures')}" in result.stdout


def test_plots_flag_refuses_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "mlp_mnist.py"), "--plots", "taken"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "--plots taken: a file of that name exists" in result.stderr
