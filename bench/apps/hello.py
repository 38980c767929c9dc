"""A bare ASGI app: the fastest anything can answer on the same server.

``GET`` anything answers ``Hello, world!``; a websocket is echoed. Served by
gunicorn's own ``asgi`` worker, it is the ceiling the tutorial's app on aiopyramid's
worker (a subclass of that worker) is compared with. Servers load
``bench.apps.hello:application``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]

BODY = b"Hello, world!"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]


async def application(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer HTTP with a fixed body, echo websocket messages, accept lifespan."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
    elif scope["type"] == "websocket":
        await echo(receive, send)
    elif scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


async def echo(
    receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    """Accept the websocket and send every message back until the client closes."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            reply: Message = {"type": "websocket.send"}
            if message.get("text") is not None:
                reply["text"] = message["text"]
            else:
                reply["bytes"] = message.get("bytes")
            await send(reply)
        else:  # websocket.disconnect
            return
