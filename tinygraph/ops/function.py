"""The Function base class, the Context that links a result to its inputs, and `apply`."""
from .. import anomaly, grad_mode
from .. import tensor as _tensor
from ..tensor import Tensor, as_tensor

_state = grad_mode.state  # the per-thread switches, bound once: apply reads two of them per op
_wrap = Tensor._wrap  # the engine's constructor, bound once


class Context:
    """One node of the graph: the function that ran (`function`), its input tensors (`parents`), its attributes
    (`attrs`, also readable as `ctx.axis` and kin), the arrays it saved (`saved_arrays`), which inputs want a
    gradient (`needs_input_grad`) and the write clock when it ran (`clock`). `apply` fills it in."""

    __slots__ = ("function", "parents", "attrs", "saved_arrays", "needs_input_grad", "clock", "__dict__")

    def save_for_backward(self, *arrays):
        self.saved_arrays = arrays


class Function:
    """An op: `forward(ctx, *arrays, **attrs) -> ndarray`, `backward(ctx, grad) -> one gradient (or None) per input`.

    Arguments are checked by the op's public function before `apply`: an error raised inside forward or backward is
    a bug of tinygraph's and keeps its traceback.
    """

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


def apply(function, *inputs, **attrs):
    """Run `function` forward on the inputs' data and, when a gradient is wanted, link the result into the graph."""
    for x in inputs:
        if not isinstance(x, Tensor):
            inputs = tuple(as_tensor(x) for x in inputs)
            break
    count = len(inputs)
    # Known before forward runs, so that an op can skip what only backward needs when no gradient is wanted.
    needs = ()
    if _state.enabled:
        if count == 1:
            if inputs[0].requires_grad:
                needs = _FIRST_ONLY
        elif count == 2:
            first, second = inputs[0].requires_grad, inputs[1].requires_grad
            if first or second:
                needs = (first, second)
        else:
            needs = tuple([t.requires_grad for t in inputs])
            if True not in needs:
                needs = ()
    # The context filled in here rather than by an __init__: a class call with a Python __init__ costs 80 ns more
    # per op (measured), a tenth of a small op's cost.
    ctx = _new(Context)
    ctx.function = function
    ctx.parents = inputs
    ctx.attrs = attrs
    ctx.saved_arrays = ()
    ctx.needs_input_grad = needs
    ctx.clock = _tensor.write_clock if needs else 0
    if attrs:
        # Non-array arguments (axis, stride, ...) are read in backward as `ctx.axis`: instance attributes, not a
        # __getattr__, whose mere presence slows every attribute read of every context (14 ns each, measured; the
        # engine and a backward formula make about eight per op).
        ctx.__dict__.update(attrs)
        out = function.forward(ctx, *[t.data for t in inputs], **attrs)
    # One and two inputs unpacked by hand: a list and a star call would cost a fifth of a small op (measured).
    elif count == 1:
        out = function.forward(ctx, inputs[0].data)
    elif count == 2:
        out = function.forward(ctx, inputs[0].data, inputs[1].data)
    else:
        out = function.forward(ctx, *[t.data for t in inputs])
    if _state.anomaly:  # the one cost of anomaly mode when it is off
        anomaly.after_forward(ctx, out)
    if needs:
        return _wrap(out, True, ctx)
    return _wrap(out, False, None)


_FIRST_ONLY = (True,)  # needs_input_grad of every recorded one-input op, shared
_new = object.__new__


def array_of(a):
    """The array behind a saved array: itself, or its data when a recorded backward (create_graph) runs the formula
    on the Tensor it came from. Masks and indices computed from it are constants of the recorded graph, which is
    right: their derivative is zero."""
    return a.data if isinstance(a, Tensor) else a


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
