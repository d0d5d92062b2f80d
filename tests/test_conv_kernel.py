"""The compiled col2im kernel against its NumPy specification, bit for bit; the windows view, dilated too."""
import os

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.ops import conv_reference, kernels

compiled = pytest.importorskip("tinygraph.ops.conv_backward")

# (N, Ho, Wo, kh, kw, C, sh, sw, extra rows, extra cols[, dh, dw]): overlapping, tiling, gapped windows, margins,
# dilations below, equal to and above the stride (dilated taps of neighbouring windows interleave).
CASES = [
    (2, 4, 5, 3, 3, 2, 1, 1, 0, 0),
    (1, 3, 3, 5, 4, 3, 2, 1, 1, 0),
    (3, 2, 2, 2, 2, 1, 2, 2, 0, 1),
    (2, 5, 4, 3, 2, 4, 3, 2, 2, 2),
    (1, 6, 6, 3, 3, 1, 1, 1, 0, 0),
    (2, 3, 4, 1, 1, 5, 1, 1, 0, 0),
    (1, 1, 1, 4, 4, 2, 1, 1, 0, 0),
    (0, 2, 2, 2, 2, 2, 1, 1, 0, 0),
    (2, 4, 5, 3, 3, 2, 1, 1, 0, 0, 2, 2),
    (1, 3, 4, 3, 2, 3, 2, 1, 1, 2, 3, 1),
    (2, 5, 4, 2, 3, 1, 2, 3, 0, 1, 2, 2),
    (1, 4, 4, 3, 3, 4, 3, 3, 0, 0, 1, 4),
    (1, 2, 3, 1, 4, 2, 1, 2, 1, 1, 5, 3),
    (1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 3, 2),
]


def _scatter_pair(case, dtype):
    """The case's windows and two zero outputs they fit in."""
    n, ho, wo, kh, kw, c, sh, sw, extra_h, extra_w, dh, dw = (*case, 1, 1)[:12]
    windows = np.random.default_rng(sum(case)).standard_normal((n, ho, wo, kh, kw, c)).astype(dtype)
    shape = (n, (ho - 1) * sh + (kh - 1) * dh + 1 + extra_h, (wo - 1) * sw + (kw - 1) * dw + 1 + extra_w, c)
    return windows, np.zeros(shape, dtype), np.zeros(shape, dtype), (sh, sw, dh, dw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_equals_reference_exactly(case, dtype):
    windows, fast, slow, geometry = _scatter_pair(case, dtype)
    compiled.scatter_windows(windows, fast, *geometry)
    conv_reference.scatter_windows(windows, slow, *geometry)
    assert np.array_equal(fast, slow)
    assert (fast != 0).any() or windows.size == 0


@pytest.mark.parametrize("kernel", [compiled.scatter_windows, conv_reference.scatter_windows])
def test_dilated_scatter_matches_its_definition(kernel):
    windows, out, _, (sh, sw, dh, dw) = _scatter_pair(CASES[9], np.float64)
    kernel(windows, out, sh, sw, dh, dw)
    expected = np.zeros_like(out)
    for n, i, j, a, b, c in np.ndindex(windows.shape):
        expected[n, i * sh + a * dh, j * sw + b * dw, c] += windows[n, i, j, a, b, c]
    np.testing.assert_allclose(out, expected, rtol=1e-14)


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
    with pytest.raises(ValueError, match="dilations must be >= 1"):
        kernel(windows, np.zeros((1, 4, 4, 1)), 1, 1, 0, 1)
    # Dilated 2x2 windows span 3x3: (3 - 1) * 1 + 3 = 5 rows are needed, 4 given.
    with pytest.raises(ValueError, match=r"and dilation \(2, 1\) do not fit into out of shape \(1, 4, 5, 1\)"):
        kernel(windows, np.zeros((1, 4, 5, 1)), 1, 1, 2, 1)


def test_compiled_rejects_mixed_dtypes_and_non_contiguous():
    with pytest.raises((TypeError, ValueError)):
        compiled.scatter_windows(np.zeros((1, 2, 2, 2, 2, 1)), np.zeros((1, 3, 3, 1), np.float32), 1, 1)
    with pytest.raises(ValueError):
        compiled.scatter_windows(np.zeros((1, 2, 2, 2, 2, 2))[..., ::2], np.zeros((1, 3, 3, 1)), 1, 1)


@pytest.mark.parametrize(
    "stride, padding, kernel, dilation",
    [(1, 1, (3, 3), 1), (2, (2, 1), (3, 2), 1), ((2, 1), 0, (5, 5), 1), (1, 2, (3, 3), 2), ((2, 3), 1, (2, 3), (3, 2))],
)
def test_input_gradient_same_with_either_kernel(monkeypatch, stride, padding, kernel, dilation):
    rng = np.random.default_rng(4)
    x = tg.Tensor(rng.standard_normal((3, 8, 7, 2)), requires_grad=True)
    w = rng.standard_normal((4, *kernel, 2))
    args = {"stride": stride, "padding": padding, "dilation": dilation}
    g = rng.standard_normal(tg.correlate(x, w, **args).shape)
    tg.correlate(x, w, **args).backward(g)
    fast = x.grad
    x.grad = None
    monkeypatch.setattr(kernels, "scatter_windows", conv_reference.scatter_windows)
    tg.correlate(x, w, **args).backward(g)
    assert np.array_equal(fast, x.grad)


@pytest.mark.parametrize(
    "stride, padding, output_padding, dilation", [(1, 0, 0, 1), (2, 1, 1, 1), ((3, 2), 1, (2, 0), (1, 2))]
)
def test_conv_transpose_same_with_either_kernel(monkeypatch, stride, padding, output_padding, dilation):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((3, 3, 2, 4))
    args = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}
    fast = tg.conv_transpose(x, w, **args).data
    monkeypatch.setattr(kernels, "scatter_windows", conv_reference.scatter_windows)
    assert np.array_equal(fast, tg.conv_transpose(x, w, **args).data)


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


@pytest.mark.parametrize("kh, kw, sh, sw, dh, dw", [(3, 3, 1, 1, 2, 2), (2, 3, 2, 1, 3, 1), (2, 2, 1, 3, 1, 4)])
@pytest.mark.parametrize("flip", [False, True], ids=["contiguous", "reversed"])
def test_dilated_windows_are_a_view_of_every_dh_th_row_of_the_spanning_window(kh, kw, sh, sw, dh, dw, flip):
    from skimage.util import view_as_windows

    from tinygraph.ops.windows import offset_views, sliding_windows

    x = np.arange(2 * 9 * 10 * 3, dtype=np.float64).reshape(2, 9, 10, 3)
    x = x[:, ::-1] if flip else x
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    spanning = view_as_windows(np.ascontiguousarray(x), (1, span_h, span_w, 3), (1, sh, sw, 1))[:, :, :, 0, 0]
    windows = sliding_windows(x, kh, kw, sh, sw, dh, dw)
    assert np.array_equal(windows, spanning[:, :, :, ::dh, ::dw])
    assert np.shares_memory(windows, x)  # a view: dilation copies nothing
    for k, view in enumerate(offset_views(x, kh, kw, sh, sw, dh, dw)):
        assert np.array_equal(view, windows[:, :, :, k // kw, k % kw])


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
