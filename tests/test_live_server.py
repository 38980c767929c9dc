"""Live HTTP tests: the test app under ``pserve`` (gunicorn, aiopyramid's worker, ONE worker).

One server serves the whole module; each test uses its own URLs or tokens, so the
tests do not depend on each other's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import os
import select
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.aio import concurrent_gets, coverage_paused, poll_json, run
from testkit.raw import raw_http
from testkit.server import ServerProcess
from tests.live_app import ini_settings, launch

MAX_BODY_SIZE = int(ini_settings()["aiopyramid.max_body_size"])
CONCURRENCY = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with launch.pserve(tmp_path_factory.mktemp("live_server")) as server:
        yield server


def client_for(server: ServerProcess, connections: int = 20) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30.0)


# -- concurrency ----------------------------------------------------------------


def listen_overflows() -> int | None:
    """Linux's count of connections dropped because an accept queue was full (all sockets)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields["ListenOverflows"])
    return None


def test_200_concurrent_waiting_requests_on_one_worker(
    server: ServerProcess, record_property: Callable[[str, object], None]
) -> None:
    """200 requests wait at the same time in one worker, until the test lets them go.

    The worker's own count of requests in flight shows them all waiting together;
    the time the burst took is recorded, not judged.
    """
    token = uuid.uuid4().hex

    async def main() -> tuple[list[httpx.Response], dict[str, Any], float]:
        # Warm up first, so that what is recorded is the burst, not a fresh worker's
        # first requests.
        await concurrent_gets(server.base_url, [("/sleep", {"sleep": "0"})] * 20)
        async with client_for(server) as watcher:
            started = time.perf_counter()
            burst = asyncio.ensure_future(
                concurrent_gets(server.base_url, [("/gate", {"token": token})] * CONCURRENCY)
            )
            together = await poll_json(
                watcher,
                "/stats",
                lambda stats: stats["inflight"].get(f"gate:{token}", 0) == CONCURRENCY,
                timeout=60,
                what=f"{CONCURRENCY} requests to wait at once",
            )
            await watcher.get("/release", params={"token": token})
            responses = await burst
            return responses, together, time.perf_counter() - started

    overflows_before = listen_overflows()
    with coverage_paused():
        responses, together, seconds = run(main(), timeout=120)
    overflows_after = listen_overflows()
    print(f"\n{CONCURRENCY} concurrent waiting requests on one worker: {seconds:.2f} s")
    if overflows_before is not None and overflows_after is not None:
        # Each overflow is a SYN dropped by a full accept queue: +1 s for that client.
        print(f"listen queue overflows meanwhile: {overflows_after - overflows_before}")
    record_property("concurrent_wait_wall_time_s", round(seconds, 3))
    assert [r.status_code for r in responses] == [200] * CONCURRENCY
    assert {r.json()["pid"] for r in responses} == {together["pid"]}, "more than one worker"


def test_the_worker_runs_on_the_event_loop_its_runtime_asks_for(server: ServerProcess) -> None:
    """uvloop's in the fast runtime (``nox -s tests_fast``, with the settings of the
    deployment guide's ``fast_runtime.ini``): a worker that fell back to asyncio's
    would leave that runtime's tests proving nothing about it. Otherwise gunicorn's
    default, ``auto``: uvloop's where it is installed, else asyncio's."""
    loop = httpx.get(server.url("/stats"), timeout=30).json()["loop"]
    uvloop = launch.fast() or importlib.util.find_spec("uvloop") is not None
    assert loop == ("uvloop.Loop" if uvloop else "asyncio.unix_events._UnixSelectorEventLoop")


