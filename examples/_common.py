"""What the two MNIST examples share: flags, data, recipes, training and the final report."""
import argparse
import math
import os
import shutil
import sys
import time

import numpy as np

import tinygraph
from tinygraph.datasets import load_idx, load_mnist, one_hot

# The tutorial's way (per-sample SGD on MSE after softmax) and a quick modern one.
RECIPES = {
    "tutorial": dict(samples=1000, epochs=30, batch_size=1, lr=0.1, optimizer="sgd", loss="mse", augment=False),
    "fast": dict(samples=None, epochs=10, batch_size=32, lr=0.001, optimizer="adam", loss="cross_entropy",
                 augment=True),
}


def parse_args(description, fast=None):
    """The flags; `fast` overrides the fast recipe's settings for one example. `description` is the example's
    docstring, shown whole by --help."""
    fast_recipe = dict(RECIPES["fast"], **(fast or {}))

    def defaults(key):
        return f"default: {RECIPES['tutorial'][key]} for the tutorial recipe, {fast_recipe[key]} for fast"

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="tutorial",
                        help="tutorial: per-sample SGD on MSE, as in the tutorial; fast: a wider network, "
                             "mini-batches, cross-entropy and Adam for the best accuracy in about a minute")
    parser.add_argument("--samples", type=positive_int, help="training samples to use (default: 1000 for the tutorial recipe, "
                                                    "all for fast)")
    parser.add_argument("--epochs", type=positive_int, help=f"passes over the training images ({defaults('epochs')})")
    parser.add_argument("--batch-size", type=positive_int,
                        help=f"samples per step; 1 is the tutorial's per-sample SGD ({defaults('batch_size')})")
    parser.add_argument("--lr", type=positive_float,
                        help=f"learning rate ({defaults('lr')}; 0.001 for --optimizer adam on the tutorial "
                             f"recipe)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], help=f"the update rule ({defaults('optimizer')})")
    parser.add_argument("--loss", choices=["mse", "cross_entropy"],
                        help=f"mse on one-hot targets after a softmax, as the tutorial, or cross_entropy on the "
                             f"logits ({defaults('loss')})")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction,
                        help="also train on each digit shifted by one pixel up, down, left and right "
                             "(default: on for the fast recipe)")
    parser.add_argument("--seed", type=int, default=0,
                        help="picks the training subset, the initial weights, the shuffles and dropout (default: 0)")
    parser.add_argument("--data", default="mnist",
                        help="'mnist' (keras, then a download, then the bundled sample of real digits) or "
                             "'idx:DIR' for MNIST-format IDX files such as Fashion-MNIST")
    parser.add_argument("--save", metavar="PATH", help="save the trained network to this .npz file")
    parser.add_argument("--graph", metavar="PATH", help="draw one training step's graph to this .svg or .png file")
    parser.add_argument("--plots", metavar="DIR", help="write pictures of the training, the filters, the feature maps "
                                                       "and the mistakes as PNGs, and backward.html, to this folder")
    parser.add_argument("--distributed", action="store_true",
                        help="train data-parallel on the MPI ranks (mpiexec -n 2 python -m mpi4py "
                             "examples/cnn_mnist.py --distributed); --batch-size is then per rank, by default the "
                             "recipe's batch split over the ranks")
    parser.add_argument("--scale-lr", action=argparse.BooleanOptionalAction,
                        help="with --distributed: multiply the learning rate by the number of ranks (default: on "
                             "only when the recipe's batch is too small to split, as the tutorial's batch of 1)")
    args = parser.parse_args()
    recipe = dict(fast_recipe if args.recipe == "fast" else RECIPES["tutorial"])
    args.comm = mpi_world(parser, args, recipe["batch_size"] if args.batch_size is None else None)
    if args.optimizer == "adam" and recipe["optimizer"] != "adam" and args.lr is None:
        args.lr = 0.001  # the tutorial's SGD rate of 0.1 would make Adam diverge
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    check_output_paths(parser, args)
    return args


