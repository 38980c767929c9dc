"""Helpers for testing aiopyramid applications without starting a server.

* :func:`call_view` runs a view the way aiopyramid runs it (mapped, in a request
  greenlet on an event loop), for unit tests with a
  :class:`~pyramid.testing.DummyRequest`.
* :class:`FakeWebsocket` stands in for the connection a websocket view receives.
* :class:`AppClient` drives a whole application in-process over ASGI: HTTP requests
  and websocket conversations, through the same adapter the servers use.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from aiopyramid.asgi import ASGIApplication, is_asgi_app
from aiopyramid.config import CoroutineOrExecutorMapper
from aiopyramid.helpers import spawn_greenlet
from aiopyramid.types import Message, Scope
from aiopyramid.websocket.exceptions import WebsocketClosed

__all__ = [
    "AppClient",
    "ClientResponse",
    "FakeWebsocket",
    "WebsocketRefused",
    "WebsocketSession",
    "call_view",
]


def call_view(
    view: Any,
    request: Any,
    context: Any = None,
    *,
    mapper: type[Any] = CoroutineOrExecutorMapper,
    attr: str | None = None,
) -> Any:
    """Map ``view`` with ``mapper`` and call it with ``(context, request)`` in a request greenlet.

    This is how aiopyramid calls views, so coroutine views, blocking views (run in
    an executor thread), both view signatures and class-based views can be tested
    with a :class:`~pyramid.testing.DummyRequest`. Returns what the view returned.
    """
    mapped = mapper(attr=attr)(view)
    return asyncio.run(spawn_greenlet(mapped, context, request))


class FakeWebsocket:
    """A stand-in websocket connection for unit-testing websocket views.

    :meth:`recv` returns the ``incoming`` messages in order, then ``None`` as if the
    peer had closed; :attr:`sent` collects what the view sent.
    """

    def __init__(self, incoming: Iterable[str | bytes] = ()) -> None:
        self.incoming = deque(incoming)
        self.sent: list[str | bytes] = []
        """Every message the view sent, in order."""
        self.closed = False
        """Whether the view called :meth:`close`."""
        self.close_code: int | None = None

    async def recv(self) -> str | bytes | None:
        """Return the next incoming message, or ``None`` once there are none left."""
        if self.closed or not self.incoming:
            return None
        return self.incoming.popleft()

    async def send(self, message: str | bytes) -> None:
        """Record ``message``; raises WebsocketClosed after :meth:`close`."""
        if self.closed:
            raise WebsocketClosed("the websocket is closed")
        self.sent.append(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Mark the socket closed with ``code``."""
        self.closed = True
        self.close_code = code


class ClientResponse:
    """The response to an :class:`AppClient` request."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        """The status code, e.g. ``200``."""
        self.header_list = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        """All headers as ``(lowercase name, value)`` pairs, repeated ones included."""
        self.headers = dict(self.header_list)
        """Headers by lowercase name (the last value wins for repeated ones)."""
        self.body = body
        """The whole body."""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<ClientResponse {self.status} {len(self.body)} bytes>"


class WebsocketRefused(Exception):
    """The application refused the websocket handshake."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        super().__init__(f"websocket handshake refused with HTTP {status}")
        self.status = status
        """The HTTP status the refusal carried."""
        self.body = body


class WebsocketSession:
    """One websocket conversation with the application, driven synchronously.

    Created by :meth:`AppClient.websocket`; use it as a context manager.
    """

    def __init__(self, client: AppClient, scope: Scope) -> None:
        self._client = client
        self._scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        """The close code the application sent, once it closed the socket."""

    def __enter__(self) -> WebsocketSession:
        loop = self._client.loop
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = loop.create_task(
            self._client.app(self._scope, self._to_app.get, self._from_app.put)
        )
        first = self._next_message()
        if first["type"] == "websocket.accept":
            return self
        if first["type"] == "websocket.http.response.start":
            body = self._next_message().get("body", b"")
            raise WebsocketRefused(first["status"], body)
        raise WebsocketRefused(403)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next_message(self) -> Message:
        assert self._task is not None
        return cast(Message, self._client.run(_first_of(self._from_app.get(), self._task)))

    def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the application."""
        key = "text" if isinstance(message, str) else "bytes"
        self._to_app.put_nowait({"type": "websocket.receive", key: message})

    def receive(self) -> str | bytes | None:
        """Wait for the application's next message; ``None`` once it closed the socket."""
        if self.close_code is not None:
            return None
        message = self._next_message()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            return None
        text: str | None = message.get("text")
        if text is not None:
            return text
        return cast(bytes, message.get("bytes", b""))

    def close(self, code: int = 1000) -> None:
        """Close the socket from the client side and wait for the application to finish."""
        if self._task is None or self._task.done():
            return
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": code})
        self._client.run(self._task)


