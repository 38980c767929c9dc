"""The ASGI and WSGI types aiopyramid's modules share, for type hints.

ASGI scopes and messages are plain dicts, as the ASGI specification describes them;
these aliases name them, so that every module (and an application's own tests)
spells them the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

__all__ = ["ExcInfo", "Message", "Receive", "Scope", "Send", "WSGIApp"]

Scope = dict[str, Any]
"""An ASGI connection scope: its ``type`` (``http``, ``websocket`` or ``lifespan``),
path, headers and the rest of what the server knows about the connection."""

Message = dict[str, Any]
"""An ASGI event, received from the server or sent to it; its ``type`` says which."""

Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable: awaiting it gives the next event from the client."""

Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable: awaiting it hands an event for the client to the server."""

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""A PEP 3333 application, such as the router Pyramid's ``make_wsgi_app()`` returns."""

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
"""An exception as :func:`sys.exc_info` describes it, as WSGI's ``start_response``
receives it."""
