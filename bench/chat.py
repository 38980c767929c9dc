"""The chat's fan-out: two workers through Redis against one worker with its broker in process.

Chapter 5's project is served as the chapter serves it, ``pserve development.ini``
(a copy, its port and database changed, logging at WARN), once per setup, each on a
fresh database of one throwaway PostgreSQL server (:mod:`testkit.postgres`), so that
the setups differ in their broker and workers only:

- ``redis_2w``: ``workers = 2``, the broker a throwaway Redis server
  (:mod:`testkit.redis`, the ``redis.url`` setting);
- ``local_1w``: one worker, no ``redis.url``: the broker lives in the worker.

Each database is migrated and given ``--channels`` channels. Players register and sign
in through the JSON API, then one asyncio process opens ``--clients`` websockets to
``/chat`` with their cookies (:data:`SOCKETS_PER_PLAYER` per player) and joins each to
one channel, as many in each. :data:`POSTERS_PER_CHANNEL` sockets of each channel post
``say`` frames, ``--rate`` a second in all, spread over the channels, for ``--seconds``;
each content holds the poster, its sequence number and when it was sent
(``time.monotonic()``: one clock for every process of the machine). Every socket records
when each message reaches it: a delivery's latency is receipt minus send, including the
client's own delay in reading it (its event loop's lag is reported beside). Deliveries/s
is the deliveries of a step over the time from its first send to its last receipt.

Then the rate changes, :data:`STEP_SECONDS` at a time, :data:`MAX_STEPS` steps at most: it
doubles until a step fails (or halves until one passes, if the first failed), then the
two are bisected. A step passes if its p99 is under :data:`P99_LIMIT_MS`, every delivery
arrived, nothing went wrong and the client posted at the rate asked. The highest passing
rate is reported; 0 if none passed.

Every delivery is checked: each socket must receive each message of its channel once, in
the order of the messages' ids and of each poster's sequence numbers (a socket's frames
are handled in order, so each poster's messages get increasing ids). A socket that the
server drops as too slow (close code 4002) connects again and resumes after the last id
it had, as the protocol says: an error of its step, not a loss.

The keys go to ``.bench/chat.json``::

    {"chat.redis_2w.p50_ms": ..., "chat.redis_2w.p99_ms": ...,
     "chat.redis_2w.deliveries_per_s": ..., "chat.redis_2w.max_rate_p99_250ms": ...,
     "chat.local_1w.p50_ms": ..., ..., "chat.lost": 0, "chat.duplicated": 0,
     "chat.reordered": 0, "chat.clients": 1000, "chat.channels": 10, "chat.rate": 100}

beside each setup's database, broker and workers, every step's figures and the CPU each
process used meanwhile; each setup's server log is kept in ``.bench/chat-<setup>.log``.
The run fails if a delivery was lost, duplicated or reordered, or if the server sent
an error or closed a socket for another reason than slowness.
``--smoke`` (100 clients, 2 seconds, one step) checks that it runs and writes every key,
and judges no speed. Needs chapter 5's project installed and Debian's ``postgresql`` and
``redis-server``: ``nox -s bench_chat`` installs the project and runs ``python -m
bench.chat``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from aiotutorial.chat.members import TOO_SLOW
from bench.clients import percentile
from bench.machine import raise_open_files_limit
from testkit.chapters import ROOT, chapter, read_project
from testkit.postgres import TemporaryCluster, server_binaries
from testkit.redis import TemporaryRedis, redis_server_binary
from testkit.server import ServerProcess, free_port, group_members

PROJECT = chapter("chapter5").directory
OUTPUT = ROOT / ".bench" / "chat.json"
COOKIE = "aiotutorial_session"
"""The project's session cookie: the socket's handshake carries it."""
PASSWORD = "a benchmark's password"
SOCKETS_PER_PLAYER = 20
"""Sockets opened with each player's cookie: fewer sign-ins, which cost scrypt's time."""
SIGNING_IN = 4
"""Sign-ins at a time: the project counts one as failed until its password is checked,
and allows 5 failures per client and worker."""
POSTERS_PER_CHANNEL = 4
"""Sockets of each channel that post: each poster's messages must arrive in order."""
P99_LIMIT_MS = 250.0
STEP_SECONDS = 5.0
"""How long each rate after the first is held."""
MAX_STEPS = 6
"""Rates tried after the first (see :func:`next_rate`)."""
RESOLUTION = 1.25
"""Bisecting stops once the failing rate is within this factor of the passing one."""
DRAIN_SECONDS = 15.0
"""How long a step waits, after its last send, for every delivery."""
FINAL_DRAIN_SECONDS = 60.0
"""How long the last step's deliveries may take, before what is missing counts as lost."""
QUIET_SECONDS = 1.0
"""Joining is over once no socket heard of anyone joining for this long."""
BATCH = 100
"""Handshakes, or closes, at a time."""
LAG_PERIOD = 0.01
"""How often the client's event loop lag is sampled, in seconds."""
OTHERS_NOTED = 0.2
"""CPU cores used by processes the benchmark did not start, above which it says so."""


