"""Where the tutorial's page spends its CPU time, next to the same page in Starlette.

The peers scenario measures whole servers; this measures the applications alone, in
this process, without a network or a server: each is called as the server would
call it, ``GET /?sleep=0`` with a browser's headers, many times, and its CPU time per
request is taken (each scenario in its own subprocess, interleaved over several
rounds, the median kept). What is left between these figures and the servers' is the
server's own share, the same for both apps on the same server.

Scenarios:

``tutorial``   the tutorial's app (chapter 1, its ini file) through aiopyramid's ASGI adapter
``pyramid``    the same page in plain Pyramid, called as WSGI (:mod:`bench.apps.blocking`)
``starlette``  the same page in Starlette (:mod:`bench.apps.starlette_page`)
``hello``      a bare ASGI app answering a fixed text (:mod:`bench.apps.hello`)

``--profile SCENARIO`` runs one scenario under cProfile instead, and shows its own
time by package (how much is Pyramid's, WebOb's, Jinja2's, aiopyramid's...) and the
functions that took most. Needs the bench's environment (``nox -s bench`` makes it)::

    python -m bench.profile_page
    python -m bench.profile_page --profile tutorial
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.profile_bridge import HEADERS, scope_for, wsgi_environ

SCENARIOS = ("tutorial", "pyramid", "starlette", "hello")
REQUESTS = 2000
"""Requests per timed batch."""
QUERY = "sleep=0"


def asgi_runner(app: Any, count: int) -> Callable[[], None]:
    """A function that sends ``count`` requests for ``/?sleep=0`` to the ASGI ``app``."""
    template = {**scope_for("/"), "query_string": QUERY.encode()}
    request = {"type": "http.request", "body": b"", "more_body": False}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def many() -> None:
        for _ in range(count):
            sent.clear()
            await app({**template, "headers": list(HEADERS)}, receive, send)
            if sent[0].get("status") != 200:
                raise RuntimeError(f"the app answered {sent[0]}")

    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(many())


def wsgi_runner(app: Any, count: int) -> Callable[[], None]:
    """A function that sends ``count`` requests for ``/?sleep=0`` to the WSGI ``app``."""
    template = {**wsgi_environ("/"), "QUERY_STRING": QUERY}
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def run() -> None:
        for _ in range(count):
            statuses.clear()
            body = app(dict(template), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
            if statuses != ["200 OK"]:
                raise RuntimeError(f"the app answered {statuses}")

    return run


def runner(scenario: str, count: int) -> Callable[[], None]:
    """Build the app of ``scenario``; return a function serving ``count`` requests."""
    os.environ["PYRAMID_RELOAD_TEMPLATES"] = "false"  # as in production, and the bench
    if scenario == "tutorial":
        from aiopyramid.asgi import app_from_config
        from bench.profiles import TUTORIAL_INI

        return asgi_runner(app_from_config(str(TUTORIAL_INI)), count)
    if scenario == "pyramid":
        from bench.apps.blocking import application

        return wsgi_runner(application, count)
    if scenario == "starlette":
        from bench.apps.starlette_page import application as starlette

        return asgi_runner(starlette, count)
    if scenario == "hello":
        from bench.apps.hello import application as hello

        return asgi_runner(hello, count)
    raise ValueError(f"unknown scenario {scenario!r}")


def time_scenario(scenario: str, batches: int) -> float:
    """CPU microseconds per request of ``scenario``: the best of ``batches`` batches."""
    run = runner(scenario, REQUESTS)
    run()  # warm up: templates compiled, caches filled
    best = min(_cpu_seconds(run) for _ in range(batches))
    return best / REQUESTS * 1e6


def _cpu_seconds(run: Callable[[], None]) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def in_subprocess(scenario: str, batches: int) -> float:
    """:func:`time_scenario` in a fresh interpreter, so no scenario sees another's imports."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.profile_page", "--one", scenario, "--batches", str(batches)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(done.stdout)["us_per_request"])


def package_of(filename: str) -> str:
    """The package a profiled function belongs to, from its file name."""
    parts = filename.replace("\\", "/").split("/")
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    for known in ("aiopyramid", "bench", "aiotutorial"):
        if known in parts:
            return known
    return "python" if filename.startswith(("<", "~")) or "python3" in filename else "other"


def profiled(scenario: str) -> pstats.Stats:
    """``scenario``'s requests, run under cProfile."""
    run = runner(scenario, REQUESTS)
    run()
    profiler = cProfile.Profile()
    profiler.runcall(run)
    return pstats.Stats(profiler)


def shares_by_package(stats: pstats.Stats) -> dict[str, float]:
    """Each package's share of the own time of every profiled function, largest first."""
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename)] += own
    total = sum(by_package.values())
    ordered = sorted(by_package.items(), key=lambda item: -item[1])
    return {package: round(own / total, 3) for package, own in ordered}


def cpu_costs(rounds: int, batches: int) -> dict[str, Any]:
    """CPU microseconds per request of every scenario (medians of ``rounds``
    interleaved subprocesses), and how the tutorial's time divides by package."""
    figures: dict[str, list[float]] = {scenario: [] for scenario in SCENARIOS}
    for _ in range(rounds):
        for scenario in SCENARIOS:
            figures[scenario].append(in_subprocess(scenario, batches))
    done = subprocess.run(
        [sys.executable, "-m", "bench.profile_page", "--shares", "tutorial"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    us = {scenario: round(statistics.median(found), 1) for scenario, found in figures.items()}
    return {
        "us_per_request": us,
        "ratio_vs_starlette": round(us["tutorial"] / us["starlette"], 2),
        "tutorial_share_by_package": json.loads(done.stdout),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_page")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    parser.add_argument("--batches", type=int, default=5, help="batches per round (best kept)")
    parser.add_argument("--profile", choices=SCENARIOS, help="cProfile one scenario instead")
    parser.add_argument("--one", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--shares", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps({"us_per_request": time_scenario(args.one, args.batches)}))
        return 0
    if args.shares:
        print(json.dumps(shares_by_package(profiled(args.shares))))
        return 0
    if args.profile:
        stats = profiled(args.profile)
        print(f"{args.profile}: own time by package, under cProfile")
        for package, share in shares_by_package(stats).items():
            print(f"  {package:24} {share:6.1%}")
        stats.sort_stats("tottime").print_stats(25)
        return 0
    costs = cpu_costs(args.rounds, args.batches)
    starlette = costs["us_per_request"]["starlette"]
    print(f"{'scenario':12} {'CPU us/request':>15} {'/ starlette':>12}")
    for scenario, us in costs["us_per_request"].items():
        print(f"{scenario:12} {us:15.1f} {us / starlette:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
