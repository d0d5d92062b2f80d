"""Second derivatives against PyTorch's (torch.autograd.grad with create_graph=True): random expressions over the
elementwise, reduction, shape and loss ops, and the convolutions and poolings channels-last."""
import numpy as np
import pytest

import tinygraph as tg

torch = pytest.importorskip("torch")
F = torch.nn.functional
SHAPE = (3, 4)

# Shape-keeping steps (3, 4) -> (3, 4), each as (tinygraph, torch); inputs are O(1), so no step overflows.
UNARY = {
    "tanh": (tg.tanh, torch.tanh),
    "sigmoid": (tg.sigmoid, torch.sigmoid),
    "sin": (tg.sin, torch.sin),
    "cos": (tg.cos, torch.cos),
    "exp of tanh": (lambda v: tg.exp(tg.tanh(v)), lambda v: torch.exp(torch.tanh(v))),
    "log of 1 + v²": (lambda v: tg.log(v * v + 1), lambda v: torch.log(v * v + 1)),
    "log1p, expm1": (lambda v: tg.log1p(tg.expm1(v) + 1.5), lambda v: torch.log1p(torch.expm1(v) + 1.5)),
    "sqrt": (lambda v: tg.sqrt(v * v + 0.5), lambda v: torch.sqrt(v * v + 0.5)),
    "pow 2.5": (lambda v: (v * v + 1) ** 1.25, lambda v: (v * v + 1) ** 1.25),
    "cube": (lambda v: v**3, lambda v: v**3),
    "softplus": (lambda v: tg.softplus(v, beta=2.0), lambda v: F.softplus(v, beta=2.0)),
    "gelu": (tg.gelu, F.gelu),
    "gelu tanh": (lambda v: tg.gelu(v, approximate="tanh"), lambda v: F.gelu(v, approximate="tanh")),
    "elu": (tg.elu, F.elu),
    "softmax": (lambda v: tg.softmax(v, axis=0), lambda v: torch.softmax(v, 0)),
    "log_softmax": (tg.log_softmax, lambda v: torch.log_softmax(v, -1)),
    "minus logsumexp": (lambda v: v - tg.logsumexp(v, axis=1, keepdims=True),
                        lambda v: v - torch.logsumexp(v, 1, keepdim=True)),
    "times max": (lambda v: v * tg.max(v, axis=0, keepdims=True), lambda v: v * v.max(0, keepdim=True).values),
    "times min": (lambda v: v * tg.min(v, axis=1, keepdims=True), lambda v: v * v.min(1, keepdim=True).values),
    "over std": (lambda v: v / tg.std(v, axis=1, keepdims=True), lambda v: v / v.std(1, keepdim=True, correction=0)),
    "times var": (lambda v: v * tg.var(v), lambda v: v * v.var(correction=0)),
    "times prod": (lambda v: v * tg.prod(v, axis=0, keepdims=True), lambda v: v * v.prod(0, keepdim=True)),
    "times mean": (lambda v: v * tg.mean(v), lambda v: v * v.mean()),
    "matmul square": (lambda v: v @ tg.transpose(v) @ v * 0.3, lambda v: v @ v.T @ v * 0.3),
    "repeated rows": (lambda v: v[np.array([2, 0, 2])] * v, lambda v: v[torch.tensor([2, 0, 2])] * v),
    "flip and pad": (lambda v: tg.pad(tg.flip(v, 1), 1)[1:-1, 1:-1],
                     lambda v: F.pad(v.flip(1), (1, 1, 1, 1))[1:-1, 1:-1]),
    "tile and reshape": (lambda v: tg.tile(v, (1, 2)).reshape(3, 2, 4).sum(axis=1) * v,
                         lambda v: v.tile((1, 2)).reshape(3, 2, 4).sum(1) * v),
    "clip": (lambda v: tg.clip(v, -0.8, 0.9) * v, lambda v: v.clamp(-0.8, 0.9) * v),
    "abs": (lambda v: tg.abs(v) * v, lambda v: v.abs() * v),
    "leaky_relu": (lambda v: tg.leaky_relu(v, 0.2) * v, lambda v: F.leaky_relu(v, 0.2) * v),
    "relu": (lambda v: tg.relu(v) * v, lambda v: torch.relu(v) * v),
    "swapaxes": (lambda v: tg.swapaxes(tg.expand_dims(v, 0), 0, 2).squeeze(2).T * v,
                 lambda v: v.unsqueeze(0).transpose(0, 2).squeeze(2).T * v),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "pow": (lambda a, b: (a * a + 0.5) ** tg.tanh(b), lambda a, b: (a * a + 0.5) ** torch.tanh(b)),
    "maximum": (tg.maximum, torch.maximum),
    "minimum": (tg.minimum, torch.minimum),
    "where": (lambda a, b: tg.where(a.data > b.data, a * b, a + b),
              lambda a, b: torch.where(a > b, a * b, a + b)),
    "matmul": (lambda a, b: tg.matmul(a, tg.transpose(b)) @ a * 0.5, lambda a, b: a @ b.T @ a * 0.5),
    "concatenate": (lambda a, b: tg.concatenate([a, b], axis=1)[:, 2:6], lambda a, b: torch.cat([a, b], 1)[:, 2:6]),
    "stack": (lambda a, b: tg.stack([a, b], axis=-1).sum(axis=-1) * a,
              lambda a, b: torch.stack([a, b], -1).sum(-1) * a),
}
# The scalar at the end: a loss of the (3, 4) result as logits, probabilities or predictions.
LABELS, SOFT = np.array([0, 3, 1]), np.random.default_rng(0).dirichlet(np.ones(4), 3)
ENDS = {
    "cross_entropy": (lambda v: tg.cross_entropy(v, LABELS), lambda v: F.cross_entropy(v, torch.tensor(LABELS))),
    "cross_entropy soft": (lambda v: tg.cross_entropy(v, SOFT), lambda v: F.cross_entropy(v, torch.tensor(SOFT))),
    "mse": (lambda v: tg.mse(v, SOFT), lambda v: F.mse_loss(v, torch.tensor(SOFT))),
    "bce with logits": (lambda v: tg.binary_cross_entropy_with_logits(v, SOFT),
                        lambda v: F.binary_cross_entropy_with_logits(v, torch.tensor(SOFT))),
    "bce": (lambda v: tg.binary_cross_entropy(tg.sigmoid(v), SOFT),
            lambda v: F.binary_cross_entropy(torch.sigmoid(v), torch.tensor(SOFT))),
    "weighted sum": (lambda v: (v * SOFT).sum(), lambda v: (v * torch.tensor(SOFT)).sum()),
}


