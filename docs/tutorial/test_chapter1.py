"""Chapter 1's promises, checked against a live server from outside.

sybil replays the chapter's own blocks (see ``testkit/sybil_config.py``); these tests
check what its prose claims. The server is started with the command the chapter
gives the reader, read from the chapter, on a copy of the ini file that differs only
in its port, so that the tests can use a free one. Expected texts are read from the
chapter and the ini file, never repeated here. Where the prose says one thing
happens before another, the tests check that order, never a wall-clock time.
"""

import configparser
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from testkit.browser import chromium, shown_lines
from testkit.chapters import ROOT, chapter
from testkit.console import parse_transcript
from testkit.raw import read_head, status_of
from testkit.rst import CodeBlock, marked_blocks
from testkit.server import ServerProcess, free_port

CHAPTER = chapter("chapter1").page
PROJECT = chapter("chapter1").directory
"""The chapter's project: what ``aiopyramid-init aio_websocket aiotutorial`` generates."""
INI = PROJECT / "development.ini"


SETTINGS = configparser.ConfigParser(interpolation=None)
SETTINGS.read(INI)
SERVER = SETTINGS["server:main"]
MAX_SLEEP = float(SETTINGS["app:main"]["aiotutorial.max_sleep"])


def the_block(marker: str) -> CodeBlock:
    """The chapter's only code block marked ``marker``."""
    blocks = marked_blocks(CHAPTER.read_text(), marker)
    assert len(blocks) == 1, f"expected one block marked {marker}, found {len(blocks)}"
    return blocks[0]


def with_our_bin_first() -> dict[str, str]:
    """This environment, where ``pserve`` and ``gunicorn`` are the test run's own."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def page_text_in_the_chapter() -> list[str]:
    return [line.strip() for line in the_block("page-output").body.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The chapter's server command, serving on a free port; yields the home URL."""
    block = the_block("console-server")
    assert urlsplit(block.argument).port == int(SERVER["port"]), "marker and ini disagree"
    argv = shlex.split(parse_transcript(block.body)[-1].command)
    assert argv[-1] == INI.name, f"the chapter should serve {INI.name}, not {argv[-1]}"
    work = tmp_path_factory.mktemp("live")
    ini_copy = work / argv[-1]
    port = free_port()
    text, count = re.subn(r"(?m)^port = \d+$", f"port = {port}", INI.read_text())
    assert count == 1, "the ini file should have exactly one port line"
    ini_copy.write_text(text)
    url = block.argument.replace(f":{SERVER['port']}", f":{port}")
    server = ServerProcess(
        argv, port=port, log_path=work / "server.log", cwd=work, env=with_our_bin_first()
    )
    with server:
        yield url


def websocket_url(home: str) -> str:
    return home.replace("http://", "ws://", 1) + "echo"


def test_urls_and_ports_in_the_chapter_match_the_ini() -> None:
    text = CHAPTER.read_text()
    ports = set(re.findall(r"127\.0\.0\.1:(\d+)", text)) | set(re.findall(r"\bport (\d+)", text))
    assert ports == {SERVER["port"]}, "the chapter should name the port the ini file sets"
    assert SERVER["host"] == "127.0.0.1"


def test_the_app_starts_without_pytest() -> None:
    """A server's virtualenv has no pytest: building the app must not import the tests."""
    build = (
        "import sys; sys.modules['pytest'] = None\n"
        "from pyramid.paster import get_app\n"
        f"get_app({str(INI)!r})\n"
    )
    subprocess.run([sys.executable, "-c", build], cwd=ROOT, check=True, timeout=60)


def test_the_page_renders(live_server: str) -> None:
    response = httpx.get(live_server, timeout=5)
    assert response.status_code == 200
    assert f"<title>{page_text_in_the_chapter()[0]}</title>" in response.text


def test_the_websocket_echoes(live_server: str) -> None:
    with connect(websocket_url(live_server), open_timeout=5) as ws:
        for message in ("Aiopyramid echo test.", b"\x00\xff binary"):
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_a_slow_request_does_not_block_others(live_server: str) -> None:
    """The fast request is answered while the slow one still waits: order, not timing.

    The slow request is sent whole on a connection of its own before the fast one
    starts, so the worker has it first.
    """
    address = urlsplit(live_server)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    with socket.create_connection((host, port), timeout=30) as slow:
        slow.sendall(f"GET /?sleep=3 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert httpx.get(live_server, timeout=30).status_code == 200
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.recv(1)  # nothing yet: the slow request still waits
        slow.setblocking(True)
        assert status_of(read_head(slow)) == 200


BAD_SLEEPS = ["abc", "", "nan", "inf", "-1", "1e308", f"{MAX_SLEEP + 0.5:g}"]


def assert_refused(response: httpx.Response) -> None:
    """A 400 whose message names the parameter and its range, 0 to the ini's cap."""
    assert response.status_code == 400
    assert "sleep" in response.text
    assert re.search(rf"\b0 to {re.escape(f'{MAX_SLEEP:g}')}\b", response.text), response.text


@pytest.mark.parametrize("value", BAD_SLEEPS)
def test_bad_sleep_values_are_refused(live_server: str, value: str) -> None:
    assert_refused(httpx.get(live_server, params={"sleep": value}, timeout=5))


def test_bad_sleep_in_a_form_body_is_refused(live_server: str) -> None:
    assert_refused(httpx.post(live_server, data={"sleep": "inf"}, timeout=5))


def test_over_https_the_page_uses_wss(live_server: str) -> None:
    """Serve the real page at an https address; only a wss:// echo can answer it."""
    html = httpx.get(live_server, timeout=5).text
    expected = page_text_in_the_chapter()
    with chromium() as browser:
        page = browser.new_page()
        page.route(
            "https://aiotutorial.test/",
            lambda route: route.fulfill(body=html, content_type="text/html"),
        )
        page.route_web_socket(
            "wss://aiotutorial.test/echo",
            lambda ws: ws.on_message(lambda message: ws.send(message)),
        )
        page.goto("https://aiotutorial.test/")
        assert shown_lines(page, len(expected)) == expected


@contextmanager
def unfinished_requests(url: str, count: int) -> Iterator[None]:
    """Hold ``count`` connections whose request headers never end (slowloris)."""
    address = urlsplit(url)
    held = []
    try:
        for _ in range(count):
            held.append(socket.create_connection((address.hostname, address.port), timeout=5))
            held[-1].sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        yield
    finally:
        for connection in held:
            connection.close()


def test_slowloris_leaves_the_asyncio_worker_answering(live_server: str) -> None:
    with unfinished_requests(live_server, 50):
        assert httpx.get(live_server, timeout=30).status_code == 200
