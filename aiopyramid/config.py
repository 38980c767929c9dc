"""View mappers that run coroutine views on the event loop and blocking views in threads.

A Pyramid view mapper turns a configured view into a ``(context, request)``
callable. aiopyramid's mappers keep Pyramid's mapping (both view signatures and
class-based views work unchanged) and then decide how the view's result is
obtained from inside the request greenlet:

* a coroutine view's coroutine is awaited on the loop (:class:`CoroutineMapper`);
* a synchronous view runs in an executor thread, so it cannot block the loop
  (:class:`ExecutorMapper`);
* :class:`CoroutineOrExecutorMapper`, the default once ``aiopyramid`` is included,
  picks one of the two for each view.

Views that ship with Pyramid itself (the default exception view, static views) are
known not to block and are called directly by every mapper.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPForbidden
from pyramid.util import object_description
from pyramid.viewderivers import DefaultViewMapper

from aiopyramid.environ import RequestBody
from aiopyramid.helpers import _in_request_greenlet, _wait_for_awaitable, run_in_executor
from aiopyramid.websocket.environ import WEBSOCKET_ENVIRON_KEY

__all__ = [
    "AsyncioMapperBase",
    "CoroutineMapper",
    "CoroutineOrExecutorMapper",
    "ExecutorMapper",
    "MappedView",
]

MappedView = Callable[[Any, Any], Any]
"""What a mapper returns: Pyramid calls it with ``(context, request)``."""


def _view_target(view: Any, attr: str | None) -> Any:
    """Return the callable that actually runs when ``view`` is called with ``attr``."""
    if inspect.isclass(view):
        return getattr(view, attr or "__call__", None)
    if attr:
        return getattr(view, attr, None)
    return view


def _is_coroutine_like(function: object) -> bool:
    """Tell whether calling ``function`` gives a coroutine or a generator rather than a result.

    The mappers treat both as coroutine views. A generator function is what an
    aiopyramid 0.4 coroutine view became once its ``@asyncio.coroutine`` was
    removed: such a view fails when it is called, with a :exc:`TypeError` saying
    that a generator cannot be awaited. :func:`functools.partial` objects are
    looked through, and a callable instance is judged by its ``__call__``.
    """
    while isinstance(function, functools.partial):
        function = function.func
    if inspect.isclass(function) or not callable(function):
        return False
    if not inspect.isroutine(function):
        function = type(function).__call__
    return (
        inspect.iscoroutinefunction(function)
        or inspect.isgeneratorfunction(function)
        or inspect.isasyncgenfunction(function)
    )


def _is_pyramid_builtin(view: Any) -> bool:
    """Tell whether ``view`` is one of Pyramid's own views, such as its exception view."""
    module = getattr(view, "__module__", None) or type(view).__module__
    return module == "pyramid" or module.startswith("pyramid.")


def _refuse_websocket_request(request: Any) -> None:
    """Refuse a websocket handshake that reached an ordinary (non-websocket) view.

    Without this, a websocket request to a plain URL would run that view (and its
    side effects) before being refused. Exception views still run, so the refusal
    itself can be rendered.
    """
    if WEBSOCKET_ENVIRON_KEY in request.environ and getattr(request, "exception", None) is None:
        raise HTTPForbidden("This URL does not accept websocket connections.")


def _read_body_before_coroutine(request: Any) -> None:
    """Read a streamed body now, in the request greenlet, for a coroutine view.

    A coroutine view runs on the event loop, where WebOb's synchronous reads of
    ``wsgi.input`` cannot wait for the next chunk. So the body is read first; WebOb
    keeps bodies over 10 kB in a temporary file rather than in memory.
    """
    body = request.environ.get("wsgi.input")
    if isinstance(body, RequestBody) and body.may_have_more:
        request.make_body_seekable()


