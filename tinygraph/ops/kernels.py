"""The compiled kernels, or their NumPy references (the same results, more slowly) where none was built.

Ops call them through this module (`kernels.scatter_windows(...)`), so a test or a benchmark can swap in the
reference by setting the attribute here. The compiled kernels take float32 and float64 arrays (one dtype per call);
`compiled_for(*arrays)` says whether they take these, and otherwise an op calls the reference in conv_reference.
"""
import warnings

import numpy as np

try:
    from .conv_backward import (copy_windows, relu_gradient, relu_positive, scatter_windows, scatter_winners,
                                winograd_tiles, winograd_tiles_adjoint, winograd_untile, winograd_untile_adjoint)

    BACKEND = "compiled"
except ImportError:  # no compiler on this machine
    from .conv_reference import (copy_windows, relu_gradient, relu_positive, scatter_windows, scatter_winners,
                                 winograd_tiles, winograd_tiles_adjoint, winograd_untile, winograd_untile_adjoint)

    BACKEND = "numpy"
    warnings.warn(
        "tinygraph: the compiled kernel tinygraph.ops.conv_backward is not built, so convolution and pooling "
        "gradients use the slower NumPy reference; build it with `pip install -e .`",
        RuntimeWarning,
        stacklevel=2,
    )

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def compiled_for(*arrays):
    """Whether the kernels here take these arrays: one float32 or float64 dtype for all (any, with the reference)."""
    dtype = arrays[0].dtype
    return dtype in _FLOATS and all(a.dtype == dtype for a in arrays[1:])


__all__ = ["BACKEND", "compiled_for", "copy_windows", "relu_gradient", "relu_positive", "scatter_windows", "scatter_winners",
           "winograd_tiles", "winograd_tiles_adjoint", "winograd_untile", "winograd_untile_adjoint"]
