"""Whether ops record a graph: `no_grad()` turns recording off, as a context manager or a decorator."""
import contextlib

enabled = True


class _GradMode(contextlib.ContextDecorator):
    """Set recording to `mode` inside, and restore it after."""

    mode = None

    def __init__(self):
        # A stack, not one slot: a decorated function may call itself (or another user of the same instance).
        self._previous = []

    def __enter__(self):
        global enabled
        self._previous.append(enabled)
        enabled = self.mode
        return self

    def __exit__(self, *exc):
        global enabled
        enabled = self._previous.pop()
        return False


class no_grad(_GradMode):
    """Record nothing inside: results never require grad and hold no graph."""

    mode = False


class enable_grad(_GradMode):
    """Record again inside a `no_grad` block."""

    mode = True


def is_grad_enabled():
    return enabled
