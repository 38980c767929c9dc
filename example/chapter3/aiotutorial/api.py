"""The game's JSON API: players register, and chat in channels.

Every answer is JSON. A request the API cannot serve gets the most precise 4xx
status there is, with ``{"error": ...}`` saying why (and ``"field"`` naming the
field at fault), and writes nothing: the transaction tween (:mod:`aiotutorial.db`)
rolls back whatever a failed request began.
"""

import json
import re
from datetime import UTC
from typing import Any

from aiopyramid.helpers import use_executor
from pyramid.authentication import extract_http_basic_credentials
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPConflict,
    HTTPError,
    HTTPNotFound,
    HTTPUnauthorized,
    HTTPUnprocessableEntity,
)
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from aiotutorial.db import unit_of_work
from aiotutorial.models import USERNAME_LENGTH, Channel, Message, User
from aiotutorial.passwords import hash_password, verify_password

USERNAME = re.compile(r"[A-Za-z0-9_-]+")
PASSWORD_LENGTHS = (8, 200)
MESSAGE_LENGTHS = (1, 1000)
PAGE_SIZE = 20
"""Messages per page when the request does not say; at most 100."""

# Hashing takes tens of milliseconds of CPU: run it in a thread, off the event loop.
hash_in_thread = use_executor(hash_password)
verify_in_thread = use_executor(verify_password)


def refusal(error: type[HTTPError], message: str, **details: str) -> HTTPError:
    """An error response whose JSON body says what went wrong."""
    body = json.dumps({"error": message, **details})
    return error(body=body, content_type="application/json", charset="utf-8")


def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    try:
        data = request.json_body
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise refusal(HTTPBadRequest, "the request body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, lengths: tuple[int, int]) -> str:
    """The string ``data[name]``, whose length must lie within ``lengths``."""
    if name not in data:
        raise refusal(HTTPUnprocessableEntity, f"{name} is missing", field=name)
    value = data[name]
    if not isinstance(value, str):
        raise refusal(HTTPUnprocessableEntity, f"{name} must be a string", field=name)
    shortest, longest = lengths
    if not shortest <= len(value) <= longest:
        raise refusal(
            HTTPUnprocessableEntity,
            f"{name} must be {shortest} to {longest} characters long",
            field=name,
        )
    return value


@view_config(route_name="users", request_method="POST", renderer="json")
async def register(request: Request) -> dict[str, str]:
    """Create a player from ``{"username": ..., "password": ...}``: *201 Created*."""
    data = json_object(request)
    username = text_field(data, "username", (1, USERNAME_LENGTH))
    if not USERNAME.fullmatch(username):
        raise refusal(
            HTTPUnprocessableEntity,
            "username may only hold letters, digits, '-' and '_'",
            field="username",
        )
    password = text_field(data, "password", PASSWORD_LENGTHS)
    password_hash = await hash_in_thread(password)
    request.dbsession.add(User(username=username, password_hash=password_hash))
    try:
        await request.dbsession.flush()  # the INSERT now, to catch a duplicate here
    except IntegrityError:
        raise refusal(HTTPConflict, f"the username {username!r} is taken") from None
    request.response.status_code = 201
    return {"username": username}


@view_config(route_name="channels", request_method="GET", renderer="json")
async def list_channels(request: Request) -> dict[str, list[dict[str, str]]]:
    """The channels, by name."""
    names = await request.dbsession.scalars(select(Channel.name).order_by(Channel.name))
    return {"channels": [{"name": name} for name in names]}


async def find_channel(request: Request) -> Channel:
    """The channel the URL names, or *404 Not Found*."""
    name = request.matchdict["channel"]
    channel = await request.dbsession.scalar(
        select(Channel).where(Channel.name == name)
    )
    if channel is None:
        raise refusal(HTTPNotFound, f"there is no channel {name!r}")
    return channel


async def authenticated_user(request: Request) -> str:
    """The player whose name and password came with the request (HTTP Basic), or *401*.

    The password hash is read in a short unit of work of its own, which ends before
    the slow check of the password starts: no transaction waits on it.
    """
    credentials = extract_http_basic_credentials(request)
    stored = None
    if credentials is not None:
        async with unit_of_work(request) as session:
            query = select(User.password_hash).where(
                User.username == credentials.username
            )
            stored = await session.scalar(query)
    if stored is None or not await verify_in_thread(credentials.password, stored):
        error = refusal(
            HTTPUnauthorized, "a registered username and its password are needed"
        )
        error.www_authenticate = 'Basic realm="aiotutorial"'
        raise error
    return credentials.username


def message_json(message: Message) -> dict[str, Any]:
    """A message as the API shows it; the time in ISO 8601 format, in UTC."""
    time = message.time
    if time.tzinfo is None:  # SQLite keeps no time zone; the time is UTC (see models)
        time = time.replace(tzinfo=UTC)
    return {
        "id": message.id,
        "author": message.author,
        "time": time.isoformat(),
        "content": message.content,
    }


@view_config(route_name="messages", request_method="POST", renderer="json")
async def post_message(request: Request) -> dict[str, Any]:
    """Post ``{"content": ...}`` to the channel as the authenticated player: *201*."""
    author = await authenticated_user(request)
    channel = await find_channel(request)
    content = text_field(json_object(request), "content", MESSAGE_LENGTHS)
    message = Message(channel_id=channel.id, author=author, content=content)
    request.dbsession.add(message)
    await request.dbsession.flush()  # the database gives the message its id
    request.response.status_code = 201
    return message_json(message)


def query_int(
    request: Request, name: str, default: int | None, largest: int
) -> int | None:
    """The query parameter ``name``: a whole number from 1 to ``largest``, or *400*."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= largest:
        raise refusal(
            HTTPBadRequest,
            f"{name} must be a whole number from 1 to {largest}",
            field=name,
        )
    return int(raw)


@view_config(route_name="messages", request_method="GET", renderer="json")
async def list_messages(request: Request) -> dict[str, Any]:
    """A page of the channel's messages, newest first, and the URL of the next page.

    ``?limit=`` sets the page size; ``?before=ID`` starts after message ``ID``, as
    the ``next`` URL does. Pages are cut by (time, id), not by offset, so messages
    posted meanwhile never shift a page: each message is listed exactly once.
    """
    channel = await find_channel(request)
    limit = query_int(request, "limit", PAGE_SIZE, 100)
    before = query_int(request, "before", None, 2**31 - 1)  # ids are 32-bit integers
    query = select(Message).where(Message.channel_id == channel.id)
    if before is not None:
        anchor = await request.dbsession.get(Message, before)
        if anchor is None or anchor.channel_id != channel.id:
            raise refusal(
                HTTPBadRequest, f"no message {before} in this channel", field="before"
            )
        query = query.where(
            or_(
                Message.time < anchor.time,
                and_(Message.time == anchor.time, Message.id < anchor.id),
            )
        )
    query = query.order_by(Message.time.desc(), Message.id.desc()).limit(limit)
    messages = list(await request.dbsession.scalars(query))
    following = None
    if len(messages) == limit:
        following = request.route_path(
            "messages",
            channel=channel.name,
            _query={"before": messages[-1].id, "limit": limit},
        )
    return {"messages": [message_json(m) for m in messages], "next": following}
