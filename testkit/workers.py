"""A gunicorn server's workers: which one holds a connection, and making one take the next.

A client's connection is held by whichever worker accepted it: the kernel wakes every
worker waiting on the listening socket, and the first to call accept() wins. On a busy
machine one worker may win fifty times in a row, so a test that needs a connection on
a given worker pauses the others (SIGSTOP) while it connects, then lets them go on
(SIGCONT): :func:`only`. Where a connection landed is read as the operating system
sees it: the server's end of it in ``/proc/net/tcp``, and the worker process holding
that socket (:func:`worker_holding`). Linux only, as the tests that use it are.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

from testkit.server import ServerProcess, group_members, wait_until

__all__ = ["booted_workers", "only", "worker_holding"]

TIMEOUT = 15.0
"""Seconds to wait for workers to boot, pause, or accept a connection."""

BOOTED = re.compile(r"Booting worker with pid: (\d+)")
"""The line gunicorn's master logs for each worker it starts."""


def booted_workers(server: ServerProcess, count: int, timeout: float = TIMEOUT) -> set[int]:
    """The PIDs of the server's ``count`` live workers, once that many have booted:
    those gunicorn's log says it started that are still in the server's process group
    (a worker that died and its replacement count once)."""
    live: set[int] = set()

    def all_booted() -> bool:
        members = set(group_members(server.pid))
        live.clear()
        live.update(int(pid) for pid in BOOTED.findall(server.log_text()) if int(pid) in members)
        return len(live) >= count

    wait_until(all_booted, timeout=timeout, what=f"{count} workers to boot")
    assert len(live) == count, f"{len(live)} live workers, {count} asked for: {live}"
    return set(live)


def holder(server: ServerProcess, client_port: int) -> int | None:
    """The PID of the server's process that holds the connection from ``client_port``,
    or None while no process has accepted it yet."""
    inodes = [
        fields[9]
        for table in ("/proc/net/tcp", "/proc/net/tcp6")
        for fields in map(str.split, Path(table).read_text().splitlines()[1:])
        if int(fields[1].rsplit(":", 1)[1], 16) == server.port
        and int(fields[2].rsplit(":", 1)[1], 16) == client_port
    ]
    assert len(inodes) == 1, f"the server's end of the connection from port {client_port}"
    target = f"socket:[{inodes[0]}]"
    for pid in group_members(server.pid):
        with contextlib.suppress(OSError):  # a process that ended, or an fd just closed
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        return pid
    return None


def worker_holding(
    server: ServerProcess, client_port: int, count: int, timeout: float = TIMEOUT
) -> int:
    """The worker, one of ``count``, that accepted the connection from ``client_port``
    (waiting until one has, ``timeout`` s at most)."""
    found: list[int] = []

    def accepted() -> bool:
        pid = holder(server, client_port)
        found.extend([pid] if pid is not None else [])
        return bool(found)

    wait_until(accepted, timeout=timeout, what=f"a worker to accept port {client_port}'s")
    (pid,) = found
    workers = booted_workers(server, count, timeout)
    assert pid in workers, f"{pid} holds port {client_port}'s connection; workers: {workers}"
    return pid


def process_state(pid: int) -> str:
    """The state letter of process ``pid`` (``T``: stopped by a signal)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def only(
    server: ServerProcess, worker: int, count: int, timeout: float = TIMEOUT
) -> Iterator[None]:
    """The server's other workers (``count`` in all) paused meanwhile, so that
    ``worker`` accepts every connection made."""
    workers = booted_workers(server, count, timeout)
    assert worker in workers, f"{worker} is not one of the server's workers {workers}"
    others = workers - {worker}
    try:
        for pid in others:
            os.kill(pid, signal.SIGSTOP)
        wait_until(
            lambda: all(process_state(pid) == "T" for pid in others),
            timeout=timeout,
            what=f"workers {others} to pause",
        )
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)
