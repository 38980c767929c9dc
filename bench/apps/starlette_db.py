"""Chapter 3's first page of a channel's messages, written in Starlette.

``GET /api/channels/{channel}/messages`` as chapter 3's API answers it without query
parameters: the channel looked up by name (404 if there is none), its newest
``PAGE_SIZE`` messages by the very same SQLAlchemy query, models and engine settings
(imported from chapter 3's project), in one read-only transaction per request, and
the same JSON, ``next`` link included, which :mod:`bench.db_endpoint` checks before
it measures. Query parameters are not read: the benchmark sends none. The database
is the one ``BENCH_DATABASE_URL`` names. Servers load
``bench.apps.starlette_db:application``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aiotutorial.api import PAGE_SIZE, message_json
from aiotutorial.db import make_engine
from aiotutorial.models import Channel, Message
from bench.db_endpoint import DATABASE_VARIABLE

engine = make_engine(os.environ[DATABASE_VARIABLE])
sessions = async_sessionmaker(engine, expire_on_commit=False)


async def list_messages(request: Request) -> JSONResponse:
    """The channel's newest messages, newest first, and the URL of the next page."""
    name = request.path_params["channel"]
    async with sessions() as session, session.begin():
        channel = await session.scalar(select(Channel).where(Channel.name == name))
        if channel is None:
            return JSONResponse({"error": f"there is no channel {name!r}"}, status_code=404)
        query = (
            select(Message)
            .where(Message.channel_id == channel.id)
            .order_by(Message.time.desc(), Message.id.desc())
            .limit(PAGE_SIZE)
        )
        messages = list(await session.scalars(query))
    following = None
    if len(messages) == PAGE_SIZE:
        query_string = urlencode({"before": messages[-1].id, "limit": PAGE_SIZE})
        following = f"{request.url.path}?{query_string}"
    return JSONResponse({"messages": [message_json(m) for m in messages], "next": following})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await engine.dispose()


application = Starlette(
    routes=[Route("/api/channels/{channel}/messages", list_messages, methods=["GET"])],
    lifespan=lifespan,
)
