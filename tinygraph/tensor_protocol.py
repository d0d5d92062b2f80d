"""What a Tensor shows and which PyTorch habits it answers: its printed form, `size`, and `dim=` / `keepdim=`.

Imports nothing of tinygraph but grad_mode (tensor.py, at the bottom of the package, uses it when it loads).

PyTorch spellings are accepted where they mean what tinygraph's mean (`dim=` for `axis=`, `keepdim=` for
`keepdims=`, `.t()`, `.view()`, `.unsqueeze()`, `.permute()`, `.numel()`, `.dim()`), and answered with an error showing
tinygraph's spelling where PyTorch's meaning differs: `x.size()` (size is NumPy's element count), `x.max(dim=1)`
(PyTorch returns values and indices) and `x.sum(dim=())` (PyTorch reduces every axis, NumPy none).
"""
import functools
import inspect

import numpy as np

from .grad_mode import state as _grad_state

# Shown without a dtype, as PyTorch leaves out its defaults: what Tensor([0.5]), Tensor([1]) and Tensor([True]) give.
DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int_), np.dtype(np.bool_))


def tensor_repr(data, requires_grad=False, op=None, name=None):
    """`Tensor([[0.1, 0.2]], requires_grad=True, op=tanh)`: the values as NumPy prints them, then what differs
    from a plain constant."""
    data = np.asarray(data)
    parts = [np.array2string(data, separator=", ", prefix="Tensor(", suffix=")")]
    if data.size == 0 and data.ndim != 1:
        parts.append(f"shape={data.shape}")  # `[]` alone does not say which axes are empty
    if data.dtype not in DEFAULT_DTYPES:
        parts.append(f"dtype={data.dtype}")
    if requires_grad:
        parts.append("requires_grad=True")
    if op is not None:
        parts.append(f"op={op}")
    if name:
        parts.append(f"name={name!r}")
    return f"Tensor({', '.join(parts)})"


class Size(int):
    """`Tensor.size`: the number of elements, an int as in NumPy. Calling it, as PyTorch's `x.size()`, says what to
    write instead rather than failing with "'int' object is not callable"."""

    def __new__(cls, size, shape):
        out = super().__new__(cls, size)
        out.shape = shape
        return out

    def __call__(self, *dim):
        raise TypeError(f"size: in tinygraph `size` is the number of elements ({int(self)}), an int as in NumPy, not "
                        f"a method; for PyTorch's x.size() write x.shape (here {self.shape}), for x.size(d) write "
                        f"x.shape[d]")

    def __repr__(self):
        return int.__repr__(self)

    __str__ = __repr__


def one_element(tensor, where):
    """The value of a one-element tensor as a Python scalar; otherwise an error naming `where` and the shape."""
    if tensor.data.size != 1:
        raise ValueError(f"{where}: only a one-element tensor converts to a Python scalar, got shape {tensor.shape}"
                         f"{'' if tensor.data.size else ' (empty)'}")
    return tensor.data.item()


# ----- dim= and keepdim= -----------------------------------------------------------------------------------------

_NUMPY_KEYWORDS = {"axis", "keepdims", "ddof"}  # the common case: nothing to translate

# PyTorch's max(dim=d) / min(dim=d) return (values, indices); tinygraph's return the values only.
_TUPLE_RESULTS = {"max": "argmax", "min": "argmin"}


def _numpy_keywords(name, kwargs):
    """kwargs with dim= as axis= and keepdim= as keepdims=, or an error where PyTorch means something else."""
    kwargs = dict(kwargs)
    if "dim" in kwargs:
        if "axis" in kwargs:
            raise TypeError(f"{name}: got both dim= (PyTorch's spelling) and axis=; write axis= only")
        dim = kwargs.pop("dim")
        if name in _TUPLE_RESULTS:
            raise TypeError(f"{name}: PyTorch's {name}(dim=d) returns (values, indices); tinygraph's {name}(axis=d) "
                            f"returns the values only: write x.{name}(axis=d), and x.{_TUPLE_RESULTS[name]}(axis=d) "
                            f"for the indices")
        if isinstance(dim, (tuple, list)) and not dim:
            raise ValueError(f"{name}: dim={dim!r} reduces every axis in PyTorch but none in NumPy; write axis=None "
                             f"to reduce every axis, or axis=() for none")
        if name in ("var", "std") and not {"ddof", "correction", "unbiased"} & kwargs.keys():
            raise TypeError(f"{name}: PyTorch's {name}(dim=d) divides by n - 1, NumPy's {name}(axis=d) by n; write "
                            f"x.{name}(axis=d, ddof=1) for PyTorch's result, or ddof=0 for NumPy's")
        kwargs["axis"] = dim
    if "correction" in kwargs or "unbiased" in kwargs:  # PyTorch's names for ddof
        if "ddof" in kwargs or ("correction" in kwargs and "unbiased" in kwargs):
            raise TypeError(f"{name}: give one of ddof= (tinygraph's spelling), correction= and unbiased=")
        kwargs["ddof"] = kwargs.pop("correction") if "correction" in kwargs else int(bool(kwargs.pop("unbiased")))
    if "keepdim" in kwargs:
        if "keepdims" in kwargs:
            raise TypeError(f"{name}: got both keepdim= (PyTorch's spelling) and keepdims=; write keepdims= only")
        kwargs["keepdims"] = kwargs.pop("keepdim")
    return kwargs


def with_torch_keywords(function):
    """`function` (an op or a Tensor method that takes `axis`) also taking PyTorch's `dim=` and `keepdim=`, or
    refusing them with tinygraph's spelling where PyTorch's meaning differs."""
    name = function.__name__

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if kwargs and not kwargs.keys() <= _NUMPY_KEYWORDS:
            kwargs = _numpy_keywords(name, kwargs)
        return function(*args, **kwargs)

    return wrapper


