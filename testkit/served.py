"""A chapter's project served for real, on a database of the test's choosing.

The live tests of the chapters that use a database copy the chapter's project,
point its ``development.ini`` at a free port and at a new database (a SQLite file,
or a database in a throwaway PostgreSQL server), migrate it with ``alembic``, and
serve it with the command the chapter's page gives the reader.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testkit.chapters import Chapter, read_project
from testkit.console import parse_transcript
from testkit.postgres import TemporaryCluster
from testkit.rst import marked_blocks
from testkit.server import ServerProcess, free_port

__all__ = ["Database", "our_environment", "serve_chapter", "server_command"]


def our_environment() -> dict[str, str]:
    """This environment, with the test run's own ``pserve`` and ``alembic`` first."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def server_command(page: Path) -> list[str]:
    """The command a page starts its server with (its ``console-server`` block)."""
    blocks = marked_blocks(page.read_text(), "console-server")
    assert blocks, f"{page.name} starts no server"
    return shlex.split(parse_transcript(blocks[0].body)[-1].command)


@dataclass
class Database:
    """A new database for one test, on SQLite or in a throwaway PostgreSQL server."""

    url: str
    cluster: TemporaryCluster | None = None

    @classmethod
    def new(cls, kind: str, directory: Path, cluster: TemporaryCluster | None) -> Database:
        """A new, empty database of ``kind``: "sqlite" (a file in ``directory``) or
        "postgresql" (in ``cluster``, named after ``directory``)."""
        if kind == "sqlite":
            return cls(f"sqlite+aiosqlite:///{directory / 'live.sqlite'}")
        assert cluster is not None
        name = f"live_{directory.name.lower().replace('-', '_')}"
        return cls(cluster.create_database(name), cluster)

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1]

    def count(self, table: str) -> int:
        """How many rows ``table`` holds."""
        statement = f"SELECT count(*) FROM {table}"
        if self.cluster is None:
            with sqlite3.connect(self.url.split("///", 1)[1]) as connection:
                (count,) = connection.execute(statement).fetchone()
            return int(count)
        return int(self.cluster.sql(statement, database=self.name))

    def connections(self) -> int:
        """How many connections to this PostgreSQL database are open."""
        assert self.cluster is not None
        query = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.name}'"
        return int(self.cluster.sql(query))


@contextmanager
def serve_chapter(chapter: Chapter, database: Database, work: Path) -> Iterator[ServerProcess]:
    """``chapter``'s project, migrated and served by its page's command on a free port."""
    project = work / "project"
    for name, content in read_project(chapter.directory).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(content)
    port = free_port()
    ini = project / "development.ini"
    settings = ini.read_text()
    settings, ports = re.subn(r"(?m)^port = \d+$", f"port = {port}", settings)
    settings, urls = re.subn(
        r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {database.url}", settings
    )
    assert (ports, urls) == (1, 1), "development.ini should have one port and one URL"
    ini.write_text(settings)
    env = our_environment()
    migrate = subprocess.run(
        ["alembic", "-c", "development.ini", "upgrade", "head"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stderr
    argv = server_command(chapter.page)
    with ServerProcess(
        argv, port=port, log_path=work / "server.log", cwd=project, env=env
    ) as server:
        yield server
