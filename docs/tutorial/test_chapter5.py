"""Chapter 5's chat, checked against live servers, real Redis and headless Chromium.

Each test serves copies of chapter 5's project with the command the chapter gives
the reader, on a SQLite file or a database in a throwaway PostgreSQL server, and
talks to ``/chat`` with the protocol of ``aiotutorial/chat/protocol.py`` as
websocket clients of its own (players signed up through the JSON API), or with a
browser. The project's own tests cover the protocol in one process; these cover what
only real processes show:

- two servers (two "machines") sharing the database and Redis: every client gets
  every message of its channels exactly once, in the order of their ids, and nothing
  of other channels, while several clients post at once, on their sockets and
  through the API of either server; who is in a channel spans the servers;
- a worker killed: its clients reconnect, resume after the last id they had, and get
  exactly what they missed; its members stay listed while its alive key lives, and
  drop out once it is gone (deleted by the test, as its expiry would, rather than
  waited for);
- a client that stops reading is disconnected with ``TOO_SLOW`` within a bound
  derived from the buffers between the hub and it, while the clients in the same
  channel get every message;
- the home page's lobby in two browsers: markup in a message shows as text and runs
  nothing, both players are listed, and after the server restarts each page
  reconnects by itself and shows what was posted meanwhile exactly once, in order.

What the deployment guide's tests (``docs/guide/test_deployment.py``) already check
with ``production.ini``'s two workers is not repeated here: messages across the
workers of one server, Redis stopped and started again, and workers without Redis.

Expected texts and codes come from the project's templates and code. Every wait is
bounded; nothing asserts how long anything takes.

Runs where chapter 5's project is installed (``nox -s chapters``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from gunicorn.asgi.protocol import HIGH_WATER_LIMIT
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aiotutorial.chat import broker_from_settings
from aiotutorial.chat.members import OUTGOING_FRAMES, TOO_SLOW
from aiotutorial.chat.redis_broker import ALIVE_SECONDS, RedisBroker
from aiotutorial.models import MESSAGE_LENGTH
from testkit.browser import chromium
from testkit.chapters import chapter, read_project
from testkit.postgres import TemporaryCluster
from testkit.redis import TemporaryRedis
from testkit.served import Database, our_environment, server_command
from testkit.server import LOOPBACK, ServerProcess, free_port
from testkit.workers import booted_workers, only, worker_holding

CHAPTER = chapter("chapter5")
HOME = (CHAPTER.directory / "aiotutorial" / "templates" / "home.jinja2").read_text()
PASSWORD = "a password for the chat"
WAIT = 20.0
"""The longest wait, in seconds, for anything a client should receive."""
SIGN_INS_AT_ONCE = 3
"""Fewer than development.ini's ``aiotutorial.sign_in_attempts``."""
CHANNELS = ("lobby", "tavern")
"""The lobby, which the migrations create, and a channel each test adds."""


def found(pattern: str, text: str) -> str:
    """What the first group of ``pattern`` matches in ``text``, which must hold it."""
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no {pattern!r} in the text"
    return match[1]


# -- copies of the project, served ------------------------------------------------------


@dataclass
class Machine:
    """A copy of the project with its own ``development.ini``, as on one machine."""

    directory: Path
    port: int

    def server(self) -> ServerProcess:
        """A server process for this copy, not started yet: the page's command."""
        log = self.directory.parent / f"server-{self.port}.log"
        return ServerProcess(
            server_command(CHAPTER.page),  # as the page starts it
            port=self.port,
            log_path=log,
            cwd=self.directory,
            env=our_environment(),
        )


