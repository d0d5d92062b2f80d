"""Second derivatives with tinygraph: a Hessian-vector product, Newton's method, and a gradient penalty in training.

    python examples/higher_order.py            # all three, a few seconds
    python examples/higher_order.py --quick    # fewer training epochs

`tg.grad(loss, inputs, create_graph=True)` records the backward pass itself, so the gradients it returns are Tensors
with a graph of their own: differentiating them again gives second derivatives (and so on, to any order).
"""
import argparse

import numpy as np

import tinygraph as tg
from tinygraph.layers import ActivationLayer, FCLayer


def hessian_vector_product(f, x, v):
    """H(x) @ v for a scalar f, without forming H: the gradient of <grad f(x), v> (two backward passes)."""
    (g,) = tg.grad(f(x), [x], create_graph=True)
    (hv,) = tg.grad((g * v).sum(), [x])
    return hv.data


def rosenbrock(x):
    """sum of 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2, whose Hessian is known in closed form."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


def demo_hessian_vector_product():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal(5), requires_grad=True)
    v = rng.standard_normal(5)
    hv = hessian_vector_product(rosenbrock, x, v)
    error = np.max(np.abs(hv - rosenbrock_hessian(x.data) @ v))
    print(f"Hessian-vector product of the 5-D Rosenbrock function: {np.round(hv, 4)}")
    print(f"  largest difference from the closed-form Hessian times v: {error:.2e}")
    return error


def hessian(f, x):
    """The full Hessian of a scalar f at a 1-D x, one row per Hessian-vector product with a unit vector."""
    (g,) = tg.grad(f(x), [x], create_graph=True)
    rows = [tg.grad(g[i], [x], retain_graph=True)[0].data for i in range(len(x))]
    return np.stack(rows), g.data


def demo_newton(steps=8):
    """Newton's method on an L2-regularised logistic regression: w <- w - H^-1 grad. The loss is strictly convex, so
    the gradient's norm falls quadratically (its exponent roughly doubles per step) once near the minimum."""
    rng = np.random.default_rng(1)
    features = rng.standard_normal((200, 3))
    labels = (features @ np.array([2.0, -1.0, 0.5]) + 0.3 * rng.standard_normal(200) > 0).astype(np.float64)
    x = np.hstack([features, np.ones((200, 1))])  # a constant feature for the bias

    def loss(w):
        return tg.binary_cross_entropy_with_logits(tg.matmul(tg.Tensor(x), w), labels) + 0.01 * (w * w).sum()

    w = np.zeros(4)
    print("Newton's method on a logistic regression (200 samples, 4 weights):")
    norms = []
    for step in range(steps):
        h, g = hessian(loss, tg.Tensor(w, requires_grad=True))
        norms.append(float(np.linalg.norm(g)))
        print(f"  step {step}: loss {float(loss(tg.Tensor(w)).data):.10f}   |gradient| {norms[-1]:.3e}")
        if norms[-1] < 1e-12:
            break
        w = w - np.linalg.solve(h, g)
    print(f"  weights: {np.round(w, 4)}")
    return norms


class InputWatch:
    """The network's first layer for a penalty on the input gradient: it passes each batch on as a fresh Tensor that
    requires grad, kept in `.input`, so that the loss function can differentiate with respect to it."""

    def __init__(self):
        self.input = None

    def __call__(self, x):
        self.input = tg.Tensor(x.data, requires_grad=True)
        return self.input


def gradient_penalty_loss(watch, weight):
    """Cross-entropy plus `weight` times the mean squared norm of the gradient of each sample's logit margin
    (z1 - z0) with respect to its input: the gradient penalty of WGAN-GP, there on a critic's output, which keeps
    the function learned smooth (its slope small) around the data."""

    def loss(pred, target):
        margin = (pred[:, 1] - pred[:, 0]).sum()  # samples are independent: row i of the gradient is sample i's
        (slope,) = tg.grad(margin, [watch.input], create_graph=True)
        return tg.cross_entropy(pred, target) + weight * (slope * slope).sum() / len(target)

    return loss


def mean_slope(net, watch, x):
    """The mean norm of d margin_i / d x_i over the samples: the quantity the penalty makes small."""
    out = net.forward(x)
    (slope,) = tg.grad((out[:, 1] - out[:, 0]).sum(), [watch.input])
    return float(np.mean(np.sqrt(np.sum(slope.data**2, axis=1))))


def demo_gradient_penalty(epochs=30):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((400, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # an XOR of the signs: a curved boundary
    results = {}
    for weight in (0.0, 0.02):
        watch = InputWatch()
        net = tg.Network(seed=0, dtype=np.float64).add(ActivationLayer(watch))
        for layer in (FCLayer(32), ActivationLayer("tanh"), FCLayer(32), ActivationLayer("tanh"), FCLayer(2)):
            net.add(layer)
        net.use(gradient_penalty_loss(watch, weight), optimizer="adam")
        net.fit(x, y, epochs=epochs, learning_rate=0.01, batch_size=32, verbose=0)
        results[weight] = (net.evaluate(x, y), mean_slope(net, watch, x))
    print(f"Training inside Network with a gradient penalty ({epochs} epochs, 400 points):")
    for weight, (accuracy, slope) in results.items():
        print(f"  penalty weight {weight:<4}: accuracy {accuracy:.3f}   mean |d margin / d input| {slope:.3f}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer training epochs (for tests)")
    args = parser.parse_args(argv)
    demo_hessian_vector_product()
    print()
    demo_newton()
    print()
    demo_gradient_penalty(epochs=8 if args.quick else 30)


if __name__ == "__main__":
    main()
