"""The 2015 chapter's two views, in the coroutine style of Python 3.4 to 3.6.

``@asyncio.coroutine`` and ``yield from`` are what the chapter taught; Python 3.11
removed ``asyncio.coroutine``, which is why this app runs only on its 2017 stack.
The unbounded ``?sleep=`` is the chapter's too: this app is kept as written.
"""

import asyncio

from pyramid.view import view_config

from aiopyramid.websocket.config import WebsocketMapper


@view_config(route_name="home", renderer="aiotutorial:templates/home.jinja2")
@asyncio.coroutine
def home(request):
    wait_time = float(request.params.get("sleep", 0.1))
    yield from asyncio.sleep(wait_time)
    return {"title": "aiotutorial websocket test", "wait_time": wait_time}


@view_config(route_name="echo", mapper=WebsocketMapper)
@asyncio.coroutine
def echo(ws):
    while True:
        message = yield from ws.recv()
        if message is None:
            break
        yield from ws.send(message)
