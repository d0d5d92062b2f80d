"""tinygraph's own threads: the large passes of a step split into blocks of samples, BLAS kept to one thread.

The policy (README, "Speed"): a convolution, max-pool, relu or matrix product big enough to gain runs block by block
on `threads()` threads, the calling thread and a few pool workers, each taking the next block until none is left;
smaller work runs on the calling thread alone. `Network.predict` makes one such call for all its inputs, each block
a slice of samples run through every layer (inference.py); a block's own parallel passes then use only the threads
that no block keeps busy. Meanwhile BLAS runs each block's product on one thread. Why not BLAS's own threads:
OpenBLAS's idle threads spin (measured: twice the CPU time for the same wall time on the MLP), and when another
process takes one core, its statically split products wait for the descheduled half (measured 3-5x slower per step on
a loaded machine), while here a free thread just takes more blocks. Idle workers sleep (no spinning); the caller waits
for the blocks, never for a late worker to start, and for the length of the call stays on its CPU with the workers
kept off it (see "where the threads run"). Results do not depend on the thread count: blocks have fixed bounds, and
partial sums are added in block order.

`TINYGRAPH_THREADS=n` (read at import) or `set_threads(n)` sets the count; the default is the number of cores this
process may run on. `blas_single_thread()` is the BLAS half, used by `Network.fit` and `predict` for the whole loop.
"""
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Below this many multiply-adds a second thread costs more than it saves: waking a worker takes 20-100
# microseconds (more in a virtual machine, whose idle CPUs sleep). Measured on the benchmark's 2-vCPU machine, a
# float32 product in two halves with 0.2 ms of other work between products: 1.33x the time of one thread at 5M
# multiply-adds (64x784x100), 0.91x at 10M, 0.72x at 20M (matmul splits from 8M on).
MIN_PARALLEL_WORK = 1 << 22
# A pass over memory (relu, a max-pool) costs per element about what this many multiply-adds of a product cost
# (0.25-0.6 ns per float32 element against 10 ps per multiply-add), so its work is its size times ELEMENT_WORK:
# such a pass takes the threads from about 130,000 elements (the Keras example's relu and max-pool passes of 1.4M
# and 2.4M elements ran on one thread before: measured 4% of its training step).
ELEMENT_WORK = 32


def _default_threads():
    text = os.environ.get("TINYGRAPH_THREADS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"TINYGRAPH_THREADS must be a positive integer, got {text!r}")
        return int(text)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_threads = _default_threads()
_pool = None
_pool_lock = threading.Lock()


def threads():
    """How many threads tinygraph's large passes use (TINYGRAPH_THREADS, or the cores available)."""
    return _threads


def set_threads(count):
    """Use `count` threads (at least 1) for tinygraph's large passes from now on; returns the previous count."""
    global _threads
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"set_threads: count must be a positive integer, got {count!r}")
    previous, _threads = _threads, int(count)
    return previous


def _workers():
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < _threads - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)  # its threads exit: their ids must not be placed again
                _helper_ids.clear()
            _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="tinygraph", initializer=_register_helper)
        return _pool


def _forget_pool():
    global _pool, _kept_off, _running
    _pool, _kept_off, _running = None, None, 0  # a forked child has none of the parent's worker threads
    _helper_ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# ----- where the threads run -----------------------------------------------------------------------------------
# A virtual machine's scheduler puts a thread it wakes (a helper given blocks, or a thread handed the GIL) on the
# waking thread's CPU rather than on an idle vCPU, and leaves both there for tens of milliseconds: on the 2-vCPU KVM
# machine of benchmarks/RESULTS.md (seen with sched_getcpu, the other CPU idle), most of the MLP's predict runs went
# at one thread's speed, the two threads taking turns on one CPU. So for the length of a parallel call the caller
# stays on its CPU and the helpers off it (Linux only; elsewhere the scheduler places them).
try:
    import ctypes

    _getcpu = ctypes.CDLL(None).sched_getcpu
    _getcpu.restype, _getcpu.argtypes = ctypes.c_int, []
except (ImportError, OSError, AttributeError):
    _getcpu = None
_helper_ids = []  # the native thread ids of the pool's threads
_kept_off = None  # the CPU the helpers are kept off


def _register_helper():
    global _kept_off
    _helper_ids.append(threading.get_native_id())
    # Started during a call, it inherited the caller's one CPU: the next call places every helper again.
    _kept_off = None


def _place_threads():
    """Keep this thread on its CPU and the helpers off it; returns this thread's CPUs before (None: left alone)."""
    global _kept_off
    cpu = _getcpu() if _getcpu is not None and _helper_ids else -1
    if cpu < 0:
        return None
    mine = os.sched_getaffinity(0)
    others = mine - {cpu}
    if cpu not in mine or not others:
        return None
    if cpu != _kept_off:
        for helper in _helper_ids:
            try:
                os.sched_setaffinity(helper, others)
            except OSError:  # CPUs taken away meanwhile: the scheduler places it
                pass
        _kept_off = cpu
    os.sched_setaffinity(0, {cpu})
    return mine


class _Region(threading.local):
    inside = False  # whether this thread is running a block


_region = _Region()
_running = 0  # how many threads are running blocks now (any call's), guarded by _running_lock
_running_lock = threading.Lock()


