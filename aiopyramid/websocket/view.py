"""A class-based websocket view with open, message and close hooks."""

from __future__ import annotations

from typing import Any

from aiopyramid.websocket.connection import WebsocketConnection
from aiopyramid.websocket.exceptions import WebsocketNotOpen

__all__ = ["WebsocketConnectionView"]


class WebsocketConnectionView:
    """Subclass and override :meth:`on_open`, :meth:`on_message` and :meth:`on_close`.

    Configure the subclass with :class:`~aiopyramid.websocket.config.WebsocketMapper`.
    It reads messages until the peer closes, handing each to :meth:`on_message`;
    :meth:`on_close` runs however the conversation ends.
    """

    def __init__(self, context: Any, request: Any) -> None:
        self.context = context
        self.request = request
        self.ws: WebsocketConnection | None = None

    async def __call__(self, ws: WebsocketConnection) -> None:
        """Run the conversation on ``ws``; called by the mapper after the handshake."""
        self.ws = ws
        await self.on_open()
        try:
            while (message := await ws.recv()) is not None:
                await self.on_message(message)
        finally:
            await self.on_close()

    async def on_open(self) -> None:
        """Called once the socket is open, before the first message."""

    async def on_message(self, message: str | bytes) -> None:
        """Called with every message the peer sends."""

    async def on_close(self) -> None:
        """Called once the conversation is over, whichever side ended it."""

    async def send(self, message: str | bytes) -> None:
        """Send ``message`` to the peer (text for ``str``, binary for ``bytes``)."""
        if self.ws is None:
            raise WebsocketNotOpen("send() called before the websocket was opened")
        await self.ws.send(message)
