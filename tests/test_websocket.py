"""Websocket views: the connection, the mapper, class-based views, refusals, limits."""

import asyncio

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.response import Response
from pyramid.testing import DummyRequest

from aiopyramid.testing import AppClient, FakeWebsocket, WebsocketRefused
from aiopyramid.websocket.config import WebsocketMapper, origin_allowed
from aiopyramid.websocket.connection import WebsocketConnection
from aiopyramid.websocket.exceptions import WebsocketClosed
from aiopyramid.websocket.view import WebsocketConnectionView

touched = []


async def echo(ws):
    while (message := await ws.recv()) is not None:
        await ws.send(message)


class BytesMapper(WebsocketMapper):
    use_bytes = True


async def describe(ws):
    while (message := await ws.recv()) is not None:
        await ws.send(f"{type(message).__name__}:{message!r}")


class Shout(WebsocketConnectionView):
    async def on_open(self):
        await self.send(f"hello {self.request.matchdict['name']}")

    async def on_message(self, message):
        await self.send(message.upper())

    async def on_close(self):
        touched.append(("closed", self.request.matchdict["name"]))


class RequestOnly:
    def __init__(self, request):
        self.request = request

    async def talk(self, ws):
        await ws.send(self.request.path)


async def crash(ws):
    await ws.recv()
    raise RuntimeError("websocket view failed")


async def say_bye(ws):
    await ws.send("bye")
    await ws.close(4000, "done")


def plain_view(request):
    touched.append("plain view ran")
    return Response("plain")


def make_app(**settings):
    with Configurator(settings=settings) as config:
        config.include("aiopyramid")
        routes = {
            "echo": (echo, WebsocketMapper, None),
            "bytes": (describe, BytesMapper, None),
            "shout": (Shout, WebsocketMapper, None),
            "request-only": (RequestOnly, WebsocketMapper, "talk"),
            "crash": (crash, WebsocketMapper, None),
            "bye": (say_bye, WebsocketMapper, None),
        }
        for name, (view, mapper, attr) in routes.items():
            config.add_route(name, f"/{name}" if name != "shout" else "/shout/{name}")
            config.add_view(view, route_name=name, mapper=mapper, attr=attr)
        config.add_route("plain", "/plain")
        config.add_view(plain_view, route_name="plain")
    return config.make_wsgi_app()


@pytest.fixture
def client():
    touched.clear()
    with AppClient(make_app(**{"aiopyramid.websocket.max_message_size": "16"})) as client:
        yield client


def test_echo_text_non_ascii_and_binary(client):
    with client.websocket("/echo") as ws:
        ws.send("h\u00e9llo \u2603")
        assert ws.receive() == "h\u00e9llo \u2603"
        ws.send(b"\x00\xff")
        assert ws.receive() == b"\x00\xff"


def test_use_bytes_delivers_text_as_bytes(client):
    with client.websocket("/bytes") as ws:
        ws.send("caf\u00e9")
        assert ws.receive() == "bytes:" + repr("caf\u00e9".encode())
        ws.send(b"raw")
        assert ws.receive() == "bytes:b'raw'"


def test_class_based_view_hooks(client):
    with client.websocket("/shout/ann") as ws:
        assert ws.receive() == "hello ann"
        ws.send("hi")
        assert ws.receive() == "HI"
    assert touched == [("closed", "ann")]


def test_request_only_class_with_attr(client):
    with client.websocket("/request-only") as ws:
        assert ws.receive() == "/request-only"
        assert ws.receive() is None
        assert ws.close_code == 1000


def test_view_closing_with_its_own_code(client):
    with client.websocket("/bye") as ws:
        assert ws.receive() == "bye"
        assert ws.receive() is None
        assert ws.close_code == 4000


def test_oversized_message_closes_with_1009(client):
    with client.websocket("/echo") as ws:
        ws.send("x" * 16)
        assert ws.receive() == "x" * 16
        ws.send("\u00e9" * 9)  # 18 bytes in UTF-8
        assert ws.receive() is None
        assert ws.close_code == 1009


def test_exception_in_view_closes_with_1011(client, caplog):
    with client.websocket("/crash") as ws:
        ws.send("go")
        assert ws.receive() is None
        assert ws.close_code == 1011
    assert "websocket view failed" in caplog.text


def test_websocket_to_a_plain_view_is_refused_without_running_it(client):
    with pytest.raises(WebsocketRefused) as info, client.websocket("/plain"):
        pass
    assert info.value.status == 403
    assert touched == []


