"""Cheap, bounded load for live tests and the soak: raw HTTP/1.1 and websocket clients.

A load is a *mix*: a sequence of calls (:class:`HttpCall`, :class:`Abandon`,
:class:`WebsocketChat`), each with the status or replies it must get. :func:`drive`
runs ``clients`` concurrent client tasks that take the calls of the mix in turn,
until ``total`` calls were made or ``seconds`` have passed, and returns a
:class:`Tally`: how many calls were made, how many went wrong, and the first
few problems.

HTTP goes over raw keep-alive connections (a request written, the response read
by its ``Content-Length`` or chunks): an httpx client costs ten times more CPU
per request, and in a load test the client must not be what is measured.
Websockets use the ``websockets`` client (imported when the first chat starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Abandon", "HttpCall", "Tally", "WebsocketChat", "drive"]

MAX_PROBLEMS = 20
"""How many problems a :class:`Tally` keeps, to show in a failure message."""


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request and the status it must get."""

    method: str
    target: str
    expect: int
    body: bytes = b""
    content_type: str = "application/x-www-form-urlencoded"

    def encode(self, host: str) -> bytes:
        """The request's bytes, keep-alive, for ``host``."""
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        if self.body or self.method in {"POST", "PUT", "PATCH"}:
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def __str__(self) -> str:
        return f"{self.method} {self.target}"


@dataclass(frozen=True)
class Abandon:
    """A request whose client hangs up ``after`` seconds, before the response."""

    target: str
    after: float = 0.05

    def __str__(self) -> str:
        return f"abandoned GET {self.target}"


@dataclass(frozen=True)
class WebsocketChat:
    """A websocket conversation with an echo view: ``messages`` sent, all must come back."""

    path: str
    messages: int = 10

    def __str__(self) -> str:
        return f"websocket {self.path}"


Call = HttpCall | Abandon | WebsocketChat


@dataclass
class Tally:
    """What a load did: calls made, how they went, and the first problems seen."""

    calls: int = 0
    errors: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, call: Call, text: str) -> None:
        """Count one call that went wrong; keep the first :data:`MAX_PROBLEMS` descriptions."""
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{call}: {text}")


class _Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, call: HttpCall) -> int:
        """Send ``call``; return the response's status once its body was read.

        A kept-alive connection that the server closed while it was idle (gunicorn's
        ``keepalive`` timeout) is reopened and the request sent again, as browsers do.
        """
        reused = self.writer is not None and not self.writer.is_closing()
        if not reused:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        self.writer.write(call.encode(f"{self.host}:{self.port}"))
        try:
            status_line = await self.reader.readline()
        except ConnectionResetError:
            status_line = b""
        if not status_line:
            await self.close()
            if reused:
                return await self.request(call)
            raise ConnectionError("the server closed the connection without answering")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = value == "close"
        if call.method != "HEAD":
            await (self._skip_chunks() if chunked else self.reader.readexactly(length))
        if close:
            await self.close()
        return status

    async def _skip_chunks(self) -> None:
        assert self.reader is not None
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            await self.reader.readexactly(size + 2)
        await self.reader.readline()

    async def close(self) -> None:
        """Close the connection (it reopens on the next request)."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None


async def _abandon(host: str, port: int, call: Abandon) -> None:
    _, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {call.target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("latin-1"))
    await writer.drain()
    await asyncio.sleep(call.after)
    writer.transport.abort()


async def _chat(host: str, port: int, call: WebsocketChat, tally: Tally) -> None:
    from websockets.asyncio.client import connect

    sent = [f"{call.path} {number}" for number in range(call.messages)]
    async with connect(f"ws://{host}:{port}{call.path}", open_timeout=30, close_timeout=10) as ws:
        for message in sent:
            await ws.send(message)
        received = [await asyncio.wait_for(ws.recv(), 30) for _ in sent]
    if received != sent:
        tally.problem(call, f"sent {len(sent)} messages, got back {received[:3]}...")


async def _client(
    host: str,
    port: int,
    calls: itertools.cycle[Call],
    tally: Tally,
    *,
    last_call: int | None,
    deadline: float | None,
) -> None:
    connection = _Connection(host, port)
    try:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return
            if last_call is not None and tally.calls >= last_call:
                return
            tally.calls += 1
            call = next(calls)
            tally.by_kind[type(call).__name__] += 1
            try:
                if isinstance(call, HttpCall):
                    status = await asyncio.wait_for(connection.request(call), 30)
                    if status != call.expect:
                        tally.problem(call, f"status {status}, expected {call.expect}")
                elif isinstance(call, Abandon):
                    await _abandon(host, port, call)
                else:
                    await _chat(host, port, call, tally)
            except Exception as error:  # any failure is one error; the load goes on
                tally.problem(call, f"{type(error).__name__}: {error}")
                await connection.close()
    finally:
        await connection.close()


async def drive(
    host: str,
    port: int,
    mix: Sequence[Call],
    *,
    clients: int = 20,
    total: int | None = None,
    seconds: float | None = None,
) -> Tally:
    """Run ``mix`` with ``clients`` concurrent clients until ``total`` calls or ``seconds``.

    At least one of the two bounds must be given. Returns once every client has
    finished its last call and closed its connection.
    """
    if total is None and seconds is None:
        raise ValueError("drive() needs a bound: total calls, seconds, or both")
    tally = Tally()
    calls = itertools.cycle(mix)
    deadline = None if seconds is None else time.monotonic() + seconds
    await asyncio.gather(
        *(
            _client(host, port, calls, tally, last_call=total, deadline=deadline)
            for _ in range(clients)
        )
    )
    return tally