def takes_axis(function):
    return inspect.isfunction(function) and "axis" in inspect.signature(function).parameters


def accept_torch_keywords(cls):
    """Let every public method of `cls` that takes `axis` take PyTorch's `dim=` (and `keepdim=`) too: done once for
    the whole class, so each reduction, softmax or join method gets it however and whenever it is added."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and takes_axis(member):
            setattr(cls, name, with_torch_keywords(member))
    return cls


# ----- PyTorch names tinygraph answers with its own spelling -------------------------------------------------------

TORCH_HINTS = {
    "type": "x.dtype for the dtype, x.astype(dtype) to convert",
    "to": "x.astype(dtype) to convert; tinygraph runs on the CPU with NumPy, so there is no device to move to",
    "cuda": "tinygraph runs on the CPU with NumPy: drop .cuda()",
    "cpu": "tinygraph runs on the CPU with NumPy: drop .cpu()",
    "half": "tinygraph computes in float32 or float64: x.astype(np.float32)",
    "zero_": "x.grad = None clears a gradient (net.zero_grad() or optimizer.zero_grad() for all of them)",
    "backward_": "x.backward()",
    "data_ptr": "x.data is the NumPy array itself",
    "contiguous": "tinygraph never needs contiguous data: use x itself",
    "expand": "x.broadcast_to(shape)",
    "masked_fill": "tg.where(mask, value, x)",
    "bmm": "x @ y (matmul batches over leading axes)",
    "norm": "x.square().sum().sqrt()",
    "chunk": "tg.split(x, sections, axis=...)",
    "gather": "x[index] with integer arrays",
    "item_": "x.item()",
}


# In-place spellings PyTorch users try beyond `<method>_` of tinygraph's own methods.
_TORCH_IN_PLACE = ("fill_", "copy_", "uniform_", "normal_", "clamp_", "add_", "sub_", "mul_", "div_", "pow_")


class _TorchSpelling:
    """A class attribute of Tensor named as PyTorch's: reading it raises AttributeError with tinygraph's spelling.
    Attributes rather than a __getattr__, whose mere presence slows every attribute read of every Tensor
    (Python 3.11 cannot specialise them: measured 45 ns a read, about a tenth of the engine's cost per op)."""

    def __init__(self, name, hint):
        self.name, self.hint = name, hint

    def __get__(self, obj, owner=None):
        raise AttributeError(f"Tensor has no attribute {self.name!r} (a PyTorch spelling): {self.hint}")


def install_torch_spellings(cls):
    """Give `cls` a _TorchSpelling for each PyTorch name it lacks: TORCH_HINTS and the in-place `<method>_`."""
    existing = set(dir(cls))
    methods = [name for name in existing if not name.startswith("_") and callable(getattr(cls, name, None))]
    for name in {*TORCH_HINTS, *_TORCH_IN_PLACE, *(m + "_" for m in methods)} - existing:
        setattr(cls, name, _TorchSpelling(name, torch_hint(name)))
    return cls


def torch_hint(name):
    """What to write instead of PyTorch's `x.name`, or None when `name` means nothing to PyTorch either."""
    if name in TORCH_HINTS:
        return TORCH_HINTS[name]
    if name.endswith("_") and not name.startswith("_"):
        # In-place ops (exp_, add_, clamp_) are not recorded: the result is a new tensor.
        base = name[:-1]
        return f"in-place ops are not recorded; write x = x.{base}(...) (or, for a parameter, change it inside " \
               f"`with tg.no_grad():` with x -= ... or x[...] = ...)"
    return None


class TensorConversions:
    """A mixin of Tensor: what turns a Tensor into Python and NumPy values (float(t), np.asarray(t), repr)."""

    __slots__ = ()

    def numpy(self):
        return self.data if type(self.data) is np.ndarray else np.asarray(self.data)  # 0-d results may be scalars

    def item(self):
        return one_element(self, "item")

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(one_element(self, "float"))

    def __int__(self):
        return int(one_element(self, "int"))

    def __bool__(self):
        # Without this, truth would fall back to __len__ and `Tensor([5.0]) == 0` would count as true.
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor with {self.data.size} elements (shape {self.shape}) "
                             f"is ambiguous; write t.numpy().any() or t.numpy().all()")
        return bool(self.data)

    def __format__(self, spec):
        """f"{t:.3f}" formats the value of a one-element tensor; f"{t}" is str(t)."""
        if not spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(f"format: the spec {spec!r} formats one number, got a tensor of shape {self.shape}; "
                            f"format its elements (e.g. [f'{{v:{spec}}}' for v in t.tolist()]) or print it whole")
        return format(self.data.item(), spec)

    # PyTorch's spellings of the properties (see tensor_protocol)
    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __array__(self, dtype=None, copy=None):
        if _grad_state.in_recorded_backward and self.requires_grad:
            raise RuntimeError(
                f"a Tensor of shape {self.shape} that requires grad was turned into an array while a backward pass was "
                f"recorded (create_graph=True), which would cut its gradient off; the op's backward must use Tensor "
                f"operations here (this is a bug in that op's backward formula)"
            )
        data = self.data if type(self.data) is np.ndarray else np.asarray(self.data)  # 0-d results may be scalars
        if dtype is not None and dtype != data.dtype:
            if copy is False:
                raise ValueError(f"Tensor of dtype {self.dtype} cannot become {np.dtype(dtype)} without a copy")
            return data.astype(dtype)
        return data.copy() if copy else data

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        # Explicit: Python's fallback would end only by calling __getitem__ one past the end and catching its error.
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return tensor_repr(self.data, self.requires_grad, self.op, self.name)
