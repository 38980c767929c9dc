"""What a refused request gets: a page sends the visitor to sign in, the API says why.

Pyramid calls these views for its own refusals: :func:`forbidden` when a view's
permission is missing, :func:`bad_csrf_token` when a request that may change
something comes without the session's CSRF token.
"""

from aiopyramid.security import get_identity
from aiopyramid.websocket.environ import WEBSOCKET_ENVIRON_KEY
from pyramid.csrf import BadCSRFToken
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPForbidden,
    HTTPSeeOther,
    HTTPUnauthorized,
)
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import forbidden_view_config, view_config

from aiotutorial.api import refusal


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API, which answers in JSON only."""
    return bool(request.path.startswith("/api/"))


def page(request: Request, status: int, title: str, text: str) -> Response:
    """A page saying why the request was refused."""
    values = {"title": title, "text": text}
    response = render_to_response("templates/refused.jinja2", values, request=request)
    response.status_code = status
    return response


@forbidden_view_config()
async def forbidden(request: Request) -> Response:
    """401 or 403 for the API; for pages, sign in first, or 403 if signed in already."""
    if WEBSOCKET_ENVIRON_KEY in request.environ:
        return HTTPForbidden()  # the websocket handshake is refused
    signed_in = await get_identity(request) is not None
    if is_api(request) and not signed_in:
        return refusal(HTTPUnauthorized, "sign in first")
    if is_api(request):
        return refusal(HTTPForbidden, "you may not do that")
    if not signed_in:
        came_from = request.path_qs
        where = request.route_path("sign_in", _query={"came_from": came_from})
        return HTTPSeeOther(location=where)
    return page(request, 403, "Not for you", "Your account may not open this page.")


@view_config(context=BadCSRFToken)
async def bad_csrf_token(request: Request) -> Response:
    """400: the form or the API call came without the session's CSRF token."""
    if is_api(request):
        message = "the X-CSRF-Token header must hold the session's token"
        return refusal(HTTPBadRequest, message)
    return page(
        request,
        400,
        "Please try again",
        "This form is too old, or came from another site. "
        "Reload the page and send it again.",
    )
