"""Tensor: an ndarray that records the ops applied to it, and `as_tensor`, the one conversion to a Tensor.

This module sits at the bottom of the package: when it loads it imports nothing of tinygraph but grad_mode (the
per-thread switches), tensor_methods (the methods that mirror the ops) and tensor_protocol (its printed form and
PyTorch spellings), which import nothing of tinygraph beyond one another. The operators and
methods call the op functions through `ops`, which `tinygraph.ops` binds here when it loads (the ops build Tensors,
so they import this module, not the other way round); `backward()` calls `engine`, which tinygraph.engine binds.
"""
import sys
import types

import numpy as np

from .grad_mode import state as _grad_state
from .tensor_methods import TensorMethods
from .tensor_protocol import Size, TensorConversions, accept_torch_keywords, install_torch_spellings

ops = None  # the module tinygraph.ops, bound by it when it loads
numpy_protocol = None  # the module tinygraph.numpy_protocol, bound by it when it loads
engine = None  # the module tinygraph.engine, bound by it when it loads (an import per backward() costs 0.2 us)
write_clock = 0  # counts in-place writes through tinygraph; each recorded op notes its value (see _note_write)

def _as_array(data):
    """Float data becomes float32 unless it is a float64 array; integer and bool data stay as they are.

    Python floats and lists of them become float32, as in PyTorch: only an explicit float64 array keeps float64.
    """
    try:
        array = np.asarray(data)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"Tensor: the data cannot form an array ({err})") from None
    if array.dtype.kind == "f":
        explicit64 = array.dtype == np.float64 and isinstance(data, (np.ndarray, np.generic))
        if array.dtype != np.float32 and not explicit64:
            array = array.astype(np.float32)
    elif array.dtype.kind not in "biu":
        raise TypeError(f"Tensor: data of dtype {array.dtype} is not supported; use float, integer or bool data")
    return array


