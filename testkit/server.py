"""Run a real server process for a test: free port, log file, readiness, clean stop.

:class:`ServerProcess` starts a command in its own process group with stdout and
stderr going to a log file, waits (bounded) until its port answers HTTP, and stops
it by PID: SIGTERM, then SIGKILL once ``stop_timeout`` has passed. Any process the
server left behind in its group (workers of a master that died) is killed too.

Use it as a context manager::

    port = free_port()
    with ServerProcess(["myserver", "--port", str(port)], port=port, log_path=log) as server:
        httpx.get(server.url("/"))

or from a pytest fixture, with ``yield`` inside the ``with`` block so the server
stops even when the test fails.

The functions below it serve servers started some other way too, such as the docs'
bash session (``testkit/console.py``), which starts the reader's commands as
background jobs: :func:`wait_until_answers` waits for one, and :func:`stop_group`
stops a job's whole process group, Ctrl-C first. Everything here is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

__all__ = [
    "PortInUse",
    "ServerProcess",
    "ServerStartError",
    "free_port",
    "group_members",
    "port_in_use",
    "stop_group",
    "wait_until",
    "wait_until_answers",
]

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """The server exited, or did not answer HTTP, before the startup deadline."""


class PortInUse(ServerStartError):
    """Something that is not our server already listens on the server's port."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _address(url: str) -> tuple[str, int]:
    """The host and port that ``url`` points at."""
    parts = urlsplit(url)
    return parts.hostname or LOOPBACK, parts.port or 80


def port_in_use(url: str) -> bool:
    """Tell whether something already accepts connections at ``url``'s host and port."""
    try:
        with socket.create_connection(_address(url), timeout=1):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str
) -> None:
    """Poll ``condition`` until it is true; raise :class:`TimeoutError` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def answers_http(url: str, timeout: float = 2.0) -> bool:
    """Tell whether ``url`` answers an HTTP GET with any status line, even an error's."""
    host, port = _address(url)
    path = urlsplit(url).path or "/"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode(
                    "ascii"
                )
            )
            return sock.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


def wait_until_answers(url: str, *, alive: Callable[[], bool], timeout: float) -> None:
    """Poll ``url`` until it answers HTTP (:func:`answers_http`).

    Raises :class:`ServerStartError` as soon as ``alive()`` turns false, or once
    ``timeout`` s have passed.
    """

    def answered() -> bool:
        if not alive():
            raise ServerStartError(f"the server exited before {url} answered")
        return answers_http(url)

    try:
        wait_until(answered, timeout=timeout, interval=0.1, what=f"{url} to answer HTTP")
    except TimeoutError as error:
        raise ServerStartError(str(error)) from None


def group_members(pgid: int) -> list[int]:
    """PIDs of the live (not zombie) processes in process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_group(pgid: int, reap: Callable[[], object] = lambda: None) -> None:
    """Stop process group ``pgid``: Ctrl-C first (what a reader would do), then harder.

    ``reap`` lets the caller collect its child's exit status between checks.
    """
    for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            reap()
            if not group_members(pgid):
                return
            time.sleep(0.1)
    raise RuntimeError(f"process group {pgid} survived SIGKILL: {group_members(pgid)}")


class ServerProcess:
    """A server command run for the duration of a test (see the module docs).

    ``args`` is the command as a list; ``port`` the loopback port it listens on
    (the caller chose it, usually with :func:`free_port`, and put it in ``args`` or
    the config); ``log_path`` receives stdout and stderr. ``ready_path`` is the URL
    path polled for readiness: any HTTP answer, even a 404, counts.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        port: int,
        log_path: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        host: str = LOOPBACK,
        ready_path: str = "/",
        startup_timeout: float = 60.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self.args = [str(arg) for arg in args]
        self.port = port
        self.host = host
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.ready_path = ready_path
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # -- addresses -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port``, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """The ``http://`` URL of ``path`` on this server."""
        return self.base_url + path

    def ws_url(self, path: str = "/") -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://{self.host}:{self.port}{path}"

    @property
    def pid(self) -> int:
        """The PID of the started command (for gunicorn and pserve: the master)."""
        if self.process is None:
            raise RuntimeError("the server has not been started")
        return self.process.pid

    # -- log -----------------------------------------------------------------

    def log_text(self) -> str:
        """Everything the server wrote so far to stdout and stderr."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Wait until ``text`` appears in the log; return the whole log."""
        wait_until(lambda: text in self.log_text(), timeout=timeout, what=f"{text!r} in the log")
        return self.log_text()

    # -- life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Start the command and wait until it answers HTTP on its port."""
        if self.process is not None:
            raise RuntimeError("the server was already started")
        if port_in_use(self.base_url):
            raise PortInUse(f"something else already listens at {self.base_url}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"$ {' '.join(self.args)}\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: see stop()
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        """Poll the port until it answers HTTP; raise :class:`ServerStartError` otherwise."""
        process = self.process
        assert process is not None
        try:
            wait_until_answers(
                self.url(self.ready_path),
                alive=lambda: process.poll() is None,
                timeout=self.startup_timeout,
            )
        except ServerStartError as error:
            code = "" if process.returncode is None else f" (exit code {process.returncode})"
            raise ServerStartError(
                f"{self.args[0]}: {error}{code}; log tail:\n{self.log_tail()}"
            ) from None

    def terminate(self) -> None:
        """Send SIGTERM to the started process only (a graceful stop for gunicorn)."""
        os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the process to exit; return its exit code."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> int | None:
        """Stop the server: SIGTERM, then SIGKILL after :attr:`stop_timeout`. Idempotent.

        Returns the exit code. Whatever is left in the server's process group
        afterwards (only its own descendants: it was started in a new session) is
        killed, so no worker outlives the test.
        """
        process = self.process
        if process is None:
            return None
        try:
            if process.poll() is None:
                try:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=self.stop_timeout)
            # Whatever is left in the group; ProcessLookupError: nothing was left.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
        return process.returncode

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
