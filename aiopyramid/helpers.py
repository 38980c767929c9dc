"""The greenlet bridge between synchronous Pyramid code and asyncio coroutines.

Pyramid calls views, tweens, traversal and security hooks synchronously. aiopyramid
runs each request in a *request greenlet*, a child of the greenlet that runs the event
loop. When synchronous code inside a request greenlet needs the result of a coroutine,
it switches to the parent with the coroutine; the parent awaits it on the loop (other
requests keep running) and switches back with the result or the exception.

:func:`spawn_greenlet` starts such a greenlet, :func:`synchronize` makes a coroutine
function callable from one, and :func:`use_executor` moves blocking code to a thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, ParamSpec, TypeVar, overload

import greenlet

from aiopyramid.exceptions import NotACoroutineFunction, ScopeError

__all__ = [
    "is_generator",
    "run_in_executor",
    "spawn_greenlet",
    "spawn_greenlet_on_scope_error",
    "synchronize",
    "use_executor",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _RequestGreenlet(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet whose parent awaits on its behalf whatever it switches up.

    It runs one function after another (see :func:`_run_functions`), waiting in a
    per-thread pool in between: since Python 3.11 a new greenlet maps fresh memory
    for its frames on first use and unmaps it when it dies (two system calls, about
    5 us per request), which a reused greenlet does not pay again.
    """

    result: Any = None
    """What the last function returned, until :func:`spawn_greenlet` collects it."""
    error: BaseException | None = None
    """What the last function raised, until :func:`spawn_greenlet` collects it."""


_FINISHED = object()
"""What a request greenlet switches up when its function has returned or raised."""

_POOL_SIZE = 64
"""How many idle request greenlets each thread keeps for reuse."""


class _GreenletPool(threading.local):
    """The idle request greenlets of the current thread (greenlets never change thread)."""

    def __init__(self) -> None:
        self.idle: list[_RequestGreenlet] = []


_pool = _GreenletPool()


def _run_functions() -> None:
    """The body of every request greenlet: wait for a function, run it, report, repeat.

    The outcome is left on the greenlet rather than passed in the switch, and the
    function and its arguments are dropped, so nothing of a finished request stays
    referenced while the greenlet waits in the pool. For the same reason the greenlet
    is started without arguments (greenlet keeps those until the greenlet ends) and
    does not keep itself in a local variable (the garbage collector cannot see into
    a suspended greenlet's frames, so that cycle would never be freed).
    """
    while True:
        function, args, kwargs = greenlet.getcurrent().parent.switch(_FINISHED)
        try:
            greenlet.getcurrent().result = function(*args, **kwargs)
        except BaseException as error:  # re-raised by spawn_greenlet, in the caller
            greenlet.getcurrent().error = error
        del function, args, kwargs


def _request_greenlet(parent: greenlet.greenlet, idle: list[_RequestGreenlet]) -> _RequestGreenlet:
    """One of the ``idle`` request greenlets, now a child of ``parent``, or a new one."""
    while idle:
        child = idle.pop()
        if child.parent is not parent:
            try:
                child.parent = parent
            except ValueError:  # child is an ancestor of parent: it cannot serve here
                continue
        return child
    child = _RequestGreenlet(_run_functions, parent)
    child.switch()  # runs up to the wait for its first function
    return child


class _ExecutorState(threading.local):
    """Which event loop, if any, the current executor thread works for."""

    loop: asyncio.AbstractEventLoop | None = None


_executor_state = _ExecutorState()


def _in_request_greenlet() -> bool:
    """Tell whether the caller runs inside a greenlet started by :func:`spawn_greenlet`."""
    return isinstance(greenlet.getcurrent(), _RequestGreenlet)


def _loop_of_executor_thread() -> asyncio.AbstractEventLoop | None:
    return _executor_state.loop


def _can_wait() -> bool:
    """Tell whether synchronous code running here may wait for a coroutine.

    True inside a request greenlet and inside an executor thread started by
    aiopyramid; false anywhere else, including coroutines running on the loop.
    """
    return _in_request_greenlet() or _loop_of_executor_thread() is not None


