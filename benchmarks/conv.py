"""Forward+backward time of correlate, conv_transpose and maxpool: compiled kernel vs NumPy reference vs PyTorch CPU.

    python benchmarks/conv.py [--quick] [--threads N]

One table, µs per call (median of several repeats); ratios above 1 mean tinygraph (compiled) is slower.
Both libraries get the same number of threads (default 2). On a machine busy with other work, multi-threaded
BLAS and OpenMP stall on descheduled threads; `--threads 1` then gives the steadier comparison.
"""
import argparse
import statistics
import time

import numpy as np

import tinygraph as tg
from tinygraph.ops import conv_reference, kernels

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the comparison is optional
    torch = None

# (name, x shape (H, W, C), filters, kernel, stride, padding[, dilation])
CONV_CASES = [
    ("conv tutorial 28x28x1 -> 5@3x3 s2 p1", (28, 28, 1), 5, 3, 2, 1),
    ("conv Keras 26x26x32 -> 64@3x3 s1 p0", (26, 26, 32), 64, 3, 1, 0),
    ("conv 28x28x32 -> 64@3x3 s1 p1", (28, 28, 32), 64, 3, 1, 1),
    ("conv 28x28x32 -> 64@3x3 s1 p2 d2", (28, 28, 32), 64, 3, 1, 2, 2),
]
# (name, x shape (H, W, C_in), output channels, kernel, stride, padding, output_padding): a decoder's upsampling
TRANSPOSE_CASES = [
    ("conv_t 14x14x64 -> 32@3x3 s2 p1 op1", (14, 14, 64), 32, 3, 2, 1, 1),
]
# (name, x shape (H, W, C), pool, stride)
POOL_CASES = [
    ("maxpool tutorial 14x14x5 2x2 s2", (14, 14, 5), 2, 2),
    ("maxpool 28x28x64 2x2 s2", (28, 28, 64), 2, 2),
    ("maxpool 28x28x64 3x3 s2 (overlap)", (28, 28, 64), 3, 2),
]


def median_us(step, repeats, budget):
    """Median over `repeats` of the mean time per call, each repeat running about `budget` seconds."""
    step()
    start = time.perf_counter()
    step()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(budget / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def tinygraph_step(make_out, leaves, grad):
    def step():
        for t in leaves:
            t.grad = None
        make_out().backward(grad)

    return step


def conv_steps(shape, filters, k, stride, padding, batch, rng, dilation=1):
    return _conv_like_steps(
        lambda x, w, b: tg.correlate(x, w, b, stride, padding, dilation),
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
        (batch, *shape), (filters, k, k, shape[2]), filters, rng,
    )


def transpose_steps(shape, out_channels, k, stride, padding, output_padding, batch, rng):
    # w is (C_in, kh, kw, C_out); PyTorch's (C_in, C_out, kh, kw) is the same transposition as conv2d's filters.
    return _conv_like_steps(
        lambda x, w, b: tg.conv_transpose(x, w, b, stride, padding, output_padding),
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding),
        (batch, *shape), (shape[2], k, k, out_channels), out_channels, rng,
    )


def _conv_like_steps(ours, theirs, x_shape, w_shape, n_bias, rng):
    """Forward+backward steps of `ours` on channels-last float32 data and `theirs` on the same data in NCHW."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
    b = np.zeros(n_bias, np.float32)
    tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    g = rng.standard_normal(ours(tx, tw, tb).shape).astype(np.float32)
    steps = {"tinygraph": tinygraph_step(lambda: ours(tx, tw, tb), (tx, tw, tb), g)}
    if torch is not None:
        px = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        pw = torch.tensor(w.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        pb = torch.tensor(b, requires_grad=True)
        pg = torch.tensor(g.transpose(0, 3, 1, 2).copy())

        def torch_step():
            px.grad = pw.grad = pb.grad = None
            theirs(px, pw, pb).backward(pg)

        steps["torch"] = torch_step
    return steps


def pool_steps(shape, pool, stride, batch, rng):
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    tx = tg.Tensor(x, requires_grad=True)
    g = rng.standard_normal(tg.maxpool(tx, pool, stride).shape).astype(np.float32)
    steps = {"tinygraph": tinygraph_step(lambda: tg.maxpool(tx, pool, stride), (tx,), g)}
    if torch is not None:
        px = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        pg = torch.tensor(g.transpose(0, 3, 1, 2).copy())

        def torch_step():
            px.grad = None
            F.max_pool2d(px, pool, stride).backward(pg)

        steps["torch"] = torch_step
    return steps


def measure_all(rows, repeats, budget):
    """Times per row for each contender, one contender at a time: BLAS and OpenMP threads that spin after a call
    would otherwise steal the two cores from the other library and distort both."""
    names = [name for name in kernels.__all__ if hasattr(conv_reference, name)]
    compiled_kernels = {name: getattr(kernels, name) for name in names}
    times = [{} for _ in rows]
    for contender in ("compiled", "numpy", "torch"):
        for name in names:  # the numpy column runs every kernel's NumPy reference
            setattr(kernels, name, getattr(conv_reference, name) if contender == "numpy" else compiled_kernels[name])
        time.sleep(0.5)
        for (_, _, steps), t in zip(rows, times):
            step = steps.get("torch" if contender == "torch" else "tinygraph")
            t[contender] = median_us(step, repeats, budget) if step else float("nan")
    for name in names:
        setattr(kernels, name, compiled_kernels[name])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repeats")
    parser.add_argument("--threads", type=int, default=2, help="threads for NumPy's BLAS and for torch")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        print("threadpoolctl is not installed: NumPy's BLAS keeps its default thread count")
    repeats, budget = (3, 0.05) if args.quick else (7, 0.2)
    rng = np.random.default_rng(0)
    version = torch.__version__ if torch else "not installed"
    print(f"kernel backend: {kernels.BACKEND}; torch: {version}; threads: {args.threads}")
    header = (
        f"{'case':38} {'batch':>5} {'compiled µs':>12} {'numpy µs':>10} {'torch µs':>10} "
        f"{'numpy/compiled':>15} {'compiled/torch':>15}"
    )
    print(header)
    print("-" * len(header))
    batches = (1, 64)
    rows = [(case[0], n, conv_steps(*case[1:6], n, rng, *case[6:])) for case in CONV_CASES for n in batches]
    rows += [(case[0], n, transpose_steps(*case[1:], n, rng)) for case in TRANSPOSE_CASES for n in batches]
    rows += [(name, n, pool_steps(shape, k, s, n, rng)) for name, shape, k, s in POOL_CASES for n in batches]
    for (name, batch, _), t in zip(rows, measure_all(rows, repeats, budget)):
        print(
            f"{name:38} {batch:>5} {t['compiled']:>12.1f} {t['numpy']:>10.1f} {t['torch']:>10.1f} "
            f"{t['numpy'] / t['compiled']:>15.2f} {t['compiled'] / t['torch']:>15.2f}"
        )


if __name__ == "__main__":
    main()
