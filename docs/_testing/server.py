"""Start a server process, wait until it answers, and stop it (and its workers) by PID.

A server runs in a process group of its own, so that one signal to that group reaches
the master and every worker it forked; the group's id is the PID of the process we
started. Everything here is bounded in time.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit


class ServerError(RuntimeError):
    """The server did not start, or did not answer in time."""


class PortInUse(ServerError):
    """Something that is not our server already listens on the server's port."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(url: str) -> bool:
    """Whether something already accepts connections at ``url``'s host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def wait_until_answers(url: str, alive: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``url`` until any HTTP response comes back; fail if ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise ServerError(f"the server exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an error status is still an answer
        except OSError:
            time.sleep(0.1)
    raise ServerError(f"{url} did not answer within {timeout:g} s")


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


def stop_group(pgid: int, reap: Callable[[], None] = lambda: None) -> None:
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
    raise ServerError(f"process group {pgid} survived SIGKILL: {group_members(pgid)}")


class ServerProcess:
    """A server command run in its own process group, logging to a file.

    Use it as a context manager: entering starts the server and waits until ``url``
    answers; leaving stops the whole group.
    """

    def __init__(
        self, argv: list[str], *, url: str, cwd: Path, env: Mapping[str, str], log: Path
    ) -> None:
        self.argv = argv
        self.url = url
        self.cwd = cwd
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "ServerProcess":
        if port_in_use(self.url):
            raise PortInUse(f"something else already listens at {self.url}")
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.process = process
        try:
            wait_until_answers(self.url, lambda: process.poll() is None)
        except ServerError as error:
            self.__exit__()
            raise ServerError(f"{error}; its output:\n{self.output()}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop_group(self.process.pid, reap=self.process.poll)
            self.process.wait(timeout=5)

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")
