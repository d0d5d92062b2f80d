"""Data-parallel training over MPI (mpi4py), as Horovod and ChainerMN do it: every rank holds the whole model,
trains on its share of each batch, and averages its gradients with the other ranks' before each optimizer step, so
that all ranks keep identical weights.

mpi4py is imported only when a communicator is first asked for: `import tinygraph` never loads MPI.
`Network.fit(..., comm="world")` does all of this; in a hand-written loop over raw Tensors:

    comm = distributed.communicator("world")
    optimizer = distributed.DistributedOptimizer(tg.SGD(params, lr=0.1), comm)   # broadcasts rank 0's weights
    for xb, yb in this_ranks_batches:                                          # the same number on every rank
        optimizer.zero_grad(); loss_of(xb, yb).backward(); optimizer.step()    # step averages, then updates

Start the ranks with `mpiexec -n 2 python -m mpi4py script.py`: with `-m mpi4py`, an exception that escapes on one
rank aborts them all instead of leaving the others waiting in a collective.
"""
import os

import numpy as np

from . import parallel

BUCKET_BYTES = 25 * 2**20  # PyTorch DDP's default bucket cap: few collectives, bounded extra memory
INSTALL = ("pip install 'tinygraph[mpi]' (or: pip install mpi4py mpich), then start the ranks with "
           "mpiexec -n 2 python -m mpi4py your_script.py")


class RankFailed(RuntimeError):
    """Raised on every rank that did not fail itself when another rank failed during a training step."""


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ModuleNotFoundError(f"distributed training needs mpi4py and an MPI library: {INSTALL}") from err
    return MPI


def communicator(comm="world"):
    """The mpi4py communicator for `comm`: "world" (MPI.COMM_WORLD) or a communicator, returned as it is."""
    MPI = _mpi()
    if isinstance(comm, str) and comm == "world":
        return MPI.COMM_WORLD
    if isinstance(comm, MPI.Intracomm):
        return comm
    raise TypeError(f"comm must be an mpi4py communicator such as MPI.COMM_WORLD, or 'world', got {comm!r}")


# ----- flat buffers ---------------------------------------------------------------------------------------------
def _buckets(params, bucket_bytes):
    """Indices of the parameters in flat groups of one dtype, each up to `bucket_bytes` (a bigger one alone)."""
    by_dtype = {}
    for i, p in enumerate(params):
        by_dtype.setdefault(p.data.dtype, []).append(i)
    buckets = []
    for members in by_dtype.values():
        buckets.append([])
        filled = 0
        for i in members:
            if buckets[-1] and filled + params[i].data.nbytes > bucket_bytes:
                buckets.append([])
                filled = 0
            buckets[-1].append(i)
            filled += params[i].data.nbytes
    return buckets


def _slices(params, bucket):
    """(index, slice of the flat buffer) for each parameter of a bucket."""
    stops = np.cumsum([params[i].data.size for i in bucket])
    return [(i, slice(stop - params[i].data.size, stop)) for i, stop in zip(bucket, stops)]


def _same_everywhere(comm, where, settings):
    """Raise on every rank when the ranks were given different settings (a mismatch would hang a collective)."""
    everyone = comm.allgather(settings)
    for rank, theirs in enumerate(everyone):
        for key, value in theirs.items():
            if value != everyone[0][key]:
                raise ValueError(f"{where}: {key} is {everyone[0][key]} on rank 0 but {value} on rank {rank}; every "
                                 f"rank must pass the same {key} (the whole data set, not a part of it)")


def _signature(params):
    return [(tuple(p.data.shape), p.data.dtype.str) for p in params]


def broadcast_parameters(params, comm="world", root=0, bucket_bytes=BUCKET_BYTES):
    """Copy the root rank's parameter values into every rank's parameters, in place (one Bcast per flat bucket):
    call it once before training so that all ranks start from the same weights."""
    comm, params = communicator(comm), list(params)
    _same_everywhere(comm, "broadcast_parameters", {"parameter shapes": _signature(params)})
    for bucket in _buckets(params, bucket_bytes):
        slices = _slices(params, bucket)
        if comm.rank == root:
            flat = np.concatenate([params[i].data.ravel() for i in bucket])
        else:
            flat = np.empty(slices[-1][1].stop, dtype=params[bucket[0]].data.dtype)
        comm.Bcast(flat, root=root)
        if comm.rank != root:
            for i, part in slices:
                params[i].data[...] = flat[part].reshape(params[i].data.shape)
                params[i]._note_write()