@dataclass(frozen=True)
class Setup:
    """One way to serve the chat: its key in the results, its workers and its broker."""

    key: str
    workers: int
    broker: str


SETUPS = (Setup("redis_2w", 2, "redis"), Setup("local_1w", 1, "in-process"))


@dataclass(frozen=True)
class Plan:
    """How big and how long: the command line's options, once read."""

    clients: int
    channels: int
    rate: float
    seconds: float
    steps: int

    @property
    def channel_names(self) -> list[str]:
        """The channels the benchmark adds to each database."""
        return [f"bench-{number}" for number in range(1, self.channels + 1)]

    @property
    def players(self) -> int:
        """Players to sign in: one per :data:`SOCKETS_PER_PLAYER` sockets."""
        return -(-self.clients // SOCKETS_PER_PLAYER)


# -- progress -----------------------------------------------------------------------------


class Progress:
    """A count of done out of total, for a long step: on a terminal one line rewrites
    itself; in a log (nox's, CI's) a line at every quarter shows that it is moving."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done = what, total, 0
        self.started = time.monotonic()
        self.terminal = sys.stdout.isatty()
        self.shown_quarter = 0
        self.show()

    def advance(self, count: int = 1) -> None:
        """``count`` more are done."""
        self.done += count
        quarter = 4 * self.done // max(1, self.total)
        if self.terminal or quarter > self.shown_quarter:
            self.shown_quarter = quarter
            self.show()

    def show(self) -> None:
        """Print the count and the seconds so far."""
        line = f"  {self.what}: {self.done:,}/{self.total:,}"
        line += f" ({time.monotonic() - self.started:.1f} s)"
        if self.terminal:
            end = "\n" if self.done >= self.total else ""
            print(f"\r\033[K{line}", end=end, flush=True)
        elif self.done < self.total or self.shown_quarter:
            print(line, flush=True)


def say(text: str) -> None:
    """A line of progress, at once (nox collects the output)."""
    print(text, flush=True)


# -- the served project -------------------------------------------------------------------


def project_copy(directory: Path, port: int, url: str, workers: int, redis_url: str | None) -> Path:
    """Chapter 5's project in ``directory``, its ini set to ``port``, the database at
    ``url``, ``workers`` workers and, if given, the broker at ``redis_url``; logging at
    WARN, since logging every socket would measure the log, not the chat."""
    for name, content in read_project(PROJECT).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    ini = directory / "development.ini"
    settings = ini.read_text()
    changes = {
        r"^port = \d+$": f"port = {port}",
        r"^sqlalchemy\.url = .*$": f"sqlalchemy.url = {url}",
        r"^workers = \d+$": f"workers = {workers}",
        r"^level = (?:DEBUG|INFO)$": "level = WARN",
        r"^\[app:main\]$": "[app:main]" + (f"\nredis.url = {redis_url}" if redis_url else ""),
    }
    for pattern, line in changes.items():
        settings, found = re.subn(pattern, line.replace("\\", "\\\\"), settings, flags=re.M)
        if not found:
            raise RuntimeError(f"chapter 5's development.ini has no line like {pattern}")
    ini.write_text(settings)
    return directory


def prepare_database(project: Path, cluster: TemporaryCluster, database: str, plan: Plan) -> None:
    """Migrate the project's database, as the chapter does, then add the channels:
    the project has only the lobby."""
    alembic = Path(sys.executable).parent / "alembic"
    command = [str(alembic), "-c", "development.ini", "upgrade", "head"]
    subprocess.run(command, cwd=project, check=True, capture_output=True)
    rows = ", ".join(f"('{name}')" for name in plan.channel_names)
    cluster.sql(f"INSERT INTO channels (name) VALUES {rows}", database)


async def sign_in_players(base: str, count: int) -> list[str]:
    """Register ``count`` players through the JSON API and sign each in: their cookies."""
    progress = Progress("signing players in", count)
    gate = asyncio.Semaphore(SIGNING_IN)

    async def one(number: int) -> str:
        async with gate, httpx.AsyncClient(base_url=base, timeout=60, trust_env=False) as web:
            token = (await web.get("/api/session")).json()["csrf_token"]
            player = {"username": f"player{number}", "password": PASSWORD}
            headers = {"x-csrf-token": token}
            (await web.post("/api/users", json=player, headers=headers)).raise_for_status()
            (await web.post("/api/session", json=player, headers=headers)).raise_for_status()
            progress.advance()
            return str(web.cookies[COOKIE])

    return list(await asyncio.gather(*(one(number) for number in range(count))))


# -- what the clients see -----------------------------------------------------------------


@dataclass(eq=False)
class Step:
    """One posting rate, held for some seconds, and what the sockets received meanwhile."""

    rate: float
    seconds: float
    sent: int = 0
    skipped: int = 0
    """Says not sent: their poster was connecting again."""
    first_send: float = 0.0
    last_send: float = 0.0
    last_receipt: float = 0.0
    latencies: list[float] = field(default_factory=list)
    duplicated: int = 0
    reordered: int = 0
    undelivered: int = 0
    """Deliveries still missing when the step stopped waiting."""
    too_slow: int = 0
    """Sockets the server dropped for not keeping up; they resumed."""
    closed: int = 0
    """Sockets closed for any other reason: they did not resume."""
    errors: list[str] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    def delivered(self, sent: float, now: float) -> None:
        """A message sent at ``sent`` arrived ``now``."""
        self.latencies.append(now - sent)
        self.last_receipt = max(self.last_receipt, now)

    def posted_per_s(self) -> float:
        """The rate the client managed to post at."""
        elapsed = self.last_send - self.first_send
        return (self.sent - 1) / elapsed if elapsed > 0 else 0.0

    def deliveries_per_s(self) -> float:
        """Deliveries over the time from the first send to the last receipt."""
        elapsed = self.last_receipt - self.first_send
        return len(self.latencies) / elapsed if elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The ``fraction`` percentile of the latencies, in milliseconds."""
        return percentile(self.latencies, fraction) * 1000 if self.latencies else float("inf")

    def faults(self) -> list[str]:
        """What went wrong in this step, besides its speed."""
        counts = {
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "undelivered": self.undelivered,
            "dropped as too slow": self.too_slow,
            "closed": self.closed,
            "error frames": len(self.errors),
        }
        return [f"{count} {what}" for what, count in counts.items() if count]

    def passes(self) -> bool:
        """p99 under the limit, nothing wrong, and posted at (90 % of) the rate asked."""
        fast = self.percentile_ms(0.99) < P99_LIMIT_MS
        return fast and not self.faults() and self.posted_per_s() >= 0.9 * self.rate

    def summary(self) -> dict[str, Any]:
        """The step's figures, for the results file."""
        return {
            "rate": self.rate,
            "seconds": self.seconds,
            "posted_per_s": round(self.posted_per_s(), 1),
            "skipped": self.skipped,
            "deliveries": len(self.latencies),
            "deliveries_per_s": round(self.deliveries_per_s(), 1),
            "p50_ms": round(self.percentile_ms(0.50), 2),
            "p99_ms": round(self.percentile_ms(0.99), 2),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 2),
            "client_lag_p99_ms": round(percentile(self.lag, 0.99) * 1000, 2) if self.lag else 0,
            "cpu_cores": self.cpu,
            "faults": self.faults(),
            "errors": self.errors[:5],
            "passed": self.passes(),
        }