async def _first_of(getter: Any, task: asyncio.Task[None]) -> Message:
    """Return what ``getter`` yields, or fail if the application ``task`` ends first."""
    get = asyncio.ensure_future(getter)
    done, _ = await asyncio.wait({get, task}, return_when=asyncio.FIRST_COMPLETED)
    if get in done:
        return cast(Message, get.result())
    get.cancel()
    task.result()  # raises the application's exception, if any
    return {"type": "websocket.close", "code": 1006}


class AppClient:
    """Drive a Pyramid (WSGI) or ASGI application in-process, over ASGI, synchronously.

    Requests go through :class:`~aiopyramid.asgi.ASGIApplication` exactly as a server
    would send them, on an event loop private to this client. Every call gives up
    after ``timeout`` seconds instead of hanging.

    Like a browser, the client keeps the cookies the application sets
    (:attr:`cookies`) and sends them back with later requests and websocket
    handshakes, unless a request gives its own ``cookie`` header.
    """

    def __init__(self, app: Any, *, timeout: float = 10.0, host: str = "testserver") -> None:
        self.app = app if is_asgi_app(app) else ASGIApplication(app)
        self.timeout = timeout
        """Seconds after which a request or websocket operation gives up."""
        self.host = host
        """The ``Host`` header and server name the requests carry."""
        self.loop = asyncio.new_event_loop()
        self.cookies: dict[str, str] = {}
        """The cookies the application set, by name, sent back with every request."""

    def __enter__(self) -> AppClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client's event loop."""
        if not self.loop.is_closed():
            self.loop.close()

    def run(self, awaitable: Any) -> Any:
        """Run ``awaitable`` on the client's loop, at most :attr:`timeout` seconds."""
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, self.timeout))

    def _scope(self, kind: str, path: str, headers: Mapping[str, str] | None) -> Scope:
        parts = urlsplit(path)
        header_list = [(b"host", self.host.encode("latin-1"))]
        header_list += [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ]
        if self.cookies and not any(name == b"cookie" for name, _ in header_list):
            jar = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            header_list.append((b"cookie", jar.encode("latin-1")))
        return {
            "type": kind,
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "http" if kind == "http" else "ws",
            "path": parts.path or "/",
            "raw_path": (parts.path or "/").encode("utf-8"),
            "query_string": parts.query.encode("latin-1"),
            "root_path": "",
            "headers": header_list,
            "server": (self.host, 80),
            "client": ("127.0.0.1", 50000),
            "extensions": {"websocket.http.response": {}},
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | Iterable[bytes] = b"",
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send a request; ``body`` is bytes, or an iterable of chunks to stream."""
        scope = self._scope("http", path, headers)
        scope["method"] = method.upper()
        chunks = [body] if isinstance(body, bytes) else list(body)
        if isinstance(body, bytes):
            if body:
                scope["headers"].append((b"content-length", str(len(body)).encode("ascii")))
        else:
            scope["headers"].append((b"transfer-encoding", b"chunked"))
        return cast(ClientResponse, self.run(self._exchange(scope, chunks)))

    async def _exchange(self, scope: Scope, chunks: list[bytes]) -> ClientResponse:
        inbox = deque(
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks or [b""])
        )
        outbox: list[Message] = []
        finished = asyncio.Event()

        async def receive() -> Message:
            if inbox:
                return inbox.popleft()
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            outbox.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        await self.app(scope, receive, send)
        start = next(m for m in outbox if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in outbox if m["type"] == "http.response.body")
        response = ClientResponse(start["status"], start.get("headers", []), body)
        self._keep_cookies(response)
        return response

    def _keep_cookies(self, response: ClientResponse) -> None:
        """Store the cookies ``response`` sets; forget those it expires."""
        for name, value in response.header_list:
            if name != "set-cookie":
                continue
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(value)
            for key, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send a GET request, adding ``params`` to the query string."""
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        data: bytes | Mapping[str, str] = b"",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send a POST request; a mapping is form-encoded."""
        all_headers = dict(headers or {})
        if isinstance(data, Mapping):
            all_headers.setdefault("content-type", "application/x-www-form-urlencoded")
            data = urlencode(data).encode("ascii")
        return self.request("POST", path, body=data, headers=all_headers)

    def websocket(self, path: str, *, headers: Mapping[str, str] | None = None) -> WebsocketSession:
        """Open a websocket to ``path``; raises :class:`WebsocketRefused` if refused."""
        return WebsocketSession(self, self._scope("websocket", path, headers))
