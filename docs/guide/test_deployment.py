"""The deployment guide's promises about ``production.ini``, checked against a live server.

The tutorial's project (the last chapter's) is migrated and started with the
commands the ini file's header gives (the guide shows that header), on a copy of
the file that differs only in its port, its database, which is a new one in a
throwaway PostgreSQL server, and its session secret, made with the command the
file's comment gives, as the guide tells the reader to. What is expected is read
from the ini file, never repeated here.

The websocket echo answers signed-in players only: the tests that open one sign up
and sign in first, through the JSON API, as any client would.
"""

import asyncio
import configparser
import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.cookies import Morsel, SimpleCookie
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from testkit.chapters import latest
from testkit.postgres import TemporaryCluster
from testkit.raw import raw_http, read_head, status_of
from testkit.server import ServerProcess, free_port, stop_group, wait_until

INI = latest().directory / "production.ini"
PARSER = configparser.ConfigParser(interpolation=None)
PARSER.read(INI)
APP, SERVER = PARSER["app:main"], PARSER["server:main"]
MAX_BODY = int(APP["aiopyramid.max_body_size"])
MAX_MESSAGE = int(APP["aiopyramid.websocket.max_message_size"])
(ALLOWED_ORIGIN,) = APP["aiopyramid.websocket.allowed_origins"].split()
ATTEMPTS = int(APP["aiotutorial.sign_in_attempts"])
TRUSTED_PROXIES = APP["aiotutorial.trusted_proxies"].split()
WORKERS = int(SERVER["workers"])
TIMEOUT = 15.0
PASSWORD = "a long enough password"

(SECRET_COMMAND,) = re.findall(r"(?m)^#\s+(python -c .+)$", INI.read_text())
"""The command the ini file's comment gives for making a session secret."""


def header_command(purpose: str) -> list[str]:
    """A command of the ini file's header: ``# PURPOSE:  COMMAND``."""
    (command,) = re.findall(rf"(?m)^# {re.escape(purpose)}:\s+(.+)$", INI.read_text())
    return shlex.split(command)


def our_environment() -> dict[str, str]:
    """This environment, with the test run's own Python and commands first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def substitute(text: str, setting: str, value: str) -> str:
    """``text`` with the one line ``setting = ...`` set to ``value``."""
    text, count = re.subn(rf"(?m)^{re.escape(setting)} = .*$", f"{setting} = {value}", text)
    assert count == 1, setting
    return text


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
    env = our_environment()
    made = subprocess.run(
        shlex.split(SECRET_COMMAND), env=env, capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    port = free_port()
    text = substitute(INI.read_text(), "port", str(port))
    text = substitute(text, "sqlalchemy.url", database)
    text = substitute(text, "aiotutorial.session_secret", secret)
    (work / INI.name).write_text(text)
    shutil.copytree(INI.parent / "alembic", work / "alembic")
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


def test_cookies_are_for_https_and_the_trusted_proxy_is_gunicorn_s() -> None:
    assert APP["aiotutorial.secure_cookies"] == "true"
    assert APP["aiotutorial.session_secret"].startswith("CHANGE-ME")  # the reader's to make
    forwarders = [address.strip() for address in SERVER["forwarded_allow_ips"].split(",")]
    assert forwarders == TRUSTED_PROXIES  # "as forwarded_allow_ips below"


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


def test_the_file_as_shipped_refuses_to_start_until_the_secret_is_made(tmp_path: Path) -> None:
    """``pserve`` stops before it serves anything, and names the command to run."""
    start = header_command("Start both with")
    port = free_port()  # in case it did start: never on the file's own port
    (tmp_path / INI.name).write_text(substitute(INI.read_text(), "port", str(port)))
    process = subprocess.Popen(
        start,
        cwd=tmp_path,
        env=our_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        stop_group(process.pid, reap=process.poll)
    assert process.returncode != 0
    assert "aiotutorial.session_secret must be a secret" in output
    assert SECRET_COMMAND in output


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


@pytest.mark.parametrize("path", ["/", "/sign-in"])
def test_a_form_in_another_charset_than_utf8_gets_415(server: ServerProcess, path: str) -> None:
    content_type = "application/x-www-form-urlencoded; charset=latin-1"
    response = httpx.post(
        server.url(path),
        content=b"sleep=0",
        headers={"Content-Type": content_type},
        timeout=TIMEOUT,
    )
    assert response.status_code == 415
    assert "UTF-8" in response.text


# Signing in, through the JSON API.
#
# The session cookie is Secure: a browser, or httpx's cookie jar, sends it over
# HTTPS only, which here is the reverse proxy's part. These tests talk plain HTTP to
# gunicorn, where the proxy would, so they pass the cookie themselves, in a Cookie
# header, as the proxy passes on the one the browser sent it.


def the_session_cookie(response: httpx.Response) -> Morsel[str]:
    """The one cookie ``response`` sets: the session's."""
    (header,) = response.headers.get_list("set-cookie")
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(header)
    (morsel,) = cookie.values()
    return morsel


def as_header(cookie: Morsel[str]) -> str:
    """What a ``Cookie`` header says to send ``cookie`` back."""
    return f"{cookie.key}={cookie.coded_value}"


def new_session(server: ServerProcess) -> tuple[str, str]:
    """A new anonymous session: its ``Cookie`` header and its CSRF token."""
    response = httpx.get(server.url("/api/session"), timeout=TIMEOUT)
    assert response.status_code == 200 and response.json()["player"] is None
    return as_header(the_session_cookie(response)), response.json()["csrf_token"]


