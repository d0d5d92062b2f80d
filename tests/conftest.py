"""Shared fixtures: a seeded generator, a factory for leaf tensors in a chosen domain, and Tensors of ones."""
import numpy as np
import pytest
from cases import sample

from tinygraph import Tensor, grad_mode


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def leaf(rng):
    """leaf(shape, domain="real", dtype=np.float64, requires_grad=True) -> Tensor.

    `domain` is one of the op table's: "real", "positive", "away_from_zero", or a sampler (rng, shape) -> ndarray.
    """

    def make(shape, domain="real", dtype=np.float64, requires_grad=True):
        return Tensor(np.asarray(sample(rng, shape, domain), dtype=dtype), requires_grad=requires_grad)

    return make


@pytest.fixture
def ones():
    """ones(*shape) -> a float64 Tensor of ones requiring grad, the usual input of an error test."""
    return lambda *shape: Tensor(np.ones(shape), requires_grad=True)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing no_grad test must not leave recording switched off for the tests after it."""
    yield
    grad_mode.state.enabled = True
    grad_mode.state.previous.clear()
