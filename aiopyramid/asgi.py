"""Serve a Pyramid (WSGI) application over ASGI, one request greenlet per request.

:class:`ASGIApplication` wraps the ordinary WSGI app that Pyramid builds. For each
``http`` request it builds a WSGI environ and runs the app in a request greenlet
(:func:`~aiopyramid.helpers.spawn_greenlet`), so views may wait for coroutines without
blocking other requests; the body streams in through ``wsgi.input`` and the response
streams out chunk by chunk. ``websocket`` handshakes go through Pyramid too, and
``lifespan`` events run the application's lifespan hooks (:mod:`aiopyramid.lifespan`).

Any ASGI server can run it: aiopyramid's gunicorn worker does so by itself, and
:func:`app_from_config` / :func:`app_from_environ` load it from an ini file for
uvicorn or hypercorn.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from aiopyramid.environ import RequestBody, build_environ, declares_body
from aiopyramid.exceptions import ClientDisconnected
from aiopyramid.helpers import _wait_for_awaitable, spawn_greenlet
from aiopyramid.lifespan import hooks_of
from aiopyramid.settings import AiopyramidSettings, settings_from
from aiopyramid.threadlocal import make_request_stack_context_local
from aiopyramid.types import ExcInfo, Message, Receive, Scope, Send, WSGIApp
from aiopyramid.websocket.connection import GOING_AWAY, INTERNAL_ERROR, WebsocketConnection
from aiopyramid.websocket.environ import WEBSOCKET_ENVIRON_KEY

__all__ = [
    "CONFIG_ENVIRON_VARIABLE",
    "ASGIApplication",
    "app_from_config",
    "app_from_environ",
    "is_asgi_app",
]

_log = logging.getLogger(__name__)

CONFIG_ENVIRON_VARIABLE = "AIOPYRAMID_CONFIG"
"""The environment variable :func:`app_from_environ` reads the ini file's path from."""


_STATUS_CODES: dict[str, int] = {}
"""The codes of the WSGI status lines seen so far."""
_HEADER_NAMES: dict[str, bytes] = {}
"""The response header names seen so far, lower-cased and encoded as ASGI wants them."""
_REMEMBERED = 256
"""How many of each are remembered, so odd values cannot fill the memory."""


def _remember(cache: dict[str, Any], key: str, value: Any) -> Any:
    if len(cache) < _REMEMBERED:
        cache[key] = value
    return value