class Tensor(TensorMethods, TensorConversions):
    """An n-dimensional array with an optional gradient and a link to the op that made it.

    `Tensor(array)` shares a NumPy array of float32, float64, integers or bools, as `torch.from_numpy` and
    `torch.as_tensor` do (not `torch.tensor`, which copies): `t.data is array`, so a write into either is a write
    into both, and an optimizer step on `Tensor(w, requires_grad=True)` updates `w` itself. Sharing keeps a data
    set or a weight matrix in memory once; pass `array.copy()` for a tensor of its own. Lists, Python numbers and
    arrays of other float dtypes (float16 becomes float32) are copied. A write into a shared array between forward
    and backward is the one kind of change the version counter cannot see; `detect_anomaly()` catches it.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_retains_grad", "_written_at", "__weakref__")

    # NumPy's ufuncs and functions on a Tensor (np.tanh(t), np.sum(t), `ndarray + t`) record the same ops as the
    # methods; tinygraph.numpy_protocol holds the tables and refuses, by name, what it cannot differentiate.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return numpy_protocol.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return numpy_protocol.array_function(func, types, args, kwargs)

    def __init__(self, data, requires_grad=False, name=None, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        array = _as_array(data if dtype is None else np.asarray(data, dtype=dtype))
        if dtype is not None and array.dtype != np.dtype(dtype):
            raise TypeError(f"Tensor: dtype {np.dtype(dtype)} is not supported; use float32, float64, integers or bool")
        self.data = array
        self.grad = None
        self.requires_grad = False
        self.name = name
        self._ctx = None
        self._retains_grad = False
        self._written_at = 0
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad, ctx):
        """The engine's constructor: no conversion or checks, since ops already return proper arrays."""
        t = object.__new__(cls)
        t.data = array
        t.grad = None
        t.requires_grad = requires_grad
        t.name = None
        t._ctx = ctx
        t._retains_grad = False
        t._written_at = 0
        return t

    def _note_write(self):
        """Called by every in-place write through tinygraph (optimizer steps, `t[...] = v`): a graph recorded
        before it that saved this tensor's data then refuses to run backward on the changed values."""
        global write_clock
        write_clock += 1
        self._written_at = write_clock

    # ----- array-like properties -------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: Size(self.data.size, self.data.shape))  # an int; calling it says "use .shape"
    is_leaf = property(lambda self: self._ctx is None)
    op = property(lambda self: None if self._ctx is None else self._ctx.function.name)

    # ----- gradient state --------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if not requires_grad and self._ctx is not None:
            raise ValueError(
                f"requires_grad_: only a leaf's flag can be turned off (this tensor of shape {self.shape} is the "
                f"result of {self._ctx.function.name}); use detach() for a copy cut from the graph"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only float tensors can require grad, got dtype {self.data.dtype} "
                f"with shape {self.shape}; convert first, e.g. Tensor(x.astype(np.float32), requires_grad=True)"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after `backward()` (leaves always keep theirs)."""
        self._retains_grad = True
        return self

    def zero_grad(self):
        self.grad = None

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data, False, None)

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) · grad into `.grad` of every leaf that requires grad; with `create_graph`,
        record the backward pass too (`.grad` then holds Tensors that can be differentiated again)."""
        engine.backward(self, grad, retain_graph, create_graph)

    # ----- operators ---------------------------------------------------------------------------------------
    def __add__(self, other):
        return ops.add(self, other if isinstance(other, Tensor) else as_tensor(other, self))

    def __radd__(self, other):
        return ops.add(as_tensor(other, self), self)

    def __sub__(self, other):
        return ops.sub(self, other if isinstance(other, Tensor) else as_tensor(other, self))

    def __rsub__(self, other):
        return ops.sub(as_tensor(other, self), self)

    def __mul__(self, other):
        return ops.mul(self, other if isinstance(other, Tensor) else as_tensor(other, self))

    def __rmul__(self, other):
        return ops.mul(as_tensor(other, self), self)

    def __truediv__(self, other):
        return ops.div(self, other if isinstance(other, Tensor) else as_tensor(other, self))

    def __rtruediv__(self, other):
        return ops.div(as_tensor(other, self), self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.pow(as_tensor(base, self), self)

    def __matmul__(self, other):
        return ops.matmul(self, other if isinstance(other, Tensor) else as_tensor(other, self))

    def __rmatmul__(self, other):
        return ops.matmul(as_tensor(other, self), self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def __setitem__(self, index, value):
        """Write values in place, as NumPy does. Not recorded: a tensor that requires grad can be changed only
        under `no_grad()` (as in PyTorch), and a graph that saved its old values then refuses to run backward."""
        if self.requires_grad and _grad_state.enabled:
            raise RuntimeError(
                f"setitem: this tensor of shape {self.shape} requires grad, and in-place writes are not recorded; "
                f"change its values inside `with tg.no_grad():`, or build a new tensor (e.g. tg.where(mask, v, t))"
            )
        value = value.data if isinstance(value, Tensor) else value
        self._write("setitem", lambda data: data.__setitem__(index, value), "")

    # x -= y and kin. Under no_grad, or on tensors outside any graph, they write in place as NumPy does (the
    # hand-written SGD step `with tg.no_grad(): w -= lr * w.grad`). While recording, a result that requires grad gets
    # the recorded op and a new tensor (as `x = x - y`); a leaf that requires grad is refused, as in PyTorch.
    def _in_place(self, symbol, op, ufunc, other):
        recording = _grad_state.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if recording:
            if self._ctx is None and self.requires_grad:
                raise RuntimeError(
                    f"{symbol}: this tensor of shape {self.shape}{f' ({self.name!r})' if self.name else ''} is a leaf "
                    f"that requires grad, and in-place updates of it are not recorded; update a parameter inside "
                    f"`with tg.no_grad():` (e.g. `with tg.no_grad(): w -= lr * w.grad`), or write x = x {symbol[0]} y"
                )
            return op(self, other)
        other = other.data if isinstance(other, Tensor) else other
        self._write(symbol, lambda data: ufunc(data, other, out=data, casting="same_kind"),
                    f"; write x = x {symbol[0]} y for a new tensor")
        return self

    def _write(self, where, write, hint):
        """`write(self.data)` in place, noted; NumPy's error (which names neither the operation nor this tensor)
        raised again with both and `hint`."""
        if type(self.data) is not np.ndarray:  # a 0-d op result may hold a NumPy scalar, which cannot be written into
            self.data = np.array(self.data)
        try:
            write(self.data)
        except (IndexError, TypeError, ValueError) as err:
            kind = next(k for k in (IndexError, TypeError, ValueError) if isinstance(err, k))
            raise kind(f"{where}: cannot write into this tensor of shape {self.shape} and dtype {self.dtype} in "
                       f"place: {err}{hint}") from None
        self._note_write()

    def __iadd__(self, other):
        return self._in_place("+=", ops.add, np.add, other)

    def __isub__(self, other):
        return self._in_place("-=", ops.sub, np.subtract, other)

    def __imul__(self, other):
        return self._in_place("*=", ops.mul, np.multiply, other)

    def __itruediv__(self, other):
        return self._in_place("/=", ops.div, np.true_divide, other)

    # Comparisons give bool tensors with no gradient.
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(fn(self.data, other), False, None)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__

    # & | ^ ~ combine bool masks (x > 0) & (x < 1), with no gradient, as comparisons give.
    def _bitwise(self, other, fn, symbol):
        other = other.data if isinstance(other, Tensor) else other
        if self.data.dtype.kind not in "biu" or np.asarray(other).dtype.kind not in "biu":
            raise TypeError(f"{symbol}: combines bool masks such as (x > 0) {symbol} (x < 1), got dtypes "
                            f"{self.data.dtype} and {np.asarray(other).dtype}")
        return Tensor._wrap(fn(self.data, other), False, None)

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "&")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "|")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return self._bitwise(True, lambda a, _: np.invert(a), "~")


accept_torch_keywords(Tensor)  # the methods defined here (the mirrored ops get it in tensor_methods)
install_torch_spellings(Tensor)  # x.cuda(), x.exp_() ... answered with tinygraph's spelling


# Numbers that go straight to a float Tensor's dtype beside it (an int past int64, which np.asarray would make an
# object array, becomes a float, as in NumPy's `float32_array * 2**70`).
_NUMBERS = (float, int, np.float32, np.float64)


def as_tensor(x, like=None):
    """`x` as a Tensor: a Tensor as it is, anything else as a constant that records no gradient.

    With `like` (a Tensor), float or integer data takes like's float dtype, so that a Python float or a float64
    array never upcasts a float32 computation.
    """
    if isinstance(x, Tensor):
        return x
    if like is not None:
        if type(x) is np.ndarray and x.dtype is like.data.dtype:
            return Tensor._wrap(x, False, None)
        if like.data.dtype.kind == "f":  # beside an integer Tensor a Python float stays a Python float (float32)
            if type(x) in _NUMBERS:  # the common constant (0.5 * t): one conversion, not asarray and astype
                return Tensor._wrap(np.asarray(x, like.data.dtype), False, None)
            array = np.asarray(x)
            if array.dtype.kind in "biuf":
                if array.dtype is not like.data.dtype and array.dtype != like.data.dtype:
                    array = array.astype(like.data.dtype)
                return Tensor._wrap(array, False, None)  # a float array in like's dtype: as _as_array leaves it
            x = array
    return Tensor._wrap(_as_array(x), False, None)


class _TensorModule(types.ModuleType):
    """This module, which is also callable: `tinygraph.tensor(data, ...)`, PyTorch's spelling, makes a Tensor (the
    package attribute `tensor` is this module, so a plain function of that name could not be reached)."""

    def __call__(self, data, requires_grad=False, name=None, dtype=None):
        return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


sys.modules[__name__].__class__ = _TensorModule
