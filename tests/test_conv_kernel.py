"""The compiled col2im kernel against its NumPy specification, bit for bit."""
import os

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.ops import conv_reference, kernels

compiled = pytest.importorskip("tinygraph.ops.conv_backward")

# (N, Ho, Wo, kh, kw, C, sh, sw, extra rows, extra cols): overlapping, tiling, gapped windows, margins.
CASES = [
    (2, 4, 5, 3, 3, 2, 1, 1, 0, 0),
    (1, 3, 3, 5, 4, 3, 2, 1, 1, 0),
    (3, 2, 2, 2, 2, 1, 2, 2, 0, 1),
    (2, 5, 4, 3, 2, 4, 3, 2, 2, 2),
    (1, 6, 6, 3, 3, 1, 1, 1, 0, 0),
    (2, 3, 4, 1, 1, 5, 1, 1, 0, 0),
    (1, 1, 1, 4, 4, 2, 1, 1, 0, 0),
    (0, 2, 2, 2, 2, 2, 1, 1, 0, 0),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_equals_reference_exactly(case, dtype):
    n, ho, wo, kh, kw, c, sh, sw, extra_h, extra_w = case
    windows = np.random.default_rng(sum(case)).standard_normal((n, ho, wo, kh, kw, c)).astype(dtype)
    shape = (n, (ho - 1) * sh + kh + extra_h, (wo - 1) * sw + kw + extra_w, c)
    fast, slow = np.zeros(shape, dtype), np.zeros(shape, dtype)
    compiled.scatter_windows(windows, fast, sh, sw)
    conv_reference.scatter_windows(windows, slow, sh, sw)
    assert np.array_equal(fast, slow)


def test_scatter_adds_into_existing_values():
    windows = np.ones((1, 2, 2, 2, 2, 1))
    out = np.full((1, 3, 3, 1), 10.0)
    compiled.scatter_windows(windows, out, 1, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], 10 + np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]))


@pytest.mark.parametrize("kernel", [compiled.scatter_windows, conv_reference.scatter_windows])
def test_scatter_rejects_windows_that_do_not_fit(kernel):
    windows = np.zeros((1, 3, 3, 2, 2, 1))
    with pytest.raises(ValueError, match=r"scatter_windows: windows of shape \(1, 3, 3, 2, 2, 1\)"):
        kernel(windows, np.zeros((1, 3, 4, 1)), 1, 1)
    with pytest.raises(ValueError, match="strides must be >= 1"):
        kernel(windows, np.zeros((1, 4, 4, 1)), 0, 1)


def test_compiled_rejects_mixed_dtypes_and_non_contiguous():
    with pytest.raises((TypeError, ValueError)):
        compiled.scatter_windows(np.zeros((1, 2, 2, 2, 2, 1)), np.zeros((1, 3, 3, 1), np.float32), 1, 1)
    with pytest.raises(ValueError):
        compiled.scatter_windows(np.zeros((1, 2, 2, 2, 2, 2))[..., ::2], np.zeros((1, 3, 3, 1)), 1, 1)


@pytest.mark.parametrize("stride, padding, kernel", [(1, 1, (3, 3)), (2, (2, 1), (3, 2)), ((2, 1), 0, (5, 5))])
def test_input_gradient_same_with_either_kernel(monkeypatch, stride, padding, kernel):
    rng = np.random.default_rng(4)
    x = tg.Tensor(rng.standard_normal((3, 8, 7, 2)), requires_grad=True)
    w = rng.standard_normal((4, *kernel, 2))
    g = rng.standard_normal(tg.correlate(x, w, stride=stride, padding=padding).shape)
    tg.correlate(x, w, stride=stride, padding=padding).backward(g)
    fast = x.grad
    x.grad = None
    monkeypatch.setattr(kernels, "scatter_windows", conv_reference.scatter_windows)
    tg.correlate(x, w, stride=stride, padding=padding).backward(g)
    assert np.array_equal(fast, x.grad)


def test_windows_view_matches_skimage():
    from skimage.util import view_as_windows

    from tinygraph.ops.windows import sliding_windows

    x = np.arange(2 * 7 * 8 * 3, dtype=np.float32).reshape(2, 7, 8, 3)
    for kh, kw, sh, sw in [(3, 3, 1, 1), (2, 3, 2, 1), (5, 4, 3, 2)]:
        expected = view_as_windows(x, (1, kh, kw, 3), (1, sh, sw, 1))[:, :, :, 0, 0]
        assert np.array_equal(sliding_windows(x, kh, kw, sh, sw), expected)
        # A non-contiguous (reversed) input gives the same windows as its contiguous copy.
        flipped = view_as_windows(x[:, ::-1].copy(), (1, kh, kw, 3), (1, sh, sw, 1))[:, :, :, 0, 0]
        assert np.array_equal(sliding_windows(x[:, ::-1], kh, kw, sh, sw), flipped)


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI must have the compiled kernel")
def test_compiled_backend_in_ci():
    assert kernels.BACKEND == "compiled"


def test_falls_back_to_numpy_with_one_warning():
    import subprocess
    import sys

    script = (
        "import sys, warnings\n"
        "sys.modules['tinygraph.ops.conv_backward'] = None\n"  # makes the import fail, as without a compiler
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import numpy as np, tinygraph as tg\n"
        "    from tinygraph.ops import kernels\n"
        "    x = tg.Tensor(np.ones((1, 5, 5, 2)), requires_grad=True)\n"
        "    tg.maxpool(tg.correlate(x, np.ones((3, 3, 3, 2)), padding=1), 3, 1).sum().backward()\n"
        "print(kernels.BACKEND, sum('compiled kernel' in str(w.message) for w in caught), x.grad.sum())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split()[:2] == ["numpy", "1"]
