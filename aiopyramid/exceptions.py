"""Exceptions raised by aiopyramid."""

__all__ = ["ClientDisconnected", "ScopeError"]


class ScopeError(RuntimeError):
    """A synchronized coroutine was called where nothing can await it.

    Synchronized coroutines hand their coroutine to the event loop through the
    request greenlet that runs them; called from anywhere else (a plain script, a
    coroutine running on the loop itself) there is no loop waiting to take it.
    """


class ClientDisconnected(OSError):
    """The client went away while the application was still reading its request."""
