"""tinygraph's own threads: every block runs once, errors reach the caller, and results do not depend on the
thread count (bit for bit); BLAS is kept to one thread while they run and restored after."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import parallel


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count for one test, with every size of work split (so that small tests use the threads)."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)
    previous = parallel.threads()
    yield parallel.set_threads
    parallel.set_threads(previous)


def test_run_blocks_runs_each_block_once_on_several_threads(threads):
    threads(3)
    seen, names = [], set()
    barrier = threading.Barrier(2, timeout=10)

    def block(k):
        if k < 2:
            barrier.wait()  # two blocks at once: only possible on two threads
        seen.append(k)
        names.add(threading.current_thread().name)

    parallel.run_blocks(block, 40, work=1)
    assert sorted(seen) == list(range(40)) and len(names) >= 2


def test_run_blocks_reraises_a_blocks_error_after_every_block_is_done(threads):
    threads(2)
    done = []

    def block(k):
        if k == 3:
            raise KeyError("block 3")
        done.append(k)

    with pytest.raises(KeyError, match="block 3"):
        parallel.run_blocks(block, 8, work=1)
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7]


def test_set_threads_checks_its_argument_and_returns_the_previous_count(threads):
    previous = parallel.threads()
    assert threads(1) == previous and parallel.threads() == 1
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_threads: count must be a positive integer"):
            parallel.set_threads(bad)


@pytest.mark.parametrize("value, expected", [("3", "3"), ("", str(len(os.sched_getaffinity(0)))), ("x", "error")])
def test_the_environment_variable_sets_the_default(value, expected):
    script = "from tinygraph import parallel; print(parallel.threads())"
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, TINYGRAPH_THREADS=value),
                          capture_output=True, text=True)
    if expected == "error":
        assert done.returncode and "TINYGRAPH_THREADS must be a positive integer, got 'x'" in done.stderr
    else:
        assert done.stdout.strip() == expected


def test_blas_is_single_threaded_inside_and_restored_after():
    controllers = parallel._blas_controllers()
    if not controllers:
        pytest.skip("threadpoolctl finds no BLAS here")
    before = [lib.get_num_threads() for lib in controllers]
    with parallel.blas_single_thread():
        with parallel.blas_single_thread():
            assert all(lib.get_num_threads() == 1 for lib in controllers)
        assert all(lib.get_num_threads() == 1 for lib in controllers)
    assert [lib.get_num_threads() for lib in controllers] == before


def _training_step(dtype):
    """Gradients of a small convolutional network (conv, relu, overlapping max-pool, linear) in `dtype`."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((9, 11, 10, 3)).astype(dtype), requires_grad=True)
    w1 = tg.Tensor(rng.standard_normal((6, 3, 3, 3)).astype(dtype), requires_grad=True)
    b1 = tg.Tensor(rng.standard_normal(6).astype(dtype), requires_grad=True)
    w2 = tg.Tensor(rng.standard_normal((5, 2, 2, 6)).astype(dtype), requires_grad=True)
    h = tg.relu(tg.correlate(x, w1, b1, padding=1))
    h = tg.maxpool(tg.correlate(h, w2, stride=(1, 2), dilation=2), 3, 2)
    flat = h.reshape((9, -1))
    v = tg.Tensor(rng.standard_normal((flat.shape[1], 4)).astype(dtype), requires_grad=True)
    out = tg.relu(tg.linear(flat, v))
    out.backward(rng.standard_normal(out.shape).astype(dtype))
    return [out.data] + [t.grad for t in (x, w1, b1, w2, v)]


