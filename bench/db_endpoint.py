"""Requests per second of a database-backed endpoint, on SQLite and on PostgreSQL,
against the same endpoint written in Starlette.

Serves the project of the chapter that adds the JSON API (chapter 3) as the chapter
does, ``pserve development.ini`` with one gunicorn worker, once per database: a
SQLite file, and a throwaway PostgreSQL server (:mod:`testkit.postgres`). Each database is
migrated, given one player and 20 messages in the lobby, then ``wrk`` (Debian's)
requests ``GET /api/channels/lobby/messages`` (one query for the channel, one for a
page of 20 messages, per request) for ``--seconds`` with ``--connections`` open
connections. The same database is also served by :mod:`bench.apps.starlette_db`, the
same query in Starlette, on gunicorn's ASGI worker like the tutorial's; both must
answer the same JSON, which is checked first, and they are measured in alternating
rounds. The keys go to ``.bench/db.json``::

    {"db.sqlite.rps": ..., "db.postgresql.rps": ..., "db.postgresql_over_sqlite": ...,
     "peers.db.starlette_sqlite_rps": ..., "peers.db.starlette_postgresql_rps": ...,
     "peers.db_ratio_vs_starlette.sqlite": ..., "peers.db_ratio_vs_starlette.postgresql": ...}

``--publish`` also adds them to the performance page's results,
``docs/performance/results.json`` (as ``peers.db``), and makes its tables and figures
again (a full ``nox -s bench`` asks for it, after it has written that file).

Needs that project installed, which cannot share an environment with chapter 1's:
``nox -s bench_db`` installs it and runs ``python -m bench.db_endpoint``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from testkit.chapters import ROOT, chapter, read_project
from testkit.postgres import TemporaryCluster, server_binaries
from testkit.server import ServerProcess, free_port

PROJECT = chapter("chapter3").directory
OUTPUT = ROOT / ".bench" / "db.json"
STARLETTE_APP = "bench.apps.starlette_db:application"
DATABASE_VARIABLE = "BENCH_DATABASE_URL"
"""Where :mod:`bench.apps.starlette_db` reads the database's URL from."""
PATH = "/api/channels/lobby/messages"
_REQUESTS_PER_SEC = re.compile(r"Requests/sec:\s+([0-9.]+)")


def project_copy(directory: Path, port: int, url: str) -> Path:
    """Chapter 3's project in ``directory``, its ini set to ``port`` and ``url``."""
    for name, content in read_project(PROJECT).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    ini = directory / "development.ini"
    settings = re.sub(r"(?m)^port = \d+$", f"port = {port}", ini.read_text())
    settings = re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", settings)
    # Logging every request would measure the terminal, not the server.
    ini.write_text(settings.replace("level = DEBUG", "level = WARN"))
    return directory


def fill(base: str) -> None:
    """One player, and 20 messages in the lobby: one full page."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/api/users", json={"username": "bench", "password": "benchmark"})
        for number in range(20):
            response = client.post(
                PATH, json={"content": f"message {number}"}, auth=("bench", "benchmark")
            )
            response.raise_for_status()


def wrk_rps(url: str, seconds: int, connections: int) -> float:
    """``wrk``'s requests per second for ``url``, failing unless every answer was clean."""
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout=10s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    found = _REQUESTS_PER_SEC.search(done.stdout)
    if found is None or "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"wrk did not measure clean answers:\n{done.stdout}")
    return float(found[1])


def starlette_command(port: int) -> list[str]:
    """The Starlette endpoint on gunicorn's ASGI worker, one worker, as the tutorial's."""
    bin_dir = Path(sys.executable).parent
    return [
        f"{bin_dir}/gunicorn",
        *("--workers", "1", "--worker-class", "asgi", "--bind", f"127.0.0.1:{port}"),
        *("--asgi-loop", "asyncio", "--http-parser", "python", "--no-control-socket"),
        *("--log-level", "warning", STARLETTE_APP),
    ]


