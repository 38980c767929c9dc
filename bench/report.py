"""Tables and numbers made from a results file: the printed table and the docs' include files.

Everything the performance page shows comes from one ``results.json`` through this
module (tables, the numbers in its prose) and :mod:`bench.plots` (the figures), so
page and data cannot drift: ``docs/test_performance.py`` renders the files again
from the committed results and compares. Standard library only.

    python -m bench.report docs/performance/results.json   # re-render, no measuring
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import digest, is_skipped, load, lookup

Rows = list[list[str]]

NOT_MEASURED = "not measured"
NONE = "\u2013"
"""What a table cell without a value shows (an en dash)."""
FIGURES = ("concurrency", "throughput", "peers", "bridge", "websocket", "slowloris", "then_and_now")
"""The figures :mod:`bench.plots` draws, each as ``<name>.svg``."""
DIGEST_NOTE = "bench results {digest}"
"""What every figure's metadata says, with the digest of the results it shows."""


# -- formatting -----------------------------------------------------------------------


def _get(results: dict[str, Any], key: str) -> Any:
    try:
        return lookup(results, key)
    except KeyError:
        return None


def number(value: Any, digits: int = 0) -> str:
    """``12,345`` / ``1.07``; skipped and missing values as "skipped" / NONE."""
    if is_skipped(value):
        return "skipped"
    if value is None or isinstance(value, str):
        return NONE
    return f"{value:,.{digits}f}"


def percent(value: Any) -> str:
    if not isinstance(value, int | float):
        return number(value)
    return f"{value * 100:.1f} %"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def label(results: dict[str, Any], key: str) -> str:
    return str(results["contenders"][key]["label"])


# -- tables ---------------------------------------------------------------------------


def concurrency_levels(section: dict[str, Any]) -> list[str]:
    """The numbers of concurrent requests measured (``n100``, ``n1000``...), in order."""
    return [name for name in section if name.startswith("n") and name[1:].isdigit()]


def concurrency_runs(entry: dict[str, Any], levels: list[str]) -> list[dict[str, Any]]:
    """The runs a server's concurrency figures come from: one per N for a server
    measured at every N, else the few rounds its figures are extrapolated from."""
    if "measured" in entry:
        return [entry["measured"]]
    return [entry[level] for level in levels]


def listen_drops(results: dict[str, Any]) -> dict[str, int]:
    """Connection attempts the kernel dropped while each server's concurrency was
    measured, by server label; servers skipped in the run are left out."""
    section = results["concurrency"]
    levels = concurrency_levels(section)
    return {
        label(results, key): sum(
            run.get("listen_drops", 0) for run in concurrency_runs(entry, levels)
        )
        for key, entry in section["contenders"].items()
        if not is_skipped(entry[levels[0]])
    }


def concurrency_table(results: dict[str, Any]) -> Rows:
    section = results["concurrency"]
    levels = concurrency_levels(section)
    drops = listen_drops(results)
    rows = [
        ["Server", *(f"N = {name[1:]}" for name in levels), "How measured", "Listen queue drops"]
    ]
    for key, entry in section["contenders"].items():
        cells = [
            number(_get(section, f"contenders.{key}.{level}.ratio_to_ideal"), 2) for level in levels
        ]
        if is_skipped(entry[levels[0]]):
            rows.append([label(results, key), *cells, entry[levels[0]], NONE])
            continue
        runs = concurrency_runs(entry, levels)
        if "measured" in entry:
            how = (
                f"extrapolated from {plural(runs[0]['n'], 'request')}, "
                f"{entry['parallel']} at a time (x{runs[0]['ratio_to_ideal']:.2f})"
            )
        else:
            how = "measured"
        failed = sum(run["failed"] for run in runs)
        if failed:
            how += f"; {failed} requests failed"
        rows.append([label(results, key), *cells, how, number(drops[label(results, key)])])
    return rows


def throughput_table(results: dict[str, Any]) -> Rows:
    rows = [["Server", "Requests/s", "p50 (ms)", "p99 (ms)", "Errors"]]
    for key, entry in results["throughput"]["contenders"].items():
        if is_skipped(entry):
            rows.append([label(results, key), "skipped", NONE, NONE, NONE])
            continue
        rows.append(
            [
                label(results, key),
                number(entry["rps"]),
                number(entry["p50_ms"], 1),
                number(entry["p99_ms"], 1),
                number(entry["errors"]),
            ]
        )
    return rows


