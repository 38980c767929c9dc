"""The load the benchmarks put on the servers: wrk, an asyncio HTTP client, websocket clients.

Everything here talks to loopback addresses only and is bounded in time: every
request and every connection has a timeout.

- :func:`run_wrk`: Debian's ``wrk``, a C load generator, for requests per second and
  latency percentiles (a Python client would measure itself as much as the server);
- :func:`get` / :func:`get_many`: one-shot HTTP/1.1 requests over raw asyncio
  streams, cheap enough for a thousand at once;
- :func:`echo_round_trips` and :class:`IdleSockets`: websocket clients (the
  ``websockets`` library, compression off so every server does the same work).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

HOST = "127.0.0.1"


# -- wrk ------------------------------------------------------------------------------


class WrkMissing(RuntimeError):
    """``wrk`` is not installed (Debian: ``apt-get install wrk``)."""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus non-2xx/3xx answers


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, p50, p99, the request count and the errors from ``wrk --latency``."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output has no match for {pattern!r}:\n{output}")
        return match

    errors = 0
    if "Socket errors" in output:
        counts = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
        errors += sum(int(count) for count in counts.groups())
    if "Non-2xx or 3xx responses" in output:
        errors += int(find(r"Non-2xx or 3xx responses: (\d+)").group(1))
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        errors=errors,
    )


def run_wrk(url: str, *, duration_s: int, connections: int, threads: int) -> WrkResult:
    """Run ``wrk`` against ``url`` (loopback only) and parse what it printed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"refusing to load anything but {HOST}: {url}")
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    argv += ["--timeout", "10s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30, check=True)
    return parse_wrk(done.stdout)


def wrk_version() -> str:
    """``wrk -v``'s first line, or why there is none."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    first = (done.stdout or done.stderr).splitlines()[
        0
    ]  # "wrk debian/4.1.0-3 [epoll] Copyright..."
    return first.split(" Copyright")[0].strip()


# -- one-shot HTTP requests -----------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One request's outcome: the status (0 when it failed) and how long it took."""

    status: int
    seconds: float
    body: bytes = b""


async def get(port: int, path: str, *, timeout: float) -> Reply:
    """``GET path`` on a fresh connection (``Connection: close``), within ``timeout`` s."""
    started = time.perf_counter()
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request.encode("ascii"))
            answer = await reader.read()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return Reply(0, time.perf_counter() - started)
    finally:
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return Reply(int(match.group(1)) if match else 0, seconds, body)


async def get_many(
    port: int, path: str, count: int, *, timeout: float
) -> tuple[float, list[Reply]]:
    """``count`` requests of ``path`` all at once; the wall time and every reply."""
    started = time.perf_counter()
    replies = await asyncio.gather(*(get(port, path, timeout=timeout) for _ in range(count)))
    return time.perf_counter() - started, replies


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


# -- websockets -----------------------------------------------------------------------


def _connect(url: str, timeout: float) -> Any:
    return connect(
        url, compression=None, ping_interval=None, open_timeout=timeout, close_timeout=timeout
    )


async def echo_round_trips(
    url: str, *, clients: int, messages: int, timeout: float
) -> tuple[int, float, int]:
    """``clients`` websockets each send ``messages`` messages, one at a time, and await the echo.

    All connect first; the clock runs from the first message to the last echo.
    Returns the round trips completed, the seconds they took, and how many clients
    failed (could not connect, or got a wrong or no answer).
    """
    sockets = await asyncio.gather(
        *(_connect(url, timeout) for _ in range(clients)), return_exceptions=True
    )
    connected = [ws for ws in sockets if isinstance(ws, ClientConnection)]
    failed = clients - len(connected)

    async def talk(ws: ClientConnection, number: int) -> int:
        done = 0
        for count in range(messages):
            text = f"client {number} message {count}"
            await ws.send(text)
            if await ws.recv() != text:
                raise RuntimeError(f"wrong echo for {text!r}")
            done += 1
        return done

    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout + messages):
            outcomes = await asyncio.gather(
                *(talk(ws, n) for n, ws in enumerate(connected)), return_exceptions=True
            )
    finally:
        seconds = time.perf_counter() - started
        await asyncio.gather(*(ws.close() for ws in connected), return_exceptions=True)
    trips = sum(outcome for outcome in outcomes if isinstance(outcome, int))
    failed += sum(1 for outcome in outcomes if not isinstance(outcome, int))
    return trips, seconds, failed


class IdleSockets:
    """Websockets opened and left idle, to see what holding them costs a server."""

    def __init__(self, url: str, *, timeout: float, batch: int = 100) -> None:
        self.url = url
        self.timeout = timeout
        self.batch = batch
        self.sockets: list[ClientConnection] = []
        self.failed = 0

    async def open(self, total: int) -> None:
        """Open connections, ``batch`` handshakes at a time, until ``total`` are open."""
        while len(self.sockets) + self.failed < total:
            wanted = min(self.batch, total - len(self.sockets) - self.failed)
            opened = await asyncio.gather(
                *(_connect(self.url, self.timeout) for _ in range(wanted)),
                return_exceptions=True,
            )
            for ws in opened:
                if isinstance(ws, ClientConnection):
                    self.sockets.append(ws)
                else:
                    self.failed += 1

    async def still_open(self, sample: int = 20) -> tuple[int, int]:
        """Check that ``sample`` connections, spread over all, still echo: (echoing, checked)."""
        step = max(1, len(self.sockets) // sample)
        chosen = self.sockets[::step][:sample]

        async def echoes(ws: ClientConnection) -> bool:
            try:
                async with asyncio.timeout(self.timeout):
                    await ws.send("still there?")
                    return await ws.recv() == "still there?"
            except Exception:
                return False

        answers = await asyncio.gather(*(echoes(ws) for ws in chosen))
        return sum(answers), len(chosen)

    async def close(self) -> None:
        """Close every connection, ``batch`` at a time."""
        for start in range(0, len(self.sockets), self.batch):
            chunk = self.sockets[start : start + self.batch]
            await asyncio.gather(*(ws.close() for ws in chunk), return_exceptions=True)
        self.sockets.clear()
