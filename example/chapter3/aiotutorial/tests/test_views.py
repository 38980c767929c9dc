"""Tests for the tutorial application: ``python -m pytest`` runs them."""

import asyncio
import time
from collections.abc import Iterator

import pytest
from aiopyramid.testing import AppClient, FakeWebsocket
from pyramid import testing
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPBadRequest

from aiotutorial import main
from aiotutorial.views import echo, home

SETTINGS = {
    "pyramid.includes": "aiopyramid pyramid_jinja2",
    "aiotutorial.max_sleep": "10",
    "sqlalchemy.url": "sqlite+aiosqlite://",  # never used: these views need no database
}
BAD_SLEEPS = ["abc", "", "nan", "inf", "-inf", "-1", "1e308", "0x10", "10.5"]


@pytest.fixture
def config() -> Iterator[Configurator]:
    """Give DummyRequests a registry whose settings hold the parsed ``max_sleep``."""
    yield testing.setUp(settings={"aiotutorial.max_sleep": 10.0})
    testing.tearDown()


def test_home_view(config: Configurator) -> None:
    request = testing.DummyRequest()
    info = asyncio.run(home(request))
    assert info["title"] == "aiotutorial websocket test"


def test_home_view_sleeps_as_asked(config: Configurator) -> None:
    request = testing.DummyRequest(params={"sleep": "0.3"})
    started = time.monotonic()
    asyncio.run(home(request))
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("value", BAD_SLEEPS)
def test_home_view_refuses_bad_sleep(config: Configurator, value: str) -> None:
    request = testing.DummyRequest(params={"sleep": value})
    with pytest.raises(HTTPBadRequest) as refused:
        asyncio.run(home(request))
    assert refused.value.text == "sleep must be a number of seconds from 0 to 10\n"


def test_echo_view() -> None:
    ws = FakeWebsocket(["hello", b"\x00\x01"])
    asyncio.run(echo(ws))
    assert ws.sent == ["hello", b"\x00\x01"]


@pytest.fixture
def client() -> Iterator[AppClient]:
    """The whole application, driven in-process as a server would drive it."""
    with AppClient(main({}, **SETTINGS)) as client:
        yield client


def test_app_serves_the_page(client: AppClient) -> None:
    response = client.get("/?sleep=0")
    assert response.status == 200
    assert "<title>aiotutorial websocket test</title>" in response.text


def test_app_reads_sleep_from_the_body_too(client: AppClient) -> None:
    response = client.post("/", data={"sleep": "nan"})
    assert response.status == 400
    assert response.text == "sleep must be a number of seconds from 0 to 10\n"


def test_app_refuses_sleep_given_twice(client: AppClient) -> None:
    response = client.get("/?sleep=1&sleep=2")
    assert response.status == 400
    assert response.text == "sleep must be a number of seconds from 0 to 10\n"


def test_app_refuses_sleep_that_is_not_utf8(client: AppClient) -> None:
    response = client.get("/?sleep=%ff")
    assert response.status == 400
    assert response.text == "sleep must be a number of seconds from 0 to 10\n"


def test_app_echoes_over_a_websocket(client: AppClient) -> None:
    with client.websocket("/echo") as ws:
        ws.send("Aiopyramid echo test.")
        assert ws.receive() == "Aiopyramid echo test."


@pytest.mark.parametrize("value", [None, "soon", "-1", "inf", "nan"])
def test_a_bad_max_sleep_stops_the_app_at_startup(value: str | None) -> None:
    settings = {**SETTINGS, "aiotutorial.max_sleep": value}
    with pytest.raises(ConfigurationError, match=r"aiotutorial\.max_sleep"):
        main({}, **settings)
