"""Build a PEP 3333 WSGI environ from an ASGI scope, with a streaming request body."""

from __future__ import annotations

import io
import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from pyramid.httpexceptions import HTTPRequestEntityTooLarge

from aiopyramid.exceptions import ClientDisconnected
from aiopyramid.helpers import _wait_for_awaitable
from aiopyramid.types import Receive, Scope

__all__ = ["RequestBody", "build_environ", "declares_body"]

# Repeated headers are joined with ", " (RFC 9110 section 5.3), cookies with "; "
# (RFC 9113 section 8.2.3).
_JOIN_WITH = {"HTTP_COOKIE": "; "}
_SCHEMES = {"ws": "http", "wss": "https"}
_PROTOCOLS = {"1.0": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2"}

_HEADER_KEYS: dict[bytes, str] = {}
"""Environ keys of the header names seen so far ("" for a header that is dropped)."""
_HEADER_KEYS_LIMIT = 1024
"""Header names are remembered up to this many, so odd names cannot fill the memory."""


def _target_path(target: bytes) -> bytes:
    """The path part of a raw request target, still percent-encoded.

    The query and any fragment are cut off. A target in absolute form
    (``GET http://host/page HTTP/1.1``, which RFC 9112 section 3.2.2 says servers
    must accept) is reduced to its path, as WSGI servers do; gunicorn passes it on whole.
    """
    path = target.split(b"#", 1)[0].split(b"?", 1)[0]
    if not path.startswith(b"/") and b"://" in path:
        path = b"/" + path.split(b"://", 1)[1].partition(b"/")[2]
    return path


def _wsgi_path(scope: Scope) -> tuple[str, str]:
    """Return ``(SCRIPT_NAME, PATH_INFO)`` as WSGI "bytes in latin-1" strings.

    Like WSGI servers, PATH_INFO is the percent-decoded raw path. ``root_path`` is
    removed from it when the path lies under it (as ASGI 2.4 servers include it),
    only at a segment boundary: with root ``/app``, ``/apple`` stays whole.
    """
    raw_path = scope.get("raw_path")
    if raw_path:
        # The common target, a plain path, needs neither cutting nor decoding.
        if raw_path[:1] != b"/" or b"?" in raw_path or b"#" in raw_path:
            raw_path = _target_path(raw_path)
        path = unquote_to_bytes(raw_path) if b"%" in raw_path else raw_path
    else:
        path = scope["path"].encode("utf-8")
    root_path = scope.get("root_path")
    if not root_path:
        return "", path.decode("latin-1")
    root = root_path.encode("utf-8")
    if path == root or path.startswith(root + b"/"):
        path = path[len(root) :]
    return root.decode("latin-1"), path.decode("latin-1")


def _header_key(raw_name: bytes) -> str:
    """The environ key of a header name, or "" for a header that is dropped; remembered."""
    if b"_" in raw_name:
        # X_User would become HTTP_X_USER, the key of X-User: a header a proxy
        # strips could be smuggled in. Dropped, as gunicorn and waitress do.
        key = ""
    else:
        name = raw_name.decode("latin-1").lower()
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
    if len(_HEADER_KEYS) < _HEADER_KEYS_LIMIT:
        _HEADER_KEYS[raw_name] = key
    return key


def build_environ(scope: Scope, body: Any) -> dict[str, Any]:
    """Translate an ``http`` or ``websocket`` scope into a WSGI environ reading ``body``."""
    script_name, path_info = _wsgi_path(scope)
    scheme = _SCHEMES.get(scope.get("scheme", "http"), scope.get("scheme"))
    query = scope.get("query_string", b"")
    version = scope.get("http_version", "1.1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": (query.split(b"#", 1)[0] if b"#" in query else query).decode("latin-1"),
        "SERVER_PROTOCOL": _PROTOCOLS.get(version) or f"HTTP/{version}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme or "http",
        "wsgi.input": body,
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    server = scope.get("server")
    if server:
        environ["SERVER_NAME"] = server[0]
        environ["SERVER_PORT"] = str(server[1]) if server[1] is not None else ""
    else:
        environ["SERVER_NAME"] = "localhost"
        environ["SERVER_PORT"] = "443" if environ["wsgi.url_scheme"] == "https" else "80"
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    known_key = _HEADER_KEYS.get
    for raw_name, raw_value in scope.get("headers", ()):
        key = known_key(raw_name)
        if key is None:
            key = _header_key(raw_name)
        if not key:
            continue
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + _JOIN_WITH.get(key, ", ") + value
        environ[key] = value
    return environ


def declares_body(scope: Scope) -> bool:
    """Tell whether the request announces a body (non-zero Content-Length, or chunked)."""
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class RequestBody(io.RawIOBase):
    """``wsgi.input`` that pulls ``http.request`` messages from ASGI as the app reads.

    Reading happens inside the request greenlet, which waits for each message
    without blocking the loop, so bodies stream instead of being buffered whole.
    More than ``limit`` bytes raises
    :class:`~pyramid.httpexceptions.HTTPRequestEntityTooLarge`, which Pyramid renders
    as a 413; a client that disconnects raises
    :class:`~aiopyramid.exceptions.ClientDisconnected`.
    """

    _received = 0
    _pending = b""

    def __init__(self, receive: Receive, limit: int, *, expect_body: bool = True) -> None:
        # One per request: io.RawIOBase needs no __init__ call, and the counters
        # start from the class attributes above.
        self._receive = receive
        self._limit = limit
        self._more = expect_body

    @property
    def may_have_more(self) -> bool:
        """Whether more of the body may still arrive from the client."""
        return self._more

    def readable(self) -> bool:
        """Always true: this stream is for reading."""
        return True

    def _fill(self) -> None:
        message = _wait_for_awaitable(self._receive())
        if message["type"] == "http.disconnect":
            self._more = False
            raise ClientDisconnected("the client disconnected while sending its request")
        chunk = message.get("body", b"")
        self._received += len(chunk)
        if self._received > self._limit:
            self._more = False
            raise HTTPRequestEntityTooLarge(
                f"The request body is larger than the limit of {self._limit} bytes."
            )
        self._pending += chunk
        self._more = message.get("more_body", False)

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left when ``size`` is -1 or None)."""
        if size is None or size < 0:
            while self._more:
                self._fill()
            data, self._pending = self._pending, b""
            return data
        while len(self._pending) < size and self._more:
            self._fill()
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into a writable ``buffer``; return how many bytes were read."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line, up to ``size`` bytes."""
        while b"\n" not in self._pending and self._more:
            if size is not None and 0 <= size <= len(self._pending):
                break
            self._fill()
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        if size is not None and size >= 0:
            end = min(end, size)
        data, self._pending = self._pending[:end], self._pending[end:]
        return data
