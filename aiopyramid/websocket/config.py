"""The view mapper for websocket views."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPClientError, HTTPForbidden
from pyramid.response import Response
from pyramid.viewderivers import requestonly

from aiopyramid.config import AsyncioMapperBase, MappedView, _is_coroutine_like, _view_target
from aiopyramid.helpers import _wait_for_awaitable
from aiopyramid.settings import settings_from
from aiopyramid.websocket.connection import INTERNAL_ERROR, WebsocketConnection
from aiopyramid.websocket.environ import WEBSOCKET_ENVIRON_KEY
from aiopyramid.websocket.exceptions import WebsocketClosed

__all__ = ["HTTPUpgradeRequired", "WebsocketMapper", "origin_allowed"]

_log = logging.getLogger(__name__)

_Conversation = Coroutine[Any, Any, Any]
_OpenView = Callable[[Any, Any, WebsocketConnection], _Conversation]
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


class HTTPUpgradeRequired(HTTPClientError):  # type: ignore[misc]
    """426: an ordinary HTTP request reached a URL that only speaks websocket."""

    code = 426
    """The status code."""
    title = "Upgrade Required"
    """The status text."""
    explanation = "This URL accepts websocket connections only."
    """The message shown in the response body."""


def origin_allowed(request: Any, allowed_origins: frozenset[str]) -> bool:
    """Tell whether the handshake's ``Origin`` may open a websocket here.

    Allowed: no ``Origin`` header (clients that are not browsers), the page's own
    origin (same host and port as the ``Host`` header), any origin listed in
    ``allowed_origins``, or anything when it lists ``*``.
    """
    origin = request.headers.get("Origin")
    if origin is None or "*" in allowed_origins or origin.rstrip("/") in allowed_origins:
        return True
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    return (parts.hostname or "", origin_port) == (request.domain.lower(), int(request.host_port))


async def _converse(connection: WebsocketConnection, conversation: _Conversation) -> None:
    """Accept the handshake, run the view's coroutine, and close the socket afterwards.

    A peer that leaves mid-send ends the conversation quietly; any other exception
    closes the socket with code 1011 and propagates, so Pyramid and the server log it.
    """
    try:
        await connection.accept()
        await conversation
    except WebsocketClosed:
        _log.debug("websocket peer left during the conversation")
    except BaseException:
        await connection.close(INTERNAL_ERROR, "internal error")
        raise
    finally:
        conversation.close()
    await connection.close()


class WebsocketMapper(AsyncioMapperBase):
    """Map websocket views: coroutines that take the connection, or class-based views.

    A function view is ``async def view(ws)``; a class-based view (such as a
    :class:`~aiopyramid.websocket.view.WebsocketConnectionView` subclass) is built
    with ``(context, request)`` or ``(request)`` and its ``__call__`` (or ``attr``)
    coroutine method is called with the connection. The handshake is accepted just
    before the view runs; an ordinary HTTP request to the view gets 426, a browser
    page from a foreign origin gets 403 (see :mod:`aiopyramid.settings`).

    Set :attr:`use_bytes` on a subclass to receive text messages as ``bytes``.
    """

    use_bytes: ClassVar[bool] = False
    """When true, text messages reach the view as UTF-8 ``bytes``."""

    def __call__(self, view: Any) -> MappedView:
        if not _is_coroutine_like(_view_target(view, self.attr)):
            raise ConfigurationError(
                f"{self.describe(view)} is configured with WebsocketMapper but is not a "
                "coroutine function: websocket views are `async def view(ws)` or classes "
                "whose __call__ (or attr) is `async def`."
            )
        return self.websocket_view(self.opener(view))

    def opener(self, view: Any) -> _OpenView:
        """Return a function that starts ``view``'s conversation on a connection."""
        method_name = self.attr or "__call__"
        if inspect.isclass(view):
            request_only = requestonly(view, self.attr)
            view_class: Any = view

            def open_class_view(context: Any, request: Any, ws: WebsocketConnection) -> Any:
                instance = view_class(request) if request_only else view_class(context, request)
                return getattr(instance, method_name)(ws)

            return open_class_view
        function = _view_target(view, self.attr)
        return lambda context, request, ws: function(ws)

    def websocket_view(self, open_view: _OpenView) -> MappedView:
        """Wrap ``open_view`` into the ``(context, request)`` callable Pyramid calls."""
        use_bytes = self.use_bytes

        def websocket_view(context: Any, request: Any) -> Response:
            connection = request.environ.get(WEBSOCKET_ENVIRON_KEY)
            if connection is None:
                raise HTTPUpgradeRequired(headers={"Upgrade": "websocket"})
            allowed = settings_from(request.registry).websocket_allowed_origins
            if not origin_allowed(request, allowed):
                raise HTTPForbidden("This origin may not open websockets here.")
            connection.use_bytes = use_bytes
            _wait_for_awaitable(_converse(connection, open_view(context, request, connection)))
            return Response(status=101)

        return websocket_view
