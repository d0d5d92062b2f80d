"""Data-parallel training over MPI: real `mpiexec -n 2` runs of small scripts, and the single-process path.

Without mpi4py the MPI tests skip; in CI (the environment variable CI set) they are required.
"""
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.layers import ActivationLayer, DropoutLayer, FCLayer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None and MPIEXEC is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI and not os.environ.get("CI"),
                               reason="needs mpi4py and mpiexec: pip install -e '.[mpi]'")

# What every script shares: a small network, a data set whose size does not divide the global batch.
PRELUDE = """
import os
import numpy as np
from mpi4py import MPI
import tinygraph as tg
from tinygraph import distributed
from tinygraph.layers import ActivationLayer, DropoutLayer, FCLayer

comm = MPI.COMM_WORLD
rank = comm.rank
data = np.random.default_rng(5)
x, y = data.standard_normal((37, 6)), data.integers(0, 3, 37)

def mlp(seed, dropout=0.0):
    net = tg.Network(seed=seed).add(FCLayer(8)).add(ActivationLayer("tanh"))
    if dropout:
        net.add(DropoutLayer(rate=dropout))
    return net.add(FCLayer(3)).use("cross_entropy", optimizer="adam")

def same_on_every_rank(values):
    everyone = comm.allgather([np.asarray(v).tobytes() for v in values])
    return all(theirs == everyone[0] for theirs in everyone)
"""


def run_ranks(script, tmp_path, *, timeout=60, launcher=("-m", "mpi4py")):
    """`mpiexec -n 2 python -m mpi4py script.py` with one BLAS thread per rank; (returncode, stdout, stderr).
    With `-m mpi4py` a failed assert on one rank aborts both at once instead of leaving the other waiting."""
    if not HAVE_MPI:
        pytest.fail("CI must install the MPI extra: pip install -e '.[mpi]' (mpi4py and mpich)")
    path = tmp_path / "ranks.py"
    path.write_text(PRELUDE + textwrap.dedent(script))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TINYGRAPH_MNIST_SOURCE="sample")
    ranks = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, *launcher, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        out, err = ranks.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        ranks.terminate()  # SIGTERM, not SIGKILL: mpiexec passes it on to the ranks it started
        out, err = ranks.communicate(timeout=10)
        pytest.fail(f"the ranks were still running after {timeout} s (one waiting for the other?)\n{out}\n{err}")
    return ranks.returncode, out, err