def post_json(
    server: ServerProcess, path: str, data: dict[str, str], cookie: str, token: str, **headers: str
) -> httpx.Response:
    """POST ``data`` as JSON in the session ``cookie``, with its CSRF token."""
    headers = {"Cookie": cookie, "X-CSRF-Token": token, **headers}
    return httpx.post(server.url(path), json=data, headers=headers, timeout=TIMEOUT)


USERNAMES = (f"player{number}" for number in itertools.count(1))


def new_player(server: ServerProcess) -> str:
    """A player registered through ``POST /api/users``: their username."""
    username = next(USERNAMES)
    cookie, token = new_session(server)
    data = {"username": username, "password": PASSWORD}
    response = post_json(server, "/api/users", data, cookie, token)
    assert response.status_code == 201, response.text
    return username


@pytest.fixture(scope="module")
def player(server: ServerProcess) -> tuple[str, str]:
    """A player signed in through ``POST /api/session``: username and ``Cookie`` header."""
    username = new_player(server)
    cookie, token = new_session(server)
    data = {"username": username, "password": PASSWORD}
    response = post_json(server, "/api/session", data, cookie, token)
    assert response.status_code == 200, response.text
    assert response.json()["player"] == username
    return username, as_header(the_session_cookie(response))


def test_the_session_cookie_is_for_https_and_out_of_scripts_reach(server: ServerProcess) -> None:
    response = httpx.get(server.url("/api/session"), timeout=TIMEOUT)
    cookie = the_session_cookie(response)
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


async def echo_once(
    server: ServerProcess, message: str, cookie: str | None = None, **kwargs: str
) -> str | bytes:
    headers = {"Cookie": cookie} if cookie else {}
    async with connect(
        server.ws_url("/echo"), open_timeout=TIMEOUT, additional_headers=headers, **kwargs
    ) as ws:
        await ws.send(message)
        return await asyncio.wait_for(ws.recv(), TIMEOUT)


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "own"])
def test_pages_of_the_allowed_origins_may_open_websockets(
    server: ServerProcess, player: tuple[str, str], origin: str
) -> None:
    username, cookie = player
    origin = server.base_url if origin == "own" else origin
    assert asyncio.run(echo_once(server, "hello", cookie, origin=origin)) == f"{username}: hello"


def test_pages_of_other_sites_may_not(server: ServerProcess, player: tuple[str, str]) -> None:
    _, cookie = player
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(echo_once(server, "hello", cookie, origin="https://elsewhere.example"))
    assert refused.value.response.status_code == 403


def test_nobody_who_is_not_signed_in_may(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(echo_once(server, "hello", origin=server.base_url))
    assert refused.value.response.status_code == 403


def test_a_websocket_message_over_the_limit_closes_the_socket_with_1009(
    server: ServerProcess, player: tuple[str, str]
) -> None:
    _, cookie = player

    async def main() -> int | None:
        async with connect(
            server.ws_url("/echo"),
            open_timeout=TIMEOUT,
            max_size=None,
            additional_headers={"Cookie": cookie},
        ) as ws:
            await ws.send("x" * (MAX_MESSAGE + 1))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), TIMEOUT)
            return ws.close_code

    assert asyncio.run(main()) == 1009


def test_the_server_runs_the_workers_the_ini_asks_for(server: ServerProcess) -> None:
    wait_until(
        lambda: server.log_text().count("Booting worker with pid") >= WORKERS,
        timeout=TIMEOUT,
        what=f"{WORKERS} workers to boot",
    )
    assert server.log_text().count("Booting worker with pid") == WORKERS


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
    server: ServerProcess, player: tuple[str, str]
) -> None:
    """gunicorn sees http from the proxy; the proxy's X-Forwarded-Proto makes it https."""
    _, cookie = player
    assert handshake_status(server, f"Cookie: {cookie}") == 403
    assert handshake_status(server, f"Cookie: {cookie}", "X-Forwarded-Proto: https") == 101


def wrong_sign_in(server: ServerProcess, username: str, client: str) -> httpx.Response:
    """A sign-in with a wrong password, forwarded by the proxy for ``client``."""
    cookie, token = new_session(server)
    data = {"username": username, "password": "not " + PASSWORD}
    return post_json(server, "/api/session", data, cookie, token, **{"X-Forwarded-For": client})


def test_failed_sign_ins_are_counted_per_client_that_the_proxy_names(
    server: ServerProcess,
) -> None:
    """Each worker counts on its own, so one client gets ``ATTEMPTS`` failures per worker,
    whichever worker each request reaches: the first ``ATTEMPTS`` all count, and by the
    pigeonhole principle the ``WORKERS * ATTEMPTS + 1``-th at the latest is refused.
    Another client behind the same proxy is not held up: its first ``ATTEMPTS``
    failures count as its own, whichever worker they reach. (All of this happens well
    within one sign-in window.)"""
    assert "127.0.0.1" in TRUSTED_PROXIES  # the tests connect from there, as the proxy
    username = new_player(server)
    guesser, neighbour = "203.0.113.7", "198.51.100.9"  # documentation addresses
    statuses = []
    while 429 not in statuses and len(statuses) <= WORKERS * ATTEMPTS:
        response = wrong_sign_in(server, username, guesser)
        statuses.append(response.status_code)
    assert statuses[:ATTEMPTS] == [401] * ATTEMPTS
    assert set(statuses[ATTEMPTS:-1]) <= {401} and statuses[-1] == 429, statuses
    assert int(response.headers["Retry-After"]) > 0
    neighbours = [wrong_sign_in(server, username, neighbour) for _ in range(ATTEMPTS)]
    assert [response.status_code for response in neighbours] == [401] * ATTEMPTS
