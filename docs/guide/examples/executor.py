"""``use_executor``: call blocking functions from coroutines without blocking the loop."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.helpers import use_executor


# [start default]
@use_executor
def read_template(name: str) -> str:
    """Blocking file I/O, turned into a coroutine function that runs in a thread."""
    return f"<template {name}> read in thread {threading.current_thread().name}"
    # [end default]


# [start own_pool]
# CPU-heavy hashing gets a small pool of its own, so it cannot take every thread
# of the loop's default executor away from the legacy views.
HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hashing")


@use_executor(executor=HASHING)
def hash_password(password: str, salt: bytes) -> str:
    """Deliberately slow, blocking key derivation."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000).hex()
    return f"hash {digest[:8]}... computed in thread {threading.current_thread().name}"


async def sign_up(request: Request) -> Response:
    """A coroutine view awaiting both blocking helpers."""
    stored = await hash_password(request.params["password"], salt=b"guide")
    page = await read_template("welcome.html")
    return Response(f"{stored}\n{page}")
    # [end own_pool]


def make_app() -> Router:
    """One coroutine view that awaits blocking code through ``use_executor``."""
    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("sign_up", "/sign-up")
        config.add_view(sign_up, route_name="sign_up")
    return config.make_wsgi_app()
