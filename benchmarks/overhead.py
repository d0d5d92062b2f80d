"""Engine overhead per recorded op on tiny tensors, next to the bare NumPy call.

For tensors this small the arithmetic is nearly free, so the difference between a tinygraph op and the NumPy
call it wraps is the cost of the engine itself: building the Tensor and its Context, and in the backward pass
the topological sort, the gradient bookkeeping and the op's backward method.

    python benchmarks/overhead.py [--repeat 25]

Times are the best of `repeat` runs of `timeit` (each lasting ~20 ms), in microseconds per call: the best, not the
mean, because other processes only ever add time. The whole script takes about half a minute.
"""
import argparse
import timeit

import numpy as np

import tinygraph as tg
from tinygraph import Tensor


def best_microseconds(fn, repeat, seconds_per_run=0.02):
    timer = timeit.Timer(fn)
    calls, elapsed = 1, timer.timeit(1)
    while elapsed < 0.002:  # a rough per-call cost, to size each run
        calls *= 10
        elapsed = timer.timeit(calls)
    number = max(1, int(seconds_per_run * calls / elapsed))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def leaf(shape, rng):
    return Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)


def cases(shape, rng):
    """name -> (numpy forward, numpy forward + hand-written backward, tinygraph forward, tinygraph forward+backward)."""
    x, y = leaf(shape, rng), leaf(shape, rng)
    a, b = x.data, y.data
    w = leaf((shape[-1], shape[-1]), rng)
    m = w.data
    g = np.ones(shape, np.float32)
    g_sum = np.float32(1.0)
    flat_shape = (-1,)
    g_flat = np.ones(a.size, np.float32)

    def reset():
        x.grad = y.grad = w.grad = None

    def tg_backward(make, grad):
        def run():
            reset()
            make().backward(grad)

        return run

    def np_mul_backward():
        out = a * b
        return out, g * b, g * a

    def np_matmul_backward():
        out = a @ m
        return out, g @ m.T, np.outer(a, g) if a.ndim == 1 else a.T @ g

    def np_tanh_backward():
        t = np.tanh(a)
        return t, g * (1 - t * t)

    def np_sum_backward():
        return np.sum(a), np.broadcast_to(g_sum, a.shape).copy()

    def np_reshape_backward():
        return a.reshape(flat_shape), g_flat.reshape(a.shape)

    return {
        "add": (lambda: np.add(a, b), lambda: (np.add(a, b), g, g),
                lambda: tg.add(x, y), tg_backward(lambda: tg.add(x, y), g)),
        "mul": (lambda: np.multiply(a, b), np_mul_backward,
                lambda: tg.mul(x, y), tg_backward(lambda: tg.mul(x, y), g)),
        "matmul": (lambda: np.matmul(a, m), np_matmul_backward,
                   lambda: tg.matmul(x, w), tg_backward(lambda: tg.matmul(x, w), g)),
        "tanh": (lambda: np.tanh(a), np_tanh_backward,
                 lambda: tg.tanh(x), tg_backward(lambda: tg.tanh(x), g)),
        "sum": (lambda: np.sum(a), np_sum_backward,
                lambda: tg.sum(x), tg_backward(lambda: tg.sum(x), None)),
        "reshape": (lambda: a.reshape(flat_shape), np_reshape_backward,
                    lambda: tg.reshape(x, flat_shape), tg_backward(lambda: tg.reshape(x, flat_shape), g_flat)),
    }


def chain_case(shape, rng, length=100):
    """A chain of `length` ops alternating tanh and a multiply by a constant, per op."""
    x = leaf(shape, rng)
    a = x.data
    c = np.float32(0.99)
    g = np.ones(shape, np.float32)

    def numpy_chain():
        saved, v = [], a
        for _ in range(length // 2):
            v = np.tanh(v)
            saved.append(v)
            v = v * c
        grad = g
        for t in reversed(saved):
            grad = (grad * c) * (1 - t * t)
        return grad

    def tinygraph_chain():
        x.grad = None
        v = x
        for _ in range(length // 2):
            v = tg.tanh(v) * c
        v.backward(g)

    return numpy_chain, tinygraph_chain


GOAL_US = 2.5  # issue 15


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="timeit repeats; the best is reported")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    header = (f"{'op':<9}{'shape':<8}| {'numpy fwd':>9} {'tg fwd':>8} {'cost':>7} | "
              f"{'numpy f+b':>9} {'tg f+b':>8} {'cost':>7}")
    print("microseconds per op (best of %d); cost = tinygraph - numpy, the engine's share" % args.repeat)
    print(header)
    print("-" * len(header))
    for shape in [(4,), (8, 8)]:
        for name, (np_fwd, np_both, tg_fwd, tg_both) in cases(shape, rng).items():
            t = [best_microseconds(fn, args.repeat) for fn in (np_fwd, tg_fwd, np_both, tg_both)]
            print(f"{name:<9}{str(shape):<8}| {t[0]:9.2f} {t[1]:8.2f} {t[1] - t[0]:7.2f} | "
                  f"{t[2]:9.2f} {t[3]:8.2f} {t[3] - t[2]:7.2f}")
    costs = []
    for shape in [(4,), (8, 8)]:
        numpy_chain, tinygraph_chain = chain_case(shape, rng)
        per_op_np = best_microseconds(numpy_chain, args.repeat) / 100
        per_op_tg = best_microseconds(tinygraph_chain, args.repeat) / 100
        costs.append(per_op_tg - per_op_np)
        print(f"{'chain100':<9}{str(shape):<8}| {'':>9} {'':>8} {'':>7} | "
              f"{per_op_np:9.2f} {per_op_tg:8.2f} {per_op_tg - per_op_np:7.2f}   (per op, tanh/mul alternating)")
    # A single op's f+b row also pays backward()'s fixed cost once; a chain spreads it, as a model does.
    worst = max(costs)
    print(f"\ngoal: the engine's cost per recorded op (forward + backward, in a chain) <= {GOAL_US:.1f} us above NumPy: "
          f"{worst:.2f} us, {'met' if worst <= GOAL_US else 'NOT met'}")


if __name__ == "__main__":
    main()