def peers_table(results: dict[str, Any]) -> Rows:
    """The tutorial's app and the same page in Starlette, server for server."""
    peers = results["peers"]
    rows = [["App", "Server", "Requests/s", "p99 (ms)", "Echo round trips/s", "Errors"]]
    for key, entry in peers["contenders"].items():
        contender = results["contenders"][key]
        echo = peers["echo"][key]
        rows.append(
            [
                contender["label"].split(",")[0],
                contender["server"],
                number(entry["rps"]),
                number(entry["p99_ms"], 1),
                number(echo if is_skipped(echo) else echo["msgs_per_s"]),
                number(entry["errors"]),
            ]
        )
    return rows


CPU_SCENARIOS = {
    "tutorial": "aiotutorial through aiopyramid's ASGI adapter",
    "starlette": "the same page in Starlette",
    "hello": "a bare ASGI app answering a fixed text",
}
"""The apps of bench/profile_page.py the page shows. Its ``pyramid`` scenario, the page
of :mod:`bench.apps.blocking` as plain WSGI, is left out: its view blocks in
``time.sleep()``, a system call even for 0 s, which the CPU time counts."""


def peers_cpu_table(results: dict[str, Any]) -> Rows:
    """CPU time per request of each app by itself, without a server."""
    cpu = results["peers"]["cpu"]
    starlette = cpu["us_per_request"]["starlette"]
    rows = [["App, called directly", "CPU µs per request", "/ Starlette"]]
    for key, name in CPU_SCENARIOS.items():
        us = cpu["us_per_request"][key]
        rows.append([name, number(us, 1), number(us / starlette, 2)])
    return rows


def tutorial_time_table(results: dict[str, Any]) -> Rows:
    """Where the tutorial's CPU time goes, by package (under cProfile)."""
    shares = results["peers"]["cpu"]["tutorial_share_by_package"]
    rows = [["Package", "Share of the time"]]
    rows += [[PACKAGE_NAMES.get(name, name), percent(share)] for name, share in shares.items()]
    return rows


PACKAGE_NAMES = {
    "python": "Python's standard library and interpreter (asyncio, contextvars...)",
    "bench": "the benchmark's own calls",
    "aiotutorial": "the tutorial's view",
    "zope": "zope.interface (Pyramid's registry)",
}


def conformance_table(conformance: dict[str, Any]) -> Rows:
    """The Autobahn|Testsuite's verdicts per worker (``bench/conformance.py``'s results)."""
    rows = [["Worker", "Cases", "OK", "Non-strict", "Informational", "Failed"]]
    workers = conformance["workers"]
    if is_skipped(workers):
        return [*rows, [NOT_MEASURED, workers.removeprefix("skipped: "), NONE, NONE, NONE, NONE]]
    for entry in workers.values():
        failed = number(entry["failed"])
        if entry["failed_cases"]:
            failed += f" ({', '.join(entry['failed_cases'])})"
        rows.append(
            [
                entry["label"],
                number(entry["cases"]),
                number(entry["ok"]),
                number(entry["non_strict"]),
                number(entry["informational"]),
                failed,
            ]
        )
    return rows


def peers_db_table(results: dict[str, Any]) -> Rows:
    """Chapter 3's database endpoint and the same query in Starlette, per database."""
    rows = [["Database", "aiotutorial (requests/s)", "Starlette (requests/s)", "Ratio"]]
    measured = results["peers"].get("db", {})
    for database, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        entry = measured.get(database)
        if entry is None:
            rows.append([name, NOT_MEASURED, NONE, NONE])
            continue
        rows.append(
            [
                name,
                number(entry["tutorial_rps"]),
                number(entry["starlette_rps"]),
                number(entry["ratio_vs_starlette"], 2),
            ]
        )
    return rows


