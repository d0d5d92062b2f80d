"""Tensor: an ndarray that records the ops applied to it, and `as_tensor`, the one conversion to a Tensor.

This module sits at the bottom of the package: it imports nothing of tinygraph when it loads. The operators and
methods call the op functions through `ops`, which `tinygraph.ops` binds here when it loads (the ops build Tensors,
so they import this module, not the other way round); `backward()` imports the engine when it runs.
"""
import numpy as np

ops = None  # the module tinygraph.ops, bound by it when it loads
write_clock = 0  # counts in-place writes through tinygraph; each recorded op notes its value (see _note_write)

def _as_array(data):
    """Float data becomes float32 unless it is a float64 array; integer and bool data stay as they are.

    Python floats and lists of them become float32, as in PyTorch: only an explicit float64 array keeps float64.
    """
    array = np.asarray(data)
    if array.dtype.kind == "f":
        explicit64 = array.dtype == np.float64 and isinstance(data, (np.ndarray, np.generic))
        if array.dtype != np.float32 and not explicit64:
            array = array.astype(np.float32)
    elif array.dtype.kind not in "biu":
        raise TypeError(f"Tensor: data of dtype {array.dtype} is not supported; use float, integer or bool data")
    return array


class Tensor:
    """An n-dimensional array with an optional gradient and a link to the op that made it."""

    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_retains_grad", "_written_at", "__weakref__")
    # NumPy defers to Tensor's reflected operators, so `ndarray + Tensor` records the op.
    __array_ufunc__ = None

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
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)
    op = property(lambda self: None if self._ctx is None else self._ctx.function.name)

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a single-element tensor converts to a Python scalar, got shape {self.shape}")
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            if copy is False:
                raise ValueError(f"Tensor of dtype {self.dtype} cannot become {np.dtype(dtype)} without a copy")
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        # Explicit, since the fallback through __getitem__ would stop only on an IndexError, which apply rewraps.
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        parts = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        if self._ctx is not None:
            parts.append(f"op={self._ctx.function.name}")
        elif self.requires_grad:
            parts.append("requires_grad=True")
        return f"Tensor({', '.join(parts)})"

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
                f"with shape {self.shape}"
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
        from . import engine

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
        from .grad_mode import is_grad_enabled

        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"setitem: this tensor of shape {self.shape} requires grad, and in-place writes are not recorded; "
                f"change its values inside `with tg.no_grad():`, or build a new tensor (e.g. tg.where(mask, v, t))"
            )
        self.data[index] = value.data if isinstance(value, Tensor) else value
        self._note_write()

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

    def __bool__(self):
        # Without this, truth would fall back to __len__ and `Tensor([5.0]) == 0` would count as true.
        return bool(self.data)

    # ----- methods that mirror tinygraph.<name> ------------------------------------------------------------
    def add(self, other):
        return self + other

    def sub(self, other):
        return self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return ops.neg(self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return self @ other

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis=axis, keepdims=keepdims)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def tanh(self):
        return ops.tanh(self)

    def relu(self):
        return ops.relu(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def softmax(self, axis=-1):
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis=-1):
        return ops.log_softmax(self, axis=axis)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def flatten(self, start_axis=0):
        return ops.flatten(self, start_axis=start_axis)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]  # t.transpose(None) and t.transpose((1, 0)), as in NumPy
        return ops.transpose(self, tuple(axes) if axes else None)

    @property
    def T(self):
        return ops.transpose(self, None)

    def pad(self, pad_width, value=0.0):
        return ops.pad(self, pad_width, value=value)

    def mse(self, target):
        return ops.mse(self, target)

    def cross_entropy(self, target):
        return ops.cross_entropy(self, target)

    def correlate(self, w, b=None, stride=1, padding=0):
        return ops.correlate(self, w, b, stride=stride, padding=padding)

    def convolve(self, w, b=None, stride=1, padding=0):
        return ops.convolve(self, w, b, stride=stride, padding=padding)

    def maxpool(self, pool_shape=(2, 2), stride=2):
        return ops.maxpool(self, pool_shape=pool_shape, stride=stride)

    def avgpool(self, pool_shape=(2, 2), stride=2):
        return ops.avgpool(self, pool_shape=pool_shape, stride=stride)



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
        array = np.asarray(x)
        if like.data.dtype.kind == "f" and array.dtype.kind in "biuf" and array.dtype != like.data.dtype:
            array = array.astype(like.data.dtype)
        x = array
    return Tensor._wrap(_as_array(x), False, None)
