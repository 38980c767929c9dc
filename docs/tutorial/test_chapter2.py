"""Chapter 2's promises about a real server: concurrent writers, and a clean shutdown.

Each test copies chapter 2's project, points its ``development.ini`` at a free port
and at a new database (a SQLite file, or a database in a throwaway PostgreSQL
server), migrates it with the chapter's ``alembic`` command, and serves it with the
chapter's ``pserve`` command: one gunicorn worker, as in the chapter.

Runs in the ``chapter2`` nox session, where chapter 2's project is installed.
"""

import asyncio
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.chapters import chapter, read_project, state
from testkit.console import parse_transcript
from testkit.postgres import TemporaryCluster
from testkit.rst import marked_blocks
from testkit.server import ServerProcess, free_port

PROJECT = chapter("chapter2").directory
CHAPTER = chapter("chapter2").page
WRITERS = 50


def chapter_server_command() -> list[str]:
    """The command the chapter starts its server with (its ``console-server`` block)."""
    (block,) = marked_blocks(CHAPTER.read_text(), "console-server")
    return shlex.split(parse_transcript(block.body)[-1].command)


def our_environment() -> dict[str, str]:
    """This environment, with the test run's own ``pserve`` and ``alembic`` first."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


class Database:
    """A new database for one test, on SQLite or in the throwaway PostgreSQL server."""

    def __init__(self, url: str, cluster: TemporaryCluster | None = None) -> None:
        self.url, self.cluster = url, cluster

    def count(self, table: str) -> int:
        """How many rows ``table`` holds."""
        statement = f"SELECT count(*) FROM {table}"
        if self.cluster is None:
            with sqlite3.connect(self.url.split("///", 1)[1]) as connection:
                (count,) = connection.execute(statement).fetchone()
            return int(count)
        return int(self.cluster.sql(statement, database=self.url.rsplit("/", 1)[1]))

    def connections(self) -> int:
        """How many connections to this PostgreSQL database are open."""
        assert self.cluster is not None
        name = self.url.rsplit("/", 1)[1]
        return int(
            self.cluster.sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'")
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return Database(f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite'}")
    cluster: TemporaryCluster = request.getfixturevalue("postgres_cluster")
    name = f"live_{tmp_path.name.lower().replace('-', '_')}"
    return Database(cluster.create_database(name), cluster)


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[ServerProcess]:
    """Chapter 2's project, migrated and served by the chapter's command on a free port."""
    project = tmp_path / "project"
    for name, content in read_project(PROJECT).items():
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
    with ServerProcess(
        chapter_server_command(), port=port, log_path=tmp_path / "server.log", cwd=project, env=env
    ) as process:
        yield process


async def post_concurrently(base: str, count: int) -> list[httpx.Response]:
    """Register a player, then post ``count`` messages as that player, all at once."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        registered = await client.post(
            "/api/users", json={"username": "writer", "password": "many messages"}
        )
        assert registered.status_code == 201, registered.text
        return await asyncio.gather(
            *(
                client.post(
                    "/api/channels/lobby/messages",
                    json={"content": f"message {number}"},
                    auth=("writer", "many messages"),
                )
                for number in range(count)
            )
        )


def all_messages(base: str) -> list[dict[str, object]]:
    """Every message of the lobby, following the ``next`` links page by page."""
    messages: list[dict[str, object]] = []
    path: str | None = "/api/channels/lobby/messages?limit=7"
    with httpx.Client(base_url=base, timeout=30) as client:
        while path:
            page = client.get(path).json()
            messages += page["messages"]
            path = page["next"]
    return messages


def test_fifty_parallel_writers_lose_and_duplicate_nothing(
    server: ServerProcess, database: Database
) -> None:
    responses = asyncio.run(post_concurrently(server.base_url, WRITERS))
    assert [response.status_code for response in responses] == [201] * WRITERS, server.log_tail()
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == WRITERS
    listed = all_messages(server.base_url)
    assert sorted(message["content"] for message in listed) == sorted(
        f"message {number}" for number in range(WRITERS)
    )
    assert {message["id"] for message in listed} == ids
    assert database.count("messages") == WRITERS


def test_stopping_the_server_closes_its_database_connections(
    server: ServerProcess, database: Database
) -> None:
    assert httpx.get(server.url("/api/channels")).status_code == 200
    if database.cluster is not None:
        assert database.connections() >= 1
    assert server.stop() == 0
    assert "closed the database connections" in server.log_text()
    if database.cluster is not None:
        assert database.connections() == 0


@pytest.mark.parametrize("name", ["aiotutorial/views.py", "aiotutorial/templates/home.jinja2"])
def test_what_chapter_2_does_not_change_is_chapter_1s(name: str) -> None:
    assert state("chapter2")[name] == state("chapter1")[name]
