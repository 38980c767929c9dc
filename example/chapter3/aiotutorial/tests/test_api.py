"""The JSON API, driven through the whole application on each database."""

import base64
import json
from typing import Any

import pytest
from aiopyramid.testing import AppClient, ClientResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial.models import Message, User


def post_json(
    client: AppClient, path: str, data: Any, **headers: str
) -> ClientResponse:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(
        path, body, headers={"content-type": "application/json", **headers}
    )


def basic(username: str, password: str) -> dict[str, str]:
    """The ``authorization`` header of HTTP Basic authentication."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def count(client: AppClient, session: AsyncSession, model: type) -> int:
    return int(client.run(session.scalar(select(func.count()).select_from(model))))


def register(client: AppClient, username: str = "alice") -> None:
    response = post_json(
        client, "/api/users", {"username": username, "password": "wonderland"}
    )
    assert response.status == 201, response.text


def test_register_a_user(client: AppClient, session: AsyncSession) -> None:
    response = post_json(
        client, "/api/users", {"username": "alice", "password": "wonderland"}
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
            {"password": "wonderland"},
            422,
            {"error": "username is missing", "field": "username"},
        ),
        (
            {"username": 7, "password": "wonderland"},
            422,
            {"error": "username must be a string", "field": "username"},
        ),
        (
            {"username": "a" * 33, "password": "wonderland"},
            422,
            {"error": "username must be 1 to 32 characters long", "field": "username"},
        ),
        (
            {"username": "al ice", "password": "wonderland"},
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


def test_list_channels(client: AppClient) -> None:
    response = client.get("/api/channels")
    assert response.status == 200
    assert response.json() == {"channels": [{"name": "lobby"}]}


def test_post_and_list_messages(client: AppClient) -> None:
    register(client)
    posted = post_json(
        client,
        "/api/channels/lobby/messages",
        {"content": "Hello!"},
        **basic("alice", "wonderland"),
    )
    assert posted.status == 201
    assert posted.json()["author"] == "alice"
    listed = client.get("/api/channels/lobby/messages").json()
    assert listed == {"messages": [posted.json()], "next": None}


def test_messages_come_in_pages_newest_first(client: AppClient) -> None:
    register(client)
    for number in range(5):
        post_json(
            client,
            "/api/channels/lobby/messages",
            {"content": f"message {number}"},
            **basic("alice", "wonderland"),
        )
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
    register(client)
    listed = client.get("/api/channels/nowhere/messages")
    posted = post_json(
        client,
        "/api/channels/nowhere/messages",
        {"content": "hi"},
        **basic("alice", "wonderland"),
    )
    for response in listed, posted:
        assert response.status == 404
        assert response.json() == {"error": "there is no channel 'nowhere'"}
    assert count(client, session, Message) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("alice", "wrong password"),
        basic("bob", "wonderland"),
        {"authorization": "Basic !"},
    ],
)
def test_posting_needs_a_registered_user_and_password(
    client: AppClient, session: AsyncSession, headers: dict[str, str]
) -> None:
    register(client)
    response = post_json(
        client, "/api/channels/lobby/messages", {"content": "hi"}, **headers
    )
    assert response.status == 401
    assert response.headers["www-authenticate"] == 'Basic realm="aiotutorial"'
    assert count(client, session, Message) == 0


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
    register(client)
    response = post_json(
        client, "/api/channels/lobby/messages", data, **basic("alice", "wonderland")
    )
    assert (response.status, response.json()["error"]) == (422, error)
    assert count(client, session, Message) == 0
