"""Whether ops record a graph: `no_grad()` turns recording off, as a context manager or a decorator; whether
they check for NaN and inf: `detect_anomaly()` turns checking on.

The switches are per thread, as in PyTorch: `no_grad()` in one thread (a `predict` beside a training loop) never
stops another thread from recording.
"""
import contextlib
import threading


class _ThreadState(threading.local):
    """Each thread starts with recording on, anomaly checks off and empty stacks of modes to restore."""

    enabled = True
    anomaly = False  # read by apply (forward) and the engine (backward); see tinygraph/anomaly.py
    in_recorded_backward = False  # set by the engine while a backward pass is recorded (create_graph)

    def __init__(self):
        self.previous = []
        self.anomaly_previous = []
        self.in_recorded_backward_previous = []


state = _ThreadState()


class _GradMode(contextlib.ContextDecorator):
    """Set the thread's switch `switch` (recording, by default) to `mode` inside, and restore it after."""

    mode = None
    switch, stack = "enabled", "previous"

    def __new__(cls, *args, **kwargs):
        # Bare as a decorator (@no_grad, as PyTorch allows): else detect_anomaly(f) would take f for its mode and
        # the decorated name would silently become a context manager instead of the function.
        if len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        # The previous modes live on the thread's stack, not on this object: one decorated function may run in
        # several threads at once, or call itself.
        getattr(state, self.stack).append(getattr(state, self.switch))
        setattr(state, self.switch, self.mode)
        return self

    def __exit__(self, *exc):
        setattr(state, self.switch, getattr(state, self.stack).pop())
        return False


class no_grad(_GradMode):
    """Record nothing inside: results never require grad and hold no graph."""

    mode = False


class enable_grad(_GradMode):
    """Record again inside a `no_grad` block."""

    mode = True


class detect_anomaly(_GradMode):
    """Inside, every op's output (forward) and every gradient (backward) is checked for NaN and inf, and saved
    arrays for writes between forward and backward: the first fault raises `AnomalyError` naming the op, its input
    shapes and the line of your code that created it. Slow: for finding a fault, not for training.
    `detect_anomaly(False)` turns the checks off inside."""

    switch, stack = "anomaly", "anomaly_previous"

    def __init__(self, mode=True):
        self.mode = bool(mode)


def is_anomaly_enabled():
    """Whether ops check for NaN and inf in this thread."""
    return state.anomaly


def is_grad_enabled():
    """Whether ops record a graph in this thread."""
    return state.enabled


class recorded_backward(_GradMode):
    """The engine's mode while it records a backward pass (create_graph): ops record, and a Tensor that requires grad
    refuses to become a plain array (which would silently cut the graph of the gradient)."""

    mode = True
    switch, stack = "in_recorded_backward", "in_recorded_backward_previous"
