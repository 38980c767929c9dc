"""Make Pyramid's "thread-local" request stack local to each asyncio context.

Pyramid keeps :func:`~pyramid.threadlocal.get_current_request` and
:func:`~pyramid.threadlocal.get_current_registry` on a stack stored in a
:class:`threading.local`. Under aiopyramid many requests interleave on one thread,
so a per-thread stack would hand one request's objects to another. This module
stores the stack in a :class:`contextvars.ContextVar` instead: every asyncio task,
every request greenlet (which shares its task's context) and every executor call
(which runs in a copy of the caller's context) sees only its own requests.

Importing aiopyramid changes nothing in Pyramid. The switch happens when an
application is set up to run on aiopyramid: ``config.include("aiopyramid")`` and
building an :class:`~aiopyramid.asgi.ASGIApplication` both call
:func:`make_request_stack_context_local`. From then on, for the whole process,
Pyramid's manager reads and writes the stack of the current context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, MutableSequence
from typing import Any, overload

import pyramid.threadlocal
from pyramid.threadlocal import ThreadLocalManager

__all__ = ["ContextLocalManager", "ContextStack", "make_request_stack_context_local"]

_RequestInfo = dict[str, Any]

_stack: contextvars.ContextVar[tuple[_RequestInfo, ...]] = contextvars.ContextVar(
    "aiopyramid_pyramid_stack", default=()
)


class ContextStack(MutableSequence[_RequestInfo]):
    """The current context's request stack, with the interface of a list.

    This is what :attr:`ContextLocalManager.stack` returns, so code written for
    Pyramid's own manager, whose ``stack`` is a plain list, keeps working:
    ``manager.stack.append(info)``, ``manager.stack.pop()``,
    ``manager.stack[:] = []``, ``manager.stack.index(info)`` and the rest of
    :class:`collections.abc.MutableSequence` change or read the stack of the
    context they run in. List methods outside that interface (``sort()``,
    ``copy()``, ``+``) raise :exc:`AttributeError` or :exc:`TypeError` rather than
    act on a copy.

    Every operation looks the stack up again, in the context where it runs: an
    instance is a view, not a snapshot. The stack itself is stored as a tuple, so
    copies of a context never share a mutable list.
    """

    __slots__ = ()

    @overload
    def __getitem__(self, index: int) -> _RequestInfo: ...

    @overload
    def __getitem__(self, index: slice) -> list[_RequestInfo]: ...

    def __getitem__(self, index: int | slice) -> _RequestInfo | list[_RequestInfo]:
        """An entry (or a list of entries, for a slice), as a list would return it."""
        if isinstance(index, slice):
            return list(_stack.get()[index])
        return _stack.get()[index]

    @overload
    def __setitem__(self, index: int, value: _RequestInfo) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Iterable[_RequestInfo]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        """Replace an entry, or a slice of entries, in the current context's stack."""
        entries = list(_stack.get())
        entries[index] = value
        _stack.set(tuple(entries))

    def __delitem__(self, index: int | slice) -> None:
        """Remove an entry, or a slice of entries, from the current context's stack."""
        entries = list(_stack.get())
        del entries[index]
        _stack.set(tuple(entries))

    def __len__(self) -> int:
        """How many entries the current context's stack holds."""
        return len(_stack.get())

    def insert(self, index: int, value: _RequestInfo) -> None:
        """Insert ``value`` before ``index``, as a list's ``insert()`` does."""
        entries = list(_stack.get())
        entries.insert(index, value)
        _stack.set(tuple(entries))

    def clear(self) -> None:
        """Empty the current context's stack."""
        _stack.set(())

    def __eq__(self, other: object) -> bool:
        """Equal to a list (or another view) with the same entries, as a list would be."""
        if isinstance(other, ContextStack):
            other = list(other)
        return list(_stack.get()) == other

    def __repr__(self) -> str:
        return f"ContextStack({list(_stack.get())!r})"


class ContextLocalManager(ThreadLocalManager):  # type: ignore[misc]
    """Drop-in replacement for Pyramid's ``ThreadLocalManager`` backed by a context variable.

    It defines every method and attribute of Pyramid's manager (a test checks that
    against the installed Pyramid); each acts on the current context's stack.
    """

    def __init__(self, default: Any = None) -> None:
        # threading.local calls __init__ again in every new thread; it must not
        # reset the stack, which now lives in the context, not in the thread.
        self.default = default

    @property
    def stack(self) -> ContextStack:
        """The current context's stack, oldest entry first, as a list-like :class:`ContextStack`."""
        return ContextStack()

    @stack.setter
    def stack(self, value: Iterable[_RequestInfo]) -> None:
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

    aiopyramid calls this when it is included in a configuration and when an
    :class:`~aiopyramid.asgi.ASGIApplication` is built; call it yourself only to
    run request greenlets of your own without either. The manager object is
    changed in place (its class is swapped) because Pyramid and add-ons hold
    references to it; entries already pushed in this thread move to the current
    context.
    """
    manager = pyramid.threadlocal.manager
    if isinstance(manager, ContextLocalManager):
        return
    entries = list(manager.stack)
    manager.__class__ = ContextLocalManager
    _stack.set(tuple(entries))