def websocket_echo_table(results: dict[str, Any]) -> Rows:
    rows = [["Server", "Round trips/s", "Clients failed", "Errors logged"]]
    for key, entry in results["websocket"]["echo"].items():
        if is_skipped(entry):
            rows.append([label(results, key), "skipped", NONE, NONE])
            continue
        rows.append(
            [
                label(results, key),
                number(entry["msgs_per_s"]),
                number(entry["failed_clients"]),
                number(entry["errors_logged"]),
            ]
        )
    return rows


def websocket_idle_table(results: dict[str, Any]) -> Rows:
    idle = results["websocket"]["idle"]
    baseline = idle["baseline_rss_bytes"]
    rows = [
        [
            "Idle websockets",
            "Worker memory (MiB)",
            "KiB per connection",
            "Sampled sockets still echoing",
            "Page answered in (ms)",
        ]
    ]
    rows.append(["0", number(baseline / 2**20, 1), NONE, NONE, NONE])
    for step in idle["steps"]:
        count = step["connections"]
        per = (step["rss_bytes"] - baseline) / count / 1024 if count else 0
        rows.append(
            [
                number(count),
                number(step["rss_bytes"] / 2**20, 1),
                number(per, 1),
                f"{step['sample_echoing']} of {step['sample_size']}",
                number(step["page_ms"], 1) if step["page_status"] == 200 else "failed",
            ]
        )
    return rows


def bridge_table(results: dict[str, Any]) -> Rows:
    bridge = results["bridge"]
    return [
        ["Request path", "CPU µs per request"],
        [
            "Pyramid called directly (WSGI), no aiopyramid",
            number(bridge["direct_us_per_request"], 1),
        ],
        ["aiopyramid bridge, async def view", number(bridge["bridge_us_per_request"], 1)],
        [
            "aiopyramid bridge, plain def view (thread pool)",
            number(bridge["executor_view_us_per_request"], 1),
        ],
        [
            "Overhead of the bridge (async def view minus direct)",
            number(bridge["overhead_us_per_request"], 1),
        ],
    ]


def slowloris_table(results: dict[str, Any]) -> Rows:
    section = results["slowloris"]
    rows = [["Server", "Normal requests answered", "p50 (ms)", "p99 (ms)", "Slow sockets open"]]
    for name in ("aiopyramid", "sync_baseline", "apache_php"):
        entry = section[name]
        if is_skipped(entry):
            rows.append(
                ["PHP, Apache prefork" if name == "apache_php" else name, entry, NONE, NONE, NONE]
            )
            continue
        rows.append(
            [
                entry["server"],
                f"{entry['ok']} of {entry['requests']} ({percent(entry['success_rate'])})",
                number(entry["p50_ms"], 1),
                number(entry["p99_ms"], 1),
                number(entry["slow_sockets_reported"]),
            ]
        )
    return rows


def then_and_now_table(results: dict[str, Any]) -> Rows:
    rows = [["Measure", "2015: aiopyramid 0.4.1", "Now: aiopyramid on gunicorn 27", "Now / 2015"]]
    pairs = [
        (
            "GET /?sleep=0, requests/s",
            "legacy.rps",
            "throughput.aiopyramid_rps",
            0,
            "throughput.ratio_vs_legacy",
        ),
        (
            "1000 concurrent GET /?sleep=1, wall time / 1 s",
            "legacy.concurrency_n1000_ratio_to_ideal",
            "concurrency.n1000.ratio_to_ideal",
            2,
            None,
        ),
        (
            "Websocket echo round trips/s",
            "legacy.ws_round_trips_per_s",
            "websocket.echo_msgs_per_s",
            0,
            "websocket.ratio_vs_legacy",
        ),
        (
            "Errors logged during the echo test",
            "legacy.ws_errors_logged",
            "websocket.errors_logged",
            0,
            None,
        ),
    ]
    for what, then_key, now_key, digits, ratio_key in pairs:
        ratio = number(_get(results, ratio_key), 2) if ratio_key else NONE
        rows.append(
            [
                what,
                number(_get(results, then_key), digits),
                number(_get(results, now_key), digits),
                ratio,
            ]
        )
    return rows


