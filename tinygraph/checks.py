"""The argument checks that ops, layers, the network and the data loaders share: one place for each rule.

Each check takes `where` (the op or layer, e.g. "maxpool" or "ConvolutionalLayer") to name in its error, and
returns the value in the form the caller stores.
"""
import numbers

import numpy as np

from .tensor import Tensor, as_tensor

PADDING_FORMS = 'an int, (rows, cols), "valid" or "same"'


def is_int(value):
    """A whole number (Python or NumPy), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def positive_int(where, what, value):
    """A positive whole number as an int."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive int, got {value!r}")
    return int(value)


def shape(where, value):
    """A shape: an int or a sequence of non-negative ints, as a tuple of ints."""
    dims = (value,) if np.ndim(value) == 0 else tuple(value)
    if not all(is_int(n) and n >= 0 for n in dims):
        raise ValueError(f"{where}: a shape is made of non-negative ints, got {value!r}")
    return tuple(int(n) for n in dims)


def positive_pair(where, what, value):
    """An int or a pair of ints, each at least 1, as a pair of ints."""
    if type(value) is int and value >= 1:  # the common case, without the generic checks
        return value, value
    pair = _int_pair(value)
    if pair is None:
        raise ValueError(f"{where}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{where}: {what} must be >= 1, got {value!r}")
    return pair


def _int_pair(value):
    """An int (for both) or a sequence of two ints as a pair of Python ints; None for anything else."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        return None
    return int(pair[0]), int(pair[1])


def padding(where, value):
    """Padding as "valid", "same" or a pair (rows, cols) of non-negative ints."""
    if isinstance(value, str):
        if value.lower() not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be {PADDING_FORMS}, got {value!r}")
        return value.lower()
    pair = _int_pair(value)
    if pair is None:
        raise ValueError(f"{where}: padding must be {PADDING_FORMS}, got {value!r}")
    if min(pair) < 0:
        raise ValueError(f"{where}: padding must not be negative, got {value!r}")
    return pair


def axes(where, axis, shape):
    """`axis` (None, an int or a tuple of ints, negatives allowed) as a sorted tuple of non-negative axes."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without the generic checks
        return (axis % ndim,)
    return tuple(sorted(ordered_axes(where, axis, shape)))


def ordered_axes(where, axis, shape, ndim=None):
    """`axis` (an int or a sequence of ints, negatives allowed) as a tuple of distinct non-negative axes in the order
    given, out of `ndim` axes: the input's by default (expand_dims counts the result's)."""
    counted = len(shape) if ndim is None else ndim
    parts = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    for ax in parts:
        if not is_int(ax):
            raise TypeError(f"{where}: axis must be an int or a tuple of ints, got {axis!r} (input shape {shape})")
        if not -counted <= ax < counted:
            raise ValueError(f"{where}: axis {ax} is out of range for {'a tensor' if ndim is None else 'a result'} "
                             f"with {counted} axes (input shape {shape})")
    out = tuple(int(ax) % counted for ax in parts)
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: axis {axis!r} repeats an axis (input shape {shape})")
    return out


def layout_hint(shape, weight=None):
    """For an image op's or layer's error: "" unless `shape` (a batch (N, H, W, C) or one (H, W, C) sample) looks
    channels-first, having fewer rows than channels; then a sentence on the layout and the transpose that fixes it,
    and on PyTorch's `weight` layout (e.g. "(F, C, kh, kw)") where the op takes one."""
    if len(shape) not in (3, 4) or shape[-3] >= shape[-1]:
        return ""
    batch = ("a PyTorch-layout batch (N, C, H, W) needs x.transpose(0, 2, 3, 1)" if len(shape) == 4 else
             "a PyTorch-layout sample (C, H, W) needs x.transpose(1, 2, 0)")
    filters = "" if weight is None else f", and a PyTorch weight {weight} needs w.transpose(0, 2, 3, 1)"
    return f"; tinygraph is channels-last, (N, H, W, C) as in Keras; {batch}{filters}"


def with_layout_hint(err, shape, weight=None):
    """`err` (an image op's ValueError) with `layout_hint(shape, weight)` added when it has one."""
    hint = layout_hint(shape, weight)
    return ValueError(f"{err}{hint}") if hint else err


def image_samples(where, sample_shape):
    """The shape of one image (H, W, C), without the batch axis, as a tuple; any other is refused, (H, W) with the
    fix for one-channel images."""
    sample_shape = tuple(sample_shape)
    if len(sample_shape) != 3:
        one_channel = "; for one-channel images (N, H, W), pass x[..., None]" if len(sample_shape) == 2 else ""
        raise ValueError(f"{where}: expects batches of shape (N, H, W, C), got samples of shape {sample_shape}"
                         f"{one_channel}")
    return sample_shape


def window_fits(where, what, window, sample_shape, padding=(0, 0), dilation=(1, 1)):
    """Refuse (H, W, C) samples smaller, after `padding` (rows, cols) on each side, than a `window` (rows, cols; its
    taps `dilation` apart) of filters or pooling; a sample that looks channels-first is told the layout."""
    if any(d * (k - 1) + 1 > n + 2 * p for d, k, n, p in zip(dilation, window, sample_shape[:2], padding)):
        padded = "" if tuple(padding) == (0, 0) else f" padded by {tuple(padding)}"
        dilated = "" if tuple(dilation) == (1, 1) else f" with dilation {tuple(dilation)}"
        raise ValueError(f"{where}: samples of shape {tuple(sample_shape)} (H, W, C){padded} are smaller than the "
                         f"{window[0]}x{window[1]} {what}{dilated}" + layout_hint((None, *sample_shape)))


