"""Chapter 2's promises about a real server: it reads the database, and stops cleanly.

The chapter's project is migrated and served by the chapter's own commands on a
free port, on SQLite and on PostgreSQL (see :mod:`testkit.served`).
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.chapters import chapter, state
from testkit.served import Database, serve_chapter
from testkit.server import ServerProcess

CHAPTER = chapter("chapter2")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    cluster = request.getfixturevalue("postgres_cluster") if request.param != "sqlite" else None
    return Database.new(request.param, tmp_path, cluster)


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[ServerProcess]:
    with serve_chapter(CHAPTER, database, tmp_path) as process:
        yield process


def test_the_channels_come_from_the_database(server: ServerProcess, database: Database) -> None:
    response = httpx.get(server.url("/api/channels"), timeout=30)
    assert response.status_code == 200
    assert response.json() == {"channels": [{"name": "lobby"}]}
    assert database.count("channels") == 1


def test_stopping_the_server_closes_its_database_connections(
    server: ServerProcess, database: Database
) -> None:
    assert httpx.get(server.url("/api/channels"), timeout=30).status_code == 200
    if database.cluster is not None:
        assert database.connections() >= 1
    assert server.stop() == 0
    assert "closed the database connections" in server.log_text()
    if database.cluster is not None:
        assert database.connections() == 0


@pytest.mark.parametrize("name", ["aiotutorial/views.py", "aiotutorial/templates/home.jinja2"])
def test_what_chapter_2_does_not_change_is_chapter_1s(name: str) -> None:
    assert state("chapter2")[name] == state("chapter1")[name]
