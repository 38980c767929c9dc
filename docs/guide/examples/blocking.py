"""What happens when a coroutine view blocks the event loop, and two ways to avoid it."""

from __future__ import annotations

import asyncio
import time

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.helpers import use_executor


def blocking_lookup(seconds: float) -> str:
    """Stands in for a blocking call: a synchronous database driver, ``requests``..."""
    time.sleep(seconds)
    return f"looked up in {seconds:g} s"


# [start stalls]
async def stalls_the_loop(request: Request) -> Response:
    """WRONG: a blocking call inside a coroutine view holds up every request."""
    answer = blocking_lookup(float(request.params["sleep"]))
    return Response(answer)
    # [end stalls]


# [start awaits]
async def awaits(request: Request) -> Response:
    """Right: the coroutine awaits, so the loop serves other requests meanwhile."""
    seconds = float(request.params["sleep"])
    await asyncio.sleep(seconds)  # an asynchronous client's call, in a real view
    return Response(f"looked up in {seconds:g} s")
    # [end awaits]


# [start offloads]
lookup_in_thread = use_executor(blocking_lookup)


async def offloads(request: Request) -> Response:
    """Right too: the blocking call runs in an executor thread, and the view awaits it."""
    answer = await lookup_in_thread(float(request.params["sleep"]))
    return Response(answer)
    # [end offloads]


async def quick(request: Request) -> Response:
    """A view that answers at once, if the event loop lets it."""
    return Response("quick")


def make_app() -> Router:
    """The three slow views, and a quick one to race them against."""
    with Configurator() as config:
        config.include("aiopyramid")
        for view in (stalls_the_loop, awaits, offloads, quick):
            path = view.__name__.replace("_", "-")
            config.add_route(view.__name__, f"/{path}")
            config.add_view(view, route_name=view.__name__)
    return config.make_wsgi_app()
