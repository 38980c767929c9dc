"""Bridge overhead: CPU microseconds per request that aiopyramid adds to Pyramid's own work.

In-process, no network: the same one-route Pyramid app is called directly as WSGI
(the baseline), and through aiopyramid's ASGI adapter with the view as an ``async
def`` (the greenlet bridge: environ, request greenlet, coroutine hand-over, ASGI
messages). The difference per request is the overhead. A plain ``def`` view, which
aiopyramid's default mapper runs in a thread pool, is measured too.

The measuring itself is :mod:`bench.profile_bridge`'s (``time.process_time`` over
batches of requests, each scenario in its own subprocess so the baseline never
imports aiopyramid); this scenario interleaves the profile's rounds and keeps the
median.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import profile_bridge
from bench.scenarios import Context

SCENARIOS = {
    "direct": "pyramid",
    "bridge": "asgi-coro",
    "executor_view": "asgi-executor",
}
"""Our names for the results file, and profile_bridge's for the same measurements."""


def run(context: Context) -> dict[str, Any]:
    profile = context.profile
    samples: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    context.log(f"bridge: {profile.bridge_rounds} rounds of {profile.bridge_requests} requests")
    for _ in range(profile.bridge_rounds):
        for name, scenario in SCENARIOS.items():
            samples[name].append(
                profile_bridge.measure_in_subprocess(
                    scenario, profile_bridge.TREE, profile.bridge_requests, profile.bridge_batches
                )
            )
    us = {name: round(statistics.median(values), 2) for name, values in samples.items()}
    context.log(f"  {us}")
    return {
        "requests_per_batch": profile.bridge_requests,
        "batches": profile.bridge_batches,
        "rounds": profile.bridge_rounds,
        "direct_us_per_request": us["direct"],
        "bridge_us_per_request": us["bridge"],
        "overhead_us_per_request": round(us["bridge"] - us["direct"], 2),
        "executor_view_us_per_request": us["executor_view"],
    }