def measure(url: str, seconds: int, connections: int, rounds: int, work: Path) -> list[float]:
    """Migrate and fill the database at ``url``, then serve it with the tutorial's
    project and with Starlette in turn, ``rounds`` times; the median requests/s of
    each, in that order."""
    port = free_port()
    project = project_copy(work / "project", port, url)
    bin_dir = str(Path(sys.executable).parent)
    subprocess.run(
        [f"{bin_dir}/alembic", "-c", "development.ini", "upgrade", "head"],
        cwd=project,
        check=True,
        capture_output=True,
    )

    def tutorial() -> ServerProcess:
        command = [f"{bin_dir}/pserve", "development.ini"]
        return ServerProcess(command, port=port, log_path=work / "server.log", cwd=project)

    starlette_port = free_port()

    def starlette() -> ServerProcess:
        return ServerProcess(
            starlette_command(starlette_port),
            port=starlette_port,
            log_path=work / "starlette.log",
            cwd=ROOT,
            env={**os.environ, DATABASE_VARIABLE: url, "PYTHONPATH": str(ROOT)},
        )

    with tutorial() as server:
        fill(server.base_url)
        expected = httpx.get(server.url(PATH), timeout=30).json()
    with starlette() as server:
        answer = httpx.get(server.url(PATH), timeout=30).json()
    if answer != expected:
        raise RuntimeError(f"Starlette answers otherwise:\n{answer}\n{expected}")
    figures: list[list[float]] = [[], []]
    for _ in range(rounds):
        for serve, found in zip((tutorial, starlette), figures, strict=True):
            with serve() as server:
                found.append(wrk_rps(server.url(PATH), seconds, connections))
    return [statistics.median(found) for found in figures]


def publish(results: dict[str, float], options: argparse.Namespace) -> None:
    """Add ``results`` to the performance page's results as ``peers.db``, and make the
    page's tables and figures from them again."""
    from bench import report
    from bench.profiles import DOCS_DATA_DIR
    from bench.results import dump
    from bench.results import load as load_results

    page = load_results(DOCS_DATA_DIR / "results.json")
    page["peers"]["db"] = {
        "path": PATH,
        "seconds": options.seconds,
        "connections": options.connections,
        "rounds": options.rounds,
        **{
            database: {
                "tutorial_rps": round(results[f"db.{database}.rps"], 1),
                "starlette_rps": round(results[f"peers.db.starlette_{database}_rps"], 1),
                "ratio_vs_starlette": round(results[f"peers.db_ratio_vs_starlette.{database}"], 3),
            }
            for database in ("sqlite", "postgresql")
        },
    }
    dump(page, DOCS_DATA_DIR / "results.json")
    report.write_all(page, DOCS_DATA_DIR)
    print(f"added to {(DOCS_DATA_DIR / 'results.json').relative_to(ROOT)} as peers.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per database")
    parser.add_argument("--connections", type=int, default=50, help="wrk's open connections")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per database")
    parser.add_argument(
        "--publish", action="store_true", help="also write docs/performance/db.json"
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    binaries = server_binaries()
    if binaries is None:
        raise SystemExit(
            "PostgreSQL's server programs are missing: sudo apt-get install postgresql"
        )
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-db-") as scratch:
        work = Path(scratch)
        (work / "sqlite").mkdir()
        sqlite_url = f"sqlite+aiosqlite:///{work / 'sqlite' / 'bench.sqlite'}"
        ours, theirs = measure(
            sqlite_url, options.seconds, options.connections, options.rounds, work / "sqlite"
        )
        results["db.sqlite.rps"], results["peers.db.starlette_sqlite_rps"] = ours, theirs
        with TemporaryCluster(binaries) as cluster:
            (work / "postgresql").mkdir()
            ours, theirs = measure(
                cluster.create_database("bench"),
                options.seconds,
                options.connections,
                options.rounds,
                work / "postgresql",
            )
        results["db.postgresql.rps"], results["peers.db.starlette_postgresql_rps"] = ours, theirs
    results["db.postgresql_over_sqlite"] = results["db.postgresql.rps"] / results["db.sqlite.rps"]
    for database in ("sqlite", "postgresql"):
        results[f"peers.db_ratio_vs_starlette.{database}"] = (
            results[f"db.{database}.rps"] / results[f"peers.db.starlette_{database}_rps"]
        )
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
    if options.publish:
        publish(results, options)
    for key, value in results.items():
        print(f"{key:28} {value:10.2f}")
    print(f"written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
