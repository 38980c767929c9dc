"""The connection object a websocket view talks through."""

from __future__ import annotations

import logging
from typing import Any

from aiopyramid.types import Receive, Send
from aiopyramid.websocket.exceptions import WebsocketClosed

__all__ = [
    "GOING_AWAY",
    "INTERNAL_ERROR",
    "MESSAGE_TOO_BIG",
    "NORMAL_CLOSURE",
    "WebsocketConnection",
]

_log = logging.getLogger(__name__)

NORMAL_CLOSURE = 1000
"""Close code of a conversation that ended as planned (what ``close()`` sends by default)."""
GOING_AWAY = 1001
"""Close code sent to open websockets when the server shuts down."""
INTERNAL_ERROR = 1011
"""Close code sent when the view failed with an exception."""
MESSAGE_TOO_BIG = 1009
"""Close code sent when a peer's message exceeds the configured maximum size."""


def _size(message: str | bytes) -> int:
    if isinstance(message, bytes) or message.isascii():
        return len(message)
    return len(message.encode("utf-8"))


class WebsocketConnection:
    """One websocket, seen by the application: receive, send, close.

    Built by the ASGI adapter for every websocket handshake; a view configured with
    :class:`~aiopyramid.websocket.config.WebsocketMapper` receives it after the
    handshake was accepted.
    """

    def __init__(
        self,
        receive: Receive,
        send: Send,
        *,
        max_message_size: int,
        subprotocols: list[str] | None = None,
    ) -> None:
        self._receive = receive
        self._send = send
        self.max_message_size = max_message_size
        """Messages larger than this many bytes close the socket with code 1009."""
        self.subprotocols = subprotocols or []
        """The subprotocols the client offered, in its order of preference."""
        self.use_bytes = False
        """When true, :meth:`recv` returns text messages as UTF-8 ``bytes``."""
        self.accepted = False
        """Whether the handshake was accepted."""
        self.closed = False
        """Whether the socket is closed, by either side."""
        self.close_code: int | None = None
        """The close code, once the socket is closed."""

    async def accept(self, subprotocol: str | None = None) -> None:
        """Complete the handshake, optionally choosing one of the offered subprotocols."""
        message: dict[str, Any] = {"type": "websocket.accept"}
        if subprotocol is not None:
            message["subprotocol"] = subprotocol
        await self._send(message)
        self.accepted = True

    async def recv(self) -> str | bytes | None:
        """Wait for the next message: ``str`` for text, ``bytes`` for binary data.

        Returns ``None`` once the socket is closed; a message over
        :attr:`max_message_size` closes it with code 1009 and also returns ``None``.
        """
        if self.closed:
            return None
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            self.close_code = message.get("code", NORMAL_CLOSURE)
            return None
        text = message.get("text")
        data: str | bytes = text if text is not None else message.get("bytes") or b""
        if _size(data) > self.max_message_size:
            _log.info(
                "closing websocket: message of %d bytes exceeds %d",
                _size(data),
                self.max_message_size,
            )
            await self.close(MESSAGE_TOO_BIG, "message too big")
            return None
        if self.use_bytes and isinstance(data, str):
            return data.encode("utf-8")
        return data

    async def send(self, message: str | bytes) -> None:
        """Send ``message`` as a text frame (``str``) or a binary frame (``bytes``).

        Raises :class:`~aiopyramid.websocket.exceptions.WebsocketClosed` if the socket
        is closed.
        """
        if self.closed:
            raise WebsocketClosed("the websocket is closed")
        if isinstance(message, str):
            frame: dict[str, Any] = {"type": "websocket.send", "text": message}
        elif isinstance(message, bytes | bytearray | memoryview):
            frame = {"type": "websocket.send", "bytes": bytes(message)}
        else:
            raise TypeError(f"websocket messages are str or bytes, not {type(message).__name__}")
        try:
            await self._send(frame)
        except (OSError, RuntimeError) as error:
            self.closed = True
            raise WebsocketClosed("the websocket was closed by the peer") from error

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the socket with ``code`` and ``reason``; does nothing if already closed."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except (OSError, RuntimeError):
            _log.debug("websocket already gone while closing", exc_info=True)
