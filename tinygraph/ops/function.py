"""The Function base class, the Context that links a result to its inputs, and `apply`."""
import numpy as np

from .. import grad_mode
from ..tensor import Tensor


class Context:
    """One node of the graph: the op that ran, its input tensors, its attributes and saved arrays."""

    __slots__ = ("op", "parents", "attrs", "saved_tensors", "needs_input_grad", "__dict__")

    def __init__(self, op, parents, attrs):
        self.op = op
        self.parents = parents
        self.attrs = attrs
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def __getattr__(self, name):
        # Non-array arguments (axis, stride, ...) are read in backward as `ctx.axis`.
        try:
            return self.attrs[name]
        except KeyError:
            raise AttributeError(name) from None

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @property
    def freed(self):
        """backward() without retain_graph has released the saved arrays."""
        return self.saved_tensors is None


class Function:
    """An op: `forward(ctx, *arrays, **attrs) -> ndarray`, `backward(ctx, grad) -> one gradient (or None) per input`."""

    name = None

    @staticmethod
    def forward(ctx, *arrays, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name is None:
            cls.name = cls.__name__.lower()


def describe_shapes(arrays):
    return ", ".join(str(tuple(np.shape(a))) for a in arrays)


def apply(op, *inputs, **attrs):
    """Run `op` forward on the inputs' data and, when a gradient is wanted, link the result into the graph."""
    for x in inputs:
        if not isinstance(x, Tensor):
            inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
            break
    ctx = Context(op, inputs, attrs)
    # Known before forward runs, so that an op can skip what only backward needs when no gradient is wanted.
    if grad_mode.enabled:
        needs = tuple([t.requires_grad for t in inputs])
        if True in needs:
            ctx.needs_input_grad = needs
    arrays = [t.data for t in inputs]
    try:
        out = op.forward(ctx, *arrays, **attrs)
    except (ValueError, TypeError, IndexError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"{op.name}: {err} (input shapes {describe_shapes(arrays)})") from None
    if ctx.needs_input_grad:
        return Tensor._wrap(out, True, ctx)
    return Tensor._wrap(out, False, None)


def unbroadcast(grad, shape):
    """The adjoint of broadcasting `shape` up to `grad.shape`: sum over the axes broadcasting added or stretched."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if extra >= 0:
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"a gradient of shape {grad.shape} does not broadcast to the input's shape {shape}")
    return grad
