"""Views of the live test app: coroutine, legacy, body, error and websocket views.

Module-level :data:`STATE` lives in the (single) gunicorn worker; ``GET /stats``
shows it, so a test can see side effects (or their absence) from outside.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from typing import Any

import greenlet
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.request import Request
from pyramid.threadlocal import get_current_registry, get_current_request
from pyramid.view import exception_view_config, view_config

from aiopyramid import helpers
from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.connection import WebsocketConnection
from aiopyramid.websocket.view import WebsocketConnectionView

log = logging.getLogger(__name__)

MAX_SLEEP = 5.0
"""The longest ``?sleep=`` the views accept, in seconds."""


class LiveState:
    """What happened in this worker, for ``GET /stats``; thread-safe counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inflight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self.closed: dict[str, dict[str, Any]] = {}
        self.cancelled: list[str] = []

    def enter(self, name: str) -> None:
        with self.lock:
            self.inflight[name] += 1
            self.peak[name] = max(self.peak[name], self.inflight[name])
            self.hits[name] += 1

    def leave(self, name: str) -> None:
        with self.lock:
            self.inflight[name] -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "pid": os.getpid(),
                "inflight": dict(self.inflight),
                "peak": dict(self.peak),
                "hits": dict(self.hits),
                "closed": dict(self.closed),
                "cancelled": list(self.cancelled),
                "request_greenlets": live_request_greenlets(),
            }


def live_request_greenlets() -> int:
    """How many greenlets other than threads' main greenlets are busy in this process.

    In the worker those are aiopyramid's request greenlets: one per request being served
    (idle ones, waiting in the loop thread's pool to serve another request, do not count).
    """
    idle = helpers._pool.idle
    return sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet)
        and obj.parent is not None
        and not obj.dead
        and obj not in idle
    )


STATE = LiveState()


class Gates:
    """Gates that hold requests until a test opens them: ordering without timing.

    ``/gate?token=T`` (a coroutine view) and ``/gate-legacy?token=T`` (a legacy
    view, in an executor thread) wait until ``/release?token=T`` opens gate ``T``;
    once open, it stays open. While they wait, ``/stats`` counts them in flight
    under ``gate:T`` and ``gate_legacy:T``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.coroutine: dict[str, asyncio.Event] = {}
        """Used on the worker's event loop only."""
        self.legacy: dict[str, threading.Event] = {}

    def coroutine_gate(self, token: str) -> asyncio.Event:
        return self.coroutine.setdefault(token, asyncio.Event())

    def legacy_gate(self, token: str) -> threading.Event:
        with self.lock:
            return self.legacy.setdefault(token, threading.Event())

    def open(self, token: str) -> None:
        self.coroutine_gate(token).set()
        self.legacy_gate(token).set()


GATES = Gates()

LEGACY_GATE_TIMEOUT = 60.0
"""The longest a legacy gate holds its executor thread, so a forgotten one cannot
keep the worker from stopping."""


class LiveAppError(Exception):
    """Raised by ``/custom-error``; rendered by the coroutine exception view."""


class UnhandledLiveError(Exception):
    """Raised by ``/unhandled``; no exception view matches it."""


def read_sleep(request: Request) -> float:
    """The ``?sleep=`` seconds: a finite number from 0 to :data:`MAX_SLEEP`, else 400."""
    raw = request.GET.get("sleep", "0")
    try:
        seconds = float(raw)
    except ValueError:
        raise HTTPBadRequest(f"sleep must be a number of seconds, got {raw!r}") from None
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SLEEP):
        raise HTTPBadRequest(f"sleep must be between 0 and {MAX_SLEEP} seconds, got {raw!r}")
    return seconds