def allreduce_gradients(params, comm="world", share=None, bucket_bytes=BUCKET_BYTES):
    """Average the parameters' gradients over the ranks, in place, with one Allreduce per flat bucket (one per dtype
    up to `bucket_bytes`), not one per parameter. `share` is this rank's weight in the average (default 1/size; the
    shares of all ranks must sum to 1): pass len(local batch) / len(global batch) when the ranks' batches differ
    in size. A gradient that is None on every rank stays None; None on some ranks counts as zeros there."""
    params = list(params)
    _reduce_gradients(communicator(comm), params, share, None, bucket_bytes)


def _reduce_gradients(comm, params, share, error, bucket_bytes):
    """One step's Allreduce. The first buffer also carries a failure flag and one has-a-gradient flag per parameter,
    so that a rank that failed (`error`) still takes part, and then every rank raises instead of waiting."""
    MPI = _mpi()
    share = 1.0 / comm.size if share is None else share
    flags = np.zeros(len(params) + 1)
    flags[0] = error is not None
    buffers = []
    for b, bucket in enumerate(_buckets(params, bucket_bytes)):
        slices = _slices(params, bucket)
        flat = np.empty(slices[-1][1].stop + (len(flags) if b == 0 else 0), dtype=params[bucket[0]].data.dtype)
        for i, part in slices:
            if error is None and params[i].grad is not None:
                np.multiply(np.ravel(params[i].grad), flat.dtype.type(share), out=flat[part])
                flags[i + 1] = 1
            else:
                flat[part] = 0
        if b == 0:
            flat[-len(flags):] = flags
        comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        buffers.append((flat, slices))
    flags = buffers[0][0][-len(flags):]
    if flags[0]:
        _raise_failure(comm, error)
    for flat, slices in buffers:
        for i, part in slices:
            params[i].grad = flat[part].reshape(params[i].data.shape) if flags[i + 1] else None


def _raise_failure(comm, error):
    """Every rank, together: the failed ranks re-raise their own error, the others a RankFailed naming them."""
    reports = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
    if error is not None:
        raise error
    failed = [rank for rank, report in enumerate(reports) if report]
    others = f" (and ranks {failed[1:]})" if len(failed) > 1 else ""
    raise RankFailed(f"rank {failed[0]} of {comm.size} failed{others}, so every rank stops: {reports[failed[0]]}")


def _sum_checked(comm, values, error=None):
    """The sums over the ranks of a few numbers (float64), or every rank raises if one passes an `error`."""
    MPI = _mpi()
    flat = np.array([error is not None, *values], dtype=np.float64)
    comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
    if flat[0]:
        _raise_failure(comm, error)
    return flat[1:]


# ----- optimizers ------------------------------------------------------------------------------------------------
class DistributedOptimizer:
    """Wraps an Optimizer: `step()` first averages the gradients over the ranks (`allreduce_gradients`), then
    steps, so every rank applies the same update. Created, it broadcasts rank 0's parameters (`broadcast=False`
    skips that). Every rank must call `step()` equally often. The global batch is the sum of the ranks' batches;
    `scale_lr=True` steps with lr x size, the linear scaling rule for a batch size times larger (off by default)."""

    def __init__(self, optimizer, comm="world", scale_lr=False, broadcast=True, bucket_bytes=BUCKET_BYTES):
        self.optimizer, self.comm = optimizer, communicator(comm)
        self.parameters = optimizer.parameters
        self.scale_lr, self.bucket_bytes = bool(scale_lr), bucket_bytes
        if broadcast:
            broadcast_parameters(self.parameters, self.comm, bucket_bytes=bucket_bytes)

    @property
    def lr(self):
        """The learning rate the steps use."""
        return self.optimizer.lr * (self.comm.size if self.scale_lr else 1)

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self, share=None):
        """Average the gradients (this rank weighing `share`, default 1/size), then take the wrapped step."""
        _reduce_gradients(self.comm, self.parameters, share, None, self.bucket_bytes)
        if not self.scale_lr:
            return self.optimizer.step()
        base = self.optimizer.lr
        self.optimizer.lr = base * self.comm.size
        try:
            self.optimizer.step()
        finally:
            self.optimizer.lr = base

    def fail(self, error):
        """Take part in the current step for a rank that hit `error`: every rank then raises (this one `error`)."""
        _reduce_gradients(self.comm, self.parameters, 0.0, error, self.bucket_bytes)


