"""What each mode measures, and where the tutorial's app is.

A :class:`Profile` holds every count and duration the scenarios use, so a mode is
one object: ``full`` (``nox -s bench``, the numbers the docs show, under 10
minutes), ``quick`` (``-- --quick``, the same scenarios shorter, under 2 minutes) and
``smoke`` (``-- --smoke``, about 30 seconds: CI runs it to prove that every scenario
still runs and writes every key, not to measure anything).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from testkit.chapters import ROOT as REPO_ROOT
from testkit.chapters import chapter

TUTORIAL_PROJECT = chapter("chapter1").directory
"""The tutorial's project as chapter 1 leaves it: the real app every scenario serves."""
TUTORIAL_INI = TUTORIAL_PROJECT / "development.ini"

RESULTS_DIR = REPO_ROOT / ".bench"
"""Where every run writes its results, logs and plots (not committed)."""
DOCS_DATA_DIR = REPO_ROOT / "docs" / "performance"
"""Where a full run also publishes them for the docs' performance page."""


@dataclass(frozen=True)
class Profile:
    """The size of one benchmark run."""

    name: str
    # concurrency: N requests of GET /?sleep=<sleep_s> at once, and for the servers
    # that serve a bounded number at a time, how many rounds of that number to time.
    concurrency_levels: tuple[int, ...]
    sleep_s: float
    blocking_rounds: int
    # throughput: wrk's settings and how many runs to take the median of.
    wrk_duration_s: int
    wrk_connections: int
    wrk_threads: int
    wrk_runs: int
    # websockets: echo clients x messages each, then idle connections held.
    ws_clients: int
    ws_messages: int
    ws_idle_levels: tuple[int, ...]
    # how long to let a server finish logging (or handshaking) before reading it.
    settle_s: float
    # bridge: requests per batch, batches per subprocess, interleaved rounds (the
    # last two also for the peers' CPU time per request, bench/profile_page.py).
    bridge_requests: int
    bridge_batches: int
    bridge_rounds: int
    # slowloris: slow sockets, how long normal requests are sent during the attack,
    # how many per second, and how long each may take before it counts as failed.
    slowloris_sockets: int
    slowloris_seconds: float
    probe_rate: float
    probe_timeout_s: float
    # whether the Python 3.6 legacy contender runs (building it takes minutes once).
    legacy: bool
    # whether the results are published to the docs (docs/performance).
    publish: bool


FULL = Profile(
    name="full",
    concurrency_levels=(100, 1000),
    sleep_s=1.0,
    blocking_rounds=3,
    wrk_duration_s=8,
    wrk_connections=50,
    wrk_threads=2,
    wrk_runs=2,
    ws_clients=100,
    ws_messages=100,
    ws_idle_levels=(1000, 5000),
    settle_s=1.0,
    bridge_requests=2000,
    bridge_batches=5,
    bridge_rounds=5,
    slowloris_sockets=1000,
    slowloris_seconds=20.0,
    probe_rate=10.0,
    probe_timeout_s=5.0,
    legacy=True,
    publish=True,
)

QUICK = replace(
    FULL,
    name="quick",
    blocking_rounds=2,
    wrk_duration_s=3,
    wrk_runs=1,
    ws_messages=20,
    bridge_requests=1000,
    bridge_batches=3,
    bridge_rounds=1,
    slowloris_seconds=6.0,
    probe_timeout_s=3.0,
    publish=False,
)
"""Every scenario at full size, each measured for a shorter time."""

SMOKE = Profile(
    name="smoke",
    concurrency_levels=(100, 1000),
    sleep_s=0.25,
    blocking_rounds=1,
    wrk_duration_s=1,
    wrk_connections=10,
    wrk_threads=1,
    wrk_runs=1,
    ws_clients=10,
    ws_messages=5,
    ws_idle_levels=(50, 100),
    settle_s=0.2,
    bridge_requests=200,
    bridge_batches=1,
    bridge_rounds=1,
    slowloris_sockets=50,
    slowloris_seconds=2.0,
    probe_rate=10.0,
    probe_timeout_s=2.0,
    legacy=False,
    publish=False,
)

PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}
