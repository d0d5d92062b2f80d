"""Data-parallel training over MPI on this machine, and a model of scaling it out.

    python benchmarks/distributed.py [--quick] [--models cnn,keras] [--batches 16,64,256] [--repeats 5] [--rounds 3]

For the tutorial CNN and the Keras example CNN at several global batch sizes B, trains with `Network.fit` on the
same random data (epochs=1, shuffle=False), each configuration in a fresh process (BLAS thread counts are fixed when
a process starts):
  - 1 process x 2 threads (TINYGRAPH_THREADS, and BLAS's), batch B;
  - 2 ranks x 1 thread (`mpiexec -n 2 python -m mpi4py`), batch B/2 each: the same updates (tests/test_distributed.py);
  - 1 process x 1 thread, batch B/2: one rank's compute alone, the input of the scaling model.
In the 2-rank runs it also times the gradient Allreduce (`distributed.allreduce_gradients`: pack, MPI_Allreduce,
unpack) per step, inside training (including any wait for the slower rank) and alone after a barrier. From the
gradient size and the measured compute time per step it models 8, 64 and 512 ranks on a stated network with
ring-allreduce traffic 2 (N-1)/N x bytes per rank. Samples/s are the best of `--rounds` x `--repeats` runs: on a shared
machine, other processes only ever slow a run down, and a synchronous pair of ranks suffers most.
Writes the section "## Data-parallel training over MPI" of benchmarks/RESULTS.md (replacing an earlier one and
leaving the rest of the file as it is) and prints it.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np

from train_throughput import RESULTS_PATH, blas_description, cpu_model, tinygraph_cnn, tinygraph_keras_cnn

MODELS = {"cnn": ("tutorial CNN", tinygraph_cnn), "keras": ("Keras example CNN", tinygraph_keras_cnn)}
SECTION = "## Data-parallel training over MPI"
# The stated networks of the model: (name, bandwidth in bytes/s per direction, latency per message in s).
NETWORKS = [("10 Gbit/s Ethernet", 1.25e9, 25e-6), ("100 Gbit/s InfiniBand", 12.5e9, 2e-6)]
RANKS = (2, 8, 64, 512)


# ----- one configuration, in its own process ----------------------------------------------------------------------
def child(model, batch, seconds, repeats, ranks):
    """Train in this process (or rank); print one JSON line (rank 0) with samples/s and, on 2 ranks, Allreduce times."""
    from tinygraph import distributed

    comm = distributed.communicator("world") if ranks > 1 else None
    size, rank = (comm.size, comm.rank) if comm is not None else (1, 0)
    net = MODELS[model][1]()
    data = np.random.default_rng(0)
    x = data.random((64 * batch * size, 28, 28, 1), dtype=np.float32)
    y = data.integers(0, 10, len(x)) if net.loss_name == "cross_entropy" else np.eye(10, dtype=np.float32)[
        data.integers(0, 10, len(x))]
    timer = AllreduceTimer() if comm is not None else None

    def fit(steps):
        n = steps * batch * size
        started = time.perf_counter()
        net.fit(x[:n], y[:n], epochs=1, batch_size=batch, shuffle=False, verbose=0, comm=comm)
        return n / (time.perf_counter() - started)

    rate = fit(2)  # warm-up, and a first rate to size the timed runs
    steps = max(3, min(64, round(seconds * rate / (batch * size))))
    steps = steps if comm is None else comm.bcast(steps, root=0)
    if timer:
        timer.reset()
    rates = [fit(steps) for _ in range(repeats)]
    result = {"samples_per_s": max(rates), "spread": (max(rates) - min(rates)) / 2, "steps": steps,
              "gradient_bytes": sum(p.data.nbytes for p in net.parameters())}
    if timer:
        result["allreduce_in_training_ms"] = max(comm.allgather(timer.per_step_ms()))
        result["allreduce_alone_ms"] = timer.alone_ms(net.parameters(), comm)
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


class AllreduceTimer:
    """Wraps distributed._reduce_gradients (what every step of fit on several ranks calls) with a clock."""

    def __init__(self):
        from tinygraph import distributed

        self.original, self.seconds, self.calls = distributed._reduce_gradients, 0.0, 0

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        distributed._reduce_gradients = timed

    def reset(self):
        self.seconds, self.calls = 0.0, 0

    def per_step_ms(self):
        return 1e3 * self.seconds / max(1, self.calls)

    def alone_ms(self, params, comm, times=30):
        """The median Allreduce of the real gradients, every rank starting together after a barrier."""
        for p in params:
            p.grad = np.ones_like(p.data)
        spans = []
        for _ in range(times):
            comm.Barrier()
            started = time.perf_counter()
            self.original(comm, params, None, None, 25 * 2**20)
            spans.append(time.perf_counter() - started)
        return 1e3 * max(comm.allgather(statistics.median(spans)))


# ----- the driver ---------------------------------------------------------------------------------------------------
def launch(model, batch, ranks, threads, seconds, repeats):
    """One configuration in a fresh process (or `mpiexec -n ranks`), with `threads` BLAS threads per process."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in ("TINYGRAPH_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    command = [sys.executable, os.path.abspath(__file__), "--child", f"{model},{batch},{seconds},{repeats},{ranks}"]
    if ranks > 1:
        mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        command = [mpiexec if os.path.exists(mpiexec) else "mpiexec", "-n", str(ranks),
                   sys.executable, "-m", "mpi4py", *command[1:]]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=1800).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT "):])