class _FitOptimizer(DistributedOptimizer):
    """fit's optimizer: the k-th step of an epoch weighs this rank's gradients by its share of the k-th batch."""

    shares = iter(())

    def step(self, share=None):
        super().step(next(self.shares) if share is None else share)


# ----- Network.fit(comm=...) -------------------------------------------------------------------------------------
class FitRun:
    """What `Network.fit` does differently on several ranks. Every rank passes the whole data set; each epoch's
    order is rank 0's; each global batch of `batch_size * size` samples of that order is dealt out in rank order,
    `batch_size` to each rank (the last, shorter batch as evenly as possible, a rank with none still steps), and each
    rank's gradient counts by its share of the batch, so the update is the one a single process makes on the whole
    global batch. Every rank takes the same number of steps, and an error on one rank stops them all."""

    def __init__(self, comm, net, optimizer, scale_lr=False, **settings):
        self.comm = communicator(comm)
        self.rank, self.size, self.net = self.comm.rank, self.comm.size, net
        _same_everywhere(self.comm, "Network.fit", dict(settings, parameters=_signature(net.parameters())))
        self.batch_size = settings["batch_size"]
        self.positions, self.shares = self._deal(settings["samples"], self.batch_size)
        self.optimizer = _FitOptimizer(optimizer, self.comm, scale_lr)
        _own_random_streams(net, self.rank)
        _share_cores(self.comm)

    def _deal(self, n, b):
        """This rank's positions in an epoch's order, and its share of every global batch."""
        big = b * self.size
        full, rest = divmod(n, big)
        positions = [(np.arange(full)[:, None] * big + self.rank * b + np.arange(b)).ravel()]
        shares = [1 / self.size] * full
        if rest:
            even, extra = divmod(rest, self.size)
            mine = even + (self.rank < extra)
            positions.append(full * big + self.rank * even + min(self.rank, extra) + np.arange(mine))
            shares.append(mine / rest)
        return np.concatenate(positions), shares

    def verbose(self, level):
        """Only rank 0 prints and draws progress bars."""
        return level if self.rank == 0 else 0

    def run_epoch(self, x, y, order, epoch, epochs, verbose):
        """One epoch on this rank's share of rank 0's `order` (None: the data's own order); the global mean loss."""
        if order is not None:
            self.comm.Bcast(order, root=0)
        picked = self.positions if order is None else order[self.positions]
        xs, ys = x[picked], y[picked]
        optimizer = self.optimizer
        optimizer.shares = iter(self.shares)
        mean = 0.0
        try:
            if len(xs):
                mean = self.net._run_epoch(xs, ys, self.batch_size, optimizer, epoch, epochs, verbose)
            for share in optimizer.shares:  # a last batch with no sample on this rank: step with the others
                optimizer.zero_grad()
                optimizer.step(share)
        except RankFailed:
            raise
        except Exception as err:
            optimizer.fail(err)
        total, count = _sum_checked(self.comm, [mean * len(xs), len(xs)])
        return float(total / count)

    def evaluate(self, x, y):
        """Accuracy on (x, y), each rank scoring one contiguous part; the same number on every rank."""
        even, extra = divmod(len(x), self.size)
        start = self.rank * even + min(self.rank, extra)
        stop = start + even + (self.rank < extra)
        correct, error = 0, None
        try:
            if stop > start:
                correct = round(self.net.evaluate(x[start:stop], y[start:stop]) * (stop - start))
        except Exception as err:
            error = err
        right, total = _sum_checked(self.comm, [correct, stop - start], error)
        return float(right / total)


def _share_cores(comm):
    """Ranks on one machine split its cores between their tinygraph threads (never raising a count already set);
    TINYGRAPH_THREADS, when set, is kept as it is."""
    if os.environ.get("TINYGRAPH_THREADS"):
        return
    local = comm.Split_type(_mpi().COMM_TYPE_SHARED)
    try:
        share = max(1, len(os.sched_getaffinity(0)) // local.size) if hasattr(os, "sched_getaffinity") else 1
    finally:
        local.Free()
    parallel.set_threads(min(parallel.threads(), share))


def _own_random_streams(net, rank):
    """Rank r's generators (the network's, any layer's) jump r x 2**127 draws ahead, in place: each rank draws its
    own dropout masks, as the samples of one batch do."""
    generators = [net.rng] + [getattr(layer, "_rng", None) for layer in net.layers]
    unique = {id(g): g for g in generators if isinstance(g, np.random.Generator)}
    for generator in unique.values():
        bits = generator.bit_generator
        if rank and hasattr(bits, "jumped"):
            bits.state = bits.jumped(rank).state
