"""A tween that awaits I/O, and a helper that both plain code and coroutines can call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.helpers import synchronize

FLAGS = {"maintenance": ""}
"""A pretend remote flag store: a non-empty message turns maintenance on."""


# [start helper]
@synchronize(strict=False)
async def maintenance_message() -> str:
    """Ask the (pretend) flag service whether the site is down for maintenance."""
    await asyncio.sleep(0.001)  # a request to the flag service, in real life
    return FLAGS["maintenance"]
    # [end helper]


# [start tween]
def maintenance_tween_factory(
    handler: Callable[[Request], Response], registry: Registry
) -> Callable[[Request], Response]:
    """Answer 503 while the flag service says the site is in maintenance."""

    def maintenance_tween(request: Request) -> Response:
        # Tweens are plain functions, run in the request greenlet: call, don't await.
        message = maintenance_message()
        if message and request.path != "/status":
            return Response(message, status=503)
        return handler(request)

    return maintenance_tween
    # [end tween]


# [start view]
async def status(request: Request) -> Response:
    """In a coroutine, the same helper returns a coroutine: await it."""
    message = await maintenance_message()
    return Response(f"maintenance: {message or 'no'}")
    # [end view]


async def home(request: Request) -> Response:
    """An ordinary page, hidden behind the tween during maintenance."""
    return Response("welcome")


def make_app() -> Router:
    """The maintenance tween in front of two coroutine views."""
    with Configurator() as config:
        config.include("aiopyramid")
        config.add_tween("docs.guide.examples.tweens.maintenance_tween_factory")
        config.add_route("home", "/")
        config.add_view(home, route_name="home")
        config.add_route("status", "/status")
        config.add_view(status, route_name="status")
    return config.make_wsgi_app()