def keywords(where, given, spellings, accepted=None):
    """Refuse the keywords in `given` that the call does not take (every one, or each not in `accepted`): another
    library's spelling (`spellings`: its name -> (tinygraph's name, why)) with the one to write, any other as
    Python does."""
    for name, value in given.items():
        if accepted is not None and name in accepted:
            continue
        if name in spellings and (accepted is None or spellings[name][0] in accepted):
            ours, why = spellings[name]
            raise TypeError(f"{where}: write {ours}={value!r}, not {name}= ({why})")
        if accepted is None:
            raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")


def one_axis(where, axis, shape):
    """`axis` as one non-negative axis."""
    if axis is None or np.ndim(axis) != 0:
        raise TypeError(f"{where}: axis must be one int, got {axis!r}")
    return axes(where, axis, shape)[0]


def verbosity(where, value):
    """A `verbose` level: 0 (silent), 1 (a line per epoch) or 2 (with its time); True and False as 1 and 0."""
    if isinstance(value, (bool, np.bool_)) or (is_int(value) and 0 <= value <= 2):
        return int(value)
    raise ValueError(f"{where}: verbose must be 0 (silent), 1 (a line per epoch) or 2 (with its time), got {value!r}")


def finite_number(where, what, value):
    """A finite real number (Python or NumPy, not a bool) as a Python float, so that it keeps float32 float32."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {what} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{where}: {what} must be finite, got {value!r}")
    return float(value)


def broadcast_shape(where, *shapes, inputs=None):
    """The shape `shapes` broadcast to, or a ValueError naming the op, the shapes and the `inputs`' shapes."""
    if len(shapes) == 2:  # the common cases without np.broadcast_shapes (1.7 µs, half the cost of a small op)
        first, second = shapes
        if first == second or not second:
            return first
        if not first:
            return second
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        detail = "" if inputs is None else f" (input shapes {', '.join(map(str, inputs))})"
        raise ValueError(f"{where}: shapes {', '.join(map(str, shapes))} do not broadcast together{detail}") from None


def label_range(where, labels, classes):
    """Integer labels, each in [0, classes)."""
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{where}: labels must lie in [0, {classes}) i.e. 0..{classes - 1}, "
                         f"got {labels.min()}..{labels.max()} for shape {labels.shape}")
    return labels


def as_array(where, what, value):
    """`value` (an array, a Tensor or nested lists) as an ndarray; a ragged list is refused naming `where`."""
    try:
        return np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError as err:  # NumPy's "inhomogeneous shape" names neither the call nor the argument
        raise ValueError(f"{where}: {what} must be an array with rows of equal length, got a ragged list ({err})") \
            from None


def float_inputs(where, x, dtype=None):
    """A non-empty batch of inputs as a float array without NaN or infinities, in `dtype` when given (a network's),
    else float32 unless float64."""
    x = as_array(where, "the inputs", x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{where}: inputs must be numbers, got dtype {x.dtype}")
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"{where}: expected a non-empty batch of samples, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{where}: the samples have shape {x.shape[1:]}, which holds no values; give each sample at "
                         f"least one feature")
    if dtype is None:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    cast = x.dtype.kind == "f" and x.dtype != dtype
    with np.errstate(over="ignore"):
        x = x.astype(dtype, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: the inputs of shape {x.shape} contain NaN or infinite values"
                         f"{f' (as {np.dtype(dtype).name})' if cast else ''}")
    return x


# ----- dtype rules (README "Semantics"): NumPy's, except where a float32 model would silently become float64 -----

def promote(a, b):
    """a and b as Tensors of the dtypes an op on them computes in: a number or array takes the float dtype of the
    Tensor beside it, and an integer or bool operand takes the float operand's dtype (NumPy would widen int64 with
    float32 to float64; PyTorch keeps float32). Two Tensors of one kind follow NumPy (float32 with float64 gives
    float64)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor) and a.data.dtype is b.data.dtype:
            return a, b
        b = as_tensor(b, a)
    elif isinstance(b, Tensor):
        a = as_tensor(a, b)
    else:
        a, b = as_tensor(a), as_tensor(b)
    float_a, float_b = a.data.dtype.kind == "f", b.data.dtype.kind == "f"
    if float_a and not float_b:
        b = Tensor._wrap(b.data.astype(a.data.dtype), False, None)
    elif float_b and not float_a:
        a = Tensor._wrap(a.data.astype(b.data.dtype), False, None)
    return a, b


def floating(x):
    """x as a float Tensor: integer and bool data become float32 (the default float), for ops whose result is a
    float whatever the input (true division, fractional powers, losses)."""
    if type(x) is Tensor and x.data.dtype.kind == "f":  # the common case, first
        return x
    x = as_tensor(x)
    return x if x.data.dtype.kind == "f" else Tensor._wrap(x.data.astype(np.float32), False, None)
