"""The view mappers: coroutine views and a legacy blocking view in one application."""

from __future__ import annotations

import asyncio
import threading
import time

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.config import CoroutineMapper, ExecutorMapper


def where() -> str:
    """Name the thread the caller runs in: the event loop's or a worker thread."""
    if threading.current_thread() is threading.main_thread():
        return "the event loop's thread"
    return "an executor thread"


# [start views]
async def hello(request: Request) -> Response:
    """A coroutine view: it awaits, and the event loop serves others meanwhile."""
    await asyncio.sleep(0)
    return Response(f"hello, from {where()}")


def legacy_report(request: Request) -> Response:
    """A legacy view: plain blocking code, such as a call to a synchronous driver."""
    seconds = float(request.params.get("sleep", "1"))
    time.sleep(seconds)
    return Response(f"report ready after {seconds:g} s, built in {where()}")
    # [end views]


# [start strict]
async def strict_hello(request: Request) -> Response:
    """Configured with CoroutineMapper: this view must be a coroutine function."""
    return Response("strictly a coroutine")


def threaded_report(request: Request) -> Response:
    """Configured with ExecutorMapper: this view must not be a coroutine function."""
    return Response(f"built in {where()}")
    # [end strict]


def make_app() -> Router:
    """Both kinds of views side by side, under the default mapper."""
    with Configurator() as config:
        # Including aiopyramid makes CoroutineOrExecutorMapper the default mapper.
        config.include("aiopyramid")
        config.add_route("hello", "/hello")
        config.add_view(hello, route_name="hello")
        config.add_route("report", "/report")
        config.add_view(legacy_report, route_name="report")
        # A mapper can also be chosen per view:
        config.add_route("strict", "/strict")
        config.add_view(strict_hello, route_name="strict", mapper=CoroutineMapper)
        config.add_route("threaded", "/threaded")
        config.add_view(threaded_report, route_name="threaded", mapper=ExecutorMapper)
    return config.make_wsgi_app()


def misconfigured() -> Router:
    """A legacy view registered with CoroutineMapper: the commit refuses it."""
    with Configurator() as config:
        config.add_view(legacy_report, mapper=CoroutineMapper)
    return config.make_wsgi_app()