def body_digest(body: bytes) -> dict[str, Any]:
    return {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def who_am_i(request: Request) -> dict[str, Any]:
    """What the thread-local API says the current request is, compared with ``request``."""
    current = get_current_request()
    return {
        "value": current.GET.get("value") if current is not None else None,
        "same_request": current is request,
        "same_registry": get_current_registry() is request.registry,
    }


# -- HTTP views -------------------------------------------------------------


@view_config(route_name="sleep", renderer="json")
async def sleep_view(request: Request) -> dict[str, Any]:
    """Coroutine view: waits ``?sleep=`` seconds on the loop; records its cancellation.

    A request that carries ``?token=`` and is cancelled (its client went away)
    leaves that token in ``/stats``'s ``cancelled`` list.
    """
    seconds = read_sleep(request)
    STATE.enter("sleep")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if "token" in request.GET:
            with STATE.lock:
                STATE.cancelled.append(request.GET["token"])
        raise
    finally:
        STATE.leave("sleep")
    return {"slept": seconds, "pid": os.getpid()}


@view_config(route_name="gate", renderer="json")
async def gate_view(request: Request) -> dict[str, Any]:
    """Coroutine view: waits on the loop until gate ``?token=`` opens; records its cancellation."""
    token = request.GET["token"]
    STATE.enter(f"gate:{token}")
    try:
        await GATES.coroutine_gate(token).wait()
    except asyncio.CancelledError:
        with STATE.lock:
            STATE.cancelled.append(token)
        raise
    finally:
        STATE.leave(f"gate:{token}")
    return {"released": token, "pid": os.getpid()}


@view_config(route_name="gate_legacy", renderer="json")
def gate_legacy_view(request: Request) -> dict[str, Any]:
    """Legacy view: blocks its thread until gate ``?token=`` opens (or a minute passes)."""
    token = request.GET["token"]
    STATE.enter(f"gate_legacy:{token}")
    try:
        released = GATES.legacy_gate(token).wait(LEGACY_GATE_TIMEOUT)
    finally:
        STATE.leave(f"gate_legacy:{token}")
    return {
        "released": released,
        "in_main_thread": threading.current_thread() is threading.main_thread(),
    }


@view_config(route_name="release", renderer="json")
async def release_view(request: Request) -> dict[str, Any]:
    """Coroutine view: opens gate ``?token=``, letting every request waiting on it go."""
    GATES.open(request.GET["token"])
    return {"opened": request.GET["token"]}


@view_config(route_name="body", request_method="POST", renderer="json")
async def body_view(request: Request) -> dict[str, Any]:
    """Coroutine view: the request body's length and SHA-256."""
    await asyncio.sleep(0)
    return body_digest(request.body)


@view_config(route_name="body_legacy", request_method="POST", renderer="json")
def body_legacy_view(request: Request) -> dict[str, Any]:
    """Legacy view: the request body's length and SHA-256."""
    return body_digest(request.body)


@view_config(route_name="whoami", renderer="json")
async def whoami_view(request: Request) -> dict[str, Any]:
    """Coroutine view: ``get_current_request()`` after an await, under concurrency."""
    await asyncio.sleep(random.uniform(0, 0.05))
    return who_am_i(request)


@view_config(route_name="whoami_legacy", renderer="json")
def whoami_legacy_view(request: Request) -> dict[str, Any]:
    """Legacy view: ``get_current_request()`` in an executor thread, under concurrency."""
    time.sleep(random.uniform(0, 0.02))
    return who_am_i(request)


@view_config(route_name="boom", renderer="json")
async def boom_view(request: Request) -> dict[str, Any]:
    """Coroutine view that raises ValueError after an await."""
    await asyncio.sleep(0.01)
    raise ValueError(f"boom {request.GET.get('token', '')}")


@view_config(route_name="custom_error", renderer="json")
async def custom_error_view(request: Request) -> dict[str, Any]:
    """Coroutine view that raises :class:`LiveAppError` after an await."""
    await asyncio.sleep(0.01)
    raise LiveAppError(request.GET.get("token", ""))


@view_config(route_name="unhandled", renderer="json")
async def unhandled_view(request: Request) -> dict[str, Any]:
    """Coroutine view that raises an exception no exception view handles."""
    await asyncio.sleep(0.01)
    raise UnhandledLiveError(f"unhandled {request.GET.get('token', '')}")


@view_config(route_name="plain", renderer="json")
async def plain_view(request: Request) -> dict[str, Any]:
    """Plain coroutine view with a side effect (a hit counter)."""
    STATE.enter("plain")
    STATE.leave("plain")
    return {"plain": True}


@view_config(route_name="plain_legacy", renderer="json")
def plain_legacy_view(request: Request) -> dict[str, Any]:
    """Plain legacy view with a side effect (a hit counter)."""
    STATE.enter("plain_legacy")
    STATE.leave("plain_legacy")
    return {"plain": True}


@view_config(route_name="path", renderer="json")
async def path_view(request: Request) -> dict[str, Any]:
    """Coroutine view: how the server's path and query string reached Pyramid."""
    return {
        "rest": request.matchdict["rest"],
        "path_info": request.path_info,
        "script_name": request.script_name,
        "q": request.GET.get("q"),
    }


@view_config(route_name="stats", renderer="json")
async def stats_view(request: Request) -> dict[str, Any]:
    """What happened in this worker so far (see :class:`LiveState`), and its asyncio tasks.

    ``tasks`` counts every task of the worker's loop: gunicorn's (one per open
    connection) and aiopyramid's; this request's own connection is one of them.
    With ``?collect``, garbage is collected first, so that what is counted is what
    is still referenced: a failed request leaves its greenlet in reference cycles
    (Pyramid keeps the exception on the request, whose traceback holds the frames)
    until the garbage collector runs. ``loop`` names the class of the worker's event
    loop.
    """
    if "collect" in request.GET:
        gc.collect()
    loop = type(asyncio.get_running_loop())
    return {
        **STATE.snapshot(),
        "tasks": len(asyncio.all_tasks()),
        "loop": f"{loop.__module__}.{loop.__qualname__}",
    }


# -- exception views ----------------------------------------------------------


@exception_view_config(ValueError, renderer="json")
def value_error_view(exc: ValueError, request: Request) -> dict[str, Any]:
    """Legacy exception view: logs the error with its traceback, answers 500 as JSON."""
    log.error("live app: exception view caught %s", exc, exc_info=request.exc_info)
    request.response.status_int = 500
    return {"handled_by": "value_error_view", "error": str(exc)}


@exception_view_config(LiveAppError, renderer="json")
async def live_app_error_view(exc: LiveAppError, request: Request) -> dict[str, Any]:
    """Coroutine exception view: awaits, then answers 418 as JSON."""
    await asyncio.sleep(0.01)
    request.response.status_int = 418
    return {
        "handled_by": "live_app_error_view",
        "token": str(exc),
        "same_request": get_current_request() is request,
    }


# -- websocket views ----------------------------------------------------------


@view_config(route_name="ws_echo", mapper=WebsocketMapper)
async def echo(ws: WebsocketConnection) -> None:
    """Function websocket view: sends every message back as it came (text or binary)."""
    STATE.enter("ws_echo")
    try:
        while (message := await ws.recv()) is not None:
            await ws.send(message)
    finally:
        STATE.leave("ws_echo")


class BytesMapper(WebsocketMapper):
    """Websocket mapper that delivers text messages as bytes."""

    use_bytes = True


@view_config(route_name="ws_bytes", mapper=BytesMapper)
async def bytes_echo(ws: WebsocketConnection) -> None:
    """Sends back a description of each message, then the message itself."""
    while (message := await ws.recv()) is not None:
        await ws.send(f"{type(message).__name__} {len(message)}")
        await ws.send(message)


@view_config(route_name="ws_class", mapper=WebsocketMapper)
class ShoutView(WebsocketConnectionView):
    """Class-based websocket view: greets, shouts messages back, records its closing."""

    messages = 0

    async def on_open(self) -> None:
        await self.send(f"welcome {self.request.GET.get('id', '')}")

    async def on_message(self, message: str | bytes) -> None:
        self.messages += 1
        await self.send(message.upper())

    async def on_close(self) -> None:
        client_id = self.request.GET.get("id")
        log.info("class view %s closed after %d messages", client_id, self.messages)
        with STATE.lock:
            STATE.closed[self.request.GET.get("id", "")] = {
                "messages": self.messages,
                "same_request": get_current_request() is self.request,
            }


@view_config(route_name="ws_close", mapper=WebsocketMapper)
async def ws_close(ws: WebsocketConnection) -> None:
    """Websocket view that closes with the code and reason the client asks for."""
    request = await ws.recv()
    if isinstance(request, str):
        code, _, reason = request.partition(" ")
        await ws.send("bye")
        await ws.close(int(code), reason)


@view_config(route_name="ws_boom", mapper=WebsocketMapper)
async def ws_boom(ws: WebsocketConnection) -> None:
    """Websocket view that raises after the first message (the socket closes with 1011)."""
    await ws.recv()
    raise RuntimeError("websocket view failed on purpose")
