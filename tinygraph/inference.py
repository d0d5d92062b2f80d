"""Network.predict's loop: blocks of samples, each run through every layer, taken by tinygraph's threads.

One parallel region for the whole call (README, "Speed"), each thread running whole layers on its own samples, rather
than one region per large product or convolution: the small layers (tanh, softmax, pooling) run on both cores too,
the helper thread is woken once per call instead of once per product, and a block's arrays stay small. Measured on
the 2-vCPU machine of benchmarks/RESULTS.md, predict at batch 1000, one region per product against blocks: 1.43
against 1.17 ms per 1000 samples for the tutorial MLP, 4.39 against 3.20 ms for the tutorial CNN, 232 against 109 ms
for the Keras CNN.

Each block's inputs are checked (and cast) as `Network._inputs` checks all of x, just before the block runs: checking
all of x first would read it from memory twice (measured 0.26 ms per 1000 MNIST images, a sixth of the MLP's predict,
against 0.06 ms for the block, which then stays in the cache for the first layer).

The blocks depend on the inputs' shape, batch_size and the network alone, never on the thread count.
"""
import numpy as np

from . import checks, parallel
from .grad_mode import detect_anomaly, is_anomaly_enabled, no_grad
from .tensor import as_tensor

# A block holds at most BLOCK_SAMPLES samples, and at most BLOCK_BYTES in its widest layer output (but at least
# MIN_BLOCK_SAMPLES samples). Measured per 1000 samples on two cores: the tutorial MLP and CNN run as fast in blocks
# of 500 as in whole batches of 1000 (and a lone batch of 1000 still makes two blocks), 1.07x and 1.10x the time in
# blocks of 250 (each block pays the layers' Python calls again); the Keras CNN (147 KB per sample after its second
# convolution, so blocks of 113) 1.36x the time in blocks of 500, 1.04x in blocks of 32.
BLOCK_SAMPLES = 500
BLOCK_BYTES = 16 << 20
MIN_BLOCK_SAMPLES = 32


def block_samples(net, sample):
    """How many samples a block holds, from a forward of one (checked) sample that finds the widest layer output."""
    out, widest = as_tensor(sample), sample.size
    for layer in net.layers:
        out = layer(out, training=False, rng=net.rng)
        widest = max(widest, out.size)
    return max(MIN_BLOCK_SAMPLES, min(BLOCK_SAMPLES, BLOCK_BYTES // (widest * sample.itemsize)))


def blocks(n, batch_size, step):
    """The slices of range(n) that the blocks take: each batch cut into equal parts of at most `step` samples."""
    parts = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        pieces = -(-size // step)
        parts += [slice(start + p.start, start + p.stop) for p in parallel.split(size, -(-size // pieces))]
    return parts


def outputs(net, where, x, batch_size):
    """The network's outputs for the inputs `x` (checked here, a block at a time), joined, without a graph."""
    x = checks.as_array(where, "the inputs", x)
    if x.ndim < 1 or len(x) == 0:
        net._inputs(where, x)  # raises the error for all of x
    dtype, failed = net.dtype, []

    def checked(part):
        try:
            return checks.float_inputs(where, x[part], dtype)
        except ValueError:
            failed.append(part)
            checks.float_inputs(where, x, dtype)  # the same error, naming the shape of all the inputs
            raise

    with no_grad(), parallel.blas_single_thread():
        first = checked(slice(0, 1))
        if not net.built:
            net._build(first)
        try:
            step = block_samples(net, first) if len(x) >= 2 * MIN_BLOCK_SAMPLES else len(x)
        except ValueError:
            net.forward(checks.float_inputs(where, x, dtype))  # the same error, naming the shape of all the inputs
            raise
        parts = blocks(len(x), batch_size, step)
        results, anomaly = [None] * len(parts), is_anomaly_enabled()

        def block(k):
            if failed:  # an error is on its way to the caller: skip the rest
                return
            inputs = checked(parts[k])
            with no_grad(), detect_anomaly(anomaly):  # both per thread: a helper thread starts with recording on
                results[k] = net.forward(inputs).data

        if concurrent(net):
            work = len(x) * sum(p.size for p in net.parameters())  # a lower bound of the layers' multiply-adds
            parallel.run_blocks(block, len(parts), work)
        else:
            for k in range(len(parts)):
                block(k)
    return np.concatenate(results)


def concurrent(net):
    """Whether blocks may run through the layers on several threads at once: only tinygraph's own layer classes,
    whose forward keeps nothing on the layer. A user's layer may (the tutorial's `self.input = input_data`, then
    `np.dot(self.input, ...)`: two threads in it would swap their inputs), so its blocks run one after another."""
    return all(type(layer).__module__.startswith("tinygraph.") for layer in net.layers)
