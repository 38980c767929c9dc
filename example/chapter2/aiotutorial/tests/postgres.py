"""A throwaway PostgreSQL server for the tests, in a temporary directory.

:class:`TemporaryCluster` runs ``initdb`` and ``pg_ctl`` (PostgreSQL's server
programs, which Debian's ``postgresql`` package installs under
``/usr/lib/postgresql/VERSION/bin``) to start a server that listens on a free port of
127.0.0.1 only, trusts local connections, and is deleted, files and all, when the
tests end. PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
user (which that package creates).
"""

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text

from aiotutorial.db import make_engine

SUPERUSER = "aiotutorial"
"""The cluster's superuser, which the tests connect as (no password: trust)."""


def server_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None if there is none."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda path: int(path.parent.name), reverse=True)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None  # pragma: no cover (only where PostgreSQL is not installed)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryCluster:
    """A PostgreSQL server started in a new temporary directory; :meth:`stop` removes it."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="aiotutorial-pg-"))
        self.data = self.directory / "data"
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self.owner = pwd.getpwnam("postgres")
            os.chown(self.directory, self.owner.pw_uid, self.owner.pw_gid)

    def run(self, program: str, *args: str) -> None:
        """Run one of the server programs as the cluster's owner; fail with its output."""
        argv = [str(self.binaries / program), *args]
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner.pw_name, "--", *argv]
        # In its own directory: the owner may not be allowed into the current one.
        done = subprocess.run(argv, cwd=self.directory, capture_output=True, text=True, timeout=60)
        if done.returncode:
            log = self.directory / "server.log"
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}{server_log}")

    def start(self) -> None:
        """Create the cluster and start its server, listening on 127.0.0.1 only."""
        self.run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        self.run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.directory / "server.log"), "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.data))
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` in this cluster, through asyncpg."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` in this cluster and return its URL."""

        async def create() -> None:
            engine = make_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
            async with engine.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            await engine.dispose()

        asyncio.run(create())
        return self.url(name)