def test_listen_backlog_holds_200_waiting_connections(server: ServerProcess) -> None:
    """gunicorn's ``backlog`` (2048 by default) must reach the worker's listening socket.

    With the worker stopped, connections wait in the kernel's accept queue; once
    it is full, further SYNs are dropped and those clients retry only after 1 s,
    then 3 s, which is what makes a burst of concurrent clients slow.
    """
    worker = httpx.get(server.url("/stats"), timeout=30).json()["pid"]
    clients: list[socket.socket] = []
    os.kill(worker, signal.SIGSTOP)
    try:
        for _ in range(CONCURRENCY):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setblocking(False)
            client.connect_ex((server.host, server.port))
            clients.append(client)
        # A queued connection is established (writable); a dropped one stays pending.
        pending = set(clients)
        deadline = time.monotonic() + 3.0
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.1)
            for client in writable:
                if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    pending.discard(client)
        queued = len(clients) - len(pending)
    finally:
        os.kill(worker, signal.SIGCONT)
        for client in clients:
            client.close()
    assert queued == CONCURRENCY, (
        f"only {queued} of {CONCURRENCY} connections fit in the listen queue: the "
        "worker's listening socket does not have gunicorn's backlog"
    )


def test_blocking_legacy_view_does_not_delay_a_coroutine_view(
    server: ServerProcess,
) -> None:
    """A coroutine view answers while a legacy view blocks its thread until released."""
    token = uuid.uuid4().hex

    async def main() -> None:
        async with client_for(server) as client:
            gate = client.get("/gate-legacy", params={"token": token})
            blocking = asyncio.create_task(gate)
            await poll_json(
                client,
                "/stats",
                lambda stats: stats["inflight"].get(f"gate_legacy:{token}", 0) == 1,
                what="the legacy view to block its thread",
            )
            fast = await client.get("/sleep", params={"sleep": "0"})
            assert fast.status_code == 200
            assert not blocking.done(), "the coroutine answered after the legacy view"
            await client.get("/release", params={"token": token})
            slow = await blocking
            assert slow.status_code == 200
            assert slow.json() == {"released": True, "in_main_thread": False}

    run(main(), timeout=60)


def test_client_gone_cancels_the_coroutine_and_finishes_its_greenlet(
    server: ServerProcess,
) -> None:
    """A client that hangs up while its view waits gets the view's coroutine cancelled.

    The view waits at a gate nobody opens. gunicorn notices the closed connection,
    sends ``http.disconnect`` and, after its ``asgi_disconnect_grace_period`` (3 s by
    default), cancels the request's task. The cancellation reaches the view's
    ``await`` (the view records it under the request's token) and the request
    greenlet finishes.
    """
    token = uuid.uuid4().hex

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with client_for(server) as watcher:
            before = (await watcher.get("/stats")).json()
            async with client_for(server) as client:
                request = asyncio.create_task(client.get("/gate", params={"token": token}))
                await poll_json(
                    watcher,
                    "/stats",
                    lambda stats: stats["inflight"].get(f"gate:{token}", 0) == 1,
                    what="the request to wait at its gate",
                )
                request.cancel()  # httpx drops the connection
                with contextlib.suppress(asyncio.CancelledError):
                    await request
            after = await poll_json(
                watcher,
                "/stats",
                lambda stats: (
                    token in stats["cancelled"] and stats["inflight"][f"gate:{token}"] == 0
                ),
                timeout=30,
                what="the cancellation to reach the view",
            )
            return before, after

    before, after = run(main(), timeout=60)
    # Each /stats request runs in a request greenlet of its own; no other is left.
    assert before["request_greenlets"] == after["request_greenlets"] == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e308", "soon", "6"])
def test_sleep_parameter_is_validated(server: ServerProcess, value: str) -> None:
    response = httpx.get(server.url("/sleep"), params={"sleep": value}, timeout=30)
    assert response.status_code == 400


def test_path_and_query_string_are_decoded_as_wsgi_servers_do(server: ServerProcess) -> None:
    response = httpx.get(server.url("/path/h%C3%A9llo%20w%2Fx%25"), params={"q": "é x"}, timeout=30)
    assert response.json() == {
        "rest": "héllo w/x%",
        "path_info": "/path/héllo w/x%",
        "script_name": "",
        "q": "é x",
    }


