"""The compiled kernels, or their NumPy references (the same results, more slowly) where none was built.

Ops call them through this module (`kernels.scatter_windows(...)`), so a test or a benchmark can swap in the
reference by setting the attribute here.
"""
import warnings

try:
    from .conv_backward import scatter_windows

    BACKEND = "compiled"
except ImportError:  # no compiler on this machine
    from .conv_reference import scatter_windows

    BACKEND = "numpy"
    warnings.warn(
        "tinygraph: the compiled kernel tinygraph.ops.conv_backward is not built, so convolution and pooling "
        "gradients use the slower NumPy reference; build it with `pip install -e .`",
        RuntimeWarning,
        stacklevel=2,
    )

__all__ = ["BACKEND", "scatter_windows"]