def versions_table(results: dict[str, Any]) -> Rows:
    now = results["versions"]
    then = results["legacy"]["versions"]
    rows = [["Component", "2015 stack", "Now"]]
    rows.append(["Python", then.get("python", NONE), results["machine"]["python"]])
    for name in ("aiopyramid", "pyramid", "webob", "greenlet", "gunicorn", "jinja2"):
        rows.append([name, then.get(name, NONE), now.get(name, NONE)])
    http_then = ", ".join(f"{name} {then.get(name, NONE)}" for name in ("aiohttp", "websockets"))
    rows.append(["HTTP and websockets", http_then, "gunicorn's ASGI worker"])
    return rows


def machine_table(results: dict[str, Any]) -> Rows:
    machine = results["machine"]
    versions = results["versions"]
    return [
        ["Item", "Value"],
        ["Command", f"``{results['command']}``"],
        ["Mode", results["mode"]],
        ["Finished", results["finished"]],
        ["Duration", f"{results['duration_s']:.0f} s"],
        ["CPU", f"{machine['cpu']}, {machine['cores']} cores"],
        ["Memory", f"{machine['memory_gib']} GiB"],
        ["Operating system", machine["os"]],
        ["Python", f"{machine['python_implementation']} {machine['python']}"],
        ["Open files limit", number(machine["open_files_limit"])],
        ["Load generator", versions["wrk"]],
        [
            "Packages",
            ", ".join(f"{name} {version}" for name, version in versions.items() if name != "wrk"),
        ],
    ]


@dataclass(frozen=True)
class Target:
    """A goal from the issues, and how to read it from the results."""

    what: str
    key: str
    goal: str
    met: Callable[[float], bool]


TARGETS = (
    Target(
        "1000 concurrent sleeping requests, wall time / ideal",
        "concurrency.n1000.ratio_to_ideal",
        "≤ 1.2",
        lambda v: v <= 1.2,
    ),
    Target(
        "Requests/s, aiotutorial / Pyramid on gunicorn sync",
        "throughput.ratio_vs_sync",
        "≥ 2",
        lambda v: v >= 2,
    ),
    Target(
        "Requests/s, aiotutorial / bare ASGI ceiling",
        "throughput.ratio_vs_ceiling",
        "≥ 0.6",
        lambda v: v >= 0.6,
    ),
    Target(
        "Requests/s, aiotutorial / the same page in Starlette, gunicorn asgi worker",
        "peers.ratio_vs_starlette_same_server",
        "≥ 0.8",
        lambda v: v >= 0.8,
    ),
    Target(
        "Requests/s of chapter 3's database endpoint on PostgreSQL, aiotutorial / Starlette",
        "peers.db.postgresql.ratio_vs_starlette",
        "≥ 0.6",
        lambda v: v >= 0.6,
    ),
    Target(
        "Bridge overhead, CPU µs per request",
        "bridge.overhead_us_per_request",
        "< 10",
        lambda v: v < 10,
    ),
    Target(
        "Slowloris: aiotutorial answers normal requests",
        "slowloris.aiopyramid.success_rate",
        "≥ 99 %",
        lambda v: v >= 0.99,
    ),
    Target(
        "Slowloris: aiotutorial p99 latency (ms)",
        "slowloris.aiopyramid.p99_ms",
        "< 250",
        lambda v: v < 250,
    ),
    Target(
        "Slowloris: the sync baseline answers",
        "slowloris.sync_baseline.success_rate",
        "< 50 %",
        lambda v: v < 0.5,
    ),
    Target(
        "Memory per idle websocket (bytes)",
        "websocket.bytes_per_idle_connection",
        "≤ 65,536",
        lambda v: v <= 65536,
    ),
    Target("Requests/s, now / 2015", "throughput.ratio_vs_legacy", "≥ 2", lambda v: v >= 2),
    Target(
        "Websocket round trips/s, now / 2015",
        "websocket.ratio_vs_legacy",
        "≥ 1.5",
        lambda v: v >= 1.5,
    ),
    Target(
        "Errors logged by the websocket echo test", "websocket.errors_logged", "0", lambda v: v == 0
    ),
)