@needs_mpi
def test_two_ranks_train_like_one_process_with_twice_the_batch(tmp_path):
    code, out, err = run_ranks("""
        # (a) different seeds and dropout per rank: rank 0's weights are broadcast, every step keeps them identical.
        net = mlp(seed=rank, dropout=0.3)
        net.fit(x, y, epochs=3, batch_size=4, learning_rate=0.01, validation_data=(x[:9], y[:9]), comm="world")
        assert same_on_every_rank([p.data for p in net.parameters()]), "weights differ between ranks"
        if not os.environ.get("TINYGRAPH_THREADS"):  # the two ranks on this machine split its cores
            assert tg.parallel.threads() == max(1, len(os.sched_getaffinity(0)) // 2)
        assert same_on_every_rank([net.history["loss"], net.history["val_accuracy"]])
        # evaluate and predict work on one rank alone (a collective there would hang until the timeout)
        if rank == 1:
            print(f"rank 1 alone: {net.evaluate(x, y):.4f} {net.predict(x[:3]).shape}")
        assert same_on_every_rank([net.predict(x[:5])])

        # (b, d) two ranks with batch b == one process with batch 2b on the same samples, also when the last batch
        # (5 of 37) splits 3 + 2, when a rank has no sample at all (n=1), without shuffling; scale_lr doubles the rate
        cases = [(37, 4, True, False), (37, 4, False, True), (1, 1, True, False), (9, 5, True, False)]
        for n, b, shuffle, scale in cases:
            net = mlp(seed=0).fit(x[:n], y[:n], epochs=3, batch_size=b, learning_rate=0.01, shuffle=shuffle,
                                  validation_data=(x, y), comm=comm, verbose=0, scale_lr=scale)
            assert net.optimizer.lr == 0.01
            if rank == 0:
                one = mlp(seed=0).fit(x[:n], y[:n], epochs=3, batch_size=2 * b, learning_rate=0.01 * (1 + scale),
                                      shuffle=shuffle, validation_data=(x, y), verbose=0)
                for mine, theirs in zip(net.parameters(), one.parameters()):
                    np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(net.history["loss"], one.history["loss"], rtol=1e-5)
                assert net.history["val_accuracy"] == one.history["val_accuracy"]
            assert same_on_every_rank([p.data for p in net.parameters()])

        # Raw Tensors: the wrapper broadcasts, averages and steps like one SGD step on both ranks' data.
        w = tg.Tensor(np.full((6, 3), float(rank)), requires_grad=True)
        optimizer = distributed.DistributedOptimizer(tg.SGD([w], lr=0.5), comm)
        assert not w.data.any()
        part = slice(10 * rank, 10 * rank + 10)
        optimizer.zero_grad()
        tg.cross_entropy(tg.Tensor(x[part]) @ w.tanh() + 1, y[part]).backward()
        optimizer.step()
        whole = tg.Tensor(np.zeros((6, 3)), requires_grad=True)
        tg.cross_entropy(tg.Tensor(x[:20]) @ whole.tanh() + 1, y[:20]).backward()
        np.testing.assert_allclose(w.data, -0.5 * whole.grad, rtol=1e-12)
        # A gradient that is None everywhere stays None; None on one rank counts as zeros there.
        a, b = tg.Tensor(np.ones(2), requires_grad=True), tg.Tensor(np.ones(3), requires_grad=True)
        a.grad = np.full(2, 4.0) if rank == 0 else None
        distributed.allreduce_gradients([a, b], comm)
        assert b.grad is None and np.array_equal(a.grad, [2.0, 2.0])

        # Ranks given different data stop together, with the reason.
        try:
            mlp(seed=0).fit(x[:30 + rank], y[:30 + rank], epochs=1, comm=comm)
        except ValueError as err:
            print(f"rank {rank}: {err}")
        print(f"rank {rank} done")
    """, tmp_path)
    assert code == 0, err
    assert "rank 0 done" in out and "rank 1 done" in out and "rank 1 alone: " in out
    assert out.count("epoch 1/3") == 1 and out.count("epoch 3/3   error=") == 1, out  # rank 0 alone prints
    assert out.count("samples is 30 on rank 0 but 31 on rank 1") == 2, out


@needs_mpi
def test_a_failing_rank_stops_every_rank_with_its_error(tmp_path):
    code, out, err = run_ranks("""
        calls = [0]

        def loss(pred, target):  # rank 1's loss turns NaN on its fifth batch
            calls[0] += 1
            value = tg.cross_entropy(pred, target)
            return value * float("nan") if rank == 1 and calls[0] == 5 else value

        net = mlp(seed=0).use(loss)
        try:
            net.fit(x, y, epochs=3, batch_size=2, comm=comm, verbose=0)
        except (ValueError, distributed.RankFailed) as err:
            print(f"rank {rank} stopped: {type(err).__name__}: {err}")

        def broken(pred, target):  # an error inside the step on rank 0: raised uncaught on every rank
            if rank == 0:
                raise RuntimeError("the loss function broke")
            return tg.cross_entropy(pred, target)

        mlp(seed=0).use(broken).fit(x, y, epochs=1, batch_size=2, comm=comm, verbose=0)
    """, tmp_path, timeout=40, launcher=())  # no -m mpi4py: fit itself must stop both ranks
    assert code != 0
    assert "rank 1 stopped: ValueError: Network.fit: the loss became nan at epoch 1, batch 5" in out, out
    assert "rank 0 stopped: RankFailed: rank 1 of 2 failed, so every rank stops: ValueError: Network.fit: " in out
    assert "RuntimeError: the loss function broke" in err
    assert "RankFailed: rank 0 of 2 failed, so every rank stops: RuntimeError: the loss function broke" in err


