"""The pages where players sign up, sign in, see their account and sign out.

Every form posts its CSRF token (see :mod:`aiotutorial.security`). A form that comes
back with a mistake is shown again, with the status that says what was wrong: *422*
for a field that is not acceptable, *409* for a name that is taken, *401* for a
wrong name or password (the same message for both), *429* after too many failures.
"""

import re
from typing import Any

from aiopyramid.security import get_identity
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from aiotutorial import players
from aiotutorial.security import Player
from aiotutorial.throttle import client, throttle

WRONG = "wrong username or password"
"""The one message for every failed sign-in: it does not say which names exist."""


def field(request: Request, name: str) -> str:
    """The form field ``name``, or "" if the form has none."""
    value = request.POST.get(name, "")
    return value if isinstance(value, str) else ""


LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*")
"""A path on this site: a ``/``, not followed by another ``/`` or a ``\\`` (browsers
read ``//host`` and ``/\\host`` as another site), then only the characters URLs are
made of."""


def safe_destination(request: Request, came_from: str) -> str:
    """Where to go after signing in: ``came_from`` if it is a path of this site.

    Anything else, such as ``https://elsewhere.example/``, goes to the home page:
    otherwise a link to this site's sign-in page could send its visitors anywhere.
    """
    if LOCAL_PATH.fullmatch(came_from):
        return came_from
    return str(request.route_path("home"))


@view_config(
    route_name="sign_up", request_method="GET", renderer="templates/sign_up.jinja2"
)
async def sign_up_form(request: Request) -> dict[str, Any]:
    return {"error": None, "username": ""}


@view_config(
    route_name="sign_up", request_method="POST", renderer="templates/sign_up.jinja2"
)
async def sign_up(request: Request) -> dict[str, Any] | Response:
    """Register a player from the form, sign them in, and go to the home page."""
    username, password = field(request, "username"), field(request, "password")
    problem = players.username_problem(username) or players.password_problem(password)
    if problem:
        request.response.status_code = 422
        return {"error": problem, "username": username}
    if not await players.register(request, username, password):
        request.response.status_code = 409
        return {"error": f"the username {username!r} is taken", "username": username}
    await players.sign_in(request, username)
    return HTTPSeeOther(location=request.route_path("home"))


@view_config(
    route_name="sign_in", request_method="GET", renderer="templates/sign_in.jinja2"
)
async def sign_in_form(request: Request) -> dict[str, Any]:
    return {
        "error": None,
        "username": "",
        "came_from": request.GET.get("came_from", ""),
    }


@view_config(
    route_name="sign_in", request_method="POST", renderer="templates/sign_in.jinja2"
)
async def sign_in(request: Request) -> dict[str, Any] | Response:
    """Check the name and password; on success start a sign-in and go on."""
    username, password = field(request, "username"), field(request, "password")
    came_from = field(request, "came_from")
    page = {"error": WRONG, "username": username, "came_from": came_from}
    limit, who = throttle(request), client(request)
    wait = limit.wait(who)
    if wait:
        request.response.status_code = 429
        request.response.headers["Retry-After"] = str(int(wait) + 1)
        return {**page, "error": "too many failed sign-ins: try again later"}
    attempt = limit.attempt(who)  # failed, unless the password turns out right
    if not await players.password_is_right(request, username, password):
        request.response.status_code = 401
        return page
    limit.succeeded(who, attempt)
    await players.sign_in(request, username)
    return HTTPSeeOther(location=safe_destination(request, came_from))


@view_config(route_name="sign_out", request_method="POST")
async def sign_out(request: Request) -> Response:
    """End the sign-in, and go to the home page."""
    player: Player | None = await get_identity(request)
    if player is not None:
        await players.sign_out(request, player)
    return HTTPSeeOther(location=request.route_path("home"))


@view_config(
    route_name="account", permission="play", renderer="templates/account.jinja2"
)
async def account(request: Request) -> dict[str, Any]:
    """The signed-in player's page; others are sent to sign in first."""
    player: Player = await get_identity(request)
    return {"player": player}
