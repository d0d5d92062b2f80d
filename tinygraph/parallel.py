"""tinygraph's own threads: the large passes of a step split into blocks of samples, BLAS kept to one thread.

The policy (README, "Speed"): a convolution, max-pool, relu or matrix product big enough to gain runs block by block
on `threads()` threads, the calling thread and a few pool workers, each taking the next block until none is left;
smaller work runs on the calling thread alone. Meanwhile BLAS runs each block's product on one thread. Why not
BLAS's own threads: OpenBLAS's idle threads spin (measured: twice the CPU time for the same wall time on the MLP),
and when another process takes one core, its statically split products wait for the descheduled half (measured 3-5x
slower per step on a loaded machine), while here a free thread just takes more blocks. Results do not depend on the
thread count: blocks have fixed bounds, and partial sums are added in block order.

`TINYGRAPH_THREADS=n` (read at import) or `set_threads(n)` sets the count; the default is the number of cores this
process may run on. `blas_single_thread()` is the BLAS half, used by `Network.fit` and `predict` for the whole loop.
"""
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Below this many multiply-adds (or elements, for a pass over memory) a second thread costs more than it saves:
# waking a worker takes 20-100 microseconds (measured; more in a virtual machine, whose idle CPUs sleep).
MIN_PARALLEL_WORK = 1 << 22


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
            _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="tinygraph")
        return _pool


def _forget_pool():
    global _pool
    _pool = None  # a forked child has none of the parent's worker threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_blocks(block, count, work):
    """block(k) for k in range(count), on up to `threads()` threads when `work` (multiply-adds or elements in all)
    is large enough, else in order on this thread. Blocks must write disjoint outputs."""
    helpers = min(_threads, count) - 1
    if helpers < 1 or work < MIN_PARALLEL_WORK:
        for k in range(count):
            block(k)
        return
    taken = itertools.count()  # next() on it is atomic: each block is taken once

    def take_blocks():
        for k in iter(taken.__next__, None):
            if k >= count:
                return
            block(k)

    with blas_single_thread():
        futures = [_workers().submit(take_blocks) for _ in range(helpers)]
        try:
            take_blocks()
        finally:
            for future in futures:
                future.result()  # waits for every worker (re-raising its error) before the outputs are used


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
