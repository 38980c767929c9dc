"""Slowloris: do normal visitors still get answers while slow sockets are held open?

The real ``slowloris`` tool from PyPI opens the profile's number of sockets to the
server and sends each an unfinished request, one more header line every 15
seconds (its default), never the end. Once it reports all its sockets, normal
requests are sent at a fixed rate for the profile's duration, each with a
timeout; the success rate is the share answered 200 in time, and the p99 latency
counts a failed request at the time it was given up on. The tool is then stopped
by its PID, before the server.

Contenders: the tutorial on aiopyramid's worker, and a minimal Django app on
gunicorn's ``sync`` worker (the chapter's "synchronous server"); PHP on Apache
too, where Debian's apache2 and mod_php are installed.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.clients import HOST, Reply, get, percentile
from bench.contenders import executable
from bench.results import skipped
from bench.scenarios import Context, Unavailable
from testkit.server import stop_group, wait_until

CONTENDERS = {
    "aiopyramid": ("aiopyramid", "/?sleep=0"),
    "sync_baseline": ("django_sync", "/"),
    "apache_php": ("apache_php", "/"),
}
"""Results key: (contender, the path normal visitors request)."""
ATTACK_READY_TIMEOUT_S = 60.0
SOCKET_COUNT = re.compile(r"Socket count: (\d+)")


class Slowloris:
    """The ``slowloris`` command against one loopback port, in its own process group."""

    def __init__(self, port: int, sockets: int, log_path: Path) -> None:
        self.argv = [executable("slowloris"), HOST, "-p", str(port), "-s", str(sockets)]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Slowloris:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop_group(self.process.pid, self.process.poll)
            self.process.wait(timeout=5)

    def sockets_open(self) -> int | None:
        """The socket count slowloris last reported, if it reported one yet."""
        counts = SOCKET_COUNT.findall(self.log_path.read_text(errors="replace"))
        return int(counts[-1]) if counts else None

    def wait_until_attacking(self) -> None:
        """Wait until slowloris has opened its sockets (it then reports their count)."""
        assert self.process is not None
        process = self.process

        def attacking() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"slowloris exited: {self.log_path.read_text()[-2000:]}")
            return self.sockets_open() is not None

        wait_until(attacking, timeout=ATTACK_READY_TIMEOUT_S, what="slowloris's sockets")


async def probe(
    port: int, path: str, *, seconds: float, rate: float, timeout: float
) -> list[Reply]:
    """Send ``path`` requests at ``rate`` per second for ``seconds``; every reply."""
    tasks = []
    interval = 1.0 / rate
    started = time.perf_counter()
    for number in range(round(seconds * rate)):
        await asyncio.sleep(max(0.0, started + number * interval - time.perf_counter()))
        tasks.append(asyncio.create_task(get(port, path, timeout=timeout)))
    return list(await asyncio.gather(*tasks))


def attack(context: Context, key: str, path: str) -> dict[str, Any]:
    profile = context.profile
    with context.serve(key, "slowloris", warm_path=path) as server:
        log_path = context.log_dir / f"slowloris-tool-{key}.log"
        with Slowloris(server.port, profile.slowloris_sockets, log_path) as tool:
            tool.wait_until_attacking()
            replies = asyncio.run(
                probe(
                    server.port,
                    path,
                    seconds=profile.slowloris_seconds,
                    rate=profile.probe_rate,
                    timeout=profile.probe_timeout_s,
                )
            )
            held = tool.sockets_open()
    ok = [reply for reply in replies if reply.status == 200]
    return {
        "server": context.contenders[key].label,
        "path": path,
        "requests": len(replies),
        "ok": len(ok),
        "success_rate": round(len(ok) / len(replies), 4),
        "p50_ms": round(percentile([reply.seconds for reply in replies], 0.50) * 1000, 1),
        "p99_ms": round(percentile([reply.seconds for reply in replies], 0.99) * 1000, 1),
        "slow_sockets_reported": held,
    }


def run(context: Context) -> dict[str, Any]:
    profile = context.profile
    results: dict[str, Any] = {
        "sockets": profile.slowloris_sockets,
        "seconds": profile.slowloris_seconds,
        "probe_rate_per_s": profile.probe_rate,
        "probe_timeout_s": profile.probe_timeout_s,
    }
    for name, (key, path) in CONTENDERS.items():
        context.log(f"slowloris: {context.contenders[key].label}")
        try:
            results[name] = attack(context, key, path)
        except Unavailable as error:
            results[name] = skipped(str(error))
        context.log(f"  {results[name]}")
    return results
