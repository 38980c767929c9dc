"""The JSON API, driven through the whole application on each database."""

from typing import Any

import pytest
from aiopyramid.testing import AppClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial.models import Message, SignIn, User
from aiotutorial.tests.signing_in import (
    PASSWORD,
    csrf_token,
    post_json,
    register,
    sign_in,
    signed_in,
)

WRONG = {"error": "wrong username or password"}


def count(client: AppClient, session: AsyncSession, model: type) -> int:
    return int(client.run(session.scalar(select(func.count()).select_from(model))))


def test_register_a_user(client: AppClient, session: AsyncSession) -> None:
    response = post_json(
        client, "/api/users", {"username": "alice", "password": PASSWORD}
    )
    assert response.status == 201
    assert response.json() == {"username": "alice"}
    user = client.run(session.get(User, "alice"))
    assert user.password_hash.startswith("scrypt$")


def test_a_taken_username_is_a_conflict_and_changes_nothing(
    client: AppClient, session: AsyncSession
) -> None:
    register(client)
    response = post_json(
        client, "/api/users", {"username": "alice", "password": "something"}
    )
    assert response.status == 409
    assert response.json() == {"error": "the username 'alice' is taken"}
    assert count(client, session, User) == 1


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        (b"{not json", 400, {"error": "the request body must be a JSON object"}),
        ([], 400, {"error": "the request body must be a JSON object"}),
        (
            {"password": PASSWORD},
            422,
            {"error": "username is missing", "field": "username"},
        ),
        (
            {"username": 7, "password": PASSWORD},
            422,
            {"error": "username must be a string", "field": "username"},
        ),
        (
            {"username": "a" * 33, "password": PASSWORD},
            422,
            {"error": "username must be 1 to 32 characters long", "field": "username"},
        ),
        (
            {"username": "al ice", "password": PASSWORD},
            422,
            {
                "error": "username may only hold letters, digits, '-' and '_'",
                "field": "username",
            },
        ),
        (
            {"username": "alice", "password": "short"},
            422,
            {"error": "password must be 8 to 200 characters long", "field": "password"},
        ),
    ],
)
def test_a_bad_registration_is_refused_precisely(
    client: AppClient,
    session: AsyncSession,
    data: Any,
    status: int,
    error: dict[str, str],
) -> None:
    response = post_json(client, "/api/users", data)
    assert (response.status, response.json()) == (status, error)
    assert count(client, session, User) == 0


def test_nobody_is_signed_in_at_first(client: AppClient) -> None:
    response = client.get("/api/session")
    assert response.status == 200
    assert response.json() == {"player": None, "csrf_token": csrf_token(client)}


def test_signing_in_starts_a_new_session(
    client: AppClient, session: AsyncSession
) -> None:
    register(client)
    token_before = csrf_token(client)
    response = sign_in(client)
    assert response.status == 200
    assert response.json() == {"player": "alice", "csrf_token": csrf_token(client)}
    assert response.json()["csrf_token"] != token_before
    assert client.get("/api/session").json()["player"] == "alice"
    assert count(client, session, SignIn) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"username": "alice", "password": "not the password"},
        {"username": "bob", "password": PASSWORD},
        {"username": "", "password": ""},
    ],
)
def test_a_wrong_name_or_password_gets_one_answer(
    client: AppClient, session: AsyncSession, data: dict[str, str]
) -> None:
    register(client)
    response = post_json(client, "/api/session", data)
    assert (response.status, response.json()) == (401, WRONG)
    assert client.get("/api/session").json()["player"] is None
    assert count(client, session, SignIn) == 0


def test_a_sign_in_needs_both_fields(client: AppClient) -> None:
    response = post_json(client, "/api/session", {"username": "alice"})
    assert response.status == 422
    assert response.json() == {"error": "password is missing", "field": "password"}