@dataclass(eq=False)
class Poster:
    """A socket's run of posts: its number and sequence numbers go in every content.

    A socket that connects again starts a new run: what its old connection had sent but
    the server had not read yet was never posted.
    """

    number: int
    channel: str
    sent: int = 0
    alive: bool = True


class Client:
    """One websocket of the chat, joined to one channel; it checks all it receives."""

    def __init__(self, run: Run, url: str, cookie: str, channel: str) -> None:
        self.run, self.url, self.cookie, self.channel = run, url, cookie, channel
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.joined = asyncio.Event()
        self.posting = False
        self.poster: Poster | None = None
        self.stopping = False
        self.last_id = 0
        self.last_seq: dict[int, int] = {}
        """Each poster's last sequence number received."""
        self.missing: dict[int, set[int]] = {}
        """Each poster's sequence numbers skipped over: late, or lost."""

    async def start(self) -> None:
        """Connect, join the channel, and wait until the server says it joined."""
        await self.connect(after=None)
        self.reader = asyncio.create_task(self.read())
        async with asyncio.timeout(60):
            await self.joined.wait()

    async def connect(self, after: int | None) -> None:
        """Open the socket with the player's cookie and ask to join after ``after``."""
        self.ws = await connect(
            self.url,
            additional_headers={"Cookie": f"{COOKIE}={self.cookie}"},
            compression=None,
            proxy=None,
            ping_interval=None,
            open_timeout=60,
            close_timeout=5,
        )
        await self.ws.send(json.dumps({"type": "join", "channel": self.channel, "after": after}))
        if self.posting:
            self.poster = self.run.new_poster(self.channel)

    async def read(self) -> None:
        """Handle every frame; after a drop for slowness, resume where it stopped."""
        while True:
            assert self.ws is not None
            with contextlib.suppress(ConnectionClosed):
                async for frame in self.ws:
                    try:
                        self.handle(frame)
                    except (KeyError, TypeError, ValueError) as error:
                        self.run.current.errors.append(f"{error!r} in {frame!r}")
            self.joined.clear()
            if self.poster is not None:
                self.poster.alive = False
            if self.stopping:
                return
            if self.ws.close_code != TOO_SLOW:
                self.run.current.closed += 1
                return
            self.run.current.too_slow += 1
            try:
                await self.connect(after=self.last_id)
            except (OSError, TimeoutError, WebSocketException):
                self.run.current.closed += 1
                return

    def handle(self, frame: str | bytes) -> None:
        """One frame from the server."""
        now = time.monotonic()
        data = json.loads(frame)
        kind = data["type"]
        if kind == "message":
            self.received(data, now)
        elif kind in {"joined", "presence"}:
            self.run.last_notice = now
            if kind == "joined":
                self.joined.set()
        else:
            self.run.current.errors.append(str(data))

    def received(self, message: dict[str, Any], now: float) -> None:
        """Check one delivery: exactly once, in order; then time it."""
        step = self.run.current
        try:
            poster_text, seq_text, sent_text = message["content"].split()
            poster, seq, sent = int(poster_text), int(seq_text), float(sent_text)
        except ValueError:
            step.errors.append(f"not a benchmark's message: {message}")
            return
        if message["channel"] != self.channel:
            step.errors.append(f"a message of another channel: {message}")
            return
        last = self.last_seq.get(poster, 0)
        late = seq in self.missing.get(poster, ())
        if seq <= last and not late:
            step.duplicated += 1
            return
        if late or message["id"] <= self.last_id:
            step.reordered += 1
        if late:
            self.missing[poster].discard(seq)
        else:
            if seq > last + 1:
                self.missing.setdefault(poster, set()).update(range(last + 1, seq))
            self.last_seq[poster] = seq
        self.last_id = max(self.last_id, message["id"])
        self.run.seen[poster] = max(self.run.seen.get(poster, 0), seq)
        step.delivered(sent, now)

    def pending(self, posters: list[Poster]) -> int:
        """Messages of ``posters`` this socket has yet to receive."""
        ahead = sum(max(0, self.run.posted(p) - self.last_seq.get(p.number, 0)) for p in posters)
        return ahead + sum(len(self.missing.get(p.number, ())) for p in posters)

    async def post(self, step: Step) -> None:
        """Say the next message of this socket's run, with the time it is sent."""
        poster = self.poster
        if self.ws is None or poster is None or not self.joined.is_set():
            step.skipped += 1
            return
        sent = time.monotonic()
        content = f"{poster.number} {poster.sent + 1} {sent!r}"
        frame = {"type": "say", "channel": self.channel, "content": content}
        try:
            await self.ws.send(json.dumps(frame))
        except ConnectionClosed:
            step.skipped += 1
            return
        poster.sent += 1
        step.sent += 1
        step.first_send = step.first_send or sent
        step.last_send = sent

    async def stop(self) -> None:
        """Close the socket and stop reading."""
        self.stopping = True
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(10):
                    await self.reader


