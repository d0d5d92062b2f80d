"""Shared fixtures: a seeded generator and a factory for float64 leaf tensors in a chosen domain."""
import numpy as np
import pytest

from tinygraph import Tensor, grad_mode


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def leaf(rng):
    """leaf(shape, domain="real"|"positive"|"away_from_zero", dtype=np.float64) -> Tensor requiring grad."""

    def make(shape, domain="real", dtype=np.float64, requires_grad=True):
        data = rng.standard_normal(shape)
        if domain == "positive":
            data = rng.uniform(0.5, 2.0, shape)
        elif domain == "away_from_zero":
            # Kinks (relu) and poles (1/x) sit at 0; a central difference must not straddle them.
            data = rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        return Tensor(np.asarray(data, dtype=dtype), requires_grad=requires_grad)

    return make


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing no_grad test must not leave recording switched off for the tests after it."""
    yield
    grad_mode.state.enabled = True
    grad_mode.state.previous.clear()
