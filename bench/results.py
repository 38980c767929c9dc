"""The shape of ``results.json``: the keys every run must write, and the "skipped" marker.

A results file is nested JSON; a key such as ``throughput.aiopyramid_rps`` is the
path to a value. A figure that could not be measured on this machine (the Python
3.6 contender where there is no Python 3.6, Apache where it is not installed) is a
string starting with :data:`SKIPPED`, followed by the reason; it still counts as
present. Standard library only: the docs' tests import this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SKIPPED = "skipped: "

LEGACY_KEYS = (
    "legacy.rps",
    "legacy.concurrency_n1000_ratio_to_ideal",
    "legacy.ws_round_trips_per_s",
    "legacy.ws_errors_logged",
)
"""Issue 10's figures of the 2015 stack (skipped markers where it can't run)."""

BLOCKING = ("sync", "gthread", "waitress", "uvicorn_a2wsgi")
"""The contenders that serve the tutorial's page with a blocking view."""
PEERS = ("aiopyramid", "starlette", "aiopyramid_uvicorn", "starlette_uvicorn", "aiopyramid_fast")
"""The servers of the peers scenario: the tutorial's app and Starlette's, server for server."""

REQUIRED_KEYS = (
    "mode",
    "command",
    "finished",
    "duration_s",
    "machine.cpu",
    "machine.cores",
    "machine.python",
    "versions.aiopyramid",
    "versions.gunicorn",
    "versions.pyramid",
    "concurrency.sleep_s",
    "concurrency.n100.ratio_to_ideal",
    "concurrency.n1000.ratio_to_ideal",
    *(f"concurrency.contenders.{key}.n1000.ratio_to_ideal" for key in BLOCKING),
    "concurrency.contenders.legacy.n1000.ratio_to_ideal",
    "concurrency.contenders.starlette.n1000.ratio_to_ideal",
    "concurrency.floor.n1000.wall_s",
    "throughput.aiopyramid_rps",
    "throughput.sync_rps",
    "throughput.ceiling_rps",
    "throughput.gthread_rps",
    "throughput.waitress_rps",
    "throughput.uvicorn_a2wsgi_rps",
    "throughput.ratio_vs_sync",
    "throughput.ratio_vs_ceiling",
    "throughput.ratio_vs_legacy",
    "throughput.contenders.aiopyramid.p50_ms",
    "throughput.contenders.aiopyramid.p99_ms",
    "throughput.contenders.sync.p99_ms",
    *(f"peers.{key}_rps" for key in PEERS),
    "peers.ratio_vs_starlette_same_server",
    "peers.ratio_vs_starlette_uvicorn",
    "peers.fast_ratio_vs_starlette_uvicorn",
    "peers.fast_ratio_vs_standard",
    "peers.echo_ratio_vs_starlette_same_server",
    "peers.cpu.us_per_request.tutorial",
    "peers.cpu.us_per_request.starlette",
    "peers.cpu.ratio_vs_starlette",
    "peers.cpu.tutorial_share_by_package",
    "websocket.echo_msgs_per_s",
    "websocket.ceiling_echo_msgs_per_s",
    "websocket.errors_logged",
    "websocket.ratio_vs_legacy",
    "websocket.bytes_per_idle_connection",
    "websocket.idle_connections_held",
    "bridge.direct_us_per_request",
    "bridge.bridge_us_per_request",
    "bridge.overhead_us_per_request",
    "slowloris.sockets",
    "slowloris.aiopyramid.success_rate",
    "slowloris.aiopyramid.p99_ms",
    "slowloris.sync_baseline.success_rate",
    "slowloris.sync_baseline.p99_ms",
    "slowloris.apache_php",
    "legacy.versions",
    *LEGACY_KEYS,
)
"""Every key a results file must have, in any mode (issues 5 and 10, and what the docs show)."""


def skipped(reason: str) -> str:
    """The marker of a figure that was not measured, and why."""
    return SKIPPED + reason


def is_skipped(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SKIPPED)


def lookup(results: dict[str, Any], key: str) -> Any:
    """The value at dotted ``key``; a skipped marker on the way answers for everything below.

    Raises :class:`KeyError` when the key is missing.
    """
    value: Any = results
    for part in key.split("."):
        if is_skipped(value):
            return value
        if not isinstance(value, dict) or part not in value:
            raise KeyError(key)
        value = value[part]
    return value


def missing_keys(results: dict[str, Any]) -> list[str]:
    """The required keys that ``results`` lacks."""
    missing = []
    for key in REQUIRED_KEYS:
        try:
            lookup(results, key)
        except KeyError:
            missing.append(key)
    return missing


def leaves(results: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted key, value) of nested ``results``."""
    if isinstance(results, dict):
        for name, value in results.items():
            yield from leaves(value, f"{prefix}{name}.")
    else:
        yield prefix.rstrip("."), results


def serialize(results: dict[str, Any]) -> str:
    """The text of a results file (what :func:`digest` hashes)."""
    return json.dumps(results, indent=2) + "\n"


def digest(results: dict[str, Any]) -> str:
    """A short hash of the results, which every plot made from them carries."""
    return hashlib.sha256(serialize(results).encode("utf-8")).hexdigest()[:16]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def dump(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(serialize(results), encoding="utf-8")