def test_websocket_to_an_unknown_url_is_refused_with_404(client):
    with pytest.raises(WebsocketRefused) as info, client.websocket("/nowhere"):
        pass
    assert info.value.status == 404


def test_plain_http_to_a_websocket_view_gets_426(client):
    response = client.get("/echo")
    assert response.status == 426
    assert response.headers["upgrade"] == "websocket"


def test_foreign_origin_is_refused_and_allowed_ones_accepted():
    allowed = "https://good.example\nhttp://also.example/"
    settings = {"aiopyramid.websocket.allowed_origins": allowed}
    with AppClient(make_app(**settings)) as client:
        listed = {"origin": "https://good.example"}
        with client.websocket("/echo", headers=listed) as ws:
            ws.send("ok")
            assert ws.receive() == "ok"
        with client.websocket("/echo", headers={"origin": "http://testserver"}) as ws:
            ws.send("same origin")
            assert ws.receive() == "same origin"
        evil = {"origin": "https://evil.example"}
        with (
            pytest.raises(WebsocketRefused) as info,
            client.websocket("/echo", headers=evil),
        ):
            pass
        assert info.value.status == 403


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"),
    [
        (None, frozenset(), True),
        ("http://example.org:6543", frozenset(), True),
        ("http://example.org:6544", frozenset(), False),
        ("https://example.org:6543", frozenset(), True),
        ("http://other.org", frozenset({"*"}), True),
        ("http://other.org", frozenset({"http://other.org"}), True),
        ("null", frozenset(), False),
        ("http://[bad", frozenset(), False),
    ],
)
def test_origin_allowed(origin, allowed, expected):
    headers = {"Host": "example.org:6543"}
    if origin is not None:
        headers["Origin"] = origin
    assert origin_allowed(Request.blank("/", headers=headers), allowed) is expected


def test_mapper_rejects_plain_functions_at_config_time():
    config = Configurator()
    config.add_view(lambda ws: None, mapper=WebsocketMapper, name="sync")
    with pytest.raises(ConfigurationError, match="not a coroutine function"):
        config.commit()


def run(coroutine):
    return asyncio.run(coroutine)


def test_connection_recv_send_close_with_raw_asgi():
    inbox = [
        {"type": "websocket.receive", "text": "t"},
        {"type": "websocket.receive", "bytes": b"b"},
        {"type": "websocket.disconnect", "code": 1001},
    ]
    sent = []

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message)

    async def converse():
        ws = WebsocketConnection(receive, send, max_message_size=100)
        await ws.accept("chat")
        assert await ws.recv() == "t"
        assert await ws.recv() == b"b"
        assert await ws.recv() is None
        assert await ws.recv() is None
        assert ws.close_code == 1001
        with pytest.raises(WebsocketClosed):
            await ws.send("late")
        await ws.close()

    run(converse())
    assert sent == [{"type": "websocket.accept", "subprotocol": "chat"}]


def test_connection_send_types_and_peer_gone():
    async def receive():
        raise AssertionError

    async def gone(message):
        raise OSError("peer gone")

    async def converse():
        ws = WebsocketConnection(receive, gone, max_message_size=10)
        with pytest.raises(TypeError, match="str or bytes"):
            await ws.send(42)
        with pytest.raises(WebsocketClosed):
            await ws.send(bytearray(b"x"))
        assert ws.closed
        await ws.close()  # already closed: nothing sent

    run(converse())


def test_close_tolerates_a_vanished_peer():
    async def gone(message):
        raise RuntimeError("closed")

    async def converse():
        ws = WebsocketConnection(None, gone, max_message_size=10)
        await ws.close(1001)
        assert ws.close_code == 1001

    run(converse())


def test_fake_websocket_for_unit_tests():
    ws = FakeWebsocket(["one", b"two"])
    run(echo(ws))
    assert ws.sent == ["one", b"two"]
    run(ws.close())
    assert ws.closed
    with pytest.raises(WebsocketClosed):
        run(ws.send("x"))


def test_class_based_view_send_before_open_is_an_error():
    view = Shout(None, DummyRequest())
    with pytest.raises(RuntimeError, match="before the websocket was opened"):
        run(view.send("too early"))


def test_base_view_hooks_do_nothing_by_default():
    ws = FakeWebsocket(["ignored"])
    run(WebsocketConnectionView(None, DummyRequest())(ws))
    assert ws.sent == []
