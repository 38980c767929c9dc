"""Throughput: ``GET /?sleep=0`` as fast as ``wrk`` can send them, against one worker.

Requests per second and the 50th and 99th percentile latencies, the median of the
profile's runs, for the tutorial's page on every server, and for a bare ASGI hello
on gunicorn's own ``asgi`` worker: the ceiling of the server the tutorial runs on.
Before measuring, the scenario checks that every server of the tutorial's page
serves the very same bytes, so all of them do the same work.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.clients import WrkResult, run_wrk
from bench.results import BLOCKING, skipped
from bench.scenarios import Context, Unavailable

PATH = "/?sleep=0"
SAME_PAGE = ("aiopyramid", *BLOCKING)
"""The contenders that must serve byte-identical pages."""


def measure(context: Context, key: str) -> dict[str, Any]:
    profile = context.profile
    with context.serve(key, "throughput") as server:
        runs = [
            run_wrk(
                server.url(PATH),
                duration_s=profile.wrk_duration_s,
                connections=profile.wrk_connections,
                threads=profile.wrk_threads,
            )
            for _ in range(profile.wrk_runs)
        ]
    return summary(runs)


def summary(runs: list[WrkResult]) -> dict[str, Any]:
    """The medians of ``wrk``'s runs of one server, its totals, and each run's rate."""
    return {
        "rps": round(statistics.median(run.rps for run in runs), 1),
        "p50_ms": round(statistics.median(run.p50_ms for run in runs), 3),
        "p99_ms": round(statistics.median(run.p99_ms for run in runs), 3),
        "requests": sum(run.requests for run in runs),
        "errors": sum(run.errors for run in runs),
        "runs": [round(run.rps, 1) for run in runs],
    }


def ratio(ours: float, theirs: Any) -> float | str:
    if isinstance(theirs, str):
        return theirs  # a skipped marker
    return round(ours / theirs, 3) if theirs else 0.0


def run(context: Context) -> dict[str, Any]:
    contenders: dict[str, Any] = {}
    for key in ("aiopyramid", "legacy", *BLOCKING, "ceiling"):
        context.log(f"throughput: {context.contenders[key].label}")
        try:
            contenders[key] = measure(context, key)
        except Unavailable as error:
            contenders[key] = skipped(str(error))
        context.log(f"  {contenders[key]}")
    check_same_page(context, SAME_PAGE)
    ours = contenders["aiopyramid"]["rps"]

    def rps(key: str) -> Any:
        entry = contenders[key]
        return entry if isinstance(entry, str) else entry["rps"]

    return {
        "path": PATH,
        "wrk": {
            "duration_s": context.profile.wrk_duration_s,
            "connections": context.profile.wrk_connections,
            "threads": context.profile.wrk_threads,
            "runs": context.profile.wrk_runs,
        },
        **{f"{key}_rps": rps(key) for key in ("aiopyramid", *BLOCKING, "ceiling")},
        "ratio_vs_sync": ratio(ours, rps("sync")),
        "ratio_vs_ceiling": ratio(ours, rps("ceiling")),
        "ratio_vs_legacy": ratio(ours, rps("legacy")),
        "contenders": contenders,
    }


def check_same_page(context: Context, keys: tuple[str, ...]) -> None:
    """Fail unless the servers ``keys`` of the tutorial's page served the same bytes at
    warm-up."""
    pages = {key: context.pages[key] for key in keys}
    if len(set(pages.values())) != 1:
        sizes = {key: len(page) for key, page in pages.items()}
        raise RuntimeError(f"the servers of the tutorial's page serve different pages: {sizes}")
