"""The home page and the websocket echo: ``python -m pytest`` runs these tests."""

import asyncio
import time
from collections.abc import Iterator

import pytest
from aiopyramid.testing import AppClient, WebsocketRefused
from pyramid import testing
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPBadRequest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial import main
from aiotutorial.models import SignIn
from aiotutorial.sockets import SIGNED_OUT
from aiotutorial.tests.conftest import SETTINGS
from aiotutorial.tests.signing_in import post_json, sign_in, signed_in
from aiotutorial.views import home

BAD_SLEEPS = ["abc", "", "nan", "inf", "-inf", "-1", "1e308", "0x10", "10.5"]
SLEEP_REFUSAL = "sleep must be a number of seconds from 0 to 10\n"


@pytest.fixture
def config() -> Iterator[Configurator]:
    """Give DummyRequests a registry whose settings hold the parsed ``max_sleep``."""
    yield testing.setUp(settings={"aiotutorial.max_sleep": 10.0})
    testing.tearDown()


def test_home_view(config: Configurator) -> None:
    request = testing.DummyRequest()
    info = asyncio.run(home(request))
    assert info == {"title": "aiotutorial websocket test", "player": None}


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
    assert refused.value.text == SLEEP_REFUSAL


def test_the_home_page_asks_visitors_to_sign_in(client: AppClient) -> None:
    response = client.get("/?sleep=0")
    assert response.status == 200
    assert "<title>aiotutorial websocket test</title>" in response.text
    assert 'action="/sign-in"' in response.text
    assert "new WebSocket" not in response.text


def test_the_home_page_greets_a_player_and_opens_the_echo(client: AppClient) -> None:
    signed_in(client)
    response = client.get("/?sleep=0")
    assert "Signed in as alice." in response.text
    assert 'action="/sign-out"' in response.text
    assert "new WebSocket" in response.text


def test_app_reads_sleep_from_the_body_too(client: AppClient) -> None:
    response = client.post("/", data={"sleep": "nan"})
    assert (response.status, response.text) == (400, SLEEP_REFUSAL)


def test_app_refuses_sleep_given_twice(client: AppClient) -> None:
    response = client.get("/?sleep=1&sleep=2")
    assert (response.status, response.text) == (400, SLEEP_REFUSAL)


def test_app_refuses_sleep_that_is_not_utf8(client: AppClient) -> None:
    response = client.get("/?sleep=%ff")
    assert (response.status, response.text) == (400, SLEEP_REFUSAL)


def test_the_echo_says_who_sent_each_line(client: AppClient) -> None:
    signed_in(client)
    with client.websocket("/echo") as ws:
        ws.send("Aiopyramid echo test.")
        assert ws.receive() == "alice: Aiopyramid echo test."
        ws.send(b"\x00\x01")
        assert ws.receive() == b"\x00\x01"


def test_the_echo_refuses_visitors_who_are_not_signed_in(client: AppClient) -> None:
    with pytest.raises(WebsocketRefused) as refused:
        client.websocket("/echo").__enter__()
    assert refused.value.status == 403


def test_the_echo_refuses_pages_of_other_origins(client: AppClient) -> None:
    signed_in(client)
    with client.websocket("/echo", headers={"origin": "http://testserver"}) as ws:
        ws.send("same origin")
        assert ws.receive() == "alice: same origin"
    elsewhere = client.websocket("/echo", headers={"origin": "http://evil.example"})
    with pytest.raises(WebsocketRefused) as refused:
        elsewhere.__enter__()
    assert refused.value.status == 403


def test_signing_out_closes_the_player_s_sockets(client: AppClient) -> None:
    signed_in(client)
    with client.websocket("/echo") as ws:
        ws.send("still here?")
        assert ws.receive() == "alice: still here?"
        post_json(client, "/api/session", b"", method="DELETE")
        assert ws.receive() is None
        assert ws.close_code == SIGNED_OUT


def test_a_player_may_have_several_sockets(client: AppClient) -> None:
    signed_in(client)
    with client.websocket("/echo") as first, client.websocket("/echo") as second:
        first.close()
        second.send("one left")
        assert second.receive() == "alice: one left"
        post_json(client, "/api/session", b"", method="DELETE")
        assert second.receive() is None
        assert second.close_code == SIGNED_OUT


def test_signing_out_elsewhere_ends_the_socket_at_its_next_message(
    client: AppClient, session: AsyncSession
) -> None:
    signed_in(client)
    with client.websocket("/echo") as ws:
        # Another worker process signs the player out: this one only sees the row go.
        client.run(session.execute(delete(SignIn)))
        client.run(session.commit())
        ws.send("hello?")
        assert ws.receive() is None
        assert ws.close_code == SIGNED_OUT


def test_signing_out_ends_only_that_sign_in(client: AppClient) -> None:
    signed_in(client)
    laptop = dict(client.cookies)
    client.cookies = {}  # a second browser, with no cookies yet
    assert sign_in(client).status == 200  # the same player
    phone = dict(client.cookies)
    client.cookies = laptop
    with client.websocket("/echo") as ws:
        client.cookies = phone
        post_json(client, "/api/session", b"", method="DELETE")
        ws.send("still here")
        assert ws.receive() == "alice: still here"


@pytest.mark.parametrize("value", [None, "soon", "-1", "inf", "nan"])
def test_a_bad_max_sleep_stops_the_app_at_startup(value: str | None) -> None:
    settings = {**SETTINGS, "aiotutorial.max_sleep": value}
    with pytest.raises(ConfigurationError, match=r"aiotutorial\.max_sleep"):
        main({}, **settings, **{"sqlalchemy.url": "sqlite+aiosqlite://"})
