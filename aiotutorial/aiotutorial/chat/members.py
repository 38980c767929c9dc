"""One player's socket in the chat: the channels it joined, and what it has to send.

Delivering a message to a channel's members must never wait for any one of them:
a player on a slow link would hold up everyone else. So each member has a queue of
frames, of :data:`OUTGOING_FRAMES` at most, and a task of its own that sends them as
fast as the socket takes them. A member whose queue is full cannot keep up: it is
disconnected with :data:`TOO_SLOW`, and its client can connect again and resume.
"""

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from aiopyramid.websocket.connection import WebsocketConnection
from aiopyramid.websocket.exceptions import WebsocketClosed

from aiotutorial.security import Player

log = logging.getLogger(__name__)

OUTGOING_FRAMES = 256
"""The most frames one socket may have waiting to be sent."""
TOO_SLOW = 4002
"""The close code of a socket that could not keep up (4000-4999 are the app's own)."""

_numbers = itertools.count(1)


class Member:
    """One socket of the chat, and its player.

    ``gone`` is called once, if the member is dropped for being too slow, so that the
    hub stops delivering to it at once.
    """

    def __init__(
        self, ws: WebsocketConnection, player: Player, gone: Callable[["Member"], Any]
    ) -> None:
        self.id = str(next(_numbers))
        self.ws, self.player, self.gone = ws, player, gone
        self.queue: asyncio.Queue[str] = asyncio.Queue(OUTGOING_FRAMES)
        self.last_ids: dict[str, int] = {}
        """The joined channels, and the id of the last message sent from each."""
        self.held: dict[str, list[dict[str, Any]]] = {}
        """Live messages of channels whose history is still being sent."""
        self.closed = False
        self.writer = asyncio.create_task(self._write())
        self.closing: asyncio.Task[None] | None = None

    def send(self, frame: dict[str, Any]) -> None:
        """Queue ``frame`` for the socket; a full queue drops the member."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(json.dumps(frame))
        except asyncio.QueueFull:
            self.too_slow()

    def joining(self, channel: str, after: int | None) -> None:
        """Start joining ``channel``: live messages wait until its history is sent."""
        self.last_ids[channel] = after or 0
        self.held[channel] = []

    def history(self, channel: str, message: dict[str, Any]) -> None:
        """Send one of the messages the member missed."""
        if message["id"] > self.last_ids.get(channel, message["id"]):
            self.last_ids[channel] = message["id"]
            self.send({"type": "message", "channel": channel, **message})

    def joined(self, channel: str) -> None:
        """The history is sent: send the live messages that came meanwhile."""
        for message in sorted(self.held.pop(channel, []), key=lambda m: m["id"]):
            self.history(channel, message)

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        """Send a new message of ``channel``, unless this member has it already."""
        held = self.held.get(channel)
        if held is None:
            self.history(channel, message)
        elif len(held) < OUTGOING_FRAMES:
            held.append(message)
        else:
            self.too_slow()

    def left(self, channel: str) -> None:
        self.last_ids.pop(channel, None)
        self.held.pop(channel, None)

    def too_slow(self) -> None:
        """Drop the member: close its socket, saying why, and tell the hub."""
        if self.closed:
            return
        log.info("player %s cannot keep up: disconnecting", self.player.username)
        self.close()
        reason = "too slow: connect again to resume"
        self.closing = asyncio.create_task(self.ws.close(TOO_SLOW, reason))
        self.gone(self)

    def close(self) -> None:
        """Send nothing more."""
        self.closed = True
        self.writer.cancel()

    async def _write(self) -> None:
        """Send the queued frames, one after the other, as the socket takes them."""
        try:
            while True:
                frame = await self.queue.get()
                await self.ws.send(frame)
        except WebsocketClosed:
            self.closed = True
