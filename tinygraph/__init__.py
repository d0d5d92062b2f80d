"""tinygraph: a small, fast, exactly correct autograd engine for NumPy."""
from . import allocator

allocator.keep_freed_memory()  # freed arrays stay mapped for the next step (allocator.py; TINYGRAPH_MALLOC=default)
from .tensor import Tensor, as_tensor
from .grad_mode import detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad
from .anomaly import AnomalyError
from .engine import grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import ops
from .ops import *  # noqa: F401,F403  (every op, as listed in ops.__all__)
from .creation import arange, eye, full, ones, rand, randn, zeros
from . import numpy_protocol  # noqa: F401  (binds Tensor's NumPy protocol: np.tanh(t), np.sum(t) record ops)
from . import datasets, layers
from .network import Network, NeuralNetwork
from .derivative_check import DerivativeWarning
from .optim import SGD, Adam
from .viz import draw_graph, save_graph
from .explain import explain_backward

__version__ = "0.1.0"

__all__ = [
    "Tensor", "as_tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad", "gradcheck", "gradgradcheck",
    "GradcheckError", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    *ops.__all__,
    "zeros", "ones", "full", "arange", "eye", "randn", "rand",
    "Network", "NeuralNetwork", "DerivativeWarning", "SGD", "Adam", "draw_graph", "save_graph", "explain_backward",
    "datasets", "layers",
]


def __getattr__(name):
    # `tinygraph.plot` loads matplotlib, so it is imported on first use rather than with the package.
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'tinygraph' has no attribute {name!r}")
