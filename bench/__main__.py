"""Run the benchmarks: ``python -m bench [--quick | --smoke]`` (``nox -s bench`` does).

Writes ``.bench/results.json`` (``.bench/<mode>/`` for ``--quick`` and ``--smoke``),
a text table beside it (also printed), and the plots; exits 1 if any key the docs
and the issues rely on is missing (:data:`bench.results.REQUIRED_KEYS`). A full run
also publishes the results, table files and plots to ``docs/performance/``, which
is everything the docs' performance page shows.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.contenders import ApacheLauncher, LegacyLauncher, contenders
from bench.profiles import DOCS_DATA_DIR, PROFILES, RESULTS_DIR
from bench.results import LEGACY_KEYS, dump, lookup, missing_keys, skipped
from bench.scenarios import (
    Context,
    bridge,
    concurrency,
    peers,
    slowloris,
    throughput,
    websocket,
)

OPEN_FILES_WANTED = 20_000
"""Enough for the largest idle-websocket step on both ends, plus slowloris."""
SCENARIOS = (
    ("bridge", bridge.run),
    ("concurrency", concurrency.run),
    ("throughput", throughput.run),
    ("peers", peers.run),
    ("websocket", websocket.run),
    ("slowloris", slowloris.run),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_const",
        dest="mode",
        const="quick",
        help="the same scenarios, shorter (under 2 minutes)",
    )
    mode.add_argument(
        "--smoke",
        action="store_const",
        dest="mode",
        const="smoke",
        help="every scenario, tiny (about 30 s): does the bench still run?",
    )
    parser.add_argument(
        "--out", type=Path, help="where to write (default: .bench/ or .bench/<mode>/)"
    )
    parser.add_argument(
        "--no-publish",
        action="store_true",
        help="do not copy a full run's results to docs/performance/",
    )
    parser.add_argument("--command", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(mode="full")
    return parser.parse_args(argv)


def log(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", flush=True)


def legacy_summary(results: dict[str, Any], launcher: LegacyLauncher) -> dict[str, Any]:
    """Issue 10's ``legacy.*`` figures, gathered from the scenarios (or why they're missing)."""
    sources = {
        "legacy.rps": "throughput.contenders.legacy.rps",
        "legacy.concurrency_n1000_ratio_to_ideal": (
            "concurrency.contenders.legacy.n1000.ratio_to_ideal"
        ),
        "legacy.ws_round_trips_per_s": "websocket.echo.legacy.msgs_per_s",
        "legacy.ws_errors_logged": "websocket.echo.legacy.errors_logged",
    }
    assert set(sources) == set(LEGACY_KEYS)
    summary: dict[str, Any] = {
        key.split(".", 1)[1]: lookup(results, source) for key, source in sources.items()
    }
    summary["concurrency_n100_ratio_to_ideal"] = lookup(
        results, "concurrency.contenders.legacy.n100.ratio_to_ideal"
    )
    versions = machine.legacy_versions()
    if launcher.python_version:
        versions["python"] = launcher.python_version
    summary["versions"] = versions
    if launcher.unavailable is not None:
        summary["skipped"] = skipped(launcher.unavailable)
    return summary


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    profile = PROFILES[args.mode]
    out = args.out or (RESULTS_DIR if profile.name == "full" else RESULTS_DIR / profile.name)
    log_dir = out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    limit = machine.raise_open_files_limit(OPEN_FILES_WANTED)
    log(f"mode {profile.name}, writing to {out}, open files limit {limit}")

    legacy = LegacyLauncher(
        RESULTS_DIR, log, None if profile.legacy else f"not run in --{profile.name} mode"
    )
    context = Context(profile, contenders(legacy, ApacheLauncher(log_dir)), log_dir, log)
    command = args.command or "python -m bench " + shlex.join(argv)
    results: dict[str, Any] = {
        "mode": profile.name,
        "command": command.strip(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "versions": machine.versions(),
        "contenders": {
            key: {"label": c.label, "server": c.server, "parallel": c.parallel}
            for key, c in context.contenders.items()
        },
    }
    for name, run in SCENARIOS:
        results[name] = run(context)
    results["legacy"] = legacy_summary(results, legacy)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["duration_s"] = round(time.monotonic() - started, 1)

    dump(results, out / "results.json")
    report.write_all(results, out)
    print(report.text_table(results))
    missing = missing_keys(results)
    if missing:
        log(f"FAILED: results.json lacks {len(missing)} keys: {', '.join(missing)}")
        return 1
    if profile.publish and not args.no_publish:
        dump(results, DOCS_DATA_DIR / "results.json")
        report.write_all(results, DOCS_DATA_DIR)
        log(f"published to {DOCS_DATA_DIR}")
    log(f"done in {results['duration_s']:.0f} s: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
