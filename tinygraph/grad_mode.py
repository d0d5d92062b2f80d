"""Whether ops record a graph: `no_grad()` turns recording off, as a context manager or a decorator.

The switch is per thread, as in PyTorch: `no_grad()` in one thread (a `predict` beside a training loop) never stops
another thread from recording.
"""
import contextlib
import threading


class _ThreadState(threading.local):
    """Each thread starts with recording on and an empty stack of modes to restore."""

    enabled = True

    def __init__(self):
        self.previous = []


state = _ThreadState()


class _GradMode(contextlib.ContextDecorator):
    """Set recording to `mode` inside, and restore it after."""

    mode = None

    def __enter__(self):
        # The previous modes live on the thread's stack, not on this object: one decorated function may run in
        # several threads at once, or call itself.
        state.previous.append(state.enabled)
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = state.previous.pop()
        return False


class no_grad(_GradMode):
    """Record nothing inside: results never require grad and hold no graph."""

    mode = False


class enable_grad(_GradMode):
    """Record again inside a `no_grad` block."""

    mode = True


def is_grad_enabled():
    """Whether ops record a graph in this thread."""
    return state.enabled
