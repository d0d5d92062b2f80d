"""Whether ops record a graph: `no_grad()` turns recording off, as a context manager or a decorator."""
import contextlib

enabled = True


class no_grad(contextlib.ContextDecorator):
    """Record nothing inside: results never require grad and hold no graph."""

    def __init__(self):
        # A stack, not one slot: a decorated function may call itself (or another user of the same instance).
        self._previous = []

    def __enter__(self):
        global enabled
        self._previous.append(enabled)
        enabled = False
        return self

    def __exit__(self, *exc):
        global enabled
        enabled = self._previous.pop()
        return False


class enable_grad(contextlib.ContextDecorator):
    """Record again inside a `no_grad` block."""

    def __init__(self):
        # A stack, as in no_grad.
        self._previous = []

    def __enter__(self):
        global enabled
        self._previous.append(enabled)
        enabled = True
        return self

    def __exit__(self, *exc):
        global enabled
        enabled = self._previous.pop()
        return False


def is_grad_enabled():
    return enabled
