"""The game's JSON API: players register, sign in and out, and chat in channels.

Every answer is JSON. A request the API cannot serve gets the most precise 4xx
status there is, with ``{"error": ...}`` saying why (and ``"field"`` naming the
field at fault), and writes nothing: the transaction tween (:mod:`aiotutorial.db`)
rolls back whatever a failed request began. A request that may change something
needs the session's CSRF token in its ``X-CSRF-Token`` header: ``GET /api/session``
gives it.
"""

import json
from functools import partial
from typing import Any

from aiopyramid.security import get_identity
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPConflict,
    HTTPError,
    HTTPNoContent,
    HTTPNotFound,
    HTTPTooManyRequests,
    HTTPUnauthorized,
    HTTPUnprocessableEntity,
)
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import and_, or_, select

from aiotutorial import messages, players
from aiotutorial.chat import hub
from aiotutorial.db import after_commit
from aiotutorial.messages import message_json
from aiotutorial.models import Channel, Message
from aiotutorial.security import Player
from aiotutorial.throttle import client, throttle

MESSAGE_LENGTHS = (1, 1000)
PAGE_SIZE = 20
"""Messages per page when the request does not say; at most 100."""


def refusal(error: type[HTTPError], message: str, **details: str) -> HTTPError:
    """An error response whose JSON body says what went wrong."""
    body = json.dumps({"error": message, **details})
    return error(body=body, content_type="application/json", charset="utf-8")


def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    try:
        data = request.json_body
    except (ValueError, LookupError):  # not JSON, or in a charset Python cannot read
        data = None
    if not isinstance(data, dict):
        raise refusal(HTTPBadRequest, "the request body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str) -> str:
    """The string ``data[name]``, or *422* naming the field."""
    if name not in data:
        raise refusal(HTTPUnprocessableEntity, f"{name} is missing", field=name)
    value = data[name]
    if not isinstance(value, str):
        raise refusal(HTTPUnprocessableEntity, f"{name} must be a string", field=name)
    try:
        value.encode()
    except UnicodeEncodeError:  # JSON allows "\ud800", which is no character at all
        problem = f"{name} must be Unicode text"
        raise refusal(HTTPUnprocessableEntity, problem, field=name) from None
    return value


def checked(value: str, name: str, problem: str | None) -> str:
    """``value``, unless ``problem`` says what is wrong with it: then *422*."""
    if problem:
        raise refusal(HTTPUnprocessableEntity, problem, field=name)
    return value


@view_config(route_name="users", request_method="POST", renderer="json")
async def register(request: Request) -> dict[str, str]:
    """Create a player from ``{"username": ..., "password": ...}``: *201 Created*."""
    data = json_object(request)
    name = text_field(data, "username")
    username = checked(name, "username", players.username_problem(name))
    word = text_field(data, "password")
    password = checked(word, "password", players.password_problem(word))
    if not await players.register(request, username, password):
        raise refusal(HTTPConflict, f"the username {username!r} is taken")
    request.response.status_code = 201
    return {"username": username}


@view_config(route_name="session", request_method="GET", renderer="json")
async def show_session(request: Request) -> dict[str, Any]:
    """Who is signed in, and the CSRF token that requests which change things need."""
    player: Player | None = await get_identity(request)
    username = None if player is None else player.username
    return {"player": username, "csrf_token": get_csrf_token(request)}


@view_config(route_name="session", request_method="POST", renderer="json")
async def sign_in(request: Request) -> dict[str, Any]:
    """Sign in with ``{"username": ..., "password": ...}``; the session is new."""
    data = json_object(request)
    username, password = text_field(data, "username"), text_field(data, "password")
    limit, who = throttle(request), client(request)
    wait = limit.wait(who)
    if wait:
        error = refusal(
            HTTPTooManyRequests, "too many failed sign-ins: try again later"
        )
        error.headers["Retry-After"] = str(int(wait) + 1)
        raise error
    attempt = limit.attempt(who)  # failed, unless the password turns out right
    if not await players.password_is_right(request, username, password):
        raise refusal(HTTPUnauthorized, "wrong username or password")
    limit.succeeded(who, attempt)
    await players.sign_in(request, username)
    return {"player": username, "csrf_token": get_csrf_token(request)}


@view_config(route_name="session", request_method="DELETE", permission="play")
async def sign_out(request: Request) -> Response:
    """End the sign-in: *204 No Content*."""
    await players.sign_out(request, await get_identity(request))
    return HTTPNoContent()


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


@view_config(
    route_name="messages", request_method="POST", renderer="json", permission="play"
)
async def post_message(request: Request) -> dict[str, Any]:
    """Post ``{"content": ...}`` to the channel as the signed-in player: *201*."""
    player: Player = await get_identity(request)
    channel = await find_channel(request)
    content = text_field(json_object(request), "content")
    shortest, longest = MESSAGE_LENGTHS
    if not shortest <= len(content) <= longest:
        problem = f"content must be {shortest} to {longest} characters long"
        raise refusal(HTTPUnprocessableEntity, problem, field="content")
    message = await messages.post(
        request.dbsession, channel.id, player.username, content
    )
    # The chat's members hear of it once it is committed, not before: until then
    # they could not read it, and it might still be rolled back.
    after_commit(request, partial(hub(request).posted, channel.name))
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
