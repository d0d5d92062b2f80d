"""Helpers for the special-case op tests: gradients of a sum, and agreement with PyTorch (values and gradients)."""
import numpy as np
import pytest

from tinygraph import Tensor


def leaves(*arrays):
    return [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]


def value_and_grads(fn, *arrays):
    """fn(*leaves) as an array and the gradients of its sum, one per input (zeros where none arrived)."""
    inputs = leaves(*arrays)
    out = fn(*inputs)
    out.sum().backward()
    return out.data, [np.zeros(t.shape) if t.grad is None else t.grad for t in inputs]


def assert_matches_torch(fn, torch_fn, *arrays, rtol=1e-12, atol=1e-14, seed=0):
    """fn(*Tensors) and torch_fn(*torch tensors) agree in float64, in value and in the gradient of a random
    projection of the output (NaN matching NaN)."""
    torch = pytest.importorskip("torch")
    ours = leaves(*arrays)
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, expected = fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    direction = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(direction)
    expected.backward(torch.tensor(direction))
    for position, (t, u) in enumerate(zip(ours, theirs)):
        got = np.zeros(t.shape) if t.grad is None else t.grad
        want = np.zeros(t.shape) if u.grad is None else u.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"gradient of input {position}")
