"""What the tests do again and again: call the JSON API, sign up and sign in."""

import json
from typing import Any

from aiopyramid.testing import AppClient, ClientResponse

PASSWORD = "wonderland"


def csrf_token(client: AppClient) -> str:
    """The session's CSRF token, as ``GET /api/session`` gives it."""
    token: str = client.get("/api/session").json()["csrf_token"]
    return token


def post_json(
    client: AppClient, path: str, data: Any, *, csrf: bool = True, method: str = "POST"
) -> ClientResponse:
    """Send ``data`` as JSON, with the session's CSRF token unless ``csrf`` is off."""
    headers = {"content-type": "application/json"}
    if csrf:
        headers["x-csrf-token"] = csrf_token(client)
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.request(method, path, body=body, headers=headers)


def register(client: AppClient, username: str = "alice") -> None:
    """Create the player ``username`` through the API."""
    data = {"username": username, "password": PASSWORD}
    response = post_json(client, "/api/users", data)
    assert response.status == 201, response.text


def sign_in(client: AppClient, username: str = "alice") -> ClientResponse:
    """Sign ``username`` in through the API: the client keeps the new session."""
    data = {"username": username, "password": PASSWORD}
    return post_json(client, "/api/session", data)


def signed_in(client: AppClient, username: str = "alice") -> AppClient:
    """Register ``username`` and sign them in; the client is theirs from now on."""
    register(client, username)
    response = sign_in(client, username)
    assert response.status == 200, response.text
    return client