class AsyncioMapperBase(DefaultViewMapper):  # type: ignore[misc]
    """Base class of aiopyramid's view mappers.

    It maps the view as Pyramid's :class:`~pyramid.viewderivers.DefaultViewMapper`
    does, then hands the mapped view to :meth:`adapt`, which subclasses override.
    """

    def __call__(self, view: Any) -> MappedView:
        """Map ``view`` to a ``(context, request)`` callable; check it fits this mapper."""
        mapped: MappedView = super().__call__(view)
        if _is_pyramid_builtin(view):
            return self.call_directly(mapped)
        return self.adapt(view, mapped)

    def view_is_coroutine(self, view: Any) -> bool:
        """Tell whether calling ``view`` (with this mapper's ``attr``) returns a coroutine.

        Generator functions count too: they were coroutines in aiopyramid 0.4;
        awaiting what one returns now fails with a :exc:`TypeError`.
        """
        return _is_coroutine_like(_view_target(view, self.attr))

    def describe(self, view: Any) -> str:
        """Name ``view`` for error messages, the way Pyramid describes views."""
        name = object_description(view)
        return f"{name} (attr {self.attr!r})" if self.attr else name

    def adapt(self, view: Any, mapped: MappedView) -> MappedView:
        """Return the callable Pyramid will call for ``view``; subclasses decide how."""
        raise NotImplementedError

    @staticmethod
    def call_directly(mapped: MappedView) -> MappedView:
        """Call the view in the request greenlet; await its result if it is awaitable."""

        def direct_view(context: Any, request: Any) -> Any:
            _refuse_websocket_request(request)
            result = mapped(context, request)
            if inspect.isawaitable(result):
                _read_body_before_coroutine(request)
                return _wait_for_awaitable(result)
            return result

        return direct_view

    @staticmethod
    def run_as_coroutine(mapped: MappedView) -> MappedView:
        """Await the coroutine the view returns on the loop, from the request greenlet."""

        def coroutine_view(context: Any, request: Any) -> Any:
            _refuse_websocket_request(request)
            _read_body_before_coroutine(request)
            return _wait_for_awaitable(mapped(context, request))

        return coroutine_view

    @staticmethod
    def run_in_executor(mapped: MappedView) -> MappedView:
        """Run the view in the loop's default executor so blocking code cannot stall the loop.

        Outside a request greenlet (a plain WSGI server, a unit test) there is no loop
        to protect and the view is called directly.
        """

        def executor_view(context: Any, request: Any) -> Any:
            _refuse_websocket_request(request)
            if not _in_request_greenlet():
                return mapped(context, request)
            result = _wait_for_awaitable(run_in_executor(None, mapped, context, request))
            if inspect.isawaitable(result):
                return _wait_for_awaitable(result)
            return result

        return executor_view


class CoroutineMapper(AsyncioMapperBase):
    """Every view must be a coroutine function; its coroutine is awaited on the loop.

    A synchronous view is a :class:`~pyramid.exceptions.ConfigurationError` when the
    configuration is committed.
    """

    def adapt(self, view: Any, mapped: MappedView) -> MappedView:
        if not self.view_is_coroutine(view):
            raise ConfigurationError(
                f"{self.describe(view)} is not a coroutine function, but it is configured "
                "with aiopyramid.config.CoroutineMapper. Define it with `async def`, or "
                "configure it with mapper=aiopyramid.config.ExecutorMapper (or "
                "CoroutineOrExecutorMapper) to run it in a thread."
            )
        return self.run_as_coroutine(mapped)


class ExecutorMapper(AsyncioMapperBase):
    """Every view is synchronous and runs in an executor thread.

    A coroutine view is a :class:`~pyramid.exceptions.ConfigurationError` when the
    configuration is committed.
    """

    def adapt(self, view: Any, mapped: MappedView) -> MappedView:
        if self.view_is_coroutine(view):
            raise ConfigurationError(
                f"{self.describe(view)} is a coroutine function, but it is configured "
                "with aiopyramid.config.ExecutorMapper, which runs views in threads. "
                "Configure it with mapper=aiopyramid.config.CoroutineMapper (or "
                "CoroutineOrExecutorMapper)."
            )
        return self.run_in_executor(mapped)


class CoroutineOrExecutorMapper(AsyncioMapperBase):
    """Coroutine views are awaited on the loop; any other view runs in an executor thread.

    This is the default view mapper once ``aiopyramid`` is included, so legacy
    blocking views keep working without stalling the coroutine views beside them.
    """

    def adapt(self, view: Any, mapped: MappedView) -> MappedView:
        if self.view_is_coroutine(view):
            return self.run_as_coroutine(mapped)
        return self.run_in_executor(mapped)