@needs_mpi
def test_an_error_outside_fit_aborts_every_rank_under_mpi4py(tmp_path):
    code, out, err = run_ranks("""
        if rank == 1:
            raise KeyError("rank 1 never reaches fit")
        mlp(seed=0).fit(x, y, epochs=1, comm=comm)   # would wait for rank 1 forever without -m mpi4py
    """, tmp_path, timeout=40)
    assert code != 0 and "rank 1 never reaches fit" in err


@needs_mpi
def test_example_trains_on_two_ranks(tmp_path):
    code, out, err = run_ranks(f"""
        import runpy, sys
        sys.argv = ["mlp_mnist.py", "--distributed", "--samples", "64", "--epochs", "2", "--save", "net.npz"]
        sys.path.insert(0, {str(ROOT / "examples")!r})
        runpy.run_path({str(ROOT / "examples" / "mlp_mnist.py")!r}, run_name="__main__")
    """, tmp_path, timeout=90)
    assert code == 0, err
    assert "data-parallel on 2 MPI ranks: global batch 2" in out and out.count("test accuracy:") == 1, out
    assert (tmp_path / "net.npz").exists()


@needs_mpi
def test_one_rank_is_bit_identical_to_no_comm():
    from mpi4py import MPI

    nets = [mlp_here(seed=3, dropout=0.2) for _ in range(2)]
    nets[0].fit(X, Y, epochs=2, batch_size=5, learning_rate=0.01, verbose=0)
    nets[1].fit(X, Y, epochs=2, batch_size=5, learning_rate=0.01, verbose=0, comm=MPI.COMM_SELF)
    for a, b in zip(*(net.parameters() for net in nets)):
        assert np.array_equal(a.data, b.data)
    np.testing.assert_allclose(nets[0].history["loss"], nets[1].history["loss"], rtol=1e-14)


X, Y = np.random.default_rng(7).standard_normal((23, 4)).astype(np.float32), np.random.default_rng(8).integers(0, 3, 23)


def mlp_here(seed, dropout=0.0):
    net = tg.Network(seed=seed).add(FCLayer(8)).add(ActivationLayer("tanh"))
    if dropout:
        net.add(DropoutLayer(rate=dropout))
    return net.add(FCLayer(3)).use("cross_entropy", optimizer="adam")


def test_single_process_fit_is_the_plain_loop_bit_for_bit():
    """fit without comm: shuffle with the network's generator, forward, loss, zero_grad, backward, step; nothing
    more (no scaling, no copies that round)."""
    net, mine = mlp_here(seed=1, dropout=0.2), mlp_here(seed=1, dropout=0.2)
    net.fit(X, Y, epochs=2, batch_size=4, learning_rate=0.01, verbose=0)
    mine._build(X)
    optimizer = tg.Adam(mine.parameters(), lr=0.01)
    for _ in range(2):
        order = mine.rng.permutation(len(X))
        for start in range(0, len(X), 4):
            batch = order[start:start + 4]
            loss = tg.cross_entropy(mine.forward(X[batch], training=True), Y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for a, b in zip(net.parameters(), mine.parameters()):
        assert np.array_equal(a.data, b.data)


def test_importing_tinygraph_never_imports_mpi():
    code = "import sys, tinygraph, tinygraph.distributed; tinygraph.Network(); print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_comm_without_mpi4py_says_what_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["mpi4py"] = None   # as if it were not installed
        import numpy as np, tinygraph as tg
        net = tg.Network(seed=0).add(tg.layers.FCLayer(2)).use("mse")
        net.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, comm="world")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "ModuleNotFoundError: distributed training needs mpi4py and an MPI library: pip install " \
           "'tinygraph[mpi]'" in result.stderr, result.stderr


@needs_mpi
def test_comm_must_be_a_communicator():
    with pytest.raises(TypeError, match="comm must be an mpi4py communicator such as MPI.COMM_WORLD, or 'world'"):
        mlp_here(seed=0).fit(X, Y, epochs=1, comm="everyone")