def targets_table(results: dict[str, Any]) -> Rows:
    rows = [["Target", "Goal", "Measured", "Met"]]
    for target in TARGETS:
        value = _get(results, target.key)
        if isinstance(value, int | float):
            if target.key.endswith("success_rate"):
                shown = percent(value)
            else:
                shown = number(value, 0 if isinstance(value, int) or value >= 100 else 2)
            met = "yes" if target.met(value) else "no"
        else:
            shown, met = number(value), NOT_MEASURED
        rows.append([target.what, target.goal, shown, met])
    return rows


TABLES: dict[str, Callable[[dict[str, Any]], Rows]] = {
    "concurrency": concurrency_table,
    "throughput": throughput_table,
    "peers": peers_table,
    "peers_db": peers_db_table,
    "peers_cpu": peers_cpu_table,
    "tutorial_time": tutorial_time_table,
    "websocket_echo": websocket_echo_table,
    "websocket_idle": websocket_idle_table,
    "bridge": bridge_table,
    "slowloris": slowloris_table,
    "then_and_now": then_and_now_table,
    "versions": versions_table,
    "targets": targets_table,
    "machine": machine_table,
}


# -- the numbers the page's prose quotes ------------------------------------------------


def listen_drops_summary(results: dict[str, Any]) -> str:
    """The concurrency table's drops column in words, for sentences that start "In this run".

    The page explains what a dropped connection attempt costs; whether any was
    dropped is this run's to say, so the prose takes it from here.
    """
    dropped = {server: count for server, count in listen_drops(results).items() if count}
    if not dropped:
        return "no connection attempt was dropped, for any server"
    servers = [f'"{server}" ({number(count)})' for server, count in dropped.items()]
    listed = servers[0] if len(servers) == 1 else ", ".join(servers[:-1]) + " and " + servers[-1]
    return f"connection attempts were dropped for {listed}"


def cpu_gap(cpu: dict[str, Any]) -> dict[str, str]:
    """The tutorial's CPU time beyond Starlette's, and roughly how much of its time is
    Pyramid's and WebOb's, and the bridge's (its profiled shares, in microseconds)."""
    us, shares = cpu["us_per_request"], cpu["tutorial_share_by_package"]
    framework = (shares.get("pyramid", 0) + shares.get("webob", 0)) * us["tutorial"]
    return {
        "peers_cpu_gap_us": number(us["tutorial"] - us["starlette"], 0),
        "peers_framework_us": number(framework, 0),
        "peers_bridge_us": number(shares.get("aiopyramid", 0) * us["tutorial"], 0),
    }


def ratio(results: dict[str, Any], numerator: str, denominator: str) -> str:
    """``numerator / denominator`` (two keys of the results) to two decimals, or how
    either is missing."""
    top, bottom = _get(results, numerator), _get(results, denominator)
    if not isinstance(top, int | float):
        return number(top)
    if not isinstance(bottom, int | float):
        return number(bottom)
    return number(top / bottom, 2)


