"""The tutorial's views: a home page that can be told to wait, and a websocket echo."""

import asyncio
import re

from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.connection import WebsocketConnection
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.view import view_config

DEFAULT_SLEEP = 0.1
"""Seconds the home page waits when the request does not say."""

SLEEP_SYNTAX = re.compile(r"[0-9]{1,10}(\.[0-9]{1,10})?")
"""What ``sleep`` may look like: plain digits, such as ``2`` or ``0.25``."""


@view_config(route_name="home", renderer="aiotutorial:templates/home.jinja2")
async def home(request: Request) -> dict[str, str]:
    """Wait as long as the ``sleep`` parameter asks, without blocking, then render."""
    wait = sleep_seconds(request)
    await asyncio.sleep(wait)
    return {"title": "aiotutorial websocket test"}


def sleep_seconds(request: Request) -> float:
    """Read ``sleep`` from the query string or the body, in seconds.

    It must be given at most once, as plain digits, from 0 to the
    ``aiotutorial.max_sleep`` setting. Anything else is refused with a 400: ``nan``,
    ``inf`` or ``1e308``, which would hold a request forever, ``-1``, ``0x10``, a
    value sent twice, kilobytes of digits, bytes that are not UTF-8.
    """
    cap = request.registry.settings["aiotutorial.max_sleep"]
    try:
        values = [value for name, value in request.params.items() if name == "sleep"]
    except UnicodeDecodeError:  # the query string or the form is not UTF-8
        raise sleep_refused(cap) from None
    if not values:
        return DEFAULT_SLEEP
    if (
        len(values) > 1
        or not SLEEP_SYNTAX.fullmatch(values[0])
        or float(values[0]) > cap
    ):
        raise sleep_refused(cap)
    return float(values[0])


def sleep_refused(cap: float) -> HTTPBadRequest:
    """The 400 for a ``sleep`` the page does not take, saying what it takes.

    Made only when it is raised: a response object costs time to build, and most
    requests never need this one.
    """
    return HTTPBadRequest(
        text=f"sleep must be a number of seconds from 0 to {cap:g}\n",
        content_type="text/plain",
    )


@view_config(route_name="echo", mapper=WebsocketMapper)
async def echo(ws: WebsocketConnection) -> None:
    """Send every message straight back, until the client closes the socket."""
    while True:
        message = await ws.recv()
        if message is None:
            break
        await ws.send(message)
