"""Exceptions raised by aiopyramid.

Where aiopyramid 0.4 raised a different class for the same condition, the exception
raised now is a subclass of both, so code written for 0.4 still catches it
(:doc:`/guide/migrating` lists them).
"""

from pyramid.exceptions import ConfigurationError

__all__ = ["ClientDisconnected", "NotACoroutineFunction", "ScopeError"]


class ScopeError(RuntimeError):
    """A synchronized coroutine was called where nothing can await it.

    Synchronized coroutines hand their coroutine to the event loop through the
    request greenlet that runs them; called from anywhere else (a plain script, a
    coroutine running on the loop itself) there is no loop waiting to take it.
    """


class NotACoroutineFunction(TypeError, ConfigurationError):  # type: ignore[misc]
    """:func:`~aiopyramid.helpers.synchronize` was given something other than an ``async def``.

    A :exc:`TypeError`, and also the :class:`~pyramid.exceptions.ConfigurationError`
    that aiopyramid 0.4 raised for it.
    """


class ClientDisconnected(OSError):
    """The client went away while the application was still reading its request."""
