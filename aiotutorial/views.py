"""The tutorial's views: the home page, which can be told to wait, and a websocket echo."""

import asyncio
import math

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.view import view_config

from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.connection import WebsocketConnection

DEFAULT_SLEEP = 0.1
"""Seconds the home page waits when the request does not say."""


@view_config(route_name="home", renderer="aiotutorial:templates/home.jinja2")
async def home(request: Request) -> dict[str, str]:
    """Wait as long as the ``sleep`` parameter asks, without blocking, then render."""
    wait = sleep_seconds(request)
    await asyncio.sleep(wait)
    return {"title": "aiotutorial websocket test"}


def sleep_seconds(request: Request) -> float:
    """Read ``sleep`` from the query string or the body, in seconds.

    Anything but a number from 0 to the ``aiotutorial.max_sleep`` setting is refused
    with a 400, so that ``nan``, ``inf`` or ``1e308`` cannot hold a request forever.
    """
    raw = request.params.get("sleep")
    if raw is None:
        return DEFAULT_SLEEP
    cap = request.registry.settings["aiotutorial.max_sleep"]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan  # not a number at all: refused below, like "nan"
    if not 0 <= seconds <= cap:  # nan fails this too: it compares false to everything
        raise HTTPBadRequest(
            text=f"sleep must be a number of seconds from 0 to {cap:g}\n",
            content_type="text/plain",
        )
    return seconds


@view_config(route_name="echo", mapper=WebsocketMapper)
async def echo(ws: WebsocketConnection) -> None:
    """Send every message straight back, until the client closes the socket."""
    while True:
        message = await ws.recv()
        if message is None:
            break
        await ws.send(message)
