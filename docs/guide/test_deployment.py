"""The deployment guide's promises about ``production.ini``, checked against a live server.

The tutorial's project (the last chapter's) is migrated and started with the
commands the ini file's header gives (the guide shows that header), on a copy of
the file that differs only in its port, its database, which is a new one in a
throwaway PostgreSQL server, its Redis server, a throwaway one too, and its session
secret, made with the command the file's comment gives, as the guide tells the reader
to. What is expected is read from the ini file, never repeated here.

The websockets answer signed-in players only: the tests that open one sign up and
sign in first, through the JSON API, as any client would.
"""

import asyncio
import configparser
import contextlib
import ipaddress
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import pytest
from redis import Redis as BlockingRedis
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from aiotutorial.chat import broker_from_settings
from aiotutorial.chat.redis_broker import RedisBroker
from testkit.availability import redis_binary
from testkit.chapters import latest
from testkit.postgres import TemporaryCluster
from testkit.raw import raw_http, read_head, status_of
from testkit.redis import TemporaryRedis
from testkit.server import ServerProcess, free_port, stop_group, wait_until
from testkit.workers import booted_workers, only, worker_holding

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
def redis() -> Iterator[TemporaryRedis]:
    """A throwaway Redis server for the chat, as production.ini expects one: the module's
    own, not the run's shared one, because a test here stops it and starts it again."""
    with TemporaryRedis(redis_binary()) as server:
        yield server