@pytest.mark.parametrize("kept_cols_bytes", [0, 1 << 30], ids=["im2col made again", "im2col kept"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_do_not_depend_on_the_thread_count(threads, monkeypatch, dtype, kept_cols_bytes):
    from tinygraph.ops import conv, im2col

    monkeypatch.setattr(im2col, "_BLOCK_BYTES", 2000)  # many blocks, so the threads share them out
    monkeypatch.setattr(conv, "_KEPT_COLS_BYTES", kept_cols_bytes)
    threads(1)
    alone = _training_step(dtype)
    threads(3)
    shared = _training_step(dtype)
    for a, b in zip(alone, shared):
        assert a.dtype == dtype and np.array_equal(a, b)


def test_large_relu_takes_the_compiled_path_and_equals_numpy(threads):
    threads(2)
    x = np.random.default_rng(1).standard_normal(70_000)
    x[:3] = [np.nan, 0.0, -0.0]
    t = tg.Tensor(x, requires_grad=True)
    y = tg.relu(t)
    g = np.arange(x.size, dtype=np.float64)
    y.backward(g)
    assert np.array_equal(y.data, np.maximum(x, 0), equal_nan=True)
    assert np.array_equal(t.grad, g * (x > 0))


def test_a_forked_child_gets_its_own_pool(threads):
    threads(2)
    parallel.run_blocks(lambda k: None, 4, work=1)  # the parent's pool exists
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads are gone, a new pool must be made
        try:
            hits = []
            parallel.run_blocks(hits.append, 6, work=1)
            os._exit(0 if sorted(hits) == list(range(6)) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("a_shape, b_shape", [((300, 50), (50, 40)), ((20, 30), (30, 200)), ((10, 5), (5, 7))])
def test_matmul_in_blocks_of_rows_or_columns(threads, a_shape, b_shape):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    threads(1)
    alone = parallel.matmul(a, b)
    threads(3)
    shared = parallel.matmul(a, b)
    assert np.array_equal(alone, shared)
    np.testing.assert_allclose(shared, a @ b, rtol=1e-12)
    assert parallel.matmul(tg.Tensor(a), b).shape == (a_shape[0], b_shape[1])  # Tensors: their own product


def test_the_caller_never_waits_for_a_helper_that_has_not_started(threads):
    threads(2)
    parallel.run_blocks(lambda k: None, 2, work=1)  # the pool's one worker exists
    busy, release = threading.Event(), threading.Event()
    parallel._workers().submit(lambda: (busy.set(), release.wait(10)))
    assert busy.wait(10)  # the only worker is now held: a helper submitted now cannot start
    try:
        done = []
        parallel.run_blocks(done.append, 5, work=1)  # the caller takes every block and returns
        assert done == [0, 1, 2, 3, 4]
    finally:
        release.set()


def test_a_block_may_run_blocks_itself_without_deadlock(threads):
    threads(2)
    seen = []

    def outer(i):
        parallel.run_blocks(lambda j: seen.append((i, j)), 3, work=1)

    parallel.run_blocks(outer, 4, work=1)
    assert sorted(seen) == [(i, j) for i in range(4) for j in range(3)]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2 or
                    parallel._getcpu is None, reason="needs Linux and two CPUs")
def test_the_caller_stays_on_its_cpu_and_the_helpers_off_it_during_a_call(threads):
    threads(2)
    parallel.run_blocks(lambda k: None, 2, work=1)  # the helper exists and is registered
    before, caller = os.sched_getaffinity(0), threading.get_ident()
    seen = {}

    def block(k):
        time.sleep(0.01)  # both threads take a block
        seen[threading.get_ident() == caller] = (parallel._getcpu(), os.sched_getaffinity(0))

    parallel.run_blocks(block, 4, work=1)
    assert os.sched_getaffinity(0) == before  # restored
    (cpu, caller_cpus) = seen[True]
    assert caller_cpus == {cpu}
    if False in seen:
        assert cpu not in seen[False][1] and seen[False][0] != cpu


def test_a_helper_started_during_a_call_is_placed_with_the_others_on_the_next():
    """A pool thread started while the caller is held on its CPU inherits that one CPU; the next call moves every
    helper off the caller's CPU again (when there is another)."""
    import os
    import time

    if parallel._getcpu is None or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs Linux and two CPUs")
    previous = parallel.set_threads(3)
    try:
        for count in (2, 3, 3):
            parallel.run_blocks(lambda k: time.sleep(0.005), count, parallel.MIN_PARALLEL_WORK)
        kept_off = parallel._kept_off
        assert kept_off is not None
        assert all(kept_off not in os.sched_getaffinity(helper) for helper in parallel._helper_ids)
    finally:
        parallel.set_threads(previous)