def substitutions(results: dict[str, Any]) -> dict[str, str]:
    """reStructuredText substitutions, ``|name|`` in the page, for every number its prose uses."""
    legacy = results["legacy"]
    return {
        "bench_command": f"``{results['command']}``",
        "bench_mode": results["mode"],
        "bench_finished": results["finished"],
        "bench_cpu": f"{results['machine']['cpu']}, {results['machine']['cores']} cores",
        "sleep_s": number(results["concurrency"]["sleep_s"], 0),
        "n1000_ratio": number(_get(results, "concurrency.n1000.ratio_to_ideal"), 2),
        "starlette_n1000_ratio": number(
            _get(results, "concurrency.contenders.starlette.n1000.ratio_to_ideal"), 2
        ),
        "n1000_floor_s": number(_get(results, "concurrency.floor.n1000.wall_s"), 2),
        "ceiling_ratio": number(_get(results, "throughput.ratio_vs_ceiling"), 2),
        "starlette_vs_ceiling": ratio(results, "peers.starlette_rps", "throughput.ceiling_rps"),
        "legacy_rps_ratio": number(_get(results, "throughput.ratio_vs_legacy"), 2),
        "fast_vs_legacy": ratio(results, "peers.aiopyramid_fast_rps", "legacy.rps"),
        "tutorial_cpu_us": number(results["peers"]["cpu"]["us_per_request"]["tutorial"], 0),
        "listen_drops": listen_drops_summary(results),
        "wrk_settings": "wrk -t{threads} -c{connections} -d{duration_s}s, median of {runs}".format(
            **results["throughput"]["wrk"]
        ),
        "ws_clients": number(results["websocket"]["echo"]["aiopyramid"]["clients"]),
        "ws_messages": number(results["websocket"]["echo"]["aiopyramid"]["messages_each"]),
        "idle_held": number(results["websocket"]["idle_connections_held"]),
        "idle_kib": number(results["websocket"]["bytes_per_idle_connection"] / 1024, 1),
        "slow_sockets": number(results["slowloris"]["sockets"]),
        "slow_seconds": number(results["slowloris"]["seconds"], 0),
        "probe_rate": number(results["slowloris"]["probe_rate_per_s"], 0),
        "probe_timeout": number(results["slowloris"]["probe_timeout_s"], 0),
        "legacy_status": (
            "not measured in this run: " + legacy["skipped"].removeprefix("skipped: ")
            if "skipped" in legacy
            else "measured in the same run as the current stack"
        ),
        "bridge_requests": number(results["bridge"]["requests_per_batch"]),
        "peers_rounds": number(results["peers"]["rounds"]),
        "peers_cpu_ratio": number(results["peers"]["cpu"]["ratio_vs_starlette"], 2),
        **cpu_gap(results["peers"]["cpu"]),
        **{
            f"share_{name}": percent(share)
            for name, share in results["peers"]["cpu"]["tutorial_share_by_package"].items()
            if name in ("webob", "pyramid", "aiopyramid", "jinja2", "python")
        },
        **{
            f"peers_db_ratio_{database}": number(
                results["peers"].get("db", {}).get(database, {}).get("ratio_vs_starlette"), 2
            )
            for database in ("sqlite", "postgresql")
        },
        **{
            f"peers_{name}": number(results["peers"][name], 2)
            for name in (
                "ratio_vs_starlette_same_server",
                "ratio_vs_starlette_uvicorn",
                "fast_ratio_vs_starlette_uvicorn",
                "fast_ratio_vs_standard",
                "echo_ratio_vs_starlette_same_server",
            )
        },
        **{
            f"{key}_threads": number(results["contenders"][key]["parallel"])
            for key in ("gthread", "waitress", "uvicorn_a2wsgi")
        },
    }


# -- files ----------------------------------------------------------------------------


def render_csv(rows: Rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def render_substitutions(values: dict[str, str]) -> str:
    lines = [".. Generated by bench/report.py from results.json: do not edit."]
    lines += [f".. |{name}| replace:: {value}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def text_table(results: dict[str, Any]) -> str:
    """All tables as fixed-width text, for the terminal and ``results.txt``."""
    out = [f"aiopyramid benchmarks ({results['mode']} run, {results['finished']})"]
    for name, make in TABLES.items():
        rows = make(results)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        out += ["", name.replace("_", " ").upper()]
        for number_, row in enumerate(rows):
            out.append(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if number_ == 0:
                out.append("  ".join("-" * width for width in widths))
    return "\n".join(out) + "\n"


TEXT_FILES = (*(f"{name}.csv" for name in TABLES), "numbers.txt", "results.txt")
"""The names of the text files made from a results file."""


def text_files(results: dict[str, Any]) -> dict[str, str]:
    """Every text file made from ``results``, by file name (:data:`TEXT_FILES`)."""
    files = {f"{name}.csv": render_csv(make(results)) for name, make in TABLES.items()}
    files["numbers.txt"] = render_substitutions(substitutions(results))
    files["results.txt"] = text_table(results)
    assert tuple(files) == TEXT_FILES
    return files


def write_all(results: dict[str, Any], out_dir: Path) -> None:
    """Write the table files and the plots of ``results`` to ``out_dir``."""
    from bench import plots  # matplotlib: only where the bench runs

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in text_files(results).items():
        (out_dir / name).write_text(text, encoding="utf-8")
    plots.write_all(results, out_dir, digest(results))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    path = Path(argv[0])
    write_all(load(path), path.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
