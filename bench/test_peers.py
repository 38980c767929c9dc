"""The peers scenario's servers do the tutorial's work: the same page, the same refusals,
the same echo, whichever app and server.

The page in Starlette (:mod:`bench.apps.starlette_page`) is compared with the
tutorial's own app, run in this process through aiopyramid's ASGI adapter; then each
peer is started with the command the benchmark uses, and asked for the page and an
echo over the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aiopyramid.asgi import app_from_config
from bench.apps import starlette_page
from bench.contenders import (
    ApacheLauncher,
    Contender,
    LegacyLauncher,
    Running,
    contenders,
    serve,
)
from bench.profiles import TUTORIAL_INI
from bench.results import PEERS
from testkit.aio import run

QUERIES = ["?sleep=0", "?sleep=nan", "?sleep=11", "?sleep=0&sleep=0", "?sleep=-1", "?sleep=%ff"]
"""The page, then ``sleep`` values the tutorial refuses with a 400."""
TIMEOUT = 60.0


async def answers(app: object, queries: list[str]) -> list[tuple[int, bytes]]:
    """Status and body of ``GET /<query>`` for each query, from the ASGI ``app``."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return [
            (response.status_code, response.content)
            for response in [await client.get(f"/{query}") for query in queries]
        ]


@pytest.fixture(scope="module")
def tutorial() -> list[tuple[int, bytes]]:
    """What the tutorial's own app answers to :data:`QUERIES`."""
    return run(answers(app_from_config(str(TUTORIAL_INI)), QUERIES), TIMEOUT)


def test_the_starlette_page_is_the_tutorial_s_byte_for_byte(
    tutorial: list[tuple[int, bytes]],
) -> None:
    assert tutorial[0][0] == 200 and b"<title>aiotutorial websocket test</title>" in tutorial[0][1]
    assert run(answers(starlette_page.application, QUERIES), TIMEOUT) == tutorial


def test_the_starlette_echo_sends_text_and_bytes_back() -> None:
    with warnings.catch_warnings():  # Starlette's test client warns that httpx is old
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        with (
            TestClient(starlette_page.application) as client,
            client.websocket_connect("/echo") as socket,
        ):
            socket.send_text("Aiopyramid echo test.")
            assert socket.receive_text() == "Aiopyramid echo test."
            socket.send_bytes(b"\x00\xff")
            assert socket.receive_bytes() == b"\x00\xff"


def peer(key: str, tmp_path: Path) -> Contender:
    """The bench's contender ``key``, as the bench itself would start it."""
    every = contenders(LegacyLauncher(tmp_path, print, "not a peer"), ApacheLauncher(tmp_path))
    return every[key]


async def page_and_echo(port: int) -> tuple[int, bytes, str | bytes]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        page = await client.get("/?sleep=0")
    async with connect(f"ws://127.0.0.1:{port}/echo", open_timeout=30) as socket:
        await socket.send("Aiopyramid echo test.")
        echoed = await asyncio.wait_for(socket.recv(), 30)
    return page.status_code, page.content, echoed


@pytest.mark.parametrize("key", PEERS)
def test_each_peer_serves_the_tutorial_s_page_and_echo(
    key: str, tutorial: list[tuple[int, bytes]], tmp_path: Path
) -> None:
    with serve(peer(key, tmp_path), tmp_path, key) as server:
        status, page, echoed = run(page_and_echo(server.port), TIMEOUT)
    assert (status, page) == tutorial[0]
    assert echoed == "Aiopyramid echo test."


SHUTDOWN_CLOSE_CODES = {"aiopyramid": 1001, "aiopyramid_uvicorn": 1012}
"""The code each worker closes an open websocket with when the server stops, as the
performance page says: aiopyramid's promises 1001, uvicorn's sends 1012."""


async def close_code_on_stop(server: Running) -> int | None:
    """Open an echo websocket, stop the server (SIGTERM, as ``ServerProcess.stop``
    sends), and return the code the server closed the socket with."""
    async with connect(f"ws://127.0.0.1:{server.port}/echo", open_timeout=30) as socket:
        await socket.send("before the stop")
        assert await asyncio.wait_for(socket.recv(), 30) == "before the stop"
        stopping = asyncio.create_task(asyncio.to_thread(server.process.stop))
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 30)
        await stopping
    return socket.close_code


@pytest.mark.parametrize("key", SHUTDOWN_CLOSE_CODES)
def test_a_stopping_server_closes_websockets_with_its_worker_s_code(
    key: str, tmp_path: Path
) -> None:
    with serve(peer(key, tmp_path), tmp_path, key) as server:
        code = run(close_code_on_stop(server), TIMEOUT)
    assert code == SHUTDOWN_CLOSE_CODES[key]