async def _awaited(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _wait_for_awaitable(awaitable: Awaitable[_T]) -> _T:
    """Block the calling synchronous code until ``awaitable`` is done, without blocking the loop.

    Inside a request greenlet the awaitable goes to the loop greenlet; inside an
    executor thread started by aiopyramid it is scheduled on that thread's loop.
    Anywhere else this raises :class:`~aiopyramid.exceptions.ScopeError`.
    """
    current = greenlet.getcurrent()
    if isinstance(current, _RequestGreenlet):
        return current.parent.switch(awaitable)  # type: ignore[no-any-return]
    loop = _loop_of_executor_thread()
    if loop is not None:
        # The task inherits this thread's context, so it sees the same request.
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), loop).result()
    if inspect.iscoroutine(awaitable):
        awaitable.close()  # never awaited, by design: silence the RuntimeWarning
    raise ScopeError(
        "there is no request greenlet to wait in: synchronous code can wait for a "
        "coroutine only when it runs inside aiopyramid (a request served through "
        "aiopyramid's ASGI adapter, or a function started with "
        "`await aiopyramid.helpers.spawn_greenlet(func)`). In a coroutine, use "
        "`await` instead."
    )


async def spawn_greenlet(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run ``func(*args, **kwargs)`` in a request greenlet and return its result.

    Every awaitable the greenlet hands up (through :func:`synchronize`) is awaited
    here, on the loop; its result or exception, traceback included, goes back down.
    If this coroutine is cancelled, the cancellation is delivered to the awaitable
    and then raised inside the greenlet, so the greenlet finishes instead of leaking.
    """
    parent = greenlet.getcurrent()
    idle = _pool.idle
    child = _request_greenlet(parent, idle)
    # Share the caller's context: Pyramid's request stack (see aiopyramid.threadlocal)
    # pushed in the greenlet is then visible to the coroutines awaited for it.
    child.gr_context = parent.gr_context
    handed_up = child.switch(func, args, kwargs)
    try:
        while handed_up is not _FINISHED:
            try:
                result = await handed_up
            except BaseException as error:
                handed_up = child.throw(type(error), error, error.__traceback__)
            else:
                handed_up = child.switch(result)
    finally:
        if handed_up is not _FINISHED:  # only when this coroutine itself is being torn down
            child.throw()  # the greenlet is not reused: it may still be in the function
    outcome, failure = child.result, child.error
    child.result = child.error = child.gr_context = None
    if len(idle) < _POOL_SIZE:
        idle.append(child)
    if failure is not None:
        try:
            raise failure
        finally:
            # The traceback holds this frame: drop its references, or the greenlet
            # (and its stack) would wait for the cyclic garbage collector.
            del failure, child
    return outcome  # type: ignore[no-any-return]


@overload
def synchronize(
    coroutine_function: Callable[_P, Coroutine[Any, Any, _T]], /
) -> Callable[_P, _T]: ...


@overload
def synchronize(
    coroutine_function: None = None, /, *, strict: bool = True
) -> Callable[[Callable[_P, Coroutine[Any, Any, _T]]], Callable[_P, Any]]: ...


def synchronize(
    coroutine_function: Callable[_P, Coroutine[Any, Any, _T]] | None = None,
    /,
    *,
    strict: bool = True,
) -> Any:
    """Turn a coroutine function into a plain function that synchronous code can call.

    Called inside a request greenlet (or an aiopyramid executor thread), the
    returned function waits for the coroutine without blocking the event loop and
    returns its result. Called anywhere else, it raises
    :class:`~aiopyramid.exceptions.ScopeError` when ``strict`` (the default), or
    returns the coroutine for the caller to await when ``strict=False``.

    Use it bare (``@synchronize``) or configured (``@synchronize(strict=False)``).
    The original coroutine function stays available as ``__wrapped__``. Anything
    but a coroutine function raises
    :exc:`~aiopyramid.exceptions.NotACoroutineFunction`.
    """

    def decorate(function: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, Any]:
        if not inspect.iscoroutinefunction(function):
            raise NotACoroutineFunction(
                f"synchronize() needs a coroutine function (async def), got {function!r}"
            )

        @functools.wraps(function)
        def synchronized(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            if _can_wait():
                return _wait_for_awaitable(function(*args, **kwargs))
            if not strict:
                return function(*args, **kwargs)
            raise ScopeError(
                f"{function.__qualname__}() is a synchronized coroutine and was called "
                "outside a request greenlet. In a coroutine, await the coroutine "
                f"function itself (`await {function.__qualname__}.__wrapped__(...)`); "
                "from synchronous code, run the caller with "
                "`await aiopyramid.helpers.spawn_greenlet(caller, ...)`, or decorate "
                "with `synchronize(strict=False)` to get the coroutine back here."
            )

        return synchronized

    if coroutine_function is None:
        return decorate
    return decorate(coroutine_function)


def spawn_greenlet_on_scope_error(
    function: Callable[_P, _T],
) -> Callable[_P, _T | Coroutine[Any, Any, _T]]:
    """Let a function that uses synchronized coroutines be called from anywhere.

    Inside a request greenlet the decorated function runs directly and returns its
    result. Outside one, where its synchronized calls would raise
    :class:`~aiopyramid.exceptions.ScopeError`, it returns a coroutine that runs it in
    a new greenlet via :func:`spawn_greenlet`: await that coroutine for the result.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T | Coroutine[Any, Any, _T]:
        if _can_wait():
            return function(*args, **kwargs)
        return spawn_greenlet(function, *args, **kwargs)

    return wrapper


def _call_in_executor_thread(
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    function: Callable[..., _T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _T:
    _executor_state.loop = loop
    try:
        return context.run(function, *args, **kwargs)
    finally:
        _executor_state.loop = None


async def run_in_executor(
    executor: Executor | None, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """Run blocking ``function`` in ``executor`` (the loop's default when ``None``).

    The thread runs in a copy of the caller's context, so Pyramid's current request
    and registry are the caller's; synchronized coroutines called in the thread are
    scheduled back on this loop.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(
        _call_in_executor_thread, loop, contextvars.copy_context(), function, args, kwargs
    )
    return await loop.run_in_executor(executor, call)


@overload
def use_executor(function: Callable[_P, _T], /) -> Callable[_P, Coroutine[Any, Any, _T]]: ...


@overload
def use_executor(
    function: None = None, /, *, executor: Executor | None = None
) -> Callable[[Callable[_P, _T]], Callable[_P, Coroutine[Any, Any, _T]]]: ...


def use_executor(
    function: Callable[_P, _T] | None = None, /, *, executor: Executor | None = None
) -> Any:
    """Turn a blocking function into a coroutine function that runs it in an executor.

    Use it bare (``@use_executor``, the loop's default thread pool) or with
    ``@use_executor(executor=my_pool)``.
    """

    def decorate(blocking: Callable[_P, _T]) -> Callable[_P, Coroutine[Any, Any, _T]]:
        @functools.wraps(blocking)
        async def in_executor(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            return await run_in_executor(executor, blocking, *args, **kwargs)

        return in_executor

    if function is None:
        return decorate
    return decorate(function)


def is_generator(function: object) -> bool:
    """Tell whether ``function`` is a generator function (a ``def`` containing ``yield``).

    In aiopyramid 0.4 this answered "can this become an ``asyncio.coroutine``?": true
    for generator functions, generator objects and futures, which is how 0.4 told
    coroutine views (``@asyncio.coroutine`` generators) from plain ones. Python 3.11
    removed generator-based coroutines: coroutine views are ``async def`` functions
    now, and this function only answers the question its name asks.
    :func:`functools.partial` objects are looked through.
    """
    return inspect.isgeneratorfunction(function)
