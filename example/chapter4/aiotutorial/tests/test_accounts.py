"""The sign-up, sign-in, account and sign-out pages, through the whole application."""

import re
from urllib.parse import quote

import pytest
from aiopyramid.testing import AppClient, ClientResponse
from pyramid.config import Configurator

from aiotutorial.tests.signing_in import PASSWORD, register, signed_in

WRONG = "wrong username or password"


def form_token(page: ClientResponse) -> str:
    """The CSRF token in the page's form, as a browser would send it back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page should hold a form with a CSRF token"
    return found.group(1)


def location(response: ClientResponse) -> str:
    """Where a redirect goes, as a path when it stays on this site."""
    return response.headers["location"].removeprefix("http://testserver")


def submit(client: AppClient, path: str, **fields: str) -> ClientResponse:
    """Open the page at ``path``, send its form with ``fields``, as a browser does."""
    token = form_token(client.get(path))
    return client.post(path, {"csrf_token": token, **fields})


def test_signing_up_signs_the_player_in(client: AppClient) -> None:
    response = submit(client, "/sign-up", username="alice", password=PASSWORD)
    assert (response.status, location(response)) == (303, "/")
    assert "Signed in as alice." in client.get("/?sleep=0").text


@pytest.mark.parametrize(
    ("username", "password", "status", "error"),
    [
        ("al ice", PASSWORD, 422, "username may only hold letters"),
        ("alice", "short", 422, "password must be 8 to 200 characters long"),
        ("taken", PASSWORD, 409, "the username &#39;taken&#39; is taken"),
    ],
)
def test_a_bad_sign_up_shows_the_form_again_with_why(
    client: AppClient, username: str, password: str, status: int, error: str
) -> None:
    register(client, "taken")
    response = submit(client, "/sign-up", username=username, password=password)
    assert response.status == status
    assert error in response.text
    assert f'value="{username}"' in response.text.replace("&#39;", "'")
    assert client.get("/api/session").json()["player"] is None


def test_a_form_without_its_token_is_refused(client: AppClient) -> None:
    response = client.post("/sign-up", {"username": "alice", "password": PASSWORD})
    assert response.status == 400
    assert "<title>Please try again</title>" in response.text
    assert client.get("/api/session").json()["player"] is None


def test_signing_in(client: AppClient) -> None:
    register(client)
    response = submit(client, "/sign-in", username="alice", password=PASSWORD)
    assert (response.status, location(response)) == (303, "/")
    assert client.get("/api/session").json()["player"] == "alice"


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "not the password"), ("bob", PASSWORD)],
)
def test_a_wrong_name_or_password_gets_one_message(
    client: AppClient, username: str, password: str
) -> None:
    register(client)
    response = submit(client, "/sign-in", username=username, password=password)
    assert response.status == 401
    assert WRONG in response.text
    assert client.get("/api/session").json()["player"] is None


def test_too_many_failed_sign_ins_have_to_wait(client: AppClient) -> None:
    register(client)
    for _ in range(5):
        failed = submit(client, "/sign-in", username="alice", password="guess")
        assert failed.status == 401
    response = submit(client, "/sign-in", username="alice", password=PASSWORD)
    assert response.status == 429
    assert "too many failed sign-ins" in response.text
    assert 1 <= int(response.headers["retry-after"]) <= 61


def test_a_page_that_needs_a_player_sends_visitors_to_sign_in(
    client: AppClient,
) -> None:
    response = client.get("/account")
    assert response.status == 303
    assert location(response) == "/sign-in?came_from=%2Faccount"
    register(client)
    sign_in_page = f"/sign-in?came_from={quote('/account', safe='')}"
    page = client.get(sign_in_page)
    assert 'name="came_from" value="/account"' in page.text
    back = client.post(
        "/sign-in",
        {
            "csrf_token": form_token(page),
            "came_from": "/account",
            "username": "alice",
            "password": PASSWORD,
        },
    )
    assert (back.status, location(back)) == (303, "/account")
    assert "You are signed in as alice." in client.get("/account").text


@pytest.mark.parametrize(
    "came_from",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"],
)
def test_signing_in_never_leaves_the_site(client: AppClient, came_from: str) -> None:
    register(client)
    response = submit(
        client, "/sign-in", came_from=came_from, username="alice", password=PASSWORD
    )
    assert (response.status, location(response)) == (303, "/")


def test_signing_out(client: AppClient) -> None:
    signed_in(client)
    page = client.get("/account")
    response = client.post("/sign-out", {"csrf_token": form_token(page)})
    assert (response.status, location(response)) == (303, "/")
    assert client.get("/account").status == 303


def test_signing_out_needs_the_token(client: AppClient) -> None:
    signed_in(client)
    assert client.post("/sign-out").status == 400
    assert client.get("/api/session").json()["player"] == "alice"


def test_signing_out_when_signed_out_changes_nothing(client: AppClient) -> None:
    token = form_token(client.get("/sign-in"))
    response = client.post("/sign-out", {"csrf_token": token})
    assert (response.status, location(response)) == (303, "/")


def add_moderators_only(client: AppClient) -> None:
    """Add a page and an API path that need a permission no player has."""

    async def moderate(request: object) -> dict[str, str]:  # pragma: no cover
        return {}

    config = Configurator(registry=client.app.wsgi_app.registry)
    config.add_route("moderate", "/moderate")
    config.add_route("api_moderate", "/api/moderate")
    for route in "moderate", "api_moderate":
        config.add_view(moderate, route_name=route, permission="moderate")
    config.commit()


def test_a_player_without_the_permission_gets_a_403_page(client: AppClient) -> None:
    add_moderators_only(client)
    assert client.get("/moderate").status == 303  # visitors: sign in first
    signed_in(client)
    response = client.get("/moderate")
    assert response.status == 403
    assert "<title>Not for you</title>" in response.text


def test_the_api_says_401_or_403_in_json(client: AppClient) -> None:
    add_moderators_only(client)
    response = client.get("/api/moderate")
    assert (response.status, response.json()) == (401, {"error": "sign in first"})
    signed_in(client)
    response = client.get("/api/moderate")
    assert (response.status, response.json()) == (403, {"error": "you may not do that"})
