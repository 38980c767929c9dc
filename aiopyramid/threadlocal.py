"""Make Pyramid's "thread-local" request stack local to each asyncio context.

Pyramid keeps :func:`~pyramid.threadlocal.get_current_request` and
:func:`~pyramid.threadlocal.get_current_registry` on a stack stored in a
:class:`threading.local`. Under aiopyramid many requests interleave on one thread,
so a per-thread stack would hand one request's objects to another. This module
stores the stack in a :class:`contextvars.ContextVar` instead: every asyncio task,
every request greenlet (which shares its task's context) and every executor call
(which runs in a copy of the caller's context) sees only its own requests.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pyramid.threadlocal
from pyramid.threadlocal import ThreadLocalManager

__all__ = ["ContextLocalManager", "make_request_stack_context_local"]

_RequestInfo = dict[str, Any]

_stack: contextvars.ContextVar[tuple[_RequestInfo, ...]] = contextvars.ContextVar(
    "aiopyramid_pyramid_stack", default=()
)


class ContextLocalManager(ThreadLocalManager):  # type: ignore[misc]
    """Drop-in replacement for Pyramid's ``ThreadLocalManager`` backed by a context variable.

    The stack is an immutable tuple, so contexts copied from one another never share
    a mutable list.
    """

    def __init__(self, default: Any = None) -> None:
        # threading.local calls __init__ again in every new thread; it must not
        # reset the stack, which now lives in the context, not in the thread.
        self.default = default

    @property
    def stack(self) -> list[_RequestInfo]:
        """A copy of the current context's stack, oldest entry first."""
        return list(_stack.get())

    @stack.setter
    def stack(self, value: list[_RequestInfo]) -> None:
        _stack.set(tuple(value))

    def push(self, info: _RequestInfo) -> None:
        """Make ``info`` (a dict with ``request`` and ``registry``) the current entry."""
        _stack.set((*_stack.get(), info))

    set = push

    def pop(self) -> _RequestInfo | None:
        """Remove and return the current entry, or ``None`` when the stack is empty."""
        stack = _stack.get()
        if not stack:
            return None
        _stack.set(stack[:-1])
        return stack[-1]

    def get(self) -> _RequestInfo:
        """Return the current entry, or Pyramid's defaults when there is none."""
        stack = _stack.get()
        if stack:
            return stack[-1]
        return self.default()  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Empty the current context's stack."""
        _stack.set(())


def make_request_stack_context_local() -> None:
    """Switch Pyramid's request stack to :class:`ContextLocalManager`; idempotent.

    The manager object is changed in place (its class is swapped) because Pyramid
    and add-ons hold references to it; entries already pushed in this thread move
    to the current context.
    """
    manager = pyramid.threadlocal.manager
    if isinstance(manager, ContextLocalManager):
        return
    entries = list(manager.stack)
    manager.__class__ = ContextLocalManager
    _stack.set(tuple(entries))
