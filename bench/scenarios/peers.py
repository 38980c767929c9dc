"""Peers: the tutorial's page against the same page in Starlette, server for server.

The other scenarios compare aiopyramid with synchronous Pyramid and with the 2015
stack. A developer starting an asynchronous app today would more likely compare it
with Starlette, and with uvicorn's worker under gunicorn. So the tutorial's page and
echo are measured here beside :mod:`bench.apps.starlette_page`, the same page and
echo in Starlette, on gunicorn's ASGI worker and on uvicorn's; and the tutorial's
app also on aiopyramid's worker with uvloop and a C HTTP parser, the "fast" variant.

Requests per second are measured as the throughput scenario does (``wrk`` on
``/?sleep=0``, the same page from every server, which is checked), but in
alternating rounds: each round starts every server in turn and runs ``wrk`` once on
it, so that a machine that slows down during the run slows all of them alike. The
echo is the websocket scenario's, once per server.

Last, :mod:`bench.profile_page` takes the apps out of their servers and measures the
CPU time each takes per request by itself, and where the tutorial's goes, package by
package: the explanation of the difference, beside the difference.
"""

from __future__ import annotations

from typing import Any

from bench import profile_page
from bench.clients import WrkResult, run_wrk
from bench.results import PEERS, skipped
from bench.scenarios import Context, Unavailable
from bench.scenarios.throughput import PATH, check_same_page, ratio, summary
from bench.scenarios.websocket import echo


def one_run(context: Context, key: str, round_number: int) -> WrkResult:
    profile = context.profile
    with context.serve(key, f"peers-{round_number}") as server:
        return run_wrk(
            server.url(PATH),
            duration_s=profile.wrk_duration_s,
            connections=profile.wrk_connections,
            threads=profile.wrk_threads,
        )


def run(context: Context) -> dict[str, Any]:
    runs: dict[str, list[WrkResult]] = {key: [] for key in PEERS}
    for round_number in range(1, context.profile.wrk_runs + 1):
        for key in PEERS:
            context.log(f"peers, round {round_number}: {context.contenders[key].label}")
            runs[key].append(one_run(context, key, round_number))
            context.log(f"  {runs[key][-1].rps:,.0f} requests/s")
    check_same_page(context, PEERS)
    contenders = {key: summary(found) for key, found in runs.items()}
    echoes: dict[str, Any] = {}
    for key in PEERS:
        context.log(f"peers, websocket echo: {context.contenders[key].label}")
        try:
            echoes[key] = echo(context, key)
        except Unavailable as error:
            echoes[key] = skipped(str(error))
        context.log(f"  {echoes[key]}")

    context.log("peers: CPU time of each app by itself (bench/profile_page.py)")
    cpu = profile_page.cpu_costs(context.profile.bridge_rounds, context.profile.bridge_batches)
    context.log(f"  {cpu['us_per_request']}")

    def rps(key: str) -> float:
        value: float = contenders[key]["rps"]
        return value

    def echo_rate(key: str) -> Any:
        entry = echoes[key]
        return entry if isinstance(entry, str) else entry["msgs_per_s"]

    return {
        "path": PATH,
        "rounds": context.profile.wrk_runs,
        **{f"{key}_rps": rps(key) for key in PEERS},
        "ratio_vs_starlette_same_server": ratio(rps("aiopyramid"), rps("starlette")),
        "ratio_vs_starlette_uvicorn": ratio(rps("aiopyramid_uvicorn"), rps("starlette_uvicorn")),
        "fast_ratio_vs_starlette_uvicorn": ratio(rps("aiopyramid_fast"), rps("starlette_uvicorn")),
        "fast_ratio_vs_standard": ratio(rps("aiopyramid_fast"), rps("aiopyramid")),
        "echo_ratio_vs_starlette_same_server": ratio(
            echo_rate("aiopyramid"), echo_rate("starlette")
        ),
        "contenders": contenders,
        "echo": echoes,
        "cpu": cpu,
    }
