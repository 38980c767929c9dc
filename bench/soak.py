"""Soak test: mixed HTTP and websocket load at ONE worker for minutes; errors and memory.

``nox -s soak`` runs ``python -m bench.soak`` (5 minutes; ``-- --seconds N`` for
another length). It serves the tutorial's app (``example/chapter1``, with the
settings of its ``production.ini``) with ``gunicorn --paste`` and ONE
:class:`~aiopyramid.gunicorn.worker.AsyncGunicornWorker`, warms it up, then drives
a steady mix at it from concurrent clients: pages with and without ``?sleep=``,
forms, bad values (400), unknown pages (404), HEAD, clients that hang up mid-request,
and websocket conversations with the echo view. Every answer is checked: a wrong
status, a lost or reordered websocket message, or a failed connection is an error.

It prints and writes ``.bench/soak.json``: ``requests`` (calls made while
measuring, each HTTP request, abandoned request or websocket conversation counting
once), ``errors``, and the worker's resident memory after the warm-up and at the
end (``rss_start_mb``, ``rss_end_mb``), plus the details behind them. It exits 1 if
any error happened, or if memory grew by more than ``--max-growth`` percent (10 by
default; ``--max-growth -1`` turns that check off, for runs too short to judge it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testkit.chapters import chapter
from testkit.load import Abandon, HttpCall, Tally, WebsocketChat, drive
from testkit.server import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
INI = chapter("chapter1").directory / "production.ini"
"""The tutorial app's settings (gunicorn --paste ignores its [server:main])."""
WORKER_CLASS = "aiopyramid.gunicorn.worker.AsyncGunicornWorker"
DEFAULT_OUTPUT = REPO_ROOT / ".bench" / "soak.json"
CLIENTS = 50
"""Concurrent clients: each makes one call after another, as fast as answered."""
FORM = "application/x-www-form-urlencoded"

MIX = [
    HttpCall("GET", "/?sleep=0", 200),
    HttpCall("GET", "/", 200),  # the default wait, 0.1 s
    HttpCall("GET", "/?sleep=0.05", 200),
    HttpCall("POST", "/", 200, b"sleep=0.01", FORM),
    HttpCall("HEAD", "/?sleep=0", 200),
    HttpCall("GET", "/?sleep=nan", 400),
    HttpCall("GET", "/?sleep=1&sleep=2", 400),
    HttpCall("POST", "/", 400, b"sleep=%FF", FORM),
    HttpCall("GET", "/no/such/page", 404),
    HttpCall("GET", "/echo", 426),
    Abandon("/?sleep=0.5"),
    WebsocketChat("/echo", messages=10),
]
"""One round of the load; each client goes through it in turn."""


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid``, in MiB (Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def worker_pid(master: int) -> int:
    """The PID of the single worker of gunicorn's ``master``."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


@contextmanager
def tutorial_server(log_dir: Path) -> Iterator[ServerProcess]:
    """The tutorial's app on one aiopyramid worker, on a free loopback port."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")  # this environment's
    command = [str(gunicorn), "--paste", str(INI), "-k", WORKER_CLASS, "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    with ServerProcess(command, port=port, log_path=log_dir / "soak-server.log") as server:
        yield server


async def soak(server: ServerProcess, *, seconds: float, warmup: float) -> dict[str, Any]:
    """Warm the worker up, then load it for ``seconds``; return the figures."""
    worker = worker_pid(server.pid)
    await drive(server.host, server.port, MIX, clients=CLIENTS, seconds=warmup)
    rss_start = rss_mb(worker)
    samples: list[float] = []

    async def sample_memory() -> None:
        while True:
            samples.append(rss_mb(worker))
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample_memory())
    started = time.monotonic()
    tally: Tally = await drive(server.host, server.port, MIX, clients=CLIENTS, seconds=seconds)
    elapsed = time.monotonic() - started
    sampler.cancel()
    await asyncio.sleep(1.0)  # let abandoned requests and closing sockets finish
    rss_end = rss_mb(worker)
    if worker_pid(server.pid) != worker:
        tally.problem(MIX[0], "the worker was replaced during the soak")
    return {
        "requests": tally.calls,
        "errors": tally.errors,
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_max_mb": round(max(samples, default=rss_end), 1),
        "rss_growth_percent": round(100 * (rss_end - rss_start) / rss_start, 1),
        "seconds": round(elapsed, 1),
        "warmup_seconds": warmup,
        "requests_per_second": round(tally.calls / elapsed, 1),
        "clients": CLIENTS,
        "by_kind": dict(tally.by_kind),
        "problems": tally.problems,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to measure")
    parser.add_argument("--warmup", type=float, default=15.0, help="load before measuring")
    parser.add_argument("--max-growth", type=float, default=10.0, help="percent, -1: no check")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    with tutorial_server(args.output.parent / "logs") as server:
        figures = asyncio.run(soak(server, seconds=args.seconds, warmup=args.warmup))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"soak: {figures['requests']} requests in {figures['seconds']} s "
        f"({figures['requests_per_second']}/s), {figures['errors']} errors; worker RSS "
        f"{figures['rss_start_mb']} MiB after warm-up, {figures['rss_end_mb']} MiB at the end "
        f"({figures['rss_growth_percent']:+} %); written to {args.output}"
    )
    for problem in figures["problems"]:
        print(f"  error: {problem}")
    too_much = 0 <= args.max_growth < figures["rss_growth_percent"]
    if too_much:
        print(f"  memory grew more than {args.max_growth} %")
    return 1 if figures["errors"] or too_much else 0


if __name__ == "__main__":
    sys.exit(main())