# -- request bodies --------------------------------------------------------------


async def chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """``data`` as an async generator, so httpx sends it chunked (no Content-Length)."""
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


@pytest.mark.parametrize("path", ["/body", "/body-legacy"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", [0, 1, 1000, MAX_BODY_SIZE, MAX_BODY_SIZE + 1])
def test_request_body_up_to_the_limit_arrives_intact(
    server: ServerProcess, path: str, framing: str, size: int
) -> None:
    data = os.urandom(size)

    async def main() -> httpx.Response:
        async with client_for(server) as client:
            if framing == "chunked":
                return await client.post(path, content=chunks(data))
            return await client.post(path, content=data)

    response = run(main(), timeout=30)
    if size > MAX_BODY_SIZE:
        assert response.status_code == 413, response.text
    else:
        assert response.status_code == 200, response.text
        assert response.json() == {"length": size, "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("length", ["abc", "-1", "+5", "0x10", "1.5"])
def test_invalid_content_length_gets_400(server: ServerProcess, length: str) -> None:
    answer = raw_http(
        server.host,
        server.port,
        (
            f"POST /body HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\nhello"
        ).encode("latin-1"),
    )
    assert answer.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 400"), answer[:200]


# -- exceptions ------------------------------------------------------------------


def test_exception_in_coroutine_view_reaches_exception_view_and_is_logged(
    server: ServerProcess,
) -> None:
    token = uuid.uuid4().hex
    response = httpx.get(server.url("/boom"), params={"token": token}, timeout=30)
    assert response.status_code == 500
    assert response.json() == {"handled_by": "value_error_view", "error": f"boom {token}"}
    log = server.wait_for_log(f"ValueError: boom {token}")
    entry = log[log.index(f"exception view caught boom {token}") :]
    assert entry.splitlines()[1] == "Traceback (most recent call last):"
    assert "in boom_view" in entry
    assert_next_request_is_fine(server)


def assert_next_request_is_fine(server: ServerProcess) -> None:
    """The worker that just failed a request serves the next ones as usual."""
    stats = httpx.get(server.url("/stats"), timeout=30).json()
    assert stats["request_greenlets"] == 1
    response = httpx.get(server.url("/sleep"), params={"sleep": "0"}, timeout=30)
    assert response.status_code == 200
    assert response.json()["pid"] == stats["pid"], "the worker was replaced"


def test_coroutine_exception_view(server: ServerProcess) -> None:
    token = uuid.uuid4().hex
    response = httpx.get(server.url("/custom-error"), params={"token": token}, timeout=30)
    assert response.status_code == 418
    assert response.json() == {
        "handled_by": "live_app_error_view",
        "token": token,
        "same_request": True,
    }


def test_unhandled_exception_gives_500_and_a_logged_traceback(server: ServerProcess) -> None:
    token = uuid.uuid4().hex
    response = httpx.get(server.url("/unhandled"), params={"token": token}, timeout=30)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert token not in response.text
    log = server.wait_for_log(f"UnhandledLiveError: unhandled {token}")
    entry = log[: log.index(f"UnhandledLiveError: unhandled {token}")]
    entry = entry[entry.rindex("error while serving GET /unhandled") :]
    assert "Traceback (most recent call last):" in entry
    assert "in unhandled_view" in entry
    assert_next_request_is_fine(server)


# -- Pyramid's thread-locals under concurrency -----------------------------------


@pytest.mark.parametrize("path", ["/whoami", "/whoami-legacy"])
def test_get_current_request_under_concurrency(server: ServerProcess, path: str) -> None:
    values = [f"{i}-{uuid.uuid4().hex}" for i in range(100)]
    responses = run(
        concurrent_gets(server.base_url, [(path, {"value": v}) for v in values]), timeout=60
    )
    assert [r.status_code for r in responses] == [200] * len(values)
    assert [r.json() for r in responses] == [
        {"value": v, "same_request": True, "same_registry": True} for v in values
    ]
