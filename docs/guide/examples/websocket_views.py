"""Websocket views: a function view, a class-based view, and text delivered as bytes."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyramid.config import Configurator
from pyramid.paster import get_app
from pyramid.router import Router

from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.connection import WebsocketConnection
from aiopyramid.websocket.view import WebsocketConnectionView

INI_PATH = Path(__file__).with_name("websockets.ini")
CLOSED: list[str] = []
"""Who said goodbye, recorded by :class:`Counter` when a conversation ends."""


# [start echo]
async def echo(ws: WebsocketConnection) -> None:
    """Send every message back; ``recv()`` returns None once the client has gone."""
    while (message := await ws.recv()) is not None:
        await ws.send(message)
        # [end echo]


# [start counter]
class Counter(WebsocketConnectionView):
    """Greets, numbers each message, and notes when the conversation ended."""

    async def on_open(self) -> None:
        self.name = self.request.params.get("name", "guest")
        self.count = 0
        await self.send(f"hello {self.name}")

    async def on_message(self, message: str | bytes) -> None:
        self.count += 1
        await self.send(f"{self.count}: {message!r}")

    async def on_close(self) -> None:
        CLOSED.append(f"{self.name} after {self.count} messages")
        # [end counter]


# [start bytes]
class BytesMapper(WebsocketMapper):
    """Deliver text messages as UTF-8 bytes, like binary ones."""

    use_bytes = True


async def checksum(ws: WebsocketConnection) -> None:
    """Answer each message with its CRC-32: bytes in, whatever the frame type."""
    while (message := await ws.recv()) is not None:
        assert isinstance(message, bytes)
        await ws.send(f"{len(message)} bytes, crc32 {zlib.crc32(message):08x}")
        # [end bytes]


# [start main]
def main(global_config: Mapping[str, str], **settings: Any) -> Router:
    """PasteDeploy app factory, used by ``websockets.ini``."""
    with Configurator(settings=settings) as config:
        config.include("aiopyramid")
        config.add_route("echo", "/echo")
        config.add_view(echo, route_name="echo", mapper=WebsocketMapper)
        config.add_route("counter", "/counter")
        config.add_view(Counter, route_name="counter", mapper=WebsocketMapper)
        config.add_route("checksum", "/checksum")
        config.add_view(checksum, route_name="checksum", mapper=BytesMapper)
    return config.make_wsgi_app()
    # [end main]


def load_app() -> Router:
    """The application as ``websockets.ini`` configures it."""
    return get_app(str(INI_PATH))
