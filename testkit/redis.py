"""A throwaway Redis server for tests, in a temporary directory.

:class:`TemporaryRedis` runs Debian's ``redis-server`` (``apt-get install
redis-server``) on a free port of 127.0.0.1 only, without persistence (no RDB
snapshot, no append-only file), its working directory and its log in a new temporary
directory that is deleted, with everything in it, when it is closed.

A test can take the server away and bring it back on the same port, empty, as a
crash or a restart does to a real deployment: :meth:`TemporaryRedis.stop`,
:meth:`TemporaryRedis.start`, or both at once with :meth:`TemporaryRedis.restart`.

:func:`command` speaks just enough of Redis' protocol (RESP) for tests to check the
server without a client library: ``testkit`` imports only the standard library and
aiopyramid.

``python -m testkit.services --redis COMMAND...`` runs a command beside one, with
its URL in :data:`URL_VARIABLE`.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, TypeAlias

from testkit.server import LOOPBACK, PortInUse, ServerStartError, free_port, port_in_use

__all__ = [
    "URL_VARIABLE",
    "RedisError",
    "Reply",
    "TemporaryRedis",
    "command",
    "redis_server_binary",
]

URL_VARIABLE = "AIOTUTORIAL_TEST_REDIS"
"""The environment variable the tutorial's project tests read the Redis server's URL from."""

Reply: TypeAlias = bytes | int | list["Reply"] | None
"""A Redis reply: a status or a bulk string, an integer, an array, or nil."""


class RedisError(RuntimeError):
    """The server answered a command with an error reply (``-ERR ...``)."""


def redis_server_binary() -> Path | None:
    """Where ``redis-server`` is on ``PATH``, or None if it is not installed."""
    found = shutil.which("redis-server")
    return Path(found) if found else None


def command(port: int, *args: str | bytes, timeout: float = 5.0) -> Reply:
    """Send one command to the Redis server on ``LOOPBACK:port``; return its reply.

    Raises :class:`RedisError` for an error reply and :class:`OSError` when nothing
    answers.
    """
    words = [arg.encode() if isinstance(arg, str) else arg for arg in args]
    request = b"*%d\r\n" % len(words) + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in words
    )
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as stream:
            return _read_reply(stream)


def _read_reply(stream: IO[bytes]) -> Reply:
    """Read one RESP2 reply from ``stream``."""
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"the server closed the connection mid-reply: {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise ConnectionError(f"not a Redis reply: {line!r}")


class TemporaryRedis:
    """A ``redis-server`` of its own on a loopback port (see the module docs).

    Use it as a context manager, or call :meth:`start` and, in a ``finally``,
    :meth:`close` yourself. :meth:`stop` only takes the server away: the port and the
    directory stay for :meth:`start`; :meth:`close` stops it and deletes the directory.
    """

    def __init__(
        self,
        binary: Path,
        *,
        port: int | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.binary = binary
        self.port = free_port() if port is None else port
        """A free port unless ``port`` names one (a reader's Redis listens on 6379)."""
        self.directory = Path(tempfile.mkdtemp(prefix="aiotutorial-redis-"))
        self.log_path = self.directory / "redis.log"
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, database 0: what redis-py's ``Redis.from_url`` takes."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs, else None."""
        return self.process.pid if self.process is not None else None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines the server wrote, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def command(self, *args: str | bytes) -> Reply:
        """Send one command to this server; return its reply (see :func:`command`)."""
        return command(self.port, *args)

    def answers(self) -> bool:
        """Whether this server answers PING right now."""
        try:
            return self.command("PING") == b"PONG"
        except (OSError, RedisError):
            return False

    def start(self) -> None:
        """Start the server on :attr:`port` and wait (bounded) until it answers PING.

        Raises :class:`~testkit.server.ServerStartError`, with the log's tail, if it
        exits or stays silent past :attr:`startup_timeout`, and
        :class:`~testkit.server.PortInUse` if another program holds the port.
        """
        if self.process is not None:
            raise RuntimeError("the Redis server is already running")
        if not self.directory.is_dir():
            raise RuntimeError("this Redis server was closed; make a new one")
        if port_in_use(f"redis://{LOOPBACK}:{self.port}"):
            raise PortInUse(f"something else already listens on {LOOPBACK}:{self.port}")
        args = [
            str(self.binary),
            "--bind", LOOPBACK, "--port", str(self.port), "--protected-mode", "yes",
            "--save", "", "--appendonly", "no",  # nothing outlives a stop
            "--dir", str(self.directory), "--daemonize", "no", "--logfile", "",
        ]  # fmt: skip
        # The log is stdout (``--logfile ""``): it also catches what Redis prints
        # before it reads its options, such as an option it does not know.
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                args,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for the tests does not reach it
            )
        try:
            self._wait_until_it_answers(self.process)
        except BaseException:
            self.stop()
            raise

    def _wait_until_it_answers(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not self.answers():
            if process.poll() is not None:
                problem = f"exited with status {process.returncode}"
            elif time.monotonic() >= deadline:
                problem = f"did not answer PING within {self.startup_timeout:g} s"
            else:
                time.sleep(0.02)
                continue
            raise ServerStartError(
                f"redis-server on {LOOPBACK}:{self.port} {problem}; log tail:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after :attr:`stop_timeout`.

        Its data is gone (there is no persistence); the port and the directory stay,
        for :meth:`start`. Does nothing if it is not running.
        """
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)

    def restart(self) -> None:
        """Stop the server and start a new, empty one on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory, log included. Idempotent."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> TemporaryRedis:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
