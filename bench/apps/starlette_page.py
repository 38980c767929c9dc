"""The tutorial's chapter-1 page and websocket echo, written in Starlette.

What a developer starting an asynchronous Python web application today might write
instead of Pyramid on aiopyramid. It does the same work as the tutorial's app: the
same template file, rendered by Jinja2 with the same settings as pyramid_jinja2
(so the page is byte for byte the tutorial's, which ``bench/test_peers.py``
checks), the same ``?sleep=`` rules and the same limit (read from the tutorial's
ini file), and ``/echo`` sends every message back. The one difference a reader could
see: ``sleep`` is read from the query string only, as Starlette keeps the body apart;
the benchmarks send nothing else. Servers load
``bench.apps.starlette_page:application``.
"""

from __future__ import annotations

import asyncio

from jinja2 import Environment, FileSystemLoader
from pyramid.paster import get_appsettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from aiotutorial import read_max_sleep
from aiotutorial.views import DEFAULT_SLEEP, SLEEP_SYNTAX
from bench.apps.blocking import TITLE
from bench.profiles import TUTORIAL_INI, TUTORIAL_PROJECT

MAX_SLEEP = read_max_sleep(get_appsettings(str(TUTORIAL_INI)))
"""The tutorial's ``aiotutorial.max_sleep``: the longest ``?sleep=`` allowed."""
REFUSAL = f"sleep must be a number of seconds from 0 to {MAX_SLEEP:g}\n"
"""The tutorial's answer to a ``sleep`` it refuses, with status 400."""

TEMPLATES = Environment(
    loader=FileSystemLoader(TUTORIAL_PROJECT / "aiotutorial" / "templates"),
    autoescape=True,  # as pyramid_jinja2 renders .jinja2 files
)
PAGE = TEMPLATES.get_template("home.jinja2")


class Routes:
    """What the tutorial's template asks of ``request``: the path of a route."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def route_path(self, name: str) -> str:
        return str(self.request.app.url_path_for(name))


def sleep_seconds(request: Request) -> float | None:
    """``sleep`` from the query string, in seconds; None if the tutorial refuses it."""
    values = [value for name, value in request.query_params.multi_items() if name == "sleep"]
    if not values:
        return DEFAULT_SLEEP
    if len(values) > 1 or not SLEEP_SYNTAX.fullmatch(values[0]):
        return None
    seconds = float(values[0])
    return seconds if seconds <= MAX_SLEEP else None


async def home(request: Request) -> Response:
    """Wait as long as ``sleep`` asks, without blocking, then render the page."""
    wait = sleep_seconds(request)
    if wait is None:
        return PlainTextResponse(REFUSAL, status_code=400)
    await asyncio.sleep(wait)
    return HTMLResponse(PAGE.render(title=TITLE, request=Routes(request)))


async def echo(websocket: WebSocket) -> None:
    """Send every message straight back, until the client closes the socket."""
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message["bytes"])


application = Starlette(
    routes=[Route("/", home, name="home"), WebSocketRoute("/echo", echo, name="echo")]
)
