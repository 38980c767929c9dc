"""One transaction per request: committed if the view succeeds, else rolled back."""

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from sqlalchemy import pool, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiopyramid.asgi import ASGIApplication
from aiopyramid.testing import AppClient
from aiotutorial import main
from aiotutorial.db import SESSION_FACTORY, make_engine
from aiotutorial.models import Channel
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
    return list(await request.dbsession.scalars(select(Channel.name).order_by(Channel.name)))


@pytest.fixture
def app(database_url: str) -> Iterator[AppClient]:
    """An app with aiotutorial.db and test views, in a transaction rolled back at the end."""
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
        config.add_view(view, route_name=name, renderer="json")
    config.add_route("list", "/list")
    config.add_view(reads_channels, route_name="list", renderer="json")
    wsgi_app = config.make_wsgi_app()
    with AppClient(wsgi_app) as client:
        engine = make_engine(database_url, poolclass=pool.NullPool)
        connection = client.run(engine.connect())
        transaction = client.run(connection.begin())
        wsgi_app.registry[SESSION_FACTORY] = async_sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        try:
            yield client
        finally:
            client.run(transaction.rollback())
            client.run(connection.close())


def channels(app: AppClient) -> list[str]:
    names: list[str] = json.loads(app.get("/list").text)
    return names


def test_a_successful_view_commits(app: AppClient) -> None:
    assert app.get("/ok/kept").status == 200
    assert channels(app) == ["kept", "lobby"]


def test_an_exception_rolls_back_what_the_view_wrote(app: AppClient) -> None:
    assert app.get("/raise/lost").status == 500
    assert channels(app) == ["lobby"]


def test_an_error_response_rolls_back_too(app: AppClient) -> None:
    assert app.get("/refuse/lost").status == 400
    assert channels(app) == ["lobby"]


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