def set_up_machine(
    work: Path, database: Database, *, workers: int = 1, redis: str = "", prefix: str = ""
) -> Machine:
    """Copy the project to ``work`` and edit its ``development.ini`` as a reader would:
    a free port, the database's URL, ``workers``, and Redis's URL if ``redis``."""
    directory = work / "project"
    for name, content in read_project(CHAPTER.directory).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    port = free_port()
    ini = directory / "development.ini"
    edits = [
        (r"^port = \d+$", f"port = {port}"),
        (r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {database.url}"),
        (r"^workers = \d+$", f"workers = {workers}"),
    ]
    if redis:
        # The commented-out example of development.ini, made real; and keys of this
        # test's own, as the Redis server may be shared with other tests.
        lines = f"redis.url = {redis}\naiotutorial.redis_prefix = {prefix}"
        edits.append((r"^#\s*redis\.url = .*$", lines))
    settings = ini.read_text()
    for pattern, replacement in edits:
        settings, count = re.subn(pattern, replacement, settings, flags=re.MULTILINE)
        assert count == 1, f"development.ini should match {pattern!r} once"
    ini.write_text(settings)
    return Machine(directory, port)


def migrate(machine: Machine) -> None:
    """``alembic -c development.ini upgrade head``, in the machine's project."""
    done = subprocess.run(
        ["alembic", "-c", "development.ini", "upgrade", "head"],
        cwd=machine.directory,
        env=our_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def add_channel(database: Database, name: str) -> None:
    """A new channel: the project has no page for that, so straight in the database."""
    statement = f"INSERT INTO channels (name) VALUES ('{name}')"
    if database.cluster is None:
        with sqlite3.connect(database.url.split("///", 1)[1]) as connection:
            connection.execute(statement)
    else:
        database.cluster.sql(statement, database=database.name)


def new_database(kind: str, work: Path, request: pytest.FixtureRequest) -> Database:
    cluster: TemporaryCluster | None = None
    if kind == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
    return Database.new(kind, work, cluster)


def new_prefix() -> str:
    """Keys and topics in Redis of a test's own: other tests may share the server."""
    return f"live-{uuid.uuid4().hex}"


@contextmanager
def machines(
    work: Path,
    database: Database,
    count: int,
    *,
    workers: int = 1,
    redis: str = "",
    prefix: str = "",
) -> Iterator[list[ServerProcess]]:
    """``count`` servers on ``database``, each from a copy of its own, with the tavern
    beside the lobby; all stopped at the end. With ``redis``, they share keys that
    start with ``prefix`` there (:func:`new_prefix` if none)."""
    prefix = prefix or new_prefix()
    copies = [
        set_up_machine(work / f"machine{n}", database, workers=workers, redis=redis, prefix=prefix)
        for n in range(count)
    ]
    migrate(copies[0])
    add_channel(database, "tavern")
    servers = [copy.server() for copy in copies]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


# -- players and their sockets ----------------------------------------------------------


@dataclass
class Player:
    """A player signed up and signed in through the JSON API."""

    name: str
    cookie: str
    """The ``Cookie`` header of their session, good on every server of the database."""
    csrf: str

    async def post(self, base_url: str, channel: str, content: str) -> dict[str, Any]:
        """Post through the API; returns the message as the API shows it."""
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            response = await http.post(
                f"/api/channels/{channel}/messages",
                json={"content": content},
                headers={"Cookie": self.cookie, "X-CSRF-Token": self.csrf},
            )
        assert response.status_code == 201, response.text
        message: dict[str, Any] = response.json()
        return message


async def sign_up(base_url: str, name: str) -> Player:
    """Register ``name`` and sign in, through the API as chapter 4 shows it."""
    credentials = {"username": name, "password": PASSWORD}
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        token = (await http.get("/api/session")).json()["csrf_token"]
        created = await http.post("/api/users", json=credentials, headers={"X-CSRF-Token": token})
        assert created.status_code == 201, created.text
        signed_in = await http.post(
            "/api/session", json=credentials, headers={"X-CSRF-Token": token}
        )
        assert signed_in.status_code == 200, signed_in.text
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    return Player(name, cookie, signed_in.json()["csrf_token"])


async def sign_up_all(base_url: str, names: list[str]) -> list[Player]:
    """:func:`sign_up` each of ``names``, a few at once: sign-ins in progress count
    against the limit of failed ones until their password is checked (chapter 4)."""
    at_once = asyncio.Semaphore(SIGN_INS_AT_ONCE)

    async def one(name: str) -> Player:
        async with at_once:
            return await sign_up(base_url, name)

    return list(await asyncio.gather(*(one(name) for name in names)))


class Client:
    """One websocket to the chat, read by a task of its own: every frame, in order."""

    def __init__(self, player: Player, ws: ClientConnection, server: ServerProcess) -> None:
        self.player, self.ws, self.server = player, ws, server
        self.frames: list[dict[str, Any]] = []
        self.sizes: list[int] = []
        """The size of each frame's payload, in bytes, as it came."""
        self.changed = asyncio.Condition()
        self.ended = False
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: ServerProcess, player: Player) -> Client:
        ws = await connect(
            server.ws_url("/chat"),
            additional_headers={"Cookie": player.cookie},  # and no Origin: not a browser
            compression=None,
            proxy=None,
            ping_interval=None,
            max_queue=None,
            open_timeout=WAIT,
            close_timeout=5,
        )
        return cls(player, ws, server)

    @property
    def name(self) -> str:
        return self.player.name

    @property
    def local_port(self) -> int:
        port: int = self.ws.local_address[1]
        return port

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                self.sizes.append(len(text.encode() if isinstance(text, str) else text))
                self.frames.append(json.loads(text))
                async with self.changed:
                    self.changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.ended = True
            async with self.changed:
                self.changed.notify_all()

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(
        self, condition: Callable[[list[dict[str, Any]]], bool], what: str, *, timeout: float = WAIT
    ) -> None:
        """Wait until the frames received so far satisfy ``condition``."""
        try:
            async with asyncio.timeout(timeout), self.changed:
                await self.changed.wait_for(lambda: condition(self.frames) or self.ended)
        except TimeoutError:
            pass
        if not condition(self.frames):
            state = "its socket closed" if self.ended else f"gave up after {timeout:g} s"
            raise AssertionError(f"{self.name}: no {what} ({state}); frames: {self.summary()}")

    def summary(self) -> str:
        shown = [f"{f['type']} {f.get('channel')} {f.get('id', '')}" for f in self.frames]
        return ", ".join(shown[-30:])

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages of ``channel`` received so far."""
        return [f for f in self.frames if f["type"] == "message" and f["channel"] == channel]

    def last_id(self, channel: str) -> int | None:
        received = self.messages(channel)
        return received[-1]["id"] if received else None

    def has(self, kind: str, channel: str, since: int = 0) -> bool:
        return any(f["type"] == kind and f.get("channel") == channel for f in self.frames[since:])

    async def join(self, channel: str, after: int | None = None) -> list[str]:
        """Join ``channel``; returns who is in it, as the ``joined`` frame says."""
        since = len(self.frames)
        await self.send(type="join", channel=channel, after=after)
        await self.until(lambda _: self.has("joined", channel, since), f"joined {channel}")
        joined = next(f for f in self.frames[since:] if f["type"] == "joined")
        members: list[str] = joined["members"]
        return members

    async def leave(self, channel: str) -> None:
        """Leave ``channel``: once ``left`` is here, nothing more of it can come."""
        since = len(self.frames)
        await self.send(type="leave", channel=channel)
        await self.until(lambda _: self.has("left", channel, since), f"left {channel}")

    async def receive(self, channel: str, count: int) -> None:
        """Wait until ``count`` messages of ``channel`` have come."""
        await self.until(
            lambda _: len(self.messages(channel)) >= count, f"{count} messages of {channel}"
        )

    async def close(self) -> None:
        await self.ws.close()
        await self.reader

    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "error"]


@asynccontextmanager
async def clients_closed_at_end() -> AsyncIterator[list[Client]]:
    """A list to put clients in; all of them are closed at the end."""
    opened: list[Client] = []
    try:
        yield opened
    finally:
        await asyncio.gather(*(client.close() for client in opened), return_exceptions=True)


async def history(base_url: str, channel: str) -> list[dict[str, Any]]:
    """Every message of ``channel``, oldest first, as the API pages them."""
    found: list[dict[str, Any]] = []
    path: str | None = f"/api/channels/{channel}/messages?limit=100"
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        while path is not None:
            page = (await http.get(path)).json()
            found.extend(page["messages"])
            path = page["next"]
    return sorted(found, key=lambda message: message["id"])


def summary(messages: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(m["id"], m["author"], m["content"]) for m in messages]


def check_received(client: Client, channel: str, expected: list[dict[str, Any]]) -> None:
    """``client`` got exactly the messages ``expected`` of ``channel``, each once, in
    the order of their ids."""
    received = client.messages(channel)
    ids = [m["id"] for m in received]
    assert ids == sorted(set(ids)), f"{client.name} got {channel}'s ids out of order: {ids}"
    assert summary(received) == summary(expected), client.name


def run(scenario: Any) -> None:
    """Run a test's coroutine, bounded as a whole too."""
    asyncio.run(asyncio.wait_for(scenario, 150))


async def who_is_in(server: ServerProcess, player: Player, channel: str) -> list[str]:
    """Who is in ``channel``, as a newcomer's ``joined`` frame lists them (the newcomer
    included); the newcomer leaves at once."""
    watcher = await Client.open(server, player)
    try:
        return await watcher.join(channel)
    finally:
        await watcher.close()


async def wait_for_members(
    server: ServerProcess, watcher: Player, channel: str, expected: list[str], timeout: float
) -> None:
    """Ask :func:`who_is_in` again and again until it says ``expected``."""
    seen: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while seen != expected:
                seen = await who_is_in(server, watcher, channel)
                if seen != expected:
                    await asyncio.sleep(0.5)
    except TimeoutError:
        pass
    assert seen == expected, f"{channel} lists {seen}, not {expected}, after {timeout:g} s"


# -- many clients, many posters ---------------------------------------------------------


def assign_channels(groups: list[list[Client]]) -> dict[Client, tuple[str, ...]]:
    """The channels each client joins. In each group (a worker's, or a server's),
    the first joins both channels, the next ones the lobby, the tavern, both..."""
    choices = (CHANNELS, CHANNELS[:1], CHANNELS[1:])
    return {client: choices[k % 3] for group in groups for k, client in enumerate(group)}


async def join_channels(joined: dict[Client, tuple[str, ...]]) -> None:
    """Each client joins its channels, resuming after id 0: it gets all of them."""
    for client, channels in joined.items():
        for channel in channels:
            await client.join(channel, after=0)


async def post_and_check(
    joined: dict[Client, tuple[str, ...]],
    posters: list[Client],
    api_poster: Player,
    base_urls: list[str],
    rounds: int = 10,
) -> None:
    """``posters`` each say ``rounds`` messages to each of their channels, all at once,
    while ``api_poster`` posts through the API of each server. Then each client got
    every message of its channels exactly once, in id order, as the database holds
    them, and nothing of other channels; each poster's messages came in the order it
    said them."""
    contents: dict[str, list[str]] = {channel: [] for channel in CHANNELS}

    async def say_all(client: Client) -> None:
        for number in range(rounds):
            for channel in joined[client]:
                content = f"{channel}: {client.name} says {number}"
                contents[channel].append(content)
                await client.send(type="say", channel=channel, content=content)

    async def post_all(player: Player, base_url: str) -> None:
        for number in range(3):
            for channel in CHANNELS:
                content = f"{channel}: {player.name} posts {number} to {base_url}"
                contents[channel].append(content)
                await player.post(base_url, channel, content)

    await asyncio.gather(
        *(say_all(client) for client in posters),
        *(post_all(api_poster, base_url) for base_url in base_urls),
    )
    for client, channels in joined.items():
        for channel in channels:
            await client.receive(channel, len(contents[channel]))
            await client.leave(channel)  # nothing of the channel comes after "left"
    for channel in CHANNELS:
        stored = await history(base_urls[0], channel)
        assert sorted(m["content"] for m in stored) == sorted(contents[channel])
        for client, channels in joined.items():
            if channel in channels:
                check_received(client, channel, stored)
    for client, channels in joined.items():
        others = {f["channel"] for f in client.frames if f["type"] == "message"} - set(channels)
        assert not others, f"{client.name} got messages of {others}"
        assert all(
            m["content"].startswith(f"{m['channel']}: ")
            for m in client.frames[1:]
            if m["type"] == "message"
        )
        assert not client.errors(), client.errors()
        assert not client.ended, f"{client.name}'s socket closed"
    for client in posters:
        for channel in joined[client]:
            mine = [m["content"] for m in client.messages(channel) if m["author"] == client.name]
            said = [c for c in contents[channel] if c.startswith(f"{channel}: {client.name} says")]
            assert mine == said


async def open_on_each_worker(
    server: ServerProcess, players: list[Player], opened: list[Client]
) -> dict[int, list[Client]]:
    """Open sockets for ``players``, half of them on each of the server's two workers
    (each half while the other worker is paused: testkit.workers). Returns the
    clients by worker."""
    halves = [players[: len(players) // 2], players[len(players) // 2 :]]
    by_worker: dict[int, list[Client]] = {}
    for worker, half in zip(sorted(booted_workers(server, 2)), halves, strict=True):
        with only(server, worker, 2):
            by_worker[worker] = new = [await Client.open(server, player) for player in half]
            opened.extend(new)
            for client in new:
                assert worker_holding(server, client.local_port, 2) == worker, client.name
    return by_worker


# -- the tests: fanning out -------------------------------------------------------------


def test_two_servers_deliver_every_message_once_in_order(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    redis_server: TemporaryRedis,
) -> None:
    """Two machines, each with its copy of the project, share PostgreSQL and Redis."""
    database = new_database("postgresql", tmp_path, request)
    with machines(tmp_path, database, 2, redis=redis_server.url) as servers:

        async def scenario() -> None:
            names = [f"player{number}" for number in range(8)]
            *players, watcher = await sign_up_all(servers[0].base_url, [*names, "watcher"])
            async with clients_closed_at_end() as opened:
                groups: list[list[Client]] = [[], []]
                for number, player in enumerate(players):  # signed in once, good on both
                    client = await Client.open(servers[number % 2], player)
                    opened.append(client)
                    groups[number % 2].append(client)
                joined = assign_channels(groups)
                await join_channels(joined)
                for channel in CHANNELS:
                    members = {client.name for client in joined if channel in joined[client]}
                    expected = sorted({*members, watcher.name})
                    for server in servers:
                        assert await who_is_in(server, watcher, channel) == expected
                posters = [client for group in groups for client in group[:2]]
                base_urls = [server.base_url for server in servers]
                await post_and_check(joined, posters, watcher, base_urls)

        run(scenario())


# -- the tests: faults ------------------------------------------------------------------


async def say(client: Client, text: str, count: int = 1) -> list[str]:
    """``client`` says ``count`` messages to the lobby; returns their contents."""
    contents = [f"{text} {number}" for number in range(count)]
    for content in contents:
        await client.send(type="say", channel="lobby", content=content)
    return contents


def contents(client: Client, channel: str = "lobby") -> list[str]:
    return [message["content"] for message in client.messages(channel)]


def test_a_killed_worker_s_clients_resume_and_its_members_drop_out(
    tmp_path: Path, redis_server: TemporaryRedis
) -> None:
    """One server, two workers, Redis; one worker is killed (SIGKILL: no goodbye).

    Its members stay listed while its alive key lives; nobody renews the key now, so
    it would expire within ``ALIVE_SECONDS``. Rather than wait that long, the test
    checks that the key is due to expire, then deletes it by hand, as its expiry
    would, and checks that its members drop out of the list then.
    """
    database = Database.new("sqlite", tmp_path, None)
    redis, prefix = redis_server.url, new_prefix()
    broker = broker_from_settings({"redis.url": redis, "aiotutorial.redis_prefix": prefix})
    assert isinstance(broker, RedisBroker)  # for the names of its keys in Redis
    with machines(tmp_path, database, 1, workers=2, redis=redis, prefix=prefix) as (server,):

        async def scenario() -> None:
            names = [f"player{number}" for number in range(8)]
            *players, watcher = await sign_up_all(server.base_url, [*names, "watcher"])
            async with clients_closed_at_end() as opened:
                by_worker = await open_on_each_worker(server, players, opened)
                (victim, doomed), (_, survivors) = by_worker.items()
                ghost, *returning = doomed  # the ghost will not come back
                for client in opened:
                    await client.join("lobby", after=0)
                before = await say(survivors[0], "before the kill", 3)
                for client in opened:
                    await client.receive("lobby", len(before))

                os.kill(victim, signal.SIGKILL)
                for client in doomed:
                    await client.until(lambda _, client=client: client.ended, "end of socket")
                    assert client.ws.close_code == 1006  # no close frame: the worker died
                missed = await say(survivors[1], "while they were away", 4)
                for client in survivors:
                    await client.receive("lobby", len(before) + len(missed))

                back = {}
                for client in returning:  # a new socket, to whichever worker takes it
                    back[client] = new = await Client.open(server, client.player)
                    opened.append(new)
                    await new.join("lobby", after=client.last_id("lobby"))
                    await new.receive("lobby", len(missed))
                after = await say(survivors[0], "all together again", 2)
                for client in survivors:
                    await client.receive("lobby", len(before) + len(missed) + len(after))
                for new in back.values():
                    await new.receive("lobby", len(missed) + len(after))

                # The dead worker's members are still listed: its alive key lives.
                assert ghost.name in await who_is_in(server, watcher, "lobby")
                alive = await dead_worker_s_alive_key(redis_server, broker, ghost.name)
                ttl = await asyncio.to_thread(redis_server.command, "TTL", alive)
                assert isinstance(ttl, int) and 0 < ttl <= ALIVE_SECONDS, ttl  # due to expire
                assert await asyncio.to_thread(redis_server.command, "DEL", alive) == 1
                present = sorted({c.name for c in [*survivors, *returning]} | {watcher.name})
                await wait_for_members(server, watcher, "lobby", present, WAIT)

                for client in [*survivors, *back.values()]:
                    await client.leave("lobby")
                stored = await history(server.base_url, "lobby")
                assert [m["content"] for m in stored] == before + missed + after
                for client in survivors:
                    check_received(client, "lobby", stored)
                for old, new in back.items():
                    got = old.messages("lobby") + new.messages("lobby")
                    assert summary(got) == summary(stored), old.name
                assert summary(ghost.messages("lobby")) == summary(stored[: len(before)])

        run(scenario())


async def dead_worker_s_alive_key(redis: TemporaryRedis, broker: RedisBroker, ghost: str) -> str:
    """The alive key of the worker that listed ``ghost``, who is on no other worker:
    the list of the lobby's members names each socket by its worker's id first."""
    members = broker._key("members", "lobby")
    listed = await asyncio.to_thread(redis.command, "HGETALL", members)
    assert isinstance(listed, list), listed
    fields = dict(zip(listed[::2], listed[1::2], strict=True))
    (worker,) = {
        field.split(b"/", 1)[0].decode()
        for field, name in fields.items()
        if isinstance(field, bytes) and name == ghost.encode()
    }
    return broker._key("alive", worker)


class StalledSocket:
    """A websocket client on a bare socket with a small receive buffer, which reads
    only when told to: a player on a link that stopped moving."""

    RECEIVE_BUFFER = 4096

    def __init__(self, server: ServerProcess, player: Player) -> None:
        self.name = player.name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connecting, so that the window the kernel offers the server is small.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RECEIVE_BUFFER)
        self.sock.settimeout(WAIT)
        self.sock.connect((LOOPBACK, server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /chat HTTP/1.1\r\nHost: {LOOPBACK}:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Cookie: {player.cookie}\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head

    def _read_until(self, end: bytes) -> bytes:
        while end not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(end, 1)
        return head

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.buffer += data

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def send(self, opcode: int, payload: bytes) -> None:
        """Send one frame, masked as a client's must be."""
        mask = os.urandom(4)
        assert len(payload) < 126
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def send_json(self, **frame: Any) -> None:
        self.send(0x1, json.dumps(frame).encode())

    def receive(self) -> tuple[int, bytes]:
        """The next frame the server sent: its opcode and payload."""
        first, second = self._take(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._take(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._take(8))
        return first & 0x0F, self._take(size)

    def receive_json(self) -> dict[str, Any]:
        opcode, payload = self.receive()
        assert opcode == 0x1, (opcode, payload)
        frame: dict[str, Any] = json.loads(payload)
        return frame

    def read_to_the_close(self) -> tuple[list[dict[str, Any]], int]:
        """Read everything now: the text frames, then the close frame's code. Answers
        the close, and checks that the server then closes the connection."""
        frames = []
        while True:
            opcode, payload = self.receive()
            if opcode == 0x8:
                (code,) = struct.unpack("!H", payload[:2])
                self.send(0x8, payload[:2])
                try:
                    rest = self.sock.recv(1)
                except ConnectionResetError:  # it closed before our close frame came
                    rest = b""
                assert rest == b"", "the server should close the connection"
                return frames, code
            assert opcode == 0x1, (opcode, payload)
            frames.append(json.loads(payload))

    def close(self) -> None:
        self.sock.close()


def test_a_client_that_stops_reading_is_dropped_and_holds_nobody_up(tmp_path: Path) -> None:
    """development.ini as it comes: one worker, the broker in the process."""
    database = Database.new("sqlite", tmp_path, None)
    with machines(tmp_path, database, 1) as (server,):

        async def scenario() -> None:
            names = ["stalled", "fast", "poster"]
            stalled_player, *players = await sign_up_all(server.base_url, names)
            stalled = await asyncio.to_thread(StalledSocket, server, stalled_player)
            try:
                stalled.send_json(type="join", channel="lobby", after=None)
                joined = await asyncio.to_thread(stalled.receive_json)
                assert joined["type"] == "joined", joined
                # From here on, the stalled client reads nothing until the end.
                async with clients_closed_at_end() as opened:
                    for player in players:
                        opened.append(await Client.open(server, player))
                    fast, poster = opened
                    for client in opened:
                        await client.join("lobby")
                    await check_backpressure(stalled, fast, poster)
            finally:
                stalled.close()

        run(scenario())


def most_messages_held_for(stalled: StalledSocket, frame: int) -> int:
    """The most messages whose frames are ``frame`` bytes long or longer that can be
    on their way to a client that reads nothing before its member's queue overflows.

    Between the hub and the client: the client's receive buffer (``SO_RCVBUF`` as
    the kernel reports it, which it doubled); the server's send buffer, which the
    kernel grows up to ``net.ipv4.tcp_wmem``'s maximum (gunicorn does not set
    ``SO_SNDBUF``); the event loop's write buffer, which makes gunicorn await its
    drain above ``HIGH_WATER_LIMIT``, plus the one frame that took it past that; the
    frame the member's task holds while it waits; then the member's queue, of
    ``OUTGOING_FRAMES``; and the one that does not fit there.
    """
    wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    receive_buffer = stalled.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    in_buffers = -(-(receive_buffer + wmem_max + HIGH_WATER_LIMIT) // frame) + 1
    return in_buffers + 1 + OUTGOING_FRAMES + 1


async def check_backpressure(stalled: StalledSocket, fast: Client, poster: Client) -> None:
    """Post until the stalled client must have been dropped (twice as many messages as
    :func:`most_messages_held_for` its frames), the others reading all along."""
    # Every character takes 4 bytes in UTF-8, or more escaped in JSON: large frames,
    # so that fewer messages fill the buffers.
    padding = "\N{SPEECH BALLOON}" * (MESSAGE_LENGTH - 6)
    posted = [f"{0:05d} {padding}"]
    await poster.send(type="say", channel="lobby", content=posted[0])
    await fast.receive("lobby", 1)
    # The server's frame of the first message, as the fast client got it: the later
    # ones differ only in their ids, which are no shorter.
    frame = next(
        size for f, size in zip(fast.frames, fast.sizes, strict=True) if f["type"] == "message"
    )
    bound = 2 * most_messages_held_for(stalled, frame)  # a safety factor of 2
    batch = 200
    while len(posted) < bound:
        for _ in range(min(batch, bound - len(posted))):  # each is committed in turn
            posted.append(f"{len(posted):05d} {padding}")
            await poster.send(type="say", channel="lobby", content=posted[-1])
        await fast.receive("lobby", len(posted))  # the others keep up meanwhile
    for client in (fast, poster):
        await client.receive("lobby", len(posted))
        assert contents(client) == posted, f"{client.name} missed messages or their order"
        assert not client.ended and not client.errors(), client.name

    # The others are told that it is gone.
    await fast.until(
        lambda frames: any(
            f["type"] == "presence" and stalled.name not in f["members"] for f in frames
        ),
        "presence frame without the stalled client",
    )
    frames, code = await asyncio.to_thread(stalled.read_to_the_close)
    assert code == TOO_SLOW
    got = [f["content"] for f in frames if f["type"] == "message"]
    assert got == posted[: len(got)], "the stalled client's messages are out of order"
    # It was dropped when its queue overflowed, at most OUTGOING_FRAMES + 2 messages
    # after the last one it got: every message after those was posted once it was
    # dropped, and the others got them all the same.
    assert len(got) + OUTGOING_FRAMES + 2 < len(posted), (len(got), len(posted))


# -- the home page's lobby, in browsers -------------------------------------------------

TEMPLATES = CHAPTER.directory / "aiotutorial" / "templates"
SIGN_UP = found(r"<button>([^<]+)</button>", (TEMPLATES / "sign_up.jinja2").read_text())
SEND = found(r'(?s)<form id="say">.*?<button>([^<]+)</button>', HOME)
LINE = found(r"line\.textContent = `([^`]+)`;", HOME)
"""How the page shows a message: a template literal of the frame's fields."""
MEMBERS_SEPARATOR = found(r'members\.textContent = frame\.members\.join\("([^"]*)"\);', HOME)
CONNECTED = found(r'status\.textContent = "([^"]+)";\s+socket\.send\(', HOME)
DISCONNECTED = found(r"status\.textContent = `([^`$]+)\$\{event\.code\}", HOME)
"""What the status starts with while the page waits to connect again."""
WAIT_MS = int(WAIT * 1000)
RECONNECT_MS = 60_000
"""The longest wait for a page to connect again: its waits double, 1 s first."""
T = TypeVar("T")


def shown_as(author: str, content: str) -> str:
    """The line the page shows for a message."""
    fields = {"${frame.author}": author, "${frame.content}": content}
    assert all(field in LINE for field in fields), LINE
    return re.sub(r"\$\{frame\.\w+\}", lambda match: fields[match[0]], LINE)


def in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on an event loop of its own, in a thread of its own: the
    browser's (Playwright's sync API) holds this thread's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coroutine, WAIT)).result()


def sign_up_in(page: Any, server: ServerProcess, name: str) -> None:
    """Sign up as ``name`` through the sign-up form, which leads to the home page."""
    page.goto(server.url("/sign-up"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_UP).click()
    assert page.url == server.url("/"), page.content()


def say_in(page: Any, content: str) -> None:
    """Type ``content`` in the lobby's form and send it."""
    page.fill("#content", content)
    page.locator("#say").get_by_role("button", name=SEND).click()


def once_there(page: Any, script: str, argument: Any, timeout_ms: int = WAIT_MS) -> None:
    """Wait until ``script`` is true in ``page``; on a timeout, the caller's comparison
    says what the page shows instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with suppress(PlaywrightTimeout):
        page.wait_for_function(script, arg=argument, timeout=timeout_ms)


def lines_shown(page: Any, count: int, timeout_ms: int = WAIT_MS) -> list[str]:
    """The lobby's lines (each one's text), once there are ``count`` of them."""
    script = "count => document.querySelectorAll('#messages li').length >= count"
    once_there(page, script, count, timeout_ms)
    lines: list[str] = page.locator("#messages li").evaluate_all(
        "items => items.map((item) => item.textContent)"
    )
    return lines


def members_shown(page: Any, names: list[str]) -> list[str]:
    """Who the lobby says is here, sorted, once it names ``names``."""
    script = """([separator, names]) => JSON.stringify(
        document.getElementById("members").textContent.split(separator).sort()
    ) === JSON.stringify(names)"""
    once_there(page, script, [MEMBERS_SEPARATOR, sorted(names)])
    return sorted(page.locator("#members").text_content().split(MEMBERS_SEPARATOR))


def status_shown(page: Any, start: str, timeout_ms: int = WAIT_MS) -> str:
    """The lobby's status line, once it starts with ``start``."""
    script = "start => document.getElementById('status').textContent.startsWith(start)"
    once_there(page, script, start, timeout_ms)
    status: str = page.locator("#status").text_content()
    return status


def started_again(server: ServerProcess) -> ServerProcess:
    """A new process of ``server``'s command, on its port, in its directory (so on its
    database), logging to its log; not started yet."""
    return ServerProcess(
        server.args, port=server.port, log_path=server.log_path, cwd=server.cwd, env=server.env
    )


def test_the_lobby_in_two_browsers_shows_markup_as_text_and_resumes_after_a_restart(
    tmp_path: Path,
) -> None:
    """development.ini as it comes; two browser profiles, a player signed up through
    the form in each, and a third player who posts through the API while the server
    is restarted and the pages are kept offline: they reconnect by themselves, and
    resume after the last message they showed."""
    database = Database.new("sqlite", tmp_path, None)
    with machines(tmp_path, database, 1) as (server,), chromium() as browser:
        (api_player,) = in_thread(sign_up_all(server.base_url, ["carol"]))
        pages = {}
        for name in ("alice", "bob"):
            context = browser.new_context()
            context.set_default_timeout(WAIT_MS)
            pages[name] = context.new_page()
            sign_up_in(pages[name], server, name)
            # Joined, before the next page joins (see below): who is here so far.
            assert members_shown(pages[name], list(pages)) == sorted(pages)
        for page in pages.values():
            assert members_shown(page, list(pages)) == sorted(pages)
            assert status_shown(page, CONNECTED) == CONNECTED

        markup = '<img src=x onerror="window.hacked=1">'
        say_in(pages["alice"], markup)
        expected = [shown_as("alice", markup)]
        for page in pages.values():
            assert lines_shown(page, len(expected)) == expected  # the characters typed
            assert page.locator("#messages img").count() == 0

        server.stop()  # the pages stay open
        for page in pages.values():
            assert status_shown(page, DISCONNECTED).startswith(DISCONNECTED)
            # Kept from connecting again until the message below is posted, so that
            # it is what they missed, not a live message.
            page.context.set_offline(True)
        with started_again(server) as again:
            text = "posted through the API while the pages were away"
            in_thread(api_player.post(again.base_url, "lobby", text))
            expected.append(shown_as(api_player.name, text))
            for page in pages.values():
                assert status_shown(page, DISCONNECTED).startswith(DISCONNECTED)
                page.context.set_offline(False)
            for page in pages.values():
                assert lines_shown(page, len(expected), RECONNECT_MS) == expected
                assert status_shown(page, CONNECTED) == CONNECTED
            # The pages joined again at about the same time: each still lists both.
            for page in pages.values():
                assert members_shown(page, list(pages)) == sorted(pages)

            # Messages come in the order of their ids: once this one is shown, any
            # message shown twice would be too.
            say_in(pages["bob"], "the last word")
            expected.append(shown_as("bob", "the last word"))
            for page in pages.values():
                assert lines_shown(page, len(expected)) == expected
                assert page.locator("#messages img").count() == 0
                assert page.evaluate("typeof window.hacked") == "undefined"
