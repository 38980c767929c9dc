"""The test helpers themselves: AppClient requests, streaming, timeouts."""

import asyncio

import pytest
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.threadlocal import get_current_request

from aiopyramid.testing import AppClient, ClientResponse
from aiopyramid.websocket.config import WebsocketMapper


async def form(request):
    return Response(json_body={"params": dict(request.params), "path": request.path})


async def hang(request):
    await asyncio.sleep(3600)


async def set_cookie(request):
    response = Response(json_body={"received": request.cookies.get("flavour")})
    if "flavour" in request.params:
        response.set_cookie("flavour", request.params["flavour"])
    if "forget" in request.params:
        response.delete_cookie("flavour")
    return response


async def cookie_over_websocket(ws):
    await ws.send(str(get_current_request().cookies.get("flavour")))


def make_app():
    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("form", "/form")
        config.add_route("hang", "/hang")
        config.add_route("cookie", "/cookie")
        config.add_route("socket", "/socket")
        config.add_view(form, route_name="form")
        config.add_view(hang, route_name="hang")
        config.add_view(set_cookie, route_name="cookie")
        config.add_view(cookie_over_websocket, route_name="socket", mapper=WebsocketMapper)
    return config.make_wsgi_app()


def test_get_with_params_and_post_with_form_data():
    with AppClient(make_app()) as client:
        assert client.get("/form?a=1", params={"b": "2"}).json() == {
            "params": {"a": "1", "b": "2"},
            "path": "/form",
        }
        assert client.post("/form", {"c": "3"}).json()["params"] == {"c": "3"}
        streamed = client.request(
            "POST",
            "/form",
            body=[b"d=", b"4"],
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert streamed.json()["params"] == {"d": "4"}


def test_the_client_keeps_cookies_like_a_browser():
    with AppClient(make_app()) as client:
        assert client.get("/cookie", params={"flavour": "ginger"}).json() == {"received": None}
        assert client.cookies == {"flavour": "ginger"}
        assert client.get("/cookie").json() == {"received": "ginger"}
        with client.websocket("/socket") as ws:
            assert ws.receive() == "ginger"
        own = client.get("/cookie", headers={"cookie": "flavour=vanilla"})
        assert own.json() == {"received": "vanilla"}
        client.get("/cookie", params={"forget": "1"})
        assert client.cookies == {}
        assert client.get("/cookie").json() == {"received": None}


def test_response_object():
    response = ClientResponse(200, [(b"x-a", b"1"), (b"x-a", b"2")], b'{"k": 1}')
    assert response.headers == {"x-a": "2"}
    assert response.header_list == [("x-a", "1"), ("x-a", "2")]
    assert response.json() == {"k": 1}
    assert repr(response) == "<ClientResponse 200 8 bytes>"


def test_a_hanging_view_times_out_instead_of_hanging_the_tests():
    with AppClient(make_app(), timeout=0.2) as client, pytest.raises(TimeoutError):
        client.get("/hang")


def test_app_raising_during_a_websocket_handshake_is_reported():
    async def broken(scope, receive, send):
        raise RuntimeError("no websockets here")

    client = AppClient(broken)
    with client, pytest.raises(RuntimeError, match="no websockets"), client.websocket("/"):
        pass
