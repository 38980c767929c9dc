"""Chapter 3's promise about a real server: writers at once lose and repeat nothing.

Each test copies chapter 3's project, points its ``development.ini`` at a free port
and at a new database (a SQLite file, or a database in a throwaway PostgreSQL
server), migrates it with the chapter's ``alembic`` command, and serves it with the
chapter's ``pserve`` command: one gunicorn worker, as in the chapter.

Runs where chapter 3's project is installed (``nox -s chapters``).
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.chapters import chapter
from testkit.served import Database, serve_chapter
from testkit.server import ServerProcess

CHAPTER = chapter("chapter3")
WRITERS = 50


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    cluster = request.getfixturevalue("postgres_cluster") if request.param != "sqlite" else None
    return Database.new(request.param, tmp_path, cluster)


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[ServerProcess]:
    with serve_chapter(CHAPTER, database, tmp_path) as process:
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