@pytest.fixture(scope="module")
def settings(database: str, redis: TemporaryRedis) -> str:
    """production.ini as the reader fills it in (the port aside): the database, Redis,
    and a session secret made with the command the file's comment gives."""
    made = subprocess.run(
        shlex.split(SECRET_COMMAND),
        env=our_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    text = substitute(INI.read_text(), "sqlalchemy.url", database)
    text = substitute(text, "redis.url", redis.url)
    return substitute(text, "aiotutorial.session_secret", made.stdout.strip())


def serve(settings: str, work: Path, migrate: bool = True) -> ServerProcess:
    """A server of ``settings`` on a free port, in ``work``, migrated first (unless the
    database is already) and started as the ini file's header says; not started yet."""
    migration, start = (
        header_command("Create or upgrade the database's tables"),
        header_command("Start both with"),
    )
    assert migration[-3:] == [INI.name, "upgrade", "head"] and start[-1] == INI.name
    port = free_port()
    (work / INI.name).write_text(substitute(settings, "port", str(port)))
    env = our_environment()
    if migrate:
        shutil.copytree(INI.parent / "alembic", work / "alembic")
        done = subprocess.run(
            migration, cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    return ServerProcess(start, port=port, log_path=work / "server.log", cwd=work, env=env)


@pytest.fixture(scope="module")
def server(settings: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``pserve production.ini``, migrated and run as the header says, on a free port."""
    with serve(settings, tmp_path_factory.mktemp("production")) as server:
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


class SignedIn(NamedTuple):
    """A player signed in through the API, and what their requests must carry."""

    username: str
    cookie: str
    """Their ``Cookie`` header."""
    token: str
    """The session's CSRF token."""


def signed_in_player(server: ServerProcess) -> SignedIn:
    """A new player, signed in through ``POST /api/session``."""
    username = new_player(server)
    cookie, token = new_session(server)
    data = {"username": username, "password": PASSWORD}
    response = post_json(server, "/api/session", data, cookie, token)
    assert response.status_code == 200, response.text
    assert response.json()["player"] == username
    return SignedIn(
        username, as_header(the_session_cookie(response)), response.json()["csrf_token"]
    )


@pytest.fixture(scope="module")
def player(server: ServerProcess) -> tuple[str, str]:
    """A signed-in player: username and ``Cookie`` header."""
    username, cookie, _ = signed_in_player(server)
    return username, cookie


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


# The chat, across the workers, through Redis: a test that needs a socket on a given
# worker makes that worker take it (testkit.workers).


CHANNEL = "lobby"
"""The channel the migrations create."""


def channel_names(server: ServerProcess) -> list[str]:
    response = httpx.get(server.url("/api/channels"), timeout=TIMEOUT)
    assert response.status_code == 200
    return [channel["name"] for channel in response.json()["channels"]]


def post_through_the_api(server: ServerProcess, player: SignedIn, content: str) -> None:
    """Post ``content`` to ``CHANNEL`` as ``player``, through the JSON API."""
    path = f"/api/channels/{CHANNEL}/messages"
    response = post_json(server, path, {"content": content}, player.cookie, player.token)
    assert response.status_code == 201, response.text


def stored_messages(server: ServerProcess, tag: str) -> list[dict[str, Any]]:
    """The channel's messages whose content starts with ``tag``, as the API lists them
    (the latest 100), in the order of their ids."""
    path = f"/api/channels/{CHANNEL}/messages?limit=100"
    response = httpx.get(server.url(path), timeout=TIMEOUT)
    assert response.status_code == 200
    found = [m for m in response.json()["messages"] if m["content"].startswith(tag)]
    return sorted(found, key=lambda message: message["id"])


Frame = dict[str, Any]


class Chat:
    """One chat socket of a player, joined to ``CHANNEL``, and every frame it received.

    A task reads the socket all along and keeps each frame, also in ``events``, which a
    test shares between its sockets: the order of what happened anywhere can then be
    asserted.
    """

    def __init__(
        self, ws: ClientConnection, player: SignedIn, worker: int, events: list[Any]
    ) -> None:
        self.ws, self.player, self.worker, self.events = ws, player, worker, events
        self.frames: list[Frame] = []
        self.arrived = asyncio.Condition()
        self.closed = False
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                async with self.arrived:
                    frame = json.loads(text)
                    self.frames.append(frame)
                    self.events.append((self.player.username, frame))
                    self.arrived.notify_all()
        finally:
            async with self.arrived:
                self.closed = True
                self.arrived.notify_all()

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def say(self, content: str) -> None:
        await self.send(type="say", channel=CHANNEL, content=content)

    async def wait_for(self, condition: Callable[[Frame], bool], what: str, since: int = 0) -> None:
        """Wait until a frame from the ``since``-th on meets ``condition``, ``TIMEOUT`` s
        at most."""

        def met() -> bool:
            return any(condition(frame) for frame in self.frames[since:])

        async with self.arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait_for(lambda: self.closed or met()), TIMEOUT)
        assert met(), (
            f"{self.player.username}'s socket (worker {self.worker}) waited for {what}; "
            f"closed: {self.closed}; frames: {self.frames[since:]}"
        )

    async def wait_for_message(self, content: str) -> None:
        await self.wait_for(
            lambda f: f["type"] == "message" and f["content"] == content, repr(content)
        )

    def messages(self, tag: str) -> list[Frame]:
        """The message frames received so far whose content starts with ``tag``."""
        return [f for f in self.frames if f["type"] == "message" and f["content"].startswith(tag)]

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


async def open_chat(
    server: ServerProcess,
    player: SignedIn,
    worker: int,
    events: list[Any],
    opened: contextlib.AsyncExitStack,
) -> Chat:
    """A chat socket of ``player`` that ``worker`` holds, joined to ``CHANNEL``; it is
    closed with ``opened``."""
    with only(server, worker, WORKERS):
        ws = await connect(
            server.ws_url("/chat"),
            open_timeout=TIMEOUT,
            additional_headers={"Cookie": player.cookie},
        )
    chat = Chat(ws, player, worker, events)
    opened.push_async_callback(chat.close)
    assert worker_holding(server, ws.local_address[1], WORKERS) == worker
    await chat.send(type="join", channel=CHANNEL)
    await chat.wait_for(lambda f: f["type"] == "joined", "joined")
    return chat


def joined_members(chat: Chat) -> list[str]:
    """Who was in the channel, as the ``joined`` frame said."""
    (joined,) = [f for f in chat.frames if f["type"] == "joined"]
    members: list[str] = joined["members"]
    return members


def is_presence_of(usernames: set[str]) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "presence" and f["members"] == sorted(usernames)


def home_page_status_on_every_worker(server: ServerProcess) -> dict[int, int]:
    """``GET /`` from each worker: the status each answers."""
    statuses = {}
    for worker in sorted(booted_workers(server, WORKERS)):
        with (
            only(server, worker, WORKERS),
            socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock,
        ):
            assert worker_holding(server, sock.getsockname()[1], WORKERS) == worker
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
            statuses[worker] = status_of(read_head(sock))
    return statuses


def test_the_chat_s_broker_is_a_redis_server_on_this_machine() -> None:
    """production.ini's Redis listens on loopback, as the guide asks of it."""
    url = urlsplit(APP["redis.url"])
    assert url.scheme == "redis" and url.hostname is not None
    assert ipaddress.ip_address(url.hostname).is_loopback


def test_a_password_goes_in_the_url_as_the_guide_writes_it() -> None:
    """``redis://:PASSWORD@host:6379/0``: redis-py, which the chat connects with, reads a
    password and no user name from it."""
    client = Redis.from_url("redis://:PASSWORD@192.0.2.5:6379/0")
    settings = client.connection_pool.connection_kwargs
    assert (settings["password"], settings.get("username")) == ("PASSWORD", None)
    assert (settings["host"], settings["port"], settings["db"]) == ("192.0.2.5", 6379, 0)


def redis_prefix(settings: dict[str, str]) -> str:
    """What the chat's keys and topics in Redis start with, given ``settings``."""
    broker = broker_from_settings(settings)
    assert isinstance(broker, RedisBroker)
    return broker.prefix


def test_two_sites_sharing_a_redis_server_need_a_prefix_each(redis: TemporaryRedis) -> None:
    """The chat's keys and topics start with ``aiotutorial.redis_prefix``, by default
    ``aiotutorial``; a database number apart would not do, as a notice published in
    one database reaches the subscribers of every other."""
    assert redis_prefix(dict(APP)) == "aiotutorial"
    assert redis_prefix({**APP, "aiotutorial.redis_prefix": "another-site"}) == "another-site"
    with BlockingRedis.from_url(redis.url.replace("/0", "/1")) as listener:
        subscribed = listener.pubsub()
        subscribed.subscribe("topic")
        assert subscribed.get_message(timeout=TIMEOUT)["type"] == "subscribe"
        with BlockingRedis.from_url(redis.url) as publisher:
            assert publisher.publish("topic", "notice") == 1  # subscribers that got it
        subscribed.close()


def test_players_on_different_workers_get_every_message_once_in_order(
    server: ServerProcess, redis: TemporaryRedis
) -> None:
    """Two players, whose sockets the two workers hold, one each, both get every message
    of the channel, posted by either on their socket or through the API (served by
    either worker), exactly once, in the order of their ids; and each is told that the
    other is in the channel."""
    assert WORKERS == 2  # one socket per worker
    assert CHANNEL in channel_names(server)
    alice, bob = signed_in_player(server), signed_in_player(server)
    tag = "across the workers: "

    async def main() -> tuple[Chat, Chat]:
        events: list[Any] = []
        first, second = sorted(booted_workers(server, WORKERS))
        async with contextlib.AsyncExitStack() as opened:
            a = await open_chat(server, alice, first, events, opened)
            b = await open_chat(server, bob, second, events, opened)
            both = {alice.username, bob.username}
            assert joined_members(b) == sorted(both)  # Alice's worker told Redis
            prefix = redis_prefix(dict(APP))
            keys = await asyncio.to_thread(redis.command, "KEYS", "*")
            assert isinstance(keys, list) and keys
            assert all(key.startswith(f"{prefix}:".encode()) for key in keys), keys
            await a.wait_for(is_presence_of(both), f"presence of {both}")
            sent = []
            for number in range(10):  # sent without waiting: the workers post at once
                for chat in (a, b):
                    sent.append(f"{tag}{chat.player.username} {number}")
                    await chat.say(sent[-1])
            for player in (alice, bob):  # each worker may serve either
                sent.append(f"{tag}{player.username} api")
                await asyncio.to_thread(post_through_the_api, server, player, sent[-1])
            for chat in (a, b):
                for content in sent:
                    await chat.wait_for_message(content)
            # Now that every message is in, one more: messages reach a socket in the
            # order of their ids, so once it has come, anything else would have too,
            # a message twice included.
            await b.say(f"{tag}last")
            for chat in (a, b):
                await chat.wait_for_message(f"{tag}last")
        return a, b

    a, b = asyncio.run(main())
    assert a.worker != b.worker
    stored = stored_messages(server, tag)
    assert len(stored) == 2 * 10 + 2 + 1
    for chat in (a, b):
        received = [{key: f[key] for key in stored[0]} for f in chat.messages(tag)]
        assert received == stored, chat.player.username
    for player in (alice, bob):
        said = [m["content"] for m in stored if m["author"] == player.username]
        said.remove(f"{tag}{player.username} api")  # posted while the socket's were
        expected = [f"{tag}{player.username} {number}" for number in range(10)]
        assert said[: len(expected)] == expected  # a socket's are posted in the order sent


def back_up(redis: TemporaryRedis) -> None:
    """Start ``redis`` again, unless it runs."""
    if redis.pid is None:
        redis.start()


def test_without_redis_pages_and_each_worker_s_own_chat_go_on_then_it_catches_up(
    server: ServerProcess, redis: TemporaryRedis
) -> None:
    """Redis stops: every worker still serves the home page, a message reaches the
    members of the worker it was posted on, and a player who joins is shown that
    worker's members. Redis starts again, empty: the members of the other worker get
    the message then, not before, exactly once and in order with the rest, and
    everyone is listed in the channel again."""
    alice, bob, carol, dave = (signed_in_player(server) for _ in range(4))
    tag = "outage: "
    before, after = f"{tag}before", f"{tag}after"
    from_bob, from_alice = f"{tag}{bob.username} alone", f"{tag}{alice.username} alone"
    events: list[Any] = []

    async def main() -> list[Chat]:
        first, second = sorted(booted_workers(server, WORKERS))
        async with contextlib.AsyncExitStack() as opened:
            opened.callback(back_up, redis)  # if the test fails while Redis is down
            a = await open_chat(server, alice, first, events, opened)
            c = await open_chat(server, carol, first, events, opened)
            b = await open_chat(server, bob, second, events, opened)
            everyone = [a, b, c]
            await a.say(before)
            for chat in everyone:
                await chat.wait_for_message(before)

            redis.stop()
            await b.say(from_bob)
            await b.wait_for_message(from_bob)  # Bob's worker: his own message
            await a.say(from_alice)
            for chat in (a, c):  # Alice's worker: hers, and Bob's, read from the database
                await chat.wait_for_message(from_alice)
                await chat.wait_for_message(from_bob)
            d = await open_chat(server, dave, first, events, opened)  # joins meanwhile
            assert joined_members(d) == sorted({alice.username, carol.username, dave.username})
            await d.close()
            pages = await asyncio.to_thread(home_page_status_on_every_worker, server)
            assert pages == dict.fromkeys(booted_workers(server, WORKERS), 200)
            assert "lost Redis" in server.log_text()

            events.append("Redis started")
            seen = {chat: len(chat.frames) for chat in everyone}
            redis.start()
            await b.wait_for_message(from_alice)
            names = {alice.username, bob.username, carol.username}
            for chat in everyone:
                await chat.wait_for(is_presence_of(names), f"presence of {names}", seen[chat])
            await c.say(after)
            for chat in everyone:
                await chat.wait_for_message(after)
        return everyone

    everyone = asyncio.run(main())
    stored = stored_messages(server, tag)
    assert [m["content"] for m in stored] == [before, from_bob, from_alice, after]
    for chat in everyone:
        received = [{key: f[key] for key in stored[0]} for f in chat.messages(tag)]
        assert received == stored, chat.player.username
    got_alice_s = [
        index
        for index, event in enumerate(events)
        if event[0] == bob.username and event[1].get("content") == from_alice
    ]
    assert got_alice_s and got_alice_s[0] > events.index("Redis started")


def test_with_a_broker_in_each_worker_instead_every_channel_is_split_in_two(
    settings: str, server: ServerProcess, tmp_path: Path
) -> None:
    """Without ``redis.url``, each of the workers has a broker of its own, in its
    process: a message reaches at once only the players whose sockets its worker holds,
    the others only once someone on their own worker posts (their worker then reads
    what is new from the database), and each worker lists its own players alone."""
    alice, bob = signed_in_player(server), signed_in_player(server)  # in the same database
    tag = "split: "
    first, second = f"{tag}{alice.username}", f"{tag}{bob.username}"
    events: list[Any] = []

    async def main(split: ServerProcess) -> Chat:
        one, other = sorted(booted_workers(split, WORKERS))
        async with contextlib.AsyncExitStack() as opened:
            a = await open_chat(split, alice, one, events, opened)
            b = await open_chat(split, bob, other, events, opened)
            assert joined_members(b) == [bob.username]
            await a.say(first)
            await a.wait_for_message(first)
            events.append("Bob posts")
            await b.say(second)
            await b.wait_for_message(second)
        return b

    without_redis = substitute(settings, "redis.url", "")
    with serve(without_redis, tmp_path, migrate=False) as split:
        b = asyncio.run(main(split))
    assert [f["content"] for f in b.messages(tag)] == [first, second]
    got_alice_s = [
        index
        for index, event in enumerate(events)
        if event[0] == bob.username and event[1].get("content") == first
    ]
    assert got_alice_s[0] > events.index("Bob posts")
