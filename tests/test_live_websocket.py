"""Live websocket tests: the test app under ``pserve`` (gunicorn, aiopyramid's worker)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testkit.aio import coverage_paused, poll_json, run
from testkit.raw import raw_http, status_of
from testkit.server import ServerProcess
from tests.live_app import ini_settings, launch

SETTINGS = ini_settings()
MAX_MESSAGE_SIZE = int(SETTINGS["aiopyramid.websocket.max_message_size"])
ALLOWED_ORIGINS = SETTINGS["aiopyramid.websocket.allowed_origins"].split()
CLIENTS = 1000
MESSAGES = 100
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with launch.pserve(tmp_path_factory.mktemp("live_websocket")) as server:
        yield server


def ws_connect(server: ServerProcess, path: str, **kwargs: Any) -> connect:
    """``websockets`` client connection to ``path`` with bounded handshake and close."""
    return connect(
        server.ws_url(path), open_timeout=TIMEOUT, close_timeout=10, max_size=None, **kwargs
    )


async def recv(ws: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def refusal_status(server: ServerProcess, path: str, **kwargs: Any) -> int:
    """The HTTP status with which the server refuses a websocket handshake to ``path``."""
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(server, path, **kwargs):
            pass
    return refused.value.response.status_code


async def stats(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
        response = await client.get("/stats")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


async def stats_once_closed(server: ServerProcess, client_id: str) -> dict[str, Any]:
    """The server's stats, once the connection of ``client_id`` has run ``on_close()``."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
        return await poll_json(  # type: ignore[no-any-return]
            client,
            "/stats",
            lambda stats: client_id in stats["closed"],
            what="on_close() to run",
        )


# -- echo -------------------------------------------------------------------------


def test_echo_text_non_ascii_large_and_binary(server: ServerProcess) -> None:
    messages: list[str | bytes] = [
        "hello",
        "héllo wörld, Καλημέρα, こんにちは ✓ 🎉",
        "",
        "x" * 10_240,
        "é" * (MAX_MESSAGE_SIZE // 2),  # exactly the limit in UTF-8 bytes
        os.urandom(10_240),
        b"",
        bytes(range(256)),
    ]

    async def main() -> list[str | bytes]:
        async with ws_connect(server, "/ws/echo") as ws:
            replies = []
            for message in messages:
                await ws.send(message)
                replies.append(await recv(ws))
            return replies

    assert run(main(), TIMEOUT) == messages


def test_use_bytes_mapper_delivers_text_as_bytes(server: ServerProcess) -> None:
    async def main() -> list[str | bytes]:
        async with ws_connect(server, "/ws/bytes") as ws:
            await ws.send("héllo")
            await ws.send(b"\x00\xff")
            return [await recv(ws) for _ in range(4)]

    assert run(main(), TIMEOUT) == ["bytes 6", "héllo".encode(), "bytes 2", b"\x00\xff"]


def test_class_based_view_open_message_close(server: ServerProcess) -> None:
    client_id = uuid.uuid4().hex

    async def main() -> tuple[list[str | bytes], dict[str, Any]]:
        async with ws_connect(server, f"/ws/class?id={client_id}") as ws:
            replies = [await recv(ws)]
            messages: list[str | bytes] = ["hello", "héllo", b"bytes"]
            for message in messages:
                await ws.send(message)
                replies.append(await recv(ws))
        closed = await stats_once_closed(server, client_id)
        return replies, closed["closed"][client_id]

    replies, closed = run(main(), TIMEOUT * 2)
    assert replies == [f"welcome {client_id}", "HELLO", "HÉLLO", b"BYTES"]
    assert closed == {"messages": 3, "same_request": True}


def test_class_based_view_on_close_runs_when_the_client_vanishes(server: ServerProcess) -> None:
    client_id = uuid.uuid4().hex

    async def main() -> dict[str, Any]:
        async with ws_connect(server, f"/ws/class?id={client_id}") as ws:
            assert await recv(ws) == f"welcome {client_id}"
            ws.transport.abort()  # no close frame: the TCP connection just drops
        return await stats_once_closed(server, client_id)

    stats = run(main(), TIMEOUT * 2)
    assert stats["closed"][client_id] == {"messages": 0, "same_request": True}
    assert stats["request_greenlets"] == 1  # only the /stats request's own


def test_clients_vanishing_mid_conversation_end_their_views_without_a_leak(
    server: ServerProcess,
) -> None:
    """20 clients drop their TCP connections mid-conversation: every echo view ends."""

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as watcher:
            before = (await watcher.get("/stats")).json()
            sockets = [await ws_connect(server, "/ws/echo") for _ in range(20)]
            for ws in sockets:
                await ws.send("hello")
                assert await recv(ws) == "hello"
                await ws.send("unanswered")  # in flight when the connection drops
            for ws in sockets:
                ws.transport.abort()
            after = await poll_json(
                watcher,
                "/stats",
                lambda now: now["inflight"]["ws_echo"] == 0 and now["tasks"] <= before["tasks"],
                what="every echo view to end",
            )
            return before, after

    before, after = run(main(), TIMEOUT * 2)
    assert after["request_greenlets"] == before["request_greenlets"] == 1
    assert after["tasks"] == before["tasks"]


def test_view_closes_with_its_own_code_and_reason(server: ServerProcess) -> None:
    async def main() -> tuple[str | bytes, int | None, str | None]:
        async with ws_connect(server, "/ws/close") as ws:
            await ws.send("4001 see you later")
            reply = await recv(ws)
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            return reply, ws.close_code, ws.close_reason

    assert run(main(), TIMEOUT) == ("bye", 4001, "see you later")


# -- limits and refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "x" * (MAX_MESSAGE_SIZE + 1),
        "é" * (MAX_MESSAGE_SIZE // 2 + 1),
        b"\0" * (MAX_MESSAGE_SIZE + 1),
    ],
    ids=["ascii", "utf-8", "binary"],
)
def test_message_over_max_size_closes_with_1009(
    server: ServerProcess, message: str | bytes
) -> None:
    async def main() -> int | None:
        async with ws_connect(server, "/ws/echo") as ws:
            await ws.send("before")
            assert await recv(ws) == "before"
            await ws.send(message)
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            return ws.close_code

    assert run(main(), TIMEOUT) == 1009


