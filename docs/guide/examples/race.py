"""Send a slow request and a quick one to an application at (almost) the same time.

This is how the guide shows, in-process, whether one request can hold up another:
both requests go through :class:`aiopyramid.asgi.ASGIApplication` on one event loop,
exactly as a server's worker would pass them, and we note when each one finished.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiopyramid.asgi import ASGIApplication


async def get(app: ASGIApplication, path: str) -> str:
    """Send ``GET path`` to ``app`` over ASGI and return the response body as text."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "query_string": query.encode("latin-1"),
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
    }
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(body).decode("utf-8")


def finish_times(
    wsgi_app: Any,
    slow: str,
    quick: str,
    head_start: float = 0.2,
) -> dict[str, float]:
    """Start ``slow``, then ``quick`` ``head_start`` seconds later; say when each ended.

    Times are in seconds from the moment ``slow`` was sent.
    """
    app = ASGIApplication(wsgi_app)

    async def main() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        finished: dict[str, float] = {}

        async def timed(path: str) -> None:
            await get(app, path)
            finished[path] = loop.time() - started

        slow_task = asyncio.create_task(timed(slow))
        await asyncio.sleep(head_start)
        await timed(quick)
        await slow_task
        return finished

    return asyncio.run(main())


def race(wsgi_app: Any, slow: str, quick: str) -> None:
    """Print whether ``quick`` was answered while ``slow`` was still running."""
    finished = finish_times(wsgi_app, slow, quick)
    if finished[quick] < finished[slow]:
        print(f"{quick} answered while {slow} was still running")
    else:
        print(f"{quick} answered only after {slow} had finished")