def _plain_response(status: int, text: str) -> tuple[Message, Message]:
    body = text.encode("utf-8")
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class _ResponseWriter:
    """The WSGI side of a response: ``start_response`` and ``write``, streamed to ASGI.

    Runs in the request greenlet; each ASGI ``send`` is awaited on the loop. The
    status and headers go out with the first non-empty chunk, as PEP 3333 asks.
    The messages that end the response are only queued (:meth:`finish`): the
    adapter sends them from the loop once the application returned
    (:attr:`last_messages`), which saves the request greenlet a trip to the loop and
    back.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.last_messages: list[Message] = []
        """What :meth:`finish` queued, for the adapter to send."""

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        """PEP 3333 ``start_response``; with ``exc_info`` it may replace unsent headers."""
        if exc_info is not None:
            if self.started:
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise RuntimeError("start_response() was already called without exc_info")
        code = _STATUS_CODES.get(status)
        self.status = code or _remember(_STATUS_CODES, status, int(status.split(" ", 1)[0]))
        names = _HEADER_NAMES
        self.headers = [
            (
                names.get(name) or _remember(names, name, name.lower().encode("latin-1")),
                value.encode("latin-1"),
            )
            for name, value in headers
        ]
        return self.write

    def _messages(self, chunk: bytes, *, more: bool) -> list[Message]:
        """A body message, preceded by the start message if it is still due.

        Both go to the loop in one hand-over, which saves greenlet switches.
        """
        messages: list[Message] = []
        if not self.started:
            if self.status is None:
                raise RuntimeError("the WSGI application sent a body before start_response()")
            messages.append(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )
            self.started = True
        messages.append({"type": "http.response.body", "body": bytes(chunk), "more_body": more})
        return messages

    async def _send_each(self, messages: list[Message]) -> None:
        for message in messages:
            await self._send(message)

    def write(self, chunk: bytes) -> None:
        """Send one body chunk, starting the response first if needed."""
        if chunk:
            _wait_for_awaitable(self._send_each(self._messages(chunk, more=True)))

    def finish(self, last_chunk: bytes = b"") -> None:
        """Queue the last chunk (possibly empty), which ends the response, for the adapter."""
        self.last_messages = self._messages(last_chunk, more=False)


_FORM_MEDIA_TYPES = frozenset({"", "application/x-www-form-urlencoded", "multipart/form-data"})
"""The media types WebOb reads as a form (``request.POST``)."""
_CHARSET = re.compile(r";\s*charset=([^;]*)", re.IGNORECASE)


def _form_charset_error(content_type: str) -> tuple[int, str] | None:
    """*415 Unsupported Media Type* for form data declared in a charset other than UTF-8.

    WebOb reads forms in UTF-8 only: for any other charset, reading ``request.POST``
    raises, and Pyramid's CSRF check and every view that reads the form would fail
    with a 500. Browsers send forms in UTF-8 (as a UTF-8 page asks) and name no
    charset, so only other clients meet this refusal.
    """
    if content_type.split(";", 1)[0].strip().lower() not in _FORM_MEDIA_TYPES:
        return None
    found = _CHARSET.search(content_type)
    charset = found.group(1).strip().strip('"').strip() if found else ""
    if not charset or charset.lower().replace("-", "") == "utf8":
        return None
    return 415, f"Form data must be sent in UTF-8, not in {charset!r}."


def _run_wsgi_app(
    app: WSGIApp, environ: dict[str, Any], writer: _ResponseWriter | _RefusalCollector
) -> None:
    """Call the WSGI ``app`` and stream its response through ``writer`` (in a greenlet).

    A body that is a plain list (the common case for Pyramid responses) goes out in
    one message; any other iterable is sent chunk by chunk as it is produced, then
    closed. The last message is left in ``writer.last_messages``, sent once this returned.
    """
    body = app(environ, writer.start_response)
    close = getattr(body, "close", None)
    if close is None and isinstance(body, list | tuple):
        writer.finish(b"".join(body))
        return
    try:
        for chunk in body:
            writer.write(chunk)
    finally:
        if close is not None:
            close()
    writer.finish()


def is_asgi_app(app: Any) -> bool:
    """Tell whether ``app`` already speaks ASGI (a coroutine function or object)."""
    if isinstance(app, ASGIApplication):
        return True
    if inspect.isroutine(app):
        return inspect.iscoroutinefunction(app)
    return callable(app) and inspect.iscoroutinefunction(type(app).__call__)


class ASGIApplication:
    """An ASGI application serving the Pyramid WSGI application ``wsgi_app``.

    Settings (body size limit, websocket limits) come from the Pyramid registry of
    ``wsgi_app`` when it has one, else from ``settings``, else the defaults listed in
    :mod:`aiopyramid.settings`. Building one makes Pyramid's request stack
    context-local (see :mod:`aiopyramid.threadlocal`), as the requests it serves
    interleave on one thread.
    """

    def __init__(self, wsgi_app: WSGIApp, settings: AiopyramidSettings | None = None) -> None:
        make_request_stack_context_local()
        self.wsgi_app = wsgi_app
        registry = getattr(wsgi_app, "registry", None)
        if settings is None:
            settings = settings_from(registry) if registry is not None else AiopyramidSettings()
        self.settings = settings
        self.open_websockets: set[WebsocketConnection] = set()
        """The websockets currently open, so a shutdown can close them politely."""

    async def close_websockets(
        self, code: int = GOING_AWAY, reason: str = "server shutdown"
    ) -> None:
        """Close every open websocket (by default with 1001, "going away").

        The views see the peer's reply as the end of the conversation, so their
        clean-up (such as ``on_close``) runs before the server stops.
        """
        await asyncio.gather(*(ws.close(code, reason) for ws in list(self.open_websockets)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await self.websocket(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        else:
            raise ValueError(f"aiopyramid cannot serve ASGI scope type {kind!r}")

    def _declared_length_error(self, scope: Scope) -> tuple[int, str] | None:
        for name, value in scope.get("headers", ()):
            if name.lower() != b"content-length":
                continue
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                return 400, f"Invalid Content-Length header: {text!r}."
            if int(text) > self.settings.max_body_size:
                return 413, (
                    f"The request body ({int(text)} bytes) is larger than the limit "
                    f"of {self.settings.max_body_size} bytes."
                )
        return None

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve an HTTP request through the WSGI app in a request greenlet."""
        environ = build_environ(scope, None)
        if "CONTENT_TYPE" in environ:
            refused = _form_charset_error(environ["CONTENT_TYPE"])
            if refused is not None:
                for message in _plain_response(*refused):
                    await send(message)
                return
        expect_body = False
        # Only a request with a Content-Length or Transfer-Encoding header has a body,
        # so most requests need not look at their headers again.
        if "CONTENT_LENGTH" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            refusal = self._declared_length_error(scope)
            if refusal is not None:
                for message in _plain_response(*refusal):
                    await send(message)
                return
            expect_body = declares_body(scope)
        limit = self.settings.max_body_size
        environ["wsgi.input"] = RequestBody(receive, limit, expect_body=expect_body)
        writer = _ResponseWriter(send)
        try:
            await spawn_greenlet(_run_wsgi_app, self.wsgi_app, environ, writer)
            for message in writer.last_messages:
                await send(message)
        except ClientDisconnected:
            _log.debug("client disconnected during %s %s", scope.get("method"), scope["path"])
        except Exception:
            _log.exception("error while serving %s %s", scope.get("method"), scope["path"])
            if writer.started:
                raise  # the server aborts the connection: the response is incomplete
            for message in _plain_response(500, "Internal Server Error"):
                await send(message)

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a websocket handshake through Pyramid; refuse it if no view accepts it."""
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        connection = WebsocketConnection(
            receive,
            send,
            max_message_size=self.settings.websocket_max_message_size,
            subprotocols=scope.get("subprotocols"),
        )
        environ = build_environ(scope, io.BytesIO())
        environ[WEBSOCKET_ENVIRON_KEY] = connection
        collector = _RefusalCollector()
        self.open_websockets.add(connection)
        try:
            await spawn_greenlet(_run_wsgi_app, self.wsgi_app, environ, collector)
        except Exception:
            _log.exception("error in websocket view for %s", scope["path"])
            if connection.accepted:
                await connection.close(INTERNAL_ERROR, "internal error")
                return
            collector.status, collector.body = 500, b"Internal Server Error"
        finally:
            self.open_websockets.discard(connection)
        if not connection.accepted:
            await self._refuse(scope, send, collector)
        else:
            await connection.close()

    @staticmethod
    async def _refuse(scope: Scope, send: Send, collector: _RefusalCollector) -> None:
        if "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": collector.status,
                    "headers": collector.headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": collector.body})
        else:
            await send({"type": "websocket.close", "code": 1008})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Run the application's lifespan hooks at the server's startup and shutdown.

        The hooks are those added with ``config.add_lifespan_hook`` (see
        :mod:`aiopyramid.lifespan`); a failing hook is reported to the server, which
        then refuses to serve (startup) or logs it (shutdown).
        """
        hooks = hooks_of(getattr(self.wsgi_app, "registry", None))
        while True:
            message = await receive()
            kind = message["type"].removeprefix("lifespan.")
            if kind not in ("startup", "shutdown"):
                continue
            try:
                await (hooks.run_startup() if kind == "startup" else hooks.run_shutdown())
            except Exception as error:
                _log.exception("lifespan %s failed", kind)
                await send({"type": f"lifespan.{kind}.failed", "message": repr(error)})
            else:
                await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return


