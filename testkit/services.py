"""Run a command beside throwaway servers: ``python -m testkit.services``.

``python -m testkit.services [--postgresql] [--redis] [--directory DIR] COMMAND...``
starts the servers asked for, each on a free port of 127.0.0.1 in a temporary
directory of its own, runs ``COMMAND`` (in ``DIR``) with their URLs in the
environment, stops them and deletes their files, and exits with ``COMMAND``'s status:

- ``--postgresql``: a PostgreSQL server (:mod:`testkit.postgres`) whose URL, in
  ``AIOTUTORIAL_TEST_POSTGRESQL``, the command may create databases in;
- ``--redis``: an empty Redis server (:mod:`testkit.redis`), its URL in
  ``AIOTUTORIAL_TEST_REDIS``.

``nox -s chapters`` runs every chapter's project tests this way, with both, as a
reader with servers of their own runs them. ``python -m testkit.postgres`` is the same
with PostgreSQL only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from testkit import postgres, redis

__all__ = ["main"]

PROG = "python -m testkit.services"


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: 128 + N for one killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str]) -> int:
    """Run a command beside the throwaway servers ``argv`` asks for (see the module docs)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run COMMAND beside throwaway PostgreSQL and Redis servers."
    )
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help=f"start a PostgreSQL server; its URL goes in {postgres.URL_VARIABLE}",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help=f"start a Redis server; its URL goes in {redis.URL_VARIABLE}",
    )
    parser.add_argument("--directory", type=Path, help="run COMMAND in this directory")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    arguments = parser.parse_args(argv)
    if not (arguments.postgresql or arguments.redis):
        parser.error("name the servers to start: --postgresql, --redis or both")
    if not arguments.command:
        parser.error("a COMMAND is needed")

    # Every missing program is reported before anything starts.
    missing = []
    postgres_binaries: Path | None = None
    redis_binary: Path | None = None
    if arguments.postgresql:
        postgres_binaries = postgres.server_binaries()
        if postgres_binaries is None:
            missing.append(("PostgreSQL's initdb, pg_ctl and psql were", "postgresql"))
    if arguments.redis:
        redis_binary = redis.redis_server_binary()
        if redis_binary is None:
            missing.append(("redis-server was", "redis-server"))
    for programs, package in missing:
        print(
            f"testkit.services: {programs} not found (on Debian: apt-get install {package})",
            file=sys.stderr,
        )
    if missing:
        return 1

    environment = dict(os.environ)
    with contextlib.ExitStack() as servers:
        if postgres_binaries is not None:
            cluster = servers.enter_context(postgres.TemporaryCluster(postgres_binaries))
            environment[postgres.URL_VARIABLE] = cluster.url()
            print(f"testkit.services: a PostgreSQL server at {cluster.url()}", flush=True)
        if redis_binary is not None:
            server = servers.enter_context(redis.TemporaryRedis(redis_binary))
            environment[redis.URL_VARIABLE] = server.url
            print(f"testkit.services: a Redis server at {server.url}", flush=True)
        done = subprocess.run(
            arguments.command, cwd=arguments.directory, env=environment, check=False
        )
    return exit_status(done.returncode)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit, so that the servers are stopped on the way out
    (and the command with them), as for Ctrl-C."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main(sys.argv[1:]))
