"""The chat's protocol: JSON text frames over one websocket per player.

A client sends:

- ``{"type": "join", "channel": NAME, "after": ID}``: start receiving the channel's
  messages. ``after`` is the id of the last message the client has; the server sends
  every message after it first (the latest :data:`HISTORY` if ``after`` is ``null``
  or missing), then each new one as it is posted;
- ``{"type": "say", "channel": NAME, "content": TEXT}``: post to a joined channel;
- ``{"type": "leave", "channel": NAME}``: stop receiving it.

The server sends ``joined``, ``message``, ``presence`` (who is in a channel),
``left``, and ``error`` frames (the hub makes them, :mod:`aiotutorial.chat.hub`). A
frame the server cannot use gets an ``error`` frame that says why; the socket stays
open.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from aiotutorial.models import CHANNEL_NAME_LENGTH, MESSAGE_LENGTH

HISTORY = 50
"""Messages a client joining without ``after`` gets from before it joined."""

CHANNEL_NAME = re.compile(rf"[a-z0-9-]{{1,{CHANNEL_NAME_LENGTH}}}")


class ProtocolError(ValueError):
    """A frame the server cannot use; the message says why, for the client."""


@dataclass(frozen=True)
class Join:
    channel: str
    after: int | None


@dataclass(frozen=True)
class Say:
    channel: str
    content: str


@dataclass(frozen=True)
class Leave:
    channel: str


Request = Join | Say | Leave
"""What a client may ask for."""


def parse(frame: str | bytes) -> Request:
    """The request in ``frame``, or :class:`ProtocolError` saying what is wrong."""
    if isinstance(frame, bytes):
        raise ProtocolError("frames must be text, holding JSON")
    try:
        data = json.loads(frame)
    except ValueError:
        raise ProtocolError("a frame must hold JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("a frame must hold a JSON object")
    kind = data.get("type")
    if kind == "join":
        return Join(channel_of(data), after_of(data))
    if kind == "say":
        return Say(channel_of(data), content_of(data))
    if kind == "leave":
        return Leave(channel_of(data))
    raise ProtocolError("type must be one of: join, say, leave")


def channel_of(data: dict[str, Any]) -> str:
    channel = data.get("channel")
    if not isinstance(channel, str) or not CHANNEL_NAME.fullmatch(channel):
        raise ProtocolError(
            f"channel must be a channel's name: 1 to {CHANNEL_NAME_LENGTH} lower-case "
            "letters, digits or '-'"
        )
    return channel


def after_of(data: dict[str, Any]) -> int | None:
    after = data.get("after")
    if after is None:
        return None
    if type(after) is not int or not 0 <= after < 2**31:  # ids are 32-bit integers
        raise ProtocolError("after must be a message's id, or null")
    return after


def content_of(data: dict[str, Any]) -> str:
    content = data.get("content")
    if not isinstance(content, str) or not 1 <= len(content) <= MESSAGE_LENGTH:
        raise ProtocolError(f"content must be text of 1 to {MESSAGE_LENGTH} characters")
    try:
        content.encode()
    except UnicodeEncodeError:  # JSON allows "\ud800", which is no character at all
        raise ProtocolError("content must be Unicode text") from None
    return content
