"""Live tests of how the app is served: graceful SIGTERM, ``gunicorn --paste``, uvicorn, hypercorn.

Each test starts (and stops) its own server process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from testkit.aio import poll_json, run
from testkit.server import ServerProcess
from tests.live_app import ini_settings, launch

GRACEFUL_TIMEOUT = float(ini_settings("server:main")["graceful_timeout"])
IN_FLIGHT = 5
TIMEOUT = 30.0


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    """The requests in flight at SIGTERM finish, then the worker exits by itself.

    Had it needed the whole ``graceful_timeout``, the worker would log that it forced
    connections closed, or the master that it killed the worker.
    """
    with launch.pserve(tmp_path) as server:

        async def main() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=IN_FLIGHT + 2)
            async with httpx.AsyncClient(
                base_url=server.base_url, limits=limits, timeout=TIMEOUT
            ) as client:
                requests = [
                    asyncio.create_task(client.get("/sleep", params={"sleep": "2"}))
                    for _ in range(IN_FLIGHT)
                ]
                await poll_json(
                    client,
                    "/stats",
                    lambda stats: stats["inflight"].get("sleep", 0) >= IN_FLIGHT,
                    what=f"{IN_FLIGHT} requests to be in flight",
                )
                server.terminate()  # SIGTERM to the gunicorn master (pserve's process)
                return list(await asyncio.gather(*requests))

        responses = run(main(), timeout=60)
        assert [r.status_code for r in responses] == [200] * IN_FLIGHT
        assert [r.json()["slept"] for r in responses] == [2.0] * IN_FLIGHT
        assert server.wait(timeout=GRACEFUL_TIMEOUT + 10) == 0, server.log_tail()
        log = server.log_text()
        assert "Handling signal: term" in log
        assert "Forcing close" not in log, server.log_tail()
        assert "SIGKILL" not in log, server.log_tail()


def test_sigterm_closes_open_websockets_with_going_away(tmp_path: Path) -> None:
    """The worker closes open websockets with 1001 as soon as it is told to stop.

    Only aiopyramid's shutdown sends 1001; a socket left for gunicorn to drop at the
    end of ``graceful_timeout`` would end without that code.
    """
    with launch.pserve(tmp_path) as server:

        async def main() -> int | None:
            async with connect(server.ws_url("/ws/class?id=leaving"), open_timeout=TIMEOUT) as ws:
                assert await ws.recv() == "welcome leaving"
                server.terminate()
                await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
                return ws.close_code

        assert run(main(), timeout=60) == 1001
        assert server.wait(timeout=GRACEFUL_TIMEOUT + 10) == 0, server.log_tail()
        log = server.log_text()
        assert "class view leaving closed after 0 messages" in log
        assert "Forcing close" not in log, server.log_tail()


async def refusal_status(server: ServerProcess, path: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws_url(path), open_timeout=TIMEOUT, **kwargs):
            pass
    return refused.value.response.status_code


async def serves_page_and_websocket(server: ServerProcess, refused_status: int) -> None:
    """The checks every way of serving the app must pass: pages, a body, websockets.

    ``refused_status`` is what the server answers a handshake to an unknown URL:
    Pyramid's 404 where the server offers ASGI's ``websocket.http.response``
    extension, else the server's own choice for a refused handshake.
    """
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
        page = await client.get("/whoami", params={"value": "héllo"})
        assert page.status_code == 200
        assert page.json() == {"value": "héllo", "same_request": True, "same_registry": True}
        path = await client.get("/path/h%C3%A9llo%20w%2Fx%25", params={"q": "é x"})
        assert path.json() == {
            "rest": "héllo w/x%",
            "path_info": "/path/héllo w/x%",
            "script_name": "",
            "q": "é x",
        }
        body = await client.post("/body", content=b"x" * 1000)
        assert body.json()["length"] == 1000
        assert (await client.get("/ws/echo")).status_code == 426
    async with connect(server.ws_url("/ws/echo"), open_timeout=TIMEOUT, close_timeout=10) as ws:
        messages: list[str | bytes] = ["hello", "wörld ✓", b"\x00\x01binary"]
        for message in messages:
            await ws.send(message)
            assert await asyncio.wait_for(ws.recv(), TIMEOUT) == message
    assert await refusal_status(server, "/plain") == 403
    assert await refusal_status(server, "/ws/echo", origin="http://evil.example") == 403
    assert await refusal_status(server, "/no/such/route") == refused_status


@pytest.mark.parametrize(
    ("launcher", "refused_status"),
    [(launch.gunicorn_paste, 403), (launch.uvicorn, 404), (launch.hypercorn, 404)],
    ids=["gunicorn-paste", "uvicorn-factory", "hypercorn-factory"],
)
def test_other_ways_to_serve_the_app(
    tmp_path: Path, launcher: Callable[[Path], ServerProcess], refused_status: int
) -> None:
    with launcher(tmp_path) as server:
        run(serves_page_and_websocket(server, refused_status), timeout=60)
        log = server.log_text()
    if launcher is launch.gunicorn_paste:
        assert f"Using worker: {launch.WORKER_CLASS}" in log
