"""The deployment guide's promises about ``production.ini``, checked against a live server.

The tutorial's project (the last chapter's) is migrated and started with the
commands the ini file's header gives (the guide shows that header), on a copy of
the file that differs only in its port and its database, which is a new one in a
throwaway PostgreSQL server. What is expected is read from the ini file, never
repeated here.
"""

import asyncio
import configparser
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testkit.chapters import latest
from testkit.postgres import TemporaryCluster
from testkit.raw import raw_http, read_head, status_of
from testkit.server import ServerProcess, free_port, wait_until

INI = latest().directory / "production.ini"
PARSER = configparser.ConfigParser(interpolation=None)
PARSER.read(INI)
APP, SERVER = PARSER["app:main"], PARSER["server:main"]
MAX_BODY = int(APP["aiopyramid.max_body_size"])
MAX_MESSAGE = int(APP["aiopyramid.websocket.max_message_size"])
(ALLOWED_ORIGIN,) = APP["aiopyramid.websocket.allowed_origins"].split()
TIMEOUT = 15.0


def header_command(purpose: str) -> list[str]:
    """A command of the ini file's header: ``# PURPOSE:  COMMAND``."""
    (command,) = re.findall(rf"(?m)^# {re.escape(purpose)}:\s+(.+)$", INI.read_text())
    return shlex.split(command)


@pytest.fixture(scope="module")
def database(postgres_cluster: TemporaryCluster) -> str:
    """A new database in the throwaway PostgreSQL server, as production.ini expects."""
    return postgres_cluster.create_database("production")


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``pserve production.ini``, migrated and run as the header says, on a free port."""
    migrate, start = (
        header_command("Create or upgrade the database's tables"),
        header_command("Start both with"),
    )
    assert migrate[-3:] == [INI.name, "upgrade", "head"] and start[-1] == INI.name
    work = tmp_path_factory.mktemp("production")
    port = free_port()
    text, ports = re.subn(r"(?m)^port = \d+$", f"port = {port}", INI.read_text())
    text, urls = re.subn(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {database}", text)
    assert (ports, urls) == (1, 1)
    (work / INI.name).write_text(text)
    shutil.copytree(INI.parent / "alembic", work / "alembic")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    done = subprocess.run(migrate, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with ServerProcess(start, port=port, log_path=work / "server.log", cwd=work, env=env) as server:
        yield server


def test_debugging_is_off_and_the_limits_are_set() -> None:
    assert APP["pyramid.reload_templates"] == "false"
    assert all(APP[name] == "false" for name in APP if name.startswith("pyramid.debug_"))
    assert "debugtoolbar" not in APP["pyramid.includes"]
    assert MAX_BODY < 10 * 1024 * 1024 and MAX_MESSAGE < 1024 * 1024  # below the defaults
    assert int(SERVER["websocket_max_message_size"]) == MAX_MESSAGE
    assert float(SERVER["graceful_timeout"]) > float(APP["aiotutorial.max_sleep"])
    assert SERVER["host"] == "127.0.0.1"


LOGGING = {"loggers", "handlers", "formatters", "logger", "handler", "formatter"}
"""The ini sections (or their prefixes before ``_``) that configure Python's logging."""


def test_logging_is_development_ini_s_with_the_app_at_info() -> None:
    development = configparser.ConfigParser(interpolation=None)
    development.read(INI.with_name("development.ini"))
    logging_sections = [name for name in development if name.split("_")[0] in LOGGING]
    assert logging_sections == [name for name in PARSER if name.split("_")[0] in LOGGING]
    for name in logging_sections:
        expected = dict(development[name])
        if name == "logger_aiotutorial":
            expected["level"] = "INFO"
        assert dict(PARSER[name]) == expected, name


def test_the_page_is_served(server: ServerProcess) -> None:
    response = httpx.get(server.url("/"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert "<title>aiotutorial websocket test</title>" in response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/?sleep=nan", 400), ("GET", "/no/such/page", 404), ("POST", "/?x=%FF", 400)],
)
def test_errors_carry_no_traceback(
    server: ServerProcess, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, server.url(path), timeout=TIMEOUT)
    assert response.status_code == status
    assert "Traceback" not in response.text and ".py" not in response.text


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: ServerProcess) -> None:
    head = (
        f"POST / HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: {MAX_BODY + 1}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
    )
    assert status_of(raw_http(server.host, server.port, head.encode())) == 413


async def echo_once(server: ServerProcess, message: str, **kwargs: str) -> str | bytes:
    async with connect(server.ws_url("/echo"), open_timeout=TIMEOUT, **kwargs) as ws:
        await ws.send(message)
        return await asyncio.wait_for(ws.recv(), TIMEOUT)


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "own"])
def test_pages_of_the_allowed_origins_may_open_websockets(
    server: ServerProcess, origin: str
) -> None:
    origin = server.base_url if origin == "own" else origin
    assert asyncio.run(echo_once(server, "hello", origin=origin)) == "hello"


def test_pages_of_other_sites_may_not(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(echo_once(server, "hello", origin="https://elsewhere.example"))
    assert refused.value.response.status_code == 403


def test_a_websocket_message_over_the_limit_closes_the_socket_with_1009(
    server: ServerProcess,
) -> None:
    async def main() -> int | None:
        async with connect(server.ws_url("/echo"), open_timeout=TIMEOUT, max_size=None) as ws:
            await ws.send("x" * (MAX_MESSAGE + 1))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), TIMEOUT)
            return ws.close_code

    assert asyncio.run(main()) == 1009


def test_the_server_runs_the_workers_the_ini_asks_for(server: ServerProcess) -> None:
    workers = int(SERVER["workers"])
    wait_until(
        lambda: server.log_text().count("Booting worker with pid") >= workers,
        timeout=TIMEOUT,
        what=f"{workers} workers to boot",
    )
    assert server.log_text().count("Booting worker with pid") == workers


def handshake_status(server: ServerProcess, *headers: str) -> int:
    """The status of a raw websocket handshake to ``/echo`` from a page of example.com."""
    request = [
        "GET /echo HTTP/1.1",
        "Host: example.com",
        "Origin: https://example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *headers,
    ]
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        return status_of(read_head(sock))


def test_behind_an_https_proxy_the_page_s_own_origin_needs_x_forwarded_proto(
    server: ServerProcess,
) -> None:
    """gunicorn sees http from the proxy; the proxy's X-Forwarded-Proto makes it https."""
    assert handshake_status(server) == 403
    assert handshake_status(server, "X-Forwarded-Proto: https") == 101