class _RefusalCollector:
    """Keeps the response Pyramid produced for a websocket handshake it did not accept."""

    def __init__(self) -> None:
        self.status = 403
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        return self.write

    def write(self, chunk: bytes) -> None:
        self.body += chunk

    def finish(self, last_chunk: bytes = b"") -> None:
        """Keep the last chunk; the refusal is sent once the handshake's fate is known."""
        self.body += last_chunk


def app_from_config(config_uri: str, name: str = "main") -> ASGIApplication:
    """Load the PasteDeploy app ``name`` from ``config_uri`` (with its logging) as ASGI."""
    from pyramid.paster import get_app, setup_logging

    setup_logging(config_uri)
    return ASGIApplication(get_app(config_uri, name))


def app_from_environ() -> ASGIApplication:
    """ASGI app factory for servers such as uvicorn: reads the ini path from the environment.

    Example: ``AIOPYRAMID_CONFIG=development.ini uvicorn --factory
    aiopyramid.asgi:app_from_environ``.
    """
    config_uri = os.environ.get(CONFIG_ENVIRON_VARIABLE)
    if not config_uri:
        raise RuntimeError(
            f"set {CONFIG_ENVIRON_VARIABLE} to the path of the application's ini file, "
            f"e.g. {CONFIG_ENVIRON_VARIABLE}=development.ini"
        )
    return app_from_config(config_uri)