def test_foreign_origin_is_refused(server: ServerProcess) -> None:
    status = run(refusal_status(server, "/ws/echo", origin="http://evil.example"), TIMEOUT)
    assert status == 403


@pytest.mark.parametrize("origin", [*ALLOWED_ORIGINS, "own"])
def test_allowed_origin_is_accepted(server: ServerProcess, origin: str) -> None:
    if origin == "own":  # the page's own origin is always allowed
        origin = server.base_url

    async def main() -> str | bytes:
        async with ws_connect(server, "/ws/echo", origin=origin) as ws:
            await ws.send("hi")
            return await recv(ws)

    assert run(main(), TIMEOUT) == "hi"


@pytest.mark.parametrize("path", ["/plain", "/plain-legacy"])
def test_websocket_to_plain_route_is_refused_without_running_the_view(
    server: ServerProcess, path: str
) -> None:
    name = path.strip("/").replace("-", "_")

    async def main() -> tuple[int, int, int, int]:
        before = (await stats(server))["hits"].get(name, 0)
        status = await refusal_status(server, path)
        after_refusal = (await stats(server))["hits"].get(name, 0)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
            assert (await client.get(path)).status_code == 200  # the view does count hits
        after_get = (await stats(server))["hits"].get(name, 0)
        return status, before, after_refusal, after_get

    status, before, after_refusal, after_get = run(main(), TIMEOUT * 2)
    assert status == 403
    assert after_refusal == before, "the plain view ran for a websocket handshake"
    assert after_get == before + 1


def test_websocket_to_unknown_route_is_refused_with_403_by_gunicorn(server: ServerProcess) -> None:
    """Pyramid answers 404, but gunicorn can only say 403.

    An ASGI app refuses a handshake with ``websocket.close``; only servers that
    offer the ``websocket.http.response`` extension (uvicorn does, see
    test_live_servers.py) let it send its own status instead. gunicorn 27 does
    not, and answers every refused handshake with 403 Forbidden.
    """
    assert run(refusal_status(server, "/no/such/route"), TIMEOUT) == 403


KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample Sec-WebSocket-Key
BAD_HANDSHAKES = {
    # Refused by gunicorn before the app sees them (RFC 6455 section 4.2.1):
    "no Sec-WebSocket-Key": (["Sec-WebSocket-Version: 13"], 400),
    "key not 16 bytes": (["Sec-WebSocket-Key: c2hvcnQ=", "Sec-WebSocket-Version: 13"], 400),
    "key not base64": (["Sec-WebSocket-Key: not base64!", "Sec-WebSocket-Version: 13"], 400),
    # RFC 6455 section 4.2.2 asks for 426 and the versions the server speaks.
    "version 8": ([f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 8"], 426),
}


@pytest.mark.parametrize(("headers", "status"), BAD_HANDSHAKES.values(), ids=BAD_HANDSHAKES.keys())
def test_bad_handshakes_are_rejected(
    server: ServerProcess, headers: list[str], status: int
) -> None:
    request = [
        "GET /ws/echo HTTP/1.1",
        f"Host: {server.host}:{server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        *headers,
    ]
    answer = raw_http(server.host, server.port, ("\r\n".join(request) + "\r\n\r\n").encode())
    assert status_of(answer) == status, answer[:200]
    if status == 426:
        assert b"Sec-WebSocket-Version: 13" in answer


@pytest.mark.parametrize(
    "request_head",
    [
        "GET /ws/echo HTTP/1.1\r\nUpgrade: websocket\r\n",  # no Connection: Upgrade
        "POST /ws/echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Content-Length: 0\r\n",  # handshakes are GET requests
    ],
    ids=["no-connection-upgrade", "post"],
)
def test_half_handshakes_are_plain_requests_and_get_426(
    server: ServerProcess, request_head: str
) -> None:
    """Not a handshake at all for gunicorn: the websocket view answers 426 Upgrade Required."""
    request = f"{request_head}Host: {server.host}\r\nConnection: close\r\n\r\n"
    answer = raw_http(server.host, server.port, request.encode())
    assert status_of(answer) == 426, answer[:200]


def test_plain_http_get_to_websocket_route_gets_426(server: ServerProcess) -> None:
    response = httpx.get(server.url("/ws/echo"), timeout=TIMEOUT)
    assert response.status_code == 426
    assert response.headers["upgrade"].lower() == "websocket"


def test_exception_in_websocket_view_closes_with_1011_and_is_logged(
    server: ServerProcess,
) -> None:
    async def main() -> int | None:
        async with ws_connect(server, "/ws/boom") as ws:
            await ws.send("go")
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            return ws.close_code

    assert run(main(), TIMEOUT) == 1011
    log = server.wait_for_log("RuntimeError: websocket view failed on purpose")
    assert "Traceback (most recent call last):" in log


# -- concurrency --------------------------------------------------------------------


def test_1000_concurrent_clients_lose_duplicate_and_reorder_nothing(
    server: ServerProcess, record_property: Callable[[str, object], None]
) -> None:
    """1000 sockets open at once, each sends 100 numbered messages; each gets exactly those back.

    Every client connects, then waits until all have (so the 1000 conversations
    really overlap: the echo view counts how many run at once), then sends all its
    messages before reading any reply.
    """

    async def main() -> tuple[list[list[str | bytes]], float]:
        connected = 0
        everyone = asyncio.Event()
        handshakes = asyncio.Semaphore(100)  # at most 100 handshakes under way at a time

        async def client(number: int) -> list[str | bytes]:
            nonlocal connected
            async with handshakes:
                ws = await ws_connect(server, "/ws/echo")
            async with ws:
                connected += 1
                if connected == CLIENTS:
                    everyone.set()
                await asyncio.wait_for(everyone.wait(), TIMEOUT)
                for index in range(MESSAGES):
                    await ws.send(f"client {number} message {index}")
                return [await recv(ws) for _ in range(MESSAGES)]

        started = time.perf_counter()
        replies = await asyncio.gather(*(client(number) for number in range(CLIENTS)))
        return list(replies), time.perf_counter() - started

    with coverage_paused():
        replies, seconds = run(main(), timeout=120)
    print(f"\n{CLIENTS} websocket clients x {MESSAGES} messages: {seconds:.2f} s")
    record_property("concurrent_websocket_wall_time_s", round(seconds, 3))
    assert replies == [
        [f"client {number} message {index}" for index in range(MESSAGES)]
        for number in range(CLIENTS)
    ]
    assert run(stats(server), TIMEOUT)["peak"]["ws_echo"] >= CLIENTS
