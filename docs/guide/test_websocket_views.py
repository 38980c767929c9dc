"""The websocket examples, loaded from websockets.ini as a server would load them."""

import pytest

from aiopyramid.settings import settings_from
from aiopyramid.testing import AppClient, WebsocketRefused
from docs.guide.examples import websocket_views


@pytest.fixture
def client():
    websocket_views.CLOSED.clear()
    with AppClient(websocket_views.load_app()) as client:
        yield client


def test_the_ini_file_sets_the_limits(client):
    settings = settings_from(client.app.wsgi_app.registry)
    assert settings.websocket_max_message_size == 1024
    assert settings.websocket_allowed_origins == {"https://chat.example.com"}


def test_echo(client):
    with client.websocket("/echo") as ws:
        ws.send("hello")
        assert ws.receive() == "hello"
        ws.send(b"\x00\x01")
        assert ws.receive() == b"\x00\x01"


def test_class_based_view(client):
    with client.websocket("/counter?name=ann") as ws:
        assert ws.receive() == "hello ann"
        ws.send("tea")
        assert ws.receive() == "1: 'tea'"
        ws.send(b"cake")
        assert ws.receive() == "2: b'cake'"
    assert websocket_views.CLOSED == ["ann after 2 messages"]


def test_use_bytes_delivers_text_as_bytes(client):
    with client.websocket("/checksum") as ws:
        ws.send("h\u00e9llo")
        as_text = ws.receive()
        ws.send("h\u00e9llo".encode())
        assert ws.receive() == as_text == "6 bytes, crc32 9e3b8236"


def test_messages_over_the_limit_close_the_socket_with_1009(client):
    with client.websocket("/echo") as ws:
        ws.send("x" * 1024)
        assert ws.receive() == "x" * 1024
        ws.send("x" * 1025)
        assert ws.receive() is None
        assert ws.close_code == 1009


def test_origins(client):
    with client.websocket("/echo", headers={"Origin": "https://chat.example.com"}) as ws:
        ws.send("allowed")
        assert ws.receive() == "allowed"
    with client.websocket("/echo", headers={"Origin": "http://testserver"}) as ws:
        ws.send("same site")
        assert ws.receive() == "same site"
    foreign = {"Origin": "https://evil.example"}
    with pytest.raises(WebsocketRefused) as refused, client.websocket("/echo", headers=foreign):
        pass
    assert refused.value.status == 403


def test_plain_http_to_a_websocket_view_gets_426(client):
    assert client.get("/echo").status == 426