def measure(models, batches, seconds, repeats, rounds):
    """Every configuration once per round, the rounds minutes apart; each keeps its fastest process."""
    best = {}
    for round_ in range(1, rounds + 1):
        for model in models:
            for batch in batches:
                print(f"round {round_}/{rounds}: {MODELS[model][0]}, global batch {batch} ...", flush=True)
                for kind, (size, ranks, threads) in {"one": (batch, 1, 2), "two": (batch // 2, 2, 1),
                                                     "alone": (batch // 2, 1, 1)}.items():
                    result = launch(model, size, ranks, threads, seconds, repeats)
                    key = (model, batch, kind)
                    if key not in best or result["samples_per_s"] > best[key]["samples_per_s"]:
                        best[key] = result
                    time.sleep(1)  # let spinning threads of the last run settle
    return [{"model": model, "batch": batch, **{kind: best[model, batch, kind] for kind in ("one", "two", "alone")}}
            for model in models for batch in batches]


def ring_allreduce_s(ranks, nbytes, bandwidth, latency):
    """Ring allreduce: 2 (N-1) messages of nbytes/N each way: 2 (N-1)/N x bytes / bandwidth + 2 (N-1) x latency."""
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + 2 * (ranks - 1) * latency


def report(rows, args, load):
    lines = [
        SECTION, "",
        f"- CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; Python {platform.python_version()}, NumPy "
        f"{np.__version__}, BLAS: {blas_description().split(' (')[0]}; MPI: {mpi_version()}",
        f"- Load average before / after the run: {load:.2f} / {os.getloadavg()[0]:.2f} (2 cores); date {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Command: `{' '.join(['python', 'benchmarks/' + os.path.basename(__file__), *sys.argv[1:]])}`",
        f"- float32, `Network.fit` on random data, epochs=1, shuffle=False; best of {args.rounds} x {args.repeats} runs of about "
        f"{args.seconds} s (± half the range). Global batch B: 1 process trains on B per step, 2 ranks on B/2 each "
        "and average their gradients: the same update." + (
            " Other processes kept the cores busy (the load average above, on 2 cores): where 2 threads are no "
            "faster than 1, neither configuration had two free cores, and a pair of ranks that wait for each other "
            "every step suffers most from a descheduled partner." if load > 1 else ""), "",
        "| model | global batch | 1 process x 2 threads, samples/s | 2 ranks x 1 thread, samples/s | 2 ranks / 1 "
        "process | 1 process x 1 thread at B/2, samples/s | Allreduce per step in training | Allreduce alone | "
        "Allreduce share of a 2-rank step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        one, two, alone = row["one"], row["two"], row["alone"]
        step_ms = 1e3 * row["batch"] / two["samples_per_s"]
        lines.append(
            f"| {MODELS[row['model']][0]} | {row['batch']} | {rate(one)} | {rate(two)} | "
            f"{two['samples_per_s'] / one['samples_per_s']:.2f} | {rate(alone)} | "
            f"{two['allreduce_in_training_ms']:.2f} ms | {two['allreduce_alone_ms']:.3f} ms | "
            f"{two['allreduce_in_training_ms'] / step_ms:.0%} |")
    lines += scaling_model(rows)
    return "\n".join(lines) + "\n"


def rate(result):
    share = result["spread"] / result["samples_per_s"]
    return f"{result['samples_per_s']:,.0f} ±{share:.0%}"


def scaling_model(rows):
    """Weak scaling (each rank keeps its batch b): step = compute(b) + ring allreduce of the gradient."""
    lines = [
        "", "### Scaling model: 8, 64 and 512 ranks (on paper)", "",
        "Each rank keeps its batch b (the global batch grows as N x b) and computes for t_c = b / r, r its measured "
        "samples/s at batch b with one thread (the column above). tinygraph averages the gradient after backward, "
        "without overlap, so a step takes t_c + t_ar, with the ring allreduce of the S-byte float32 gradient "
        "t_ar = 2 (N-1)/N x S / bandwidth + 2 (N-1) x latency. Throughput = N x b / (t_c + t_ar); efficiency = "
        "t_c / (t_c + t_ar). Stated networks: "
        + "; ".join(f"{name}: {bw / 1e9:g} GB/s, {lat * 1e6:g} us per message" for name, bw, lat in NETWORKS)
        + ". The ranks are assumed to be one per machine (or per socket) and equally fast.", "",
        "| model | b per rank | S (gradient) | network | t_c | " + " | ".join(
            f"N={n}: t_ar, samples/s, efficiency" for n in RANKS[1:]) + " |",
        "|---|---:|---:|---|---:|" + "---:|" * (len(RANKS) - 1),
    ]
    for row in rows:
        b, nbytes = row["batch"] // 2, row["two"]["gradient_bytes"]
        compute = b / row["alone"]["samples_per_s"]
        for name, bandwidth, latency in NETWORKS:
            cells = []
            for n in RANKS[1:]:
                allreduce = ring_allreduce_s(n, nbytes, bandwidth, latency)
                cells.append(f"{allreduce * 1e3:.2f} ms, {n * b / (compute + allreduce):,.0f}, "
                             f"{compute / (compute + allreduce):.0%}")
            lines.append(f"| {MODELS[row['model']][0]} | {b} | {nbytes / 1e6:.2f} MB | {name} | "
                         f"{compute * 1e3:.1f} ms | " + " | ".join(cells) + " |")
    name, _, latency = NETWORKS[0]
    ring, tree = 2 * (RANKS[-1] - 1) * latency, 2 * np.log2(RANKS[-1]) * latency
    lines += ["", f"At {RANKS[-1]} ranks the ring's 2 (N-1) message latencies alone take {ring * 1e3:.1f} ms on "
              f"{name}, which swamps a small gradient; MPI libraries switch to recursive doubling or trees for small "
              f"messages (about 2 log2 N latencies: {tree * 1e3:.2f} ms), so the ring rows are the pessimistic bound "
              "for small models. Overlapping the Allreduce of each bucket with the rest of backward, as PyTorch DDP "
              "does, would hide up to the backward share of t_c; tinygraph does not (yet). A global batch of "
              "N x b also needs the learning-rate rule (scale_lr) and warm-up to keep its accuracy."]
    return lines


def mpi_version():
    try:
        out = subprocess.run([sys.executable, "-c", "from mpi4py import MPI; print(MPI.Get_library_version())"],
                             capture_output=True, text=True, timeout=60).stdout
        import mpi4py

        return f"{' '.join(out.split(chr(10))[0].split())}, mpi4py {mpi4py.__version__}"
    except (OSError, ImportError, subprocess.SubprocessError):
        return "unknown"


def write_section(text):
    """Replace this benchmark's section of RESULTS.md (up to the next '## ' heading), or append it."""
    old = open(RESULTS_PATH).read() if os.path.exists(RESULTS_PATH) else ""
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old, count=1) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    with open(RESULTS_PATH, "w") as results:
        results.write(new)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of about 1 s per configuration")
    parser.add_argument("--models", default="cnn,keras", help="cnn (the tutorial CNN) and/or keras")
    parser.add_argument("--batches", default="16,64,256", help="global batch sizes (even numbers)")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rounds", type=int, default=None, help="run every configuration this many times, keep "
                                                                 "the fastest (default 3, 1 with --quick)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, batch, seconds, repeats, ranks = args.child.split(",")
        return child(model, int(batch), float(seconds), int(repeats), int(ranks))
    args.repeats = args.repeats or (1 if args.quick else 5)
    args.seconds = args.seconds or (1.0 if args.quick else 2.0)
    models, batches = args.models.split(","), [int(b) for b in args.batches.split(",")]
    if any(b < 2 or b % 2 for b in batches) or any(m not in MODELS for m in models):
        parser.error("--batches takes even numbers >= 2, --models cnn and/or keras")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: the load average is {load:.2f}; other processes will distort the numbers")
    args.rounds = args.rounds or (1 if args.quick else 3)
    text = report(measure(models, batches, args.seconds, args.repeats, args.rounds), args, load)
    write_section(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
