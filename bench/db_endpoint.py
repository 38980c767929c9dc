"""Requests per second of a database-backed endpoint, on SQLite and on PostgreSQL.

Serves the project of the chapter that adds the JSON API (chapter 3) as the chapter
does, ``pserve development.ini`` with one gunicorn worker, once per database: a
SQLite file, and a throwaway PostgreSQL server (:mod:`testkit.postgres`). Each database is
migrated, given one player and 20 messages in the lobby, then ``wrk`` (Debian's)
requests ``GET /api/channels/lobby/messages`` (one query for the channel, one for a
page of 20 messages, per request) for ``--seconds`` with ``--connections`` open
connections. The keys go to ``.bench/db.json``::

    {"db.sqlite.rps": ..., "db.postgresql.rps": ..., "db.postgresql_over_sqlite": ...}

Needs that project installed, which cannot share an environment with chapter 1's:
``nox -s bench_db`` installs it and runs ``python -m bench.db_endpoint``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
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


def measure(url: str, seconds: int, connections: int, work: Path) -> float:
    """Migrate, serve and load the database at ``url``; return wrk's requests/s."""
    port = free_port()
    project = project_copy(work / "project", port, url)
    bin_dir = str(Path(sys.executable).parent)
    subprocess.run(
        [f"{bin_dir}/alembic", "-c", "development.ini", "upgrade", "head"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    command = [f"{bin_dir}/pserve", "development.ini"]
    with ServerProcess(command, port=port, log_path=work / "server.log", cwd=project) as server:
        fill(server.base_url)
        load = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout=10s", server.url(PATH)],
            capture_output=True,
            text=True,
            check=True,
        )
    found = _REQUESTS_PER_SEC.search(load.stdout)
    if found is None or "Non-2xx" in load.stdout or "Socket errors" in load.stdout:
        raise RuntimeError(f"wrk did not measure clean answers:\n{load.stdout}")
    return float(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk's duration per database")
    parser.add_argument("--connections", type=int, default=50, help="wrk's open connections")
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
        results["db.sqlite.rps"] = measure(
            sqlite_url, options.seconds, options.connections, work / "sqlite"
        )
        with TemporaryCluster(binaries) as cluster:
            (work / "postgresql").mkdir()
            results["db.postgresql.rps"] = measure(
                cluster.create_database("bench"),
                options.seconds,
                options.connections,
                work / "postgresql",
            )
    results["db.postgresql_over_sqlite"] = results["db.postgresql.rps"] / results["db.sqlite.rps"]
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key:28} {value:10.2f}")
    print(f"written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
