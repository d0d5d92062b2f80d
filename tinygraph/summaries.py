"""Short texts about an array, for the pictures (graph labels, the backward-pass page): its values when it is
small, otherwise min / mean / max, the share of zeros (dead ReLUs) and the count of NaN and inf."""
import numpy as np

SMALL = 6  # up to this many elements, the values themselves are shown (micrograd-style)


def has_nonfinite(array):
    """Whether a float array holds a NaN or an inf."""
    array = np.asarray(array)
    return array.dtype.kind in "fc" and not bool(np.isfinite(array).all())


def number(value):
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def values(array):
    """The values with 4 significant digits, nested like the array: `[[1, 2.5], [-3, 0]]`."""
    array = np.asarray(array)
    if array.ndim == 0:
        return number(array.item())
    return "[" + ", ".join(values(sub) if sub.ndim else number(sub.item()) for sub in array) + "]"


def statistics(array):
    """['min=.. mean=.. max=..', 'zeros 37%', 'nan 2, inf 1'] (the last two only when there are any),
    over the finite values."""
    array = np.asarray(array)
    if array.size == 0:
        return ["empty"]
    finite = array[np.isfinite(array)] if array.dtype.kind in "fc" else array
    lines = []
    if finite.size:
        lines.append(f"min={number(finite.min())} mean={number(float(finite.mean(dtype=np.float64)))} "
                     f"max={number(finite.max())}")
    zeros = array.size - np.count_nonzero(array)
    if zeros:
        lines.append(f"zeros {100.0 * zeros / array.size:.0f}%")
    if finite.size != array.size:
        lines.append(f"nan {int(np.isnan(array).sum())}, inf {int(np.isinf(array).sum())}")
    return lines


def describe(array, name="data"):
    """One or a few lines: `data=[...]` when small, the statistics otherwise."""
    array = np.asarray(array)
    if array.size <= SMALL:
        return [f"{name}={values(array)}"]
    return statistics(array)


def norm(array):
    """The L2 norm, summed in float64 so that large float32 arrays do not overflow."""
    array = np.asarray(array)
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))
