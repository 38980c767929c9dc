"""The peers scenario's servers do the tutorial's work: the same page, the same refusals,
the same echo, whichever app and server.

The page in Starlette (:mod:`bench.apps.starlette_page`) is compared with the
tutorial's own app, run in this process through aiopyramid's ASGI adapter; then each
peer is started with the command the benchmark uses, and asked for the page and an
echo over the network.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from aiopyramid.asgi import app_from_config
from bench.apps import starlette_page
from bench.contenders import ApacheLauncher, LegacyLauncher, contenders, serve
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
    every = contenders(LegacyLauncher(tmp_path, print, "not a peer"), ApacheLauncher(tmp_path))
    with serve(every[key], tmp_path, key) as server:
        status, page, echoed = run(page_and_echo(server.port), TIMEOUT)
    assert (status, page) == tutorial[0]
    assert echoed == "Aiopyramid echo test."
