"""Concurrency: N requests of ``GET /?sleep=1`` at once, against one worker.

The ideal is that all N are answered after one second, however large N is: the
ratio of the wall time to that second is what is reported (1.0 is perfect).

Asyncio servers (the tutorial on aiopyramid's worker, the same page in Starlette on
gunicorn's ASGI worker, and the 2015 stack) are measured at every N. A server with
a blocking view serves only as many requests at a time as it has threads
(``parallel``), so N = 1000 on gunicorn's ``sync`` worker would take 1000 seconds:
those are measured with a few rounds of ``parallel`` requests, and the ratio at N is
extrapolated from that measurement as
``measured wall time x ceil(N / parallel) / rounds``, marked ``"extrapolated": true``
with the N actually measured beside it.

The floor is what N new connections cost before any application waits: the bare
ASGI app, which answers at once, on aiopyramid's worker, timed for N requests sent
at once (the median of :data:`FLOOR_RUNS` runs, as one run whose connection attempts
the kernel dropped takes a second longer). The client runs on the same cores, so
its work is in the floor too.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from pathlib import Path
from typing import Any

from bench.clients import get_many
from bench.results import BLOCKING, skipped
from bench.scenarios import Context, Unavailable

ASYNC = ("aiopyramid", "starlette", "legacy")
TIMEOUT_MARGIN_S = 30.0
FLOOR_RUNS = 3


def listen_drops() -> int:
    """The kernel's count of connections dropped at a listening socket (its queue full).

    A dropped connection attempt is retried by the client's kernel a second or more
    later, which shows up in the wall time; the count says whether that happened.
    It is the whole machine's count, so another program's drops would add to it.
    """
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenDrops"])
    return 0


def measure(port: int, count: int, sleep_s: float, timeout: float) -> dict[str, Any]:
    """Time ``count`` concurrent sleeping requests; count the ones answered 200."""
    drops = listen_drops()
    wall, replies = asyncio.run(get_many(port, f"/?sleep={sleep_s:g}", count, timeout=timeout))
    ok = sum(1 for reply in replies if reply.status == 200)
    return {
        "n": count,
        "wall_s": round(wall, 3),
        "ratio_to_ideal": round(wall / sleep_s, 3),
        "ok": ok,
        "failed": count - ok,
        "listen_drops": listen_drops() - drops,
    }


def extrapolate(measured: dict[str, Any], n: int, parallel: int, sleep_s: float) -> dict[str, Any]:
    """The ratio at ``n`` requests predicted from a measurement of whole rounds."""
    rounds = math.ceil(measured["n"] / parallel)
    wall = measured["wall_s"] / rounds * math.ceil(n / parallel)
    return {
        "ratio_to_ideal": round(wall / sleep_s, 3),
        "extrapolated": True,
        "from_n": measured["n"],
    }


def floor(context: Context) -> dict[str, Any]:
    """The wall time of N requests at once to an app that answers without waiting."""
    levels = context.profile.concurrency_levels
    context.log("concurrency: the floor, N requests to an app that answers at once")
    try:
        with context.serve("connect_floor", "concurrency") as server:
            # The app ignores ?sleep=, so the wait asked for only scales the unused ratio.
            runs = {
                n: [
                    measure(server.port, n, context.profile.sleep_s, TIMEOUT_MARGIN_S)
                    for _ in range(FLOOR_RUNS)
                ]
                for n in levels
            }
    except Unavailable as error:
        return {f"n{n}": skipped(str(error)) for n in levels}
    found = {}
    for n, measured in runs.items():
        walls = sorted(run["wall_s"] for run in measured)
        found[f"n{n}"] = {
            "wall_s": statistics.median(walls),
            "runs_wall_s": walls,
            "failed": sum(run["failed"] for run in measured),
            "listen_drops": sum(run["listen_drops"] for run in measured),
        }
    walls = ", ".join(f"{name}: {entry['wall_s']} s" for name, entry in found.items())
    context.log(f"  {walls}")
    return found


def run(context: Context) -> dict[str, Any]:
    profile = context.profile
    sleep_s = profile.sleep_s
    contenders: dict[str, Any] = {}
    for key in (*ASYNC, *BLOCKING):
        contender = context.contenders[key]
        context.log(f"concurrency: {contender.label}")
        entry: dict[str, Any]
        try:
            with context.serve(key, "concurrency") as server:
                if contender.parallel is None:
                    entry = {
                        f"n{n}": measure(server.port, n, sleep_s, sleep_s + TIMEOUT_MARGIN_S)
                        for n in profile.concurrency_levels
                    }
                else:
                    count = contender.parallel * profile.blocking_rounds
                    timeout = profile.blocking_rounds * sleep_s + TIMEOUT_MARGIN_S
                    measured = measure(server.port, count, sleep_s, timeout)
                    entry = {"parallel": contender.parallel, "measured": measured}
                    for n in profile.concurrency_levels:
                        entry[f"n{n}"] = extrapolate(measured, n, contender.parallel, sleep_s)
        except Unavailable as error:
            entry = {f"n{n}": skipped(str(error)) for n in profile.concurrency_levels}
        context.log(f"  {summary(entry)}")
        contenders[key] = entry
    ours = contenders["aiopyramid"]
    return {
        "sleep_s": sleep_s,
        **{f"n{n}": ours[f"n{n}"] for n in profile.concurrency_levels},
        "contenders": contenders,
        "floor": floor(context),
    }


def summary(entry: dict[str, Any]) -> str:
    parts = []
    for name, value in entry.items():
        if isinstance(value, dict) and "ratio_to_ideal" in value:
            mark = " (extrapolated)" if value.get("extrapolated") else ""
            parts.append(f"{name}: x{value['ratio_to_ideal']}{mark}")
        elif isinstance(value, str):
            parts.append(f"{name}: {value}")
    return ", ".join(parts)