def run_blocks(block, count, work):
    """block(k) for k in range(count), on up to `threads()` threads when `work` (multiply-adds or elements in all)
    is large enough, else in order on this thread. Within a block (predict's blocks of samples), only the threads
    no block keeps busy help. Blocks must write disjoint outputs."""
    helpers = min(_threads, count) - 1
    if _region.inside:
        helpers = min(helpers, _threads - _running)
    if helpers < 1 or work < MIN_PARALLEL_WORK:
        for k in range(count):
            block(k)
        return
    # next() on an itertools.count is atomic: each block is taken once, and the thread that finishes the last block
    # releases `all_done`. The caller waits for the blocks, never for a helper to start: a helper woken late (its core
    # busy with another process) finds no block left and returns, and the caller has long gone on (waiting for it
    # made a product on two threads slower than on one on a loaded machine). This also makes nesting safe.
    taken, finished, errors = itertools.count(), itertools.count(1), []
    all_done = threading.Lock()
    all_done.acquire()

    def take_blocks():
        global _running
        outer, _region.inside = _region.inside, True
        with _running_lock:
            _running += 1
        try:
            for k in iter(taken.__next__, None):
                if k >= count:
                    return
                try:
                    block(k)
                except BaseException as error:  # the other blocks still run; the caller re-raises the first error
                    errors.append(error)
                if next(finished) == count:
                    all_done.release()
        finally:
            with _running_lock:
                _running -= 1
            _region.inside = outer

    pool = _workers()
    placed = None if _region.inside else _place_threads()
    try:
        with blas_single_thread():
            for _ in range(helpers):
                pool.submit(take_blocks)
            take_blocks()
            all_done.acquire()  # every block done (the outputs complete) before they are used
    finally:
        if placed is not None:
            os.sched_setaffinity(0, placed)
    if errors:
        raise errors[0]


# A batch of at least MIN_SPLIT_BYTES is cut into at least MIN_BLOCKS blocks (when it has that many samples), so that
# one whose blocks would fit in the cache whole still gives every thread a share; a smaller one stays whole (its
# blocks would run on one thread anyway, each paying the calls again: measured 1.2x slower for the tutorial's
# max-pool at batch 64). Fixed, never the thread count.
MIN_BLOCKS, MIN_SPLIT_BYTES = 4, 1 << 19


def sample_blocks(n, sample_bytes, budget):
    """Slices of a batch of n samples of `sample_bytes` each: at most `budget` bytes a block (at least one
    sample), and at least MIN_BLOCKS blocks for a batch of MIN_SPLIT_BYTES or more."""
    step = max(1, budget // max(1, sample_bytes))
    if n * sample_bytes >= MIN_SPLIT_BYTES:
        step = max(1, min(step, -(-n // MIN_BLOCKS)))
    return split(n, step)


def split(size, step):
    """The slices of range(size) in steps of `step`."""
    return [slice(start, min(start + step, size)) for start in range(0, size, step)]


# A large product is split into at most _MAX_PIECES blocks of at least _MIN_SIDE rows (or columns) and
# MIN_PARALLEL_WORK multiply-adds each: fixed by the shapes alone, never by the thread count, so that the results
# never depend on it (a product split into more pieces runs further from BLAS's peak: measured 2x slower for a
# 64x784x100 product in 8 pieces).
_MAX_PIECES, _MIN_SIDE = 8, 64


def matmul(a, b, out=None):
    """a @ b for 2-D arrays, split into blocks of rows of `a` (or, for few rows, of columns of `b`) when large;
    a @ b itself for anything else (Tensors, when a backward formula is recorded for second derivatives)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return a @ b
    (m, k), n = a.shape, b.shape[1]
    work = m * k * n
    if work < 2 * MIN_PARALLEL_WORK:  # the common small product, without the arithmetic below
        return a @ b if out is None else np.matmul(a, b, out=out)
    pieces = min(_MAX_PIECES, work // max(1, MIN_PARALLEL_WORK), max(m, n) // _MIN_SIDE)
    if pieces < 2:
        return a @ b if out is None else np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= 2 * _MIN_SIDE:
        rows = split(m, -(-m // min(pieces, m // _MIN_SIDE)))
        run_blocks(lambda i: np.matmul(a[rows[i]], b, out=out[rows[i]]), len(rows), work)
    else:
        # Each block's product into its own contiguous array, copied into place: NumPy runs a product into a strided
        # `out` without BLAS (measured no faster on two threads than whole on one).
        cols = split(n, -(-n // pieces))

        def columns(i):
            out[:, cols[i]] = a @ b[:, cols[i]]

        run_blocks(columns, len(cols), work)
    return out


# ----- BLAS: one thread while tinygraph's own threads run ------------------------------------------------------
_blas = None  # the BLAS libraries NumPy uses, as threadpoolctl controllers; found on first use
_blas_lock = threading.Lock()
_blas_depth = 0
_blas_saved = []


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # without threadpoolctl, BLAS keeps its own thread count
            _blas = []
        else:
            # PyTorch's BLAS (if loaded) is left alone: the switch is for NumPy's products only.
            _blas = [lib for lib in ThreadpoolController().lib_controllers
                     if lib.user_api == "blas" and f"{os.sep}torch{os.sep}" not in lib.filepath]
    return _blas


class _BlasSingleThread:
    """The context manager blas_single_thread() returns (a class: a generator-based one costs 2 µs more per use)."""

    def __enter__(self):
        global _blas_depth, _blas_saved
        with _blas_lock:
            if _blas_depth == 0:
                _blas_saved = [(lib, lib.get_num_threads()) for lib in _blas_controllers()]
                for lib, count in _blas_saved:
                    if count != 1:
                        lib.set_num_threads(1)
            _blas_depth += 1
        return self

    def __exit__(self, *exc):
        global _blas_depth
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for lib, count in _blas_saved:
                    if count != 1:
                        lib.set_num_threads(count)


_BLAS_SINGLE_THREAD = _BlasSingleThread()


def blas_single_thread():
    """Within it, NumPy's BLAS runs each product on one thread (then restored); nests, and across threads."""
    return _BLAS_SINGLE_THREAD