def test_too_many_failures_are_refused_even_with_the_right_password(
    client: AppClient,
) -> None:
    register(client)
    wrong = {"username": "alice", "password": "guess"}
    statuses = [post_json(client, "/api/session", wrong).status for _ in range(5)]
    assert statuses == [401] * 5
    refused = sign_in(client)
    assert refused.status == 429
    assert refused.json() == {"error": "too many failed sign-ins: try again later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 61


def test_signing_in_between_guesses_does_not_reset_the_count(
    client: AppClient,
) -> None:
    register(client)  # an account of the guesser's own
    wrong = {"username": "bob", "password": "guess"}
    statuses = []
    for _ in range(3):
        statuses += [post_json(client, "/api/session", wrong).status for _ in range(2)]
        statuses.append(sign_in(client).status)
    assert statuses == [401, 401, 200, 401, 401, 200, 401, 429, 429]


def test_signing_out_ends_the_sign_in(client: AppClient, session: AsyncSession) -> None:
    signed_in(client)
    response = post_json(client, "/api/session", b"", method="DELETE")
    assert response.status == 204
    assert client.get("/api/session").json()["player"] is None
    assert count(client, session, SignIn) == 0


def test_a_copy_of_the_cookie_is_no_good_after_signing_out(client: AppClient) -> None:
    signed_in(client)
    copy = dict(client.cookies)
    post_json(client, "/api/session", b"", method="DELETE")
    client.cookies = copy
    assert client.get("/api/session").json()["player"] is None


def test_signing_out_needs_a_sign_in(client: AppClient) -> None:
    response = post_json(client, "/api/session", b"", method="DELETE")
    assert (response.status, response.json()) == (401, {"error": "sign in first"})


def test_list_channels(client: AppClient) -> None:
    response = client.get("/api/channels")
    assert response.status == 200
    assert response.json() == {"channels": [{"name": "lobby"}]}


def test_post_and_list_messages(client: AppClient) -> None:
    signed_in(client)
    posted = post_json(client, "/api/channels/lobby/messages", {"content": "Hello!"})
    assert posted.status == 201
    assert posted.json()["author"] == "alice"
    listed = client.get("/api/channels/lobby/messages").json()
    assert listed == {"messages": [posted.json()], "next": None}


def test_messages_come_in_pages_newest_first(client: AppClient) -> None:
    signed_in(client)
    for number in range(5):
        content = {"content": f"message {number}"}
        post_json(client, "/api/channels/lobby/messages", content)
    seen, path = [], "/api/channels/lobby/messages?limit=2"
    while path:
        page = client.get(path).json()
        assert len(page["messages"]) <= 2
        seen += [message["content"] for message in page["messages"]]
        path = page["next"]
    assert seen == [f"message {number}" for number in reversed(range(5))]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("before=999", "before"),
        ("before=2147483647", "before"),  # the largest id, which no message has
        ("before=2147483648", "before"),  # no id at all: over 32 bits
    ],
)
def test_bad_paging_is_refused(client: AppClient, query: str, field: str) -> None:
    response = client.get(f"/api/channels/lobby/messages?{query}")
    assert response.status == 400
    assert response.json()["field"] == field


def test_an_unknown_channel_is_not_found(
    client: AppClient, session: AsyncSession
) -> None:
    signed_in(client)
    listed = client.get("/api/channels/nowhere/messages")
    posted = post_json(client, "/api/channels/nowhere/messages", {"content": "hi"})
    for response in listed, posted:
        assert response.status == 404
        assert response.json() == {"error": "there is no channel 'nowhere'"}
    assert count(client, session, Message) == 0


def test_posting_needs_a_sign_in(client: AppClient, session: AsyncSession) -> None:
    response = post_json(client, "/api/channels/lobby/messages", {"content": "hi"})
    assert (response.status, response.json()) == (401, {"error": "sign in first"})
    assert count(client, session, Message) == 0


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_change_needs_the_session_s_csrf_token(
    client: AppClient, session: AsyncSession, token: str | None
) -> None:
    signed_in(client)
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["x-csrf-token"] = token
    body = b'{"content": "hi"}'
    response = client.post("/api/channels/lobby/messages", body, headers=headers)
    assert response.status == 400
    assert response.json() == {
        "error": "the X-CSRF-Token header must hold the session's token"
    }
    assert count(client, session, Message) == 0


def test_registering_needs_the_csrf_token_too(
    client: AppClient, session: AsyncSession
) -> None:
    data = {"username": "mallory", "password": PASSWORD}
    response = post_json(client, "/api/users", data, csrf=False)
    assert response.status == 400
    assert count(client, session, User) == 0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "content is missing"),
        ({"content": ""}, "content must be 1 to 1000 characters long"),
        ({"content": "x" * 1001}, "content must be 1 to 1000 characters long"),
    ],
)
def test_a_bad_message_is_refused(
    client: AppClient, session: AsyncSession, data: dict[str, str], error: str
) -> None:
    signed_in(client)
    response = post_json(client, "/api/channels/lobby/messages", data)
    assert (response.status, response.json()["error"]) == (422, error)
    assert count(client, session, Message) == 0


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/api/users", {"username": "bob", "password": "\ud800" * 8}, "password"),
        ("/api/session", {"username": "\ud800", "password": PASSWORD}, "username"),
    ],
)
def test_text_that_is_not_unicode_is_refused(
    client: AppClient, session: AsyncSession, path: str, data: Any, field: str
) -> None:
    # json.dumps writes a lone surrogate as "\ud800", which JSON allows.
    response = post_json(client, path, data)
    assert (response.status, response.json()) == (
        422,
        {"error": f"{field} must be Unicode text", "field": field},
    )
    assert count(client, session, User) == 0


def test_a_name_no_player_can_have_is_not_looked_up(client: AppClient) -> None:
    data = {"username": "a\x00b", "password": PASSWORD}  # PostgreSQL refuses NUL
    response = post_json(client, "/api/session", data)
    assert (response.status, response.json()) == (401, WRONG)


def test_a_body_in_an_unknown_charset_is_refused(client: AppClient) -> None:
    headers = {
        "content-type": "application/json; charset=no-such-charset",
        "x-csrf-token": csrf_token(client),
    }
    response = client.post("/api/session", b"{}", headers=headers)
    assert response.status == 400
    assert response.json() == {"error": "the request body must be a JSON object"}


def test_signing_in_again_ends_the_browser_s_previous_sign_in(
    client: AppClient, session: AsyncSession
) -> None:
    signed_in(client)
    previous = dict(client.cookies)
    register(client, "bob")
    assert sign_in(client, "bob").json()["player"] == "bob"
    assert count(client, session, SignIn) == 1
    client.cookies = previous
    assert client.get("/api/session").json()["player"] is None