def random_expression(seed, steps=5):
    """Two functions of two (3, 4) inputs, the same random chain of steps in tinygraph and in torch."""
    rng = np.random.default_rng(seed)
    # The first two steps and the end go through the tables in turn (so that 40 seeds draw every entry), the rest
    # are drawn at random.
    plan = [("unary", list(UNARY)[seed % len(UNARY)], 0), ("binary", list(BINARY)[seed % len(BINARY)], 1)]
    for _ in range(steps - 2):
        if rng.random() < 0.6:
            plan.append(("unary", list(UNARY)[rng.integers(len(UNARY))], rng.integers(10)))
        else:
            plan.append(("binary", list(BINARY)[rng.integers(len(BINARY))], rng.integers(10)))
    end = list(ENDS)[seed % len(ENDS)]

    def build(side):
        def f(x, y):
            values = [x, y]
            for kind, name, pick in plan:
                table = UNARY if kind == "unary" else BINARY
                args = [values[pick % len(values)]] + ([values[(pick + 1) % len(values)]] if kind == "binary" else [])
                # Each step is squashed back into O(1) by tanh, so a chain of cubes and exponentials stays finite.
                values.append((tg.tanh if side == 0 else torch.tanh)(table[name][side](*args)))
            return ENDS[end][side](values[-1] + 0.5 * values[-2] + 0.3 * x * y)  # depends on both inputs
        return f

    return build(0), build(1), [name for _, name, _ in plan] + [end]


def second_derivatives_tinygraph(f, inputs, directions):
    x = [tg.Tensor(a, requires_grad=True) for a in inputs]
    grads = tg.grad(f(*x), x, create_graph=True)
    total = sum((g * d).sum() for g, d in zip(grads, directions))
    return [g.data for g in grads], [h.data for h in tg.grad(total, x)]


