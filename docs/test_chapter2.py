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
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from aiotutorial.db import make_engine
from aiotutorial.tests.postgres import TemporaryCluster, server_binaries
from docs._testing.console import parse_transcript
from docs._testing.project import ROOT
from docs._testing.rst import marked_blocks
from tests.support.projects import git_files
from tests.support.server import ServerProcess, free_port

PROJECT = ROOT / "example" / "chapter2"
CHAPTER = Path(__file__).parent / "tutorial" / "chapter2.rst"
WRITERS = 50


def chapter_server_command() -> list[str]:
    """The command the chapter starts its server with (its ``console-server`` block)."""
    (block,) = marked_blocks(CHAPTER.read_text(), "console-server")
    return shlex.split(parse_transcript(block.body)[-1].command)


def our_environment() -> dict[str, str]:
    """This environment, with the test run's own ``pserve`` and ``alembic`` first."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


@pytest.fixture(scope="module")
def postgres() -> Iterator[TemporaryCluster]:
    binaries = server_binaries()
    if binaries is None:  # pragma: no cover (only where PostgreSQL is not installed)
        pytest.fail("PostgreSQL's initdb and pg_ctl were not found (apt-get install postgresql)")
    cluster = TemporaryCluster(binaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def run_sql(url: str, statement: str) -> list[tuple[object, ...]]:
    """Run one SQL statement (outside a transaction) and return its rows."""

    async def run() -> list[tuple[object, ...]]:
        engine = make_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            result = await connection.execute(text(statement))
            rows = [tuple(row) for row in result] if result.returns_rows else []
        await engine.dispose()
        return rows

    return asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite'}"
    cluster: TemporaryCluster = request.getfixturevalue("postgres")
    name = f"live_{tmp_path.name.lower().replace('-', '_')}"
    run_sql(cluster.url("postgres"), f'CREATE DATABASE "{name}"')
    return cluster.url(name)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """Chapter 2's project, migrated and served by the chapter's command on a free port."""
    project = tmp_path / "project"
    for name in git_files(PROJECT):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes((PROJECT / name).read_bytes())
    port = free_port()
    ini = project / "development.ini"
    settings = ini.read_text()
    settings, ports = re.subn(r"(?m)^port = \d+$", f"port = {port}", settings)
    settings, urls = re.subn(
        r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {database_url}", settings
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
    server: ServerProcess, database_url: str
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
    assert run_sql(database_url, "SELECT count(*) FROM messages") == [(WRITERS,)]


def test_stopping_the_server_closes_its_database_connections(
    server: ServerProcess, database_url: str
) -> None:
    assert httpx.get(server.url("/api/channels")).status_code == 200
    assert server.stop() == 0
    assert "closed the database connections" in server.log_text()
    if database_url.startswith("postgresql"):
        database = database_url.rsplit("/", 1)[1]
        left = run_sql(
            database_url.replace(f"/{database}", "/postgres"),
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'",
        )
        assert left == [(0,)]


@pytest.mark.parametrize("name", ["aiotutorial/views.py", "aiotutorial/templates/home.jinja2"])
def test_what_chapter_2_does_not_change_is_chapter_1s(name: str) -> None:
    chapter1 = ROOT / "example" / "chapter1"
    assert (PROJECT / name).read_text() == (chapter1 / name).read_text()