class Run:
    """Every socket of one setup, its posters, and the step being measured."""

    def __init__(self, url: str, cookies: list[str], plan: Plan) -> None:
        names = plan.channel_names
        self.clients = [
            Client(self, url, cookies[number // SOCKETS_PER_PLAYER], names[number % len(names)])
            for number in range(plan.clients)
        ]
        self.posters: dict[str, list[Poster]] = {name: [] for name in names}
        """Every run of posts, by channel, including those of closed connections."""
        self.seen: dict[int, int] = {}
        """The highest sequence number of each poster that any socket received."""
        self.current = Step(rate=0, seconds=0)
        self.last_notice = time.monotonic()
        members = {name: [c for c in self.clients if c.channel == name] for name in names}
        each = min(POSTERS_PER_CHANNEL, *(len(clients) for clients in members.values()))
        # Round robin over these spreads the posts over the channels.
        self.slots = [members[name][rank] for rank in range(each) for name in names]
        for client in self.slots:
            client.posting = True

    def new_poster(self, channel: str) -> Poster:
        """A new run of posts in ``channel``."""
        poster = Poster(sum(map(len, self.posters.values())) + 1, channel)
        self.posters[channel].append(poster)
        return poster

    def posted(self, poster: Poster) -> int:
        """How many of ``poster``'s messages the server read: all it sent while its socket
        is open; once closed, those someone received (a socket's frames are read in order)."""
        return poster.sent if poster.alive else self.seen.get(poster.number, 0)

    def pending(self) -> int:
        """Deliveries still due, over every socket."""
        return sum(client.pending(self.posters[client.channel]) for client in self.clients)

    async def open(self) -> None:
        """Open every socket, :data:`BATCH` at a time, each joined before the next batch."""
        progress = Progress("opening sockets and joining", len(self.clients))
        for start in range(0, len(self.clients), BATCH):
            batch = self.clients[start : start + BATCH]
            await asyncio.gather(*(client.start() for client in batch))
            progress.advance(len(batch))

    async def quiet(self) -> float:
        """Wait until the joins' presence frames stop; the seconds that took."""
        started = time.monotonic()
        while time.monotonic() - self.last_notice < QUIET_SECONDS:
            if time.monotonic() - started > 120:
                raise TimeoutError("presence frames were still coming after 2 minutes")
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    async def drain(self, seconds: float) -> int:
        """Wait up to ``seconds`` until every delivery due arrived; what is still due."""
        deadline = time.monotonic() + seconds
        while (due := self.pending()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return due

    async def close(self) -> None:
        """Close every socket, :data:`BATCH` at a time."""
        for start in range(0, len(self.clients), BATCH):
            batch = self.clients[start : start + BATCH]
            await asyncio.gather(*(client.stop() for client in batch), return_exceptions=True)


async def post_at(run: Run, step: Step) -> None:
    """Send ``rate * seconds`` says at ``rate`` a second, round robin over the posters;
    each at its due time, or at once if the client is late."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for number in range(max(1, round(step.rate * step.seconds))):
        delay = start + number / step.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await run.slots[number % len(run.slots)].post(step)


async def watch_lag(samples: list[float]) -> None:
    """How late the client's event loop wakes up: its own share of every latency."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_PERIOD
        await asyncio.sleep(LAG_PERIOD)
        samples.append(max(0.0, loop.time() - due))


# -- CPU ---------------------------------------------------------------------------------

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """User and system CPU time of process ``pid``, in clock ticks; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def children(parent: int) -> list[int]:
    """The processes whose parent is ``parent``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def machine_busy_ticks() -> int:
    """Ticks every CPU of the machine spent on anything but idling, since it started."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:8]) - values[3] - values[4]  # without idle and iowait


Roles = dict[str, Callable[[], list[int]]]
"""The processes of each part of a setup (server, client, Redis, PostgreSQL)."""


@contextlib.contextmanager
def cpu_used(roles: Roles, into: dict[str, float]) -> Iterator[None]:
    """Put into ``into`` the CPU cores each role used during the block, the machine's, and
    what the rest of the machine used (``others``): processes this benchmark did not start."""
    started = time.monotonic()
    before = {role: {pid: cpu_ticks(pid) for pid in pids()} for role, pids in roles.items()}
    busy = machine_busy_ticks()
    yield
    seconds = (time.monotonic() - started) * TICKS_PER_SECOND
    for role, pids in roles.items():
        used = sum(cpu_ticks(pid) - before[role].get(pid, 0) for pid in pids())
        into[role] = round(used / seconds, 2)
    machine = (machine_busy_ticks() - busy) / seconds
    into["others"] = round(max(0.0, machine - sum(into.values())), 2)
    into["machine"] = round(machine, 2)


def machine_busy(seconds: float = 2.0) -> float:
    """The CPUs busy over ``seconds``, before the benchmark starts anything: other work."""
    busy, started = machine_busy_ticks(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_ticks() - busy) / TICKS_PER_SECOND / (time.monotonic() - started)


def accepted_sockets(port: int) -> set[str]:
    """The kernel's names (``socket:[inode]``) of the connections accepted on ``port``."""
    names = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        established = fields[3] == "01"
        if established and int(fields[1].rsplit(":", 1)[1], 16) == port:
            names.add(f"socket:[{fields[9]}]")
    return names


def sockets_per_worker(server: ServerProcess) -> list[int]:
    """How many of the server's connections each worker holds: the kernel, not the
    server, decides which worker accepts a connection."""
    accepted = accepted_sockets(server.port)
    counts = []
    for pid in sorted(set(group_members(server.pid)) - {server.pid}):
        held = 0
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                held += os.readlink(descriptor) in accepted
        counts.append(held)
    return counts


# -- one setup ----------------------------------------------------------------------------


async def measure_step(run: Run, rate: float, seconds: float, drain: float, roles: Roles) -> Step:
    """Post at ``rate`` for ``seconds``, then wait up to ``drain`` s for the deliveries."""
    step = run.current = Step(rate=rate, seconds=seconds)
    say(f"  {rate:g} messages/s for {seconds:g} s ...")
    lag = asyncio.create_task(watch_lag(step.lag))
    with cpu_used(roles, step.cpu):
        await post_at(run, step)
        step.undelivered = await run.drain(drain)
    lag.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await lag
    verdict = "passed" if step.passes() else "failed: " + ", ".join(step.faults() or ["speed"])
    say(
        f"    p50 {step.percentile_ms(0.5):.1f} ms, p99 {step.percentile_ms(0.99):.1f} ms, "
        f"{step.deliveries_per_s():,.0f} deliveries/s, posted {step.posted_per_s():.0f}/s; "
        f"{verdict}"
    )
    await asyncio.sleep(1)  # let presence frames of any resumed socket pass
    return step


def next_rate(passed: float, failed: float | None) -> float | None:
    """The rate to try after ``passed`` passed (0: none did) and ``failed`` failed
    (None: none did): double until a rate fails, halve until one passes, then bisect
    until the two are close enough (then None)."""
    if failed is None:
        return passed * 2
    if passed == 0:
        return failed / 2
    if failed <= passed * RESOLUTION:
        return None
    return float(round((passed + failed) / 2))


async def highest_rate(run: Run, first: Step, plan: Plan, roles: Roles) -> tuple[float, list[Step]]:
    """The highest rate that passed, searched from the first step's (:func:`next_rate`);
    stepping stops early once a step loses track of deliveries."""
    passed, failed = (first.rate, None) if first.passes() else (0.0, first.rate)
    steps = []
    for _ in range(plan.steps):
        rate = next_rate(passed, failed)
        if rate is None:
            break
        step = await measure_step(run, rate, STEP_SECONDS, DRAIN_SECONDS, roles)
        steps.append(step)
        if step.passes():
            passed = rate
        else:
            failed = rate
        if step.undelivered or step.closed or step.duplicated or step.reordered:
            break
    return passed, steps


async def exercise(server: ServerProcess, plan: Plan, roles: Roles) -> dict[str, Any]:
    """Sign players in, open the sockets, measure the rates, check every delivery."""
    started = time.monotonic()
    cookies = await sign_in_players(server.base_url, plan.players)
    signed_in = time.monotonic()
    run = Run(server.ws_url("/chat"), cookies, plan)
    await run.open()
    quiet = await run.quiet()
    opened = time.monotonic()
    per_worker = sockets_per_worker(server)
    say(
        f"  {len(run.clients):,} sockets open (per worker: {', '.join(map(str, per_worker))}); "
        f"presence frames went on for {quiet:.1f} s after the joins"
    )
    first = await measure_step(run, plan.rate, plan.seconds, DRAIN_SECONDS, roles)
    rate, steps = await highest_rate(run, first, plan, roles)
    lost = await run.drain(FINAL_DRAIN_SECONDS)  # what is still missing never came
    say(f"  closing the sockets ({lost:,} deliveries missing)")
    await run.close()
    every = [first, *steps]
    return {
        "p50_ms": round(first.percentile_ms(0.50), 2),
        "p99_ms": round(first.percentile_ms(0.99), 2),
        "deliveries_per_s": round(first.deliveries_per_s(), 1),
        "max_rate_p99_250ms": rate,
        "lost": lost,
        "duplicated": sum(step.duplicated for step in every),
        "reordered": sum(step.reordered for step in every),
        "dropped_too_slow": sum(step.too_slow for step in every),
        "faults": sum(len(step.errors) + step.closed for step in every),
        "sign_in_seconds": round(signed_in - started, 1),
        "open_seconds": round(opened - signed_in, 1),
        "sockets_per_worker": per_worker,
        "steps": [step.summary() for step in every],
    }


def measure(setup: Setup, plan: Plan, cluster: TemporaryCluster, work: Path) -> dict[str, Any]:
    """Serve chapter 5's project as ``setup`` says, on a fresh database, and measure it."""
    say(f"{setup.key}: {setup.workers} worker(s), broker {setup.broker}, PostgreSQL")
    directory = work / setup.key
    url = cluster.create_database(setup.key)
    with contextlib.ExitStack() as stack:
        redis = None
        if setup.broker == "redis":
            binary = redis_server_binary()
            assert binary is not None  # main() checked
            redis = stack.enter_context(TemporaryRedis(binary))
        port = free_port()
        project = project_copy(
            directory / "project", port, url, setup.workers, redis.url if redis else None
        )
        prepare_database(project, cluster, setup.key, plan)
        pserve = str(Path(sys.executable).parent / "pserve")
        log = OUTPUT.parent / f"chat-{setup.key}.log"  # kept, for a look at what happened
        log.unlink(missing_ok=True)
        server = stack.enter_context(
            ServerProcess([pserve, "development.ini"], port=port, log_path=log, cwd=project)
        )
        outcome = asyncio.run(exercise(server, plan, roles_of(server, cluster, redis)))
    database = {"database": "postgresql", "workers": setup.workers, "broker": setup.broker}
    return database | outcome | logged_problems(log)


def roles_of(
    server: ServerProcess, cluster: TemporaryCluster, redis: TemporaryRedis | None
) -> Roles:
    """The processes of each part of a setup, looked up again at each reading:
    PostgreSQL starts one per connection."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    roles: Roles = {
        "server": lambda: group_members(server.pid),
        "client": lambda: [os.getpid()],
        "postgresql": lambda: [postmaster, *children(postmaster)],
    }
    if redis is not None:
        roles["redis"] = lambda: [redis.pid] if redis.pid else []
    return roles


def logged_problems(log: Path) -> dict[str, int]:
    """The errors and warnings in the server's log (the project's format, and gunicorn's)."""
    text = log.read_text(errors="replace")
    return {
        "server_errors_logged": len(
            re.findall(r" (?:ERROR|CRITI) \[|\[(?:ERROR|CRITICAL)\]", text)
        ),
        "server_warnings_logged": len(re.findall(r" WARNI \[|\[WARNING\]", text)),
    }


# -- the command --------------------------------------------------------------------------


def results_of(plan: Plan, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The results file's keys: each setup's under ``chat.<setup>.``, and the totals."""
    results: dict[str, Any] = {
        "chat.clients": plan.clients,
        "chat.channels": plan.channels,
        "chat.rate": plan.rate,
        "chat.seconds": plan.seconds,
        "chat.cpus": os.cpu_count(),
    }
    for key, outcome in outcomes.items():
        results |= {f"chat.{key}.{name}": value for name, value in outcome.items()}
    for total in ("lost", "duplicated", "reordered"):
        results[f"chat.{total}"] = sum(outcome[total] for outcome in outcomes.values())
    return results


def table(outcomes: dict[str, dict[str, Any]], plan: Plan) -> str:
    """The figures side by side, and each step's CPU use below."""
    lines = [
        f"{plan.clients:,} clients in {plan.channels} channels, {plan.rate:g} messages/s "
        f"for {plan.seconds:g} s; {os.cpu_count()} CPUs shared by every process",
        f"{'setup':10} {'database':10} {'broker':10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'deliveries/s':>13} {'max rate (p99<250ms)':>21}",
    ]
    for key, outcome in outcomes.items():
        lines.append(
            f"{key:10} {outcome['database']:10} {outcome['broker']:10} "
            f"{outcome['p50_ms']:8.1f} {outcome['p99_ms']:8.1f} "
            f"{outcome['deliveries_per_s']:13,.0f} {outcome['max_rate_p99_250ms']:21g}"
        )
    for key, outcome in outcomes.items():
        lines.append(
            f"{key}: {outcome['server_errors_logged']} errors and "
            f"{outcome['server_warnings_logged']} warnings in .bench/chat-{key}.log"
        )
    lines.append("CPU cores used per step (others: processes the benchmark did not start):")
    for key, outcome in outcomes.items():
        for step in outcome["steps"]:
            cpu = ", ".join(f"{role} {cores:.2f}" for role, cores in step["cpu_cores"].items())
            mark = "pass" if step["passed"] else "fail"
            lines.append(
                f"  {key} at {step['rate']:g}/s: p99 {step['p99_ms']:.1f} ms, client lag p99 "
                f"{step['client_lag_p99_ms']:.1f} ms; {cpu}; {mark}"
            )
    others = max(step["cpu_cores"]["others"] for o in outcomes.values() for step in o["steps"])
    if others > OTHERS_NOTED:
        lines.append(
            f"other processes used up to {others:.2f} cores meanwhile: these figures are of a "
            "shared machine"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> Plan:
    """The plan the command line asks for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=1000, help="websockets (1000)")
    parser.add_argument("--channels", type=int, default=10, help="channels (10)")
    parser.add_argument("--rate", type=float, default=100, help="messages/s posted (100)")
    parser.add_argument("--seconds", type=float, default=20, help="how long at --rate (20)")
    parser.add_argument(
        "--smoke", action="store_true", help="100 clients, 2 s, one step; judge no speed"
    )
    options = parser.parse_args(argv)
    if options.smoke:
        return Plan(100, options.channels, options.rate, 2, steps=0)
    if options.clients < options.channels or min(options.rate, options.seconds) <= 0:
        parser.error("needs a client per channel at least, and a rate and seconds above 0")
    return Plan(options.clients, options.channels, options.rate, options.seconds, MAX_STEPS)


def main(argv: list[str] | None = None) -> int:
    """Measure both setups, write and print the results; 1 if a delivery went wrong."""
    plan = parse_args(argv)
    binaries = server_binaries()
    if binaries is None or redis_server_binary() is None:
        raise SystemExit(
            "PostgreSQL's or Redis's server is missing: apt-get install postgresql redis-server"
        )
    raise_open_files_limit(4 * plan.clients + 1000)
    OUTPUT.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    before = machine_busy()
    say(f"before starting: {before:.2f} of {os.cpu_count()} CPUs busy with other work")
    with (
        tempfile.TemporaryDirectory(prefix="bench-chat-") as scratch,
        TemporaryCluster(binaries) as cluster,
    ):
        outcomes = {setup.key: measure(setup, plan, cluster, Path(scratch)) for setup in SETUPS}
    results = results_of(plan, outcomes) | {"chat.cpus_busy_before": round(before, 2)}
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
    say(table(outcomes, plan))
    say(f"written to {OUTPUT.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    wrong = {name: results[f"chat.{name}"] for name in ("lost", "duplicated", "reordered")}
    faults = sum(outcome["faults"] for outcome in outcomes.values())
    if any(wrong.values()) or faults:
        say(f"deliveries went wrong: {wrong}, {faults} error frames or closed sockets")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
