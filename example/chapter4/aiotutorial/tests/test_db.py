"""Units of work: one transaction per request, one per websocket message."""

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiopyramid.asgi import ASGIApplication
from aiopyramid.testing import AppClient
from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.view import WebsocketConnectionView
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from sqlalchemy import event, func, pool, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from aiotutorial import main
from aiotutorial.db import READER, WRITER, make_engine, unit_of_work
from aiotutorial.models import Base, Channel
from aiotutorial.tests.conftest import SETTINGS


async def add_channel(request: Request) -> str:
    """Add the channel that the URL names, and send the INSERT to the database."""
    request.dbsession.add(Channel(name=request.matchdict["name"]))
    await request.dbsession.flush()
    return request.matchdict["name"]


async def writes_then_succeeds(request: Request) -> dict[str, str]:
    return {"added": await add_channel(request)}


async def writes_then_raises(request: Request) -> None:
    await add_channel(request)
    raise RuntimeError("the view failed after writing")


async def writes_then_refuses(request: Request) -> None:
    await add_channel(request)
    raise HTTPBadRequest()


async def reads_channels(request: Request) -> list[str]:
    return list(
        await request.dbsession.scalars(select(Channel.name).order_by(Channel.name))
    )


class AddsChannels(WebsocketConnectionView):
    """Adds a channel named by each message and answers with the number of channels:
    one unit of work per message."""

    async def on_message(self, message: str | bytes) -> None:
        async with unit_of_work(self.request, write=True) as session:
            session.add(Channel(name=str(message)))
            await session.flush()
            count = await session.scalar(select(func.count()).select_from(Channel))
        await self.send(str(count))


class UsesTheRequestSession(WebsocketConnectionView):
    """Does what a websocket view must not: uses ``request.dbsession``."""

    async def on_open(self) -> None:
        await self.request.dbsession.scalar(select(Channel.id))


def make_app(database_url: str) -> Configurator:
    """An app with aiotutorial.db, views that write, read, and a websocket."""
    config = Configurator(
        settings={"pyramid.includes": "aiopyramid", "sqlalchemy.url": database_url}
    )
    config.include("aiotutorial.db")
    for name, view in [
        ("ok", writes_then_succeeds),
        ("raise", writes_then_raises),
        ("refuse", writes_then_refuses),
    ]:
        config.add_route(name, f"/{name}/{{name}}")
        config.add_view(view, route_name=name, request_method="POST", renderer="json")
    config.add_route("list", "/list")
    config.add_view(reads_channels, route_name="list", renderer="json")
    config.add_route("add", "/add")
    config.add_view(AddsChannels, route_name="add", mapper=WebsocketMapper)
    config.add_route("wrong", "/wrong")
    config.add_view(UsesTheRequestSession, route_name="wrong", mapper=WebsocketMapper)
    return config


@pytest.fixture
def app(database_url: str) -> Iterator[AppClient]:
    """The app of :func:`make_app`, in a transaction rolled back at the end."""
    wsgi_app = make_app(database_url).make_wsgi_app()
    with AppClient(wsgi_app) as client:
        engine = make_engine(database_url, poolclass=pool.NullPool)
        connection = client.run(engine.connect())
        transaction = client.run(connection.begin())
        joined = async_sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        wsgi_app.registry[READER] = wsgi_app.registry[WRITER] = joined
        try:
            yield client
        finally:
            client.run(transaction.rollback())
            client.run(connection.close())


def channels(app: AppClient) -> list[str]:
    names: list[str] = json.loads(app.get("/list").text)
    return names


def test_a_successful_view_commits(app: AppClient) -> None:
    assert app.post("/ok/kept").status == 200
    assert channels(app) == ["kept", "lobby"]


def test_an_exception_rolls_back_what_the_view_wrote(app: AppClient) -> None:
    assert app.post("/raise/lost").status == 500
    assert channels(app) == ["lobby"]


def test_an_error_response_rolls_back_too(app: AppClient) -> None:
    assert app.post("/refuse/lost").status == 400
    assert channels(app) == ["lobby"]


def test_a_websocket_gets_a_unit_of_work_per_message(app: AppClient) -> None:
    with app.websocket("/add") as ws:
        ws.send("kitchen")
        assert ws.receive() == "2"
        ws.send("garden")
        assert ws.receive() == "3"
    assert channels(app) == ["garden", "kitchen", "lobby"]


def test_a_websocket_may_not_use_the_request_s_session(
    app: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    with app.websocket("/wrong") as ws:
        assert ws.receive() is None
    assert ws.close_code == 1011  # "internal error": the view failed
    assert "open a unit of work per message instead" in caplog.text


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[AppClient, list[str]]]:
    """The app of :func:`make_app` on a SQLite file, and the statements it sends.

    Each request has a connection of its own, and SQLite gives up at once when the
    write lock is taken (``timeout=0``), so a lock held too long fails a request.
    """
    url = f"sqlite+aiosqlite:///{tmp_path / 'locks.sqlite'}?timeout=0"
    wsgi_app = make_app(url).make_wsgi_app()
    engine = wsgi_app.registry[READER].kw["bind"]
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda connection, cursor, statement, *rest: statements.append(statement),
    )
    with AppClient(wsgi_app) as client:
        client.run(create_tables(engine))
        yield client, statements
        client.run(engine.dispose())


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


def test_requests_that_only_read_take_no_write_lock(
    sqlite_app: tuple[AppClient, list[str]],
) -> None:
    client, statements = sqlite_app
    statements.clear()
    assert client.get("/list").status == 200
    assert "BEGIN" in statements and "BEGIN IMMEDIATE" not in statements
    statements.clear()
    assert client.post("/ok/kitchen").status == 200
    assert "BEGIN IMMEDIATE" in statements


def test_a_socket_between_messages_holds_no_lock(
    sqlite_app: tuple[AppClient, list[str]],
) -> None:
    client, _ = sqlite_app
    with client.websocket("/add") as ws:
        ws.send("kitchen")
        assert ws.receive() == "1"
        # Another request writes while the socket waits: it would fail if the
        # socket held a transaction, and so SQLite's write lock.
        assert client.post("/ok/garden").status == 200
        ws.send("cellar")
        assert ws.receive() == "3"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (None, "sqlalchemy.url is missing"),
        ("", "sqlalchemy.url is missing"),
        ("not a url", "is not usable"),
        ("sqlite:///blocking.sqlite", "is not usable"),
    ],
)
def test_a_missing_or_unusable_url_stops_the_app_at_startup(
    url: str | None, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        main({}, **SETTINGS, **{"sqlalchemy.url": url})


def test_the_engine_is_closed_when_the_server_stops(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = ASGIApplication(main({}, **SETTINGS, **{"sqlalchemy.url": database_url}))
    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    answers: list[str] = []

    async def receive() -> dict[str, str]:
        return events.pop(0)

    async def send(message: dict[str, str]) -> None:
        answers.append(message["type"])

    async def serve_then_stop() -> None:
        await app({"type": "lifespan"}, receive, send)

    with caplog.at_level(logging.INFO, logger="aiotutorial.db"):
        asyncio.run(serve_then_stop())
    assert answers == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "closed the database connections" in caplog.text