def second_derivatives_torch(f, inputs, directions):
    x = [torch.tensor(a, requires_grad=True) for a in inputs]
    grads = torch.autograd.grad(f(*x), x, create_graph=True)
    total = sum((g * torch.tensor(d)).sum() for g, d in zip(grads, directions))
    return [g.detach().numpy() for g in grads], [h.numpy() for h in torch.autograd.grad(total, x)]


def assert_same_second_derivatives(f_tg, f_torch, shapes, seed, label):
    rng = np.random.default_rng(seed + 1000)
    inputs = [rng.standard_normal(s) for s in shapes]
    directions = [rng.standard_normal(s) for s in shapes]
    ours = second_derivatives_tinygraph(f_tg, inputs, directions)
    theirs = second_derivatives_torch(f_torch, inputs, directions)
    for order, (mine, torch_s) in enumerate(zip(ours, theirs), 1):
        for a, b in zip(mine, torch_s):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11, err_msg=f"{label}: derivative of order {order}")


@pytest.mark.parametrize("seed", range(40))
def test_random_expressions_match_torch(seed):
    f_tg, f_torch, steps = random_expression(seed)
    assert_same_second_derivatives(f_tg, f_torch, [SHAPE, SHAPE], seed, " -> ".join(steps))


def test_every_step_is_drawn_by_some_seed():
    drawn = {name for seed in range(40) for name in random_expression(seed)[2]}
    assert sorted((set(UNARY) | set(BINARY) | set(ENDS)) - drawn) == []


def nchw(t):
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


IMAGE_OPS = {
    "correlate": (lambda x, w: tg.correlate(x, w, stride=2, padding=1),
                  lambda x, w: nhwc(F.conv2d(nchw(x), nchw(w), stride=2, padding=1)), [(2, 7, 6, 3), (4, 3, 3, 3)]),
    "correlate dilated": (lambda x, w: tg.correlate(x, w, padding=(2, 1), dilation=2),
                          lambda x, w: nhwc(F.conv2d(nchw(x), nchw(w), padding=(2, 1), dilation=2)),
                          [(2, 6, 6, 2), (3, 3, 2, 2)]),
    "convolve": (lambda x, w: tg.convolve(x, w), lambda x, w: nhwc(F.conv2d(nchw(x), nchw(w).flip(2, 3))),
                 [(2, 5, 5, 2), (3, 2, 3, 2)]),
    "conv_transpose": (lambda x, w: tg.conv_transpose(x, w, stride=2, padding=1, output_padding=1),
                       lambda x, w: nhwc(F.conv_transpose2d(nchw(x), nchw(w), stride=2, padding=1, output_padding=1)),
                       [(2, 4, 3, 3), (3, 3, 3, 2)]),
    "maxpool padded": (lambda x, w: tg.maxpool(x * w, 3, stride=2, padding=1),
                       lambda x, w: nhwc(F.max_pool2d(nchw(x * w), 3, stride=2, padding=1)), [(2, 7, 6, 3), (3,)]),
    "maxpool": (lambda x, w: tg.maxpool(x * w), lambda x, w: nhwc(F.max_pool2d(nchw(x * w), 2)),
                [(2, 6, 6, 3), (3,)]),
    "avgpool padded": (lambda x, w: tg.avgpool(x * w, (3, 2), stride=1, padding=(1, 0)),
                       lambda x, w: nhwc(F.avg_pool2d(nchw(x * w), (3, 2), stride=1, padding=(1, 0))),
                       [(2, 5, 6, 3), (3,)]),
}


@pytest.mark.parametrize("name", IMAGE_OPS)
def test_convolutions_and_poolings_match_torch(name):
    op_tg, op_torch, shapes = IMAGE_OPS[name]
    f_tg = lambda x, w: (tg.tanh(op_tg(x, w)) ** 2).sum()  # noqa: E731 (nonlinear after the op: a full Hessian)
    f_torch = lambda x, w: (torch.tanh(op_torch(x, w)) ** 2).sum()  # noqa: E731
    assert_same_second_derivatives(f_tg, f_torch, shapes, len(name), name)
