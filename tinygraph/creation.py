"""Tensors made from shapes, as NumPy's and PyTorch's constructors make arrays: zeros, ones, full, arange, eye,
randn, rand. Float results are float32 unless `dtype` says otherwise; `requires_grad` makes a parameter."""
import numpy as np

from . import checks
from .tensor import Tensor


def _shape(where, shape):
    """zeros(2, 3) as PyTorch writes it, or zeros((2, 3)) as NumPy does, as a tuple of non-negative ints."""
    return checks.shape(where, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def _made(array, dtype, requires_grad):
    return Tensor(np.asarray(array, dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=np.float32, requires_grad=False):
    """A tensor of zeros of `shape`."""
    return _made(np.zeros(_shape("zeros", shape)), dtype, requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False):
    """A tensor of ones of `shape`."""
    return _made(np.ones(_shape("ones", shape)), dtype, requires_grad)


def full(shape, value, dtype=np.float32, requires_grad=False):
    """A tensor of `shape` filled with `value`."""
    return _made(np.full(checks.shape("full", shape), value), dtype, requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """start, start + step, ... below stop (NumPy's arange): integers stay integers unless `dtype` is a float, and
    floats are float32 unless `dtype` says otherwise."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = np.float32  # NumPy's float64 array would count as an explicit float64 for Tensor
    return Tensor(values if dtype is None else values.astype(dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=np.float32, requires_grad=False):
    """The n x m identity."""
    return _made(np.eye(n, m), dtype, requires_grad)


def randn(*shape, dtype=np.float32, requires_grad=False):
    """Standard normal samples of `shape`, from NumPy's global generator (np.random.seed makes them repeatable)."""
    return _made(np.random.standard_normal(_shape("randn", shape)), dtype, requires_grad)


def rand(*shape, dtype=np.float32, requires_grad=False):
    """Uniform samples in [0, 1) of `shape`, from NumPy's global generator."""
    return _made(np.random.random_sample(_shape("rand", shape)), dtype, requires_grad)