def mpi_world(parser, args, recipe_batch):
    """MPI.COMM_WORLD for --distributed, else None. The global batch stays the recipe's (split over the ranks)
    unless --batch-size is given; a recipe batch smaller than the ranks grows, and the learning rate with it (the
    tutorial's per-sample SGD then keeps its step per sample). Ranks other than 0 print nothing."""
    if not args.distributed:
        if args.scale_lr:
            parser.error("--scale-lr scales the learning rate by the number of MPI ranks: add --distributed")
        return None
    from tinygraph import distributed

    try:
        comm = distributed.communicator("world")
    except ModuleNotFoundError as err:
        parser.error(f"--distributed: {err}")
    if recipe_batch is not None:
        args.batch_size = max(1, recipe_batch // comm.size)
    if args.scale_lr is None:
        args.scale_lr = recipe_batch is not None and recipe_batch < comm.size
    if comm.rank:
        sys.stdout = open(os.devnull, "w")
    return comm


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def check_output_paths(parser, args):
    """Refuse output paths that would fail only after the training, before it starts."""
    for flag, path, endings in [("--save", args.save, (".npz",)), ("--graph", args.graph, (".svg", ".png", ".pdf"))]:
        if path is None:
            continue
        if not path.lower().endswith(endings):
            parser.error(f"{flag} {path}: the file name must end in {' or '.join(endings)}")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            parser.error(f"{flag} {path}: the folder {folder} does not exist")
    if args.graph is not None and shutil.which("dot") is None:
        parser.error(f"--graph {args.graph}: drawing needs Graphviz's dot program, which is not on PATH; install it "
                     f"(apt-get install graphviz, brew install graphviz or conda install graphviz) or leave out "
                     f"--graph")
    if args.plots is not None:
        if os.path.exists(args.plots) and not os.path.isdir(args.plots):
            parser.error(f"--plots {args.plots}: a file of that name exists; give a folder")
        os.makedirs(args.plots, exist_ok=True)


def load_data(args):
    """Images scaled to [0, 1] as (N, 28, 28, 1) float32, labels as ints."""
    if args.data == "mnist":
        quiet_download_notice()
        (x_train, y_train), (x_test, y_test) = load_mnist()
    elif args.data.startswith("idx:"):
        try:
            (x_train, y_train), (x_test, y_test) = load_idx(args.data[4:])
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"--data {args.data}: {err}") from None
    else:
        raise SystemExit(f"--data must be 'mnist' or 'idx:DIR', got {args.data!r}")
    rng = np.random.default_rng(args.seed)
    if args.samples is not None and args.samples < len(x_train):
        # A random subset of the training images (the seed picks which).
        keep = rng.choice(len(x_train), size=args.samples, replace=False)
        x_train, y_train = x_train[keep], y_train[keep]

    def prepare(x):
        return (x.astype(np.float32) / 255.0).reshape(len(x), 28, 28, 1)

    x_train, y_train = prepare(x_train), y_train.astype(np.int64)
    if args.augment:
        x_train, y_train = shifted_copies(x_train, y_train)
    return x_train, y_train, prepare(x_test), y_test.astype(np.int64)


def quiet_download_notice():
    """pooch announces "Downloading data from ..." before it tries, so an offline run printed it and then fell
    back to the bundled digits; load_mnist's own line says which source was used and why the others were not."""
    try:
        import pooch
    except ImportError:
        return
    pooch.get_logger().setLevel("WARNING")


def shifted_copies(x, y):
    """The digits and their copies moved by one pixel in each direction: five times the data, for free."""
    shifts = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    return np.concatenate([np.roll(x, shift, axis=(1, 2)) for shift in shifts]), np.tile(y, len(shifts))


def train_and_report(net, args):
    x_train, y_train, x_test, y_test = load_data(args)
    targets = one_hot(y_train, 10) if args.loss == "mse" else y_train
    shifted = " (with shifted copies)" if args.augment else ""
    print(f"training on {len(x_train)} images{shifted}: {args.epochs} epoch{'s' * (args.epochs != 1)}, "
          f"batch size {args.batch_size}, {args.optimizer} lr {args.lr}, {args.loss} loss")
    net.use(args.loss, optimizer=args.optimizer)
    if args.comm is not None:
        scaled = f", learning rate x {args.comm.size} (--scale-lr)" if args.scale_lr else ""
        print(f"data-parallel on {args.comm.size} MPI ranks: global batch {args.batch_size * args.comm.size}{scaled}")
    started = time.perf_counter()
    net.fit(x_train, targets, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, comm=args.comm,
            scale_lr=bool(args.scale_lr))
    seconds = time.perf_counter() - started
    accuracy = net.evaluate(x_test, y_test)
    print(f"test accuracy: {accuracy:.4f} on {len(x_test)} held-out images")
    print(f"wall time: {seconds:.1f}s training ({len(x_train) * args.epochs / seconds:,.0f} samples/s)")
    if args.comm is not None and args.comm.rank:
        return accuracy  # the other ranks hold the same weights: rank 0 writes the files
    if args.save:
        print(f"saved the network to {net.save(args.save)}")
    if args.graph:
        write_graph(net, x_test[0], args.graph)
    if args.plots:
        from _plots import write_plots

        write_plots(net, args, x_test, y_test)
    return accuracy


def write_graph(net, sample, path):
    from tinygraph.viz import save_graph

    print(f"wrote the graph of one training step to {save_graph(net.draw_graph(sample), path)}")


def head(args):
    """The final layers: a tanh and softmax for the tutorial's MSE, plain logits for cross-entropy."""
    from tinygraph.layers import ActivationLayer, FCLayer

    layers = [FCLayer(10)]
    if args.loss == "mse":
        layers += [ActivationLayer("tanh"), ActivationLayer("softmax")]
    return layers


def network(args, layers):
    net = tinygraph.Network(seed=args.seed)
    for layer in layers + head(args):
        net.add(layer)
    return net
