"""The tutorial's views: a home page that can be told to wait, and a websocket echo.

The echo answers signed-in players only, and says who sent each line.
"""

import asyncio
import re
from typing import Any

from aiopyramid.security import get_identity
from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.view import WebsocketConnectionView
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from aiotutorial.db import unit_of_work
from aiotutorial.models import SignIn
from aiotutorial.security import Player
from aiotutorial.sockets import SIGNED_OUT, open_sockets

DEFAULT_SLEEP = 0.1
"""Seconds the home page waits when the request does not say."""

SLEEP_SYNTAX = re.compile(r"[0-9]{1,10}(\.[0-9]{1,10})?")
"""What ``sleep`` may look like: plain digits, such as ``2`` or ``0.25``."""


# A POST here only says how long to wait, and changes nothing: no CSRF token needed.
@view_config(
    route_name="home",
    renderer="aiotutorial:templates/home.jinja2",
    require_csrf=False,
)
async def home(request: Request) -> dict[str, Any]:
    """Wait as long as the ``sleep`` parameter asks, without blocking, then render."""
    wait = sleep_seconds(request)
    await asyncio.sleep(wait)
    return {
        "title": "aiotutorial websocket test",
        "player": await get_identity(request),
    }


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


@view_config(route_name="echo", mapper=WebsocketMapper, permission="play")
class Echo(WebsocketConnectionView):
    """Send every message back with its sender's name, while the player is signed in.

    The handshake needs the ``play`` permission, so ``on_open`` always has a player.
    """

    async def on_open(self) -> None:
        self.player: Player = await get_identity(self.request)
        assert self.ws is not None
        open_sockets(self.request).add(self.player.sign_in, self.ws)

    async def on_message(self, message: str | bytes) -> None:
        assert self.ws is not None
        if not await self.still_signed_in():  # signed out, maybe on another worker
            await self.ws.close(SIGNED_OUT, "signed out")
            return
        if isinstance(message, str):
            await self.send(f"{self.player.username}: {message}")
        else:
            await self.send(message)

    async def on_close(self) -> None:
        assert self.ws is not None
        open_sockets(self.request).remove(self.player.sign_in, self.ws)

    async def still_signed_in(self) -> bool:
        """Whether the player's sign-in is still there: one short unit of work."""
        async with unit_of_work(self.request) as session:
            query = select(SignIn.id).where(SignIn.id == self.player.sign_in)
            return await session.scalar(query) is not None
