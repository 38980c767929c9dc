"""A throwaway PostgreSQL server for tests and benchmarks, in a temporary directory.

:class:`TemporaryCluster` runs ``initdb`` and ``pg_ctl`` (PostgreSQL's server
programs, which Debian's ``postgresql`` package installs under
``/usr/lib/postgresql/VERSION/bin``) to start a server that listens on a free port of
127.0.0.1 only, trusts local connections, and is deleted, files and all, when it is
stopped. PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
user (which that package creates).

It is also a command: ``python -m testkit.postgres [--directory DIR] COMMAND...``
starts a cluster, runs the command (in ``DIR``) with :data:`URL_VARIABLE` set to a
database server URL it may create databases in, stops the cluster, and exits with
the command's status. That
is how the tutorial's project tests run on PostgreSQL, exactly as a reader with a
server of their own runs them.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.server import free_port

__all__ = ["SUPERUSER", "URL_VARIABLE", "ClusterError", "TemporaryCluster", "server_binaries"]

SUPERUSER = "aiotutorial"
"""The cluster's superuser, which clients connect as (no password: trust)."""

URL_VARIABLE = "AIOTUTORIAL_TEST_POSTGRESQL"
"""The environment variable the tutorial's project tests read the server's URL from."""


class ClusterError(RuntimeError):
    """A server program failed; the message holds what it and the server printed."""


def server_binaries() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``psql``, or None if there is none."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda path: int(path.parent.name), reverse=True)
    for directory in candidates:
        if all((directory / program).is_file() for program in ("initdb", "pg_ctl", "psql")):
            return directory
    return None


class TemporaryCluster:
    """A PostgreSQL server started in a new temporary directory; :meth:`stop` removes it.

    Use it as a context manager, or call :meth:`start` and :meth:`stop` (in a
    ``finally``) yourself.
    """

    def __init__(self, binaries: Path, superuser: str = SUPERUSER) -> None:
        self.binaries = binaries
        self.superuser = superuser
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="aiotutorial-pg-"))
        self.data = self.directory / "data"
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self.owner = pwd.getpwnam("postgres")
            os.chown(self.directory, self.owner.pw_uid, self.owner.pw_gid)

    def __enter__(self) -> TemporaryCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def run(self, program: str, *args: str) -> str:
        """Run one of the server programs as the cluster's owner; return its output.

        Raises :class:`ClusterError` with its output, and the server's log, if it fails.
        """
        argv = [str(self.binaries / program), *args]
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner.pw_name, "--", *argv]
        # In its own directory: the owner may not be allowed into the current one.
        done = subprocess.run(argv, cwd=self.directory, capture_output=True, text=True, timeout=60)
        if done.returncode:
            log = self.directory / "server.log"
            server_log = log.read_text() if log.exists() else ""
            raise ClusterError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}{server_log}")
        return done.stdout

    def start(self) -> None:
        """Create the cluster and start its server, listening on 127.0.0.1 only."""
        self.run("initdb", "-D", str(self.data), "-U", self.superuser, "-A", "trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        self.run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.directory / "server.log"), "-o", options,
        )  # fmt: skip

    def client_environment(self) -> dict[str, str]:
        """The variables that point PostgreSQL's programs and drivers at this server, as
        its superuser: what a reader sets, or gets from ``sudo -u postgres``."""
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.superuser}

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.data))
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` in this cluster, through asyncpg."""
        return f"postgresql+asyncpg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one SQL statement with ``psql``, outside a transaction; return its rows.

        Rows come one per line, columns separated by ``|``, without headers.
        """
        return self.run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser, "-d", database,
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` in this cluster and return its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def main(argv: list[str]) -> int:
    """Run a command beside a throwaway cluster whose URL is in :data:`URL_VARIABLE`."""
    parser = argparse.ArgumentParser(
        prog="python -m testkit.postgres",
        description="Run COMMAND beside a throwaway PostgreSQL server.",
    )
    parser.add_argument("--directory", type=Path, help="run COMMAND in this directory")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    arguments = parser.parse_args(argv)
    if not arguments.command:
        parser.error("a COMMAND is needed")
    binaries = server_binaries()
    if binaries is None:
        print(
            "testkit.postgres: PostgreSQL's initdb, pg_ctl and psql were not found "
            "(on Debian: apt-get install postgresql)",
            file=sys.stderr,
        )
        return 1
    with TemporaryCluster(binaries) as cluster:
        print(f"testkit.postgres: a PostgreSQL server at {cluster.url()}", flush=True)
        environment = {**os.environ, URL_VARIABLE: cluster.url()}
        done = subprocess.run(
            arguments.command, cwd=arguments.directory, env=environment, check=False
        )
        return done.returncode


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit, so that the servers are stopped on the way out
    (and the command with them), as for Ctrl-C."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main(sys.argv[1:]))
