"""Call an ASGI application in-process, as a server would, with nothing but aiopyramid."""

from __future__ import annotations

from aiopyramid.asgi import ASGIApplication
from aiopyramid.types import Message

__all__ = ["asgi_get"]


async def asgi_get(app: ASGIApplication, path: str) -> bytes:
    """GET ``path`` (with its query string, if any) from ``app`` in-process; return the body."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": route,
        "query_string": query.encode(),
        "headers": [],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return b"".join(message.get("body", b"") for message in sent)
