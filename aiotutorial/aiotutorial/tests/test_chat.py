"""The chat, through its websocket, with each broker on each database."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiopyramid.testing import AppClient, WebsocketRefused, WebsocketSession
from sqlalchemy import delete

from aiotutorial.chat.hub import MOST_CHANNELS
from aiotutorial.chat.protocol import HISTORY
from aiotutorial.db import WRITER
from aiotutorial.models import Channel, SignIn
from aiotutorial.sockets import SIGNED_OUT
from aiotutorial.tests.signing_in import post_json, signed_in


def send(ws: WebsocketSession, **frame: Any) -> None:
    ws.send(json.dumps(frame))


def next_frame(ws: WebsocketSession, *kinds: str) -> dict[str, Any]:
    """The next frame of one of ``kinds``; presence frames on the way are skipped."""
    frames = map(json.loads, iter(ws.receive, None))
    frame = next(
        (f for f in frames if f["type"] != "presence" or "presence" in kinds), None
    )
    assert frame is not None, f"the socket closed ({ws.close_code})"
    assert frame["type"] in kinds, frame
    return frame  # type: ignore[no-any-return]


def messages(ws: WebsocketSession, count: int) -> list[str]:
    """The contents of the next ``count`` messages."""
    return [next_frame(ws, "message")["content"] for _ in range(count)]


def join(ws: WebsocketSession, channel: str = "lobby", **after: int) -> dict[str, Any]:
    send(ws, type="join", channel=channel, **after)
    return next_frame(ws, "joined")


@contextmanager
def player(client: AppClient, name: str) -> Iterator[WebsocketSession]:
    """A new browser: ``name`` signs up and opens the chat's socket."""
    client.cookies = {}
    signed_in(client, name)
    with client.websocket("/chat") as ws:
        yield ws


def add_channels(client: AppClient, *names: str) -> None:
    registry = client.app.wsgi_app.registry

    async def add() -> None:
        async with registry[WRITER]() as session, session.begin():
            session.add_all(Channel(name=name) for name in names)

    client.run(add())


def test_a_message_reaches_every_member_once_in_order(chat: AppClient) -> None:
    with player(chat, "alice") as alice, player(chat, "bob") as bob:
        join(alice)
        join(bob)
        for number in range(5):
            send(alice, type="say", channel="lobby", content=f"message {number}")
        expected = [f"message {number}" for number in range(5)]
        assert messages(alice, 5) == messages(bob, 5) == expected


def test_a_message_says_who_sent_it_and_when(chat: AppClient) -> None:
    with player(chat, "alice") as alice:
        join(alice)
        send(alice, type="say", channel="lobby", content="<b>hi</b>")
        frame = next_frame(alice, "message")
    assert frame.keys() == {"type", "channel", "id", "author", "time", "content"}
    assert (frame["author"], frame["content"]) == ("alice", "<b>hi</b>")


def test_joining_sends_the_latest_messages_first(chat: AppClient) -> None:
    signed_in(chat, "alice")
    for number in range(HISTORY + 2):
        post_json(chat, "/api/channels/lobby/messages", {"content": f"old {number}"})
    with chat.websocket("/chat") as ws:
        joined = join(ws)
        history = messages(ws, HISTORY)
    assert joined == {"type": "joined", "channel": "lobby", "members": ["alice"]}
    assert history == [f"old {number}" for number in range(2, HISTORY + 2)]


def test_a_client_resumes_after_the_last_message_it_saw(chat: AppClient) -> None:
    with player(chat, "alice") as alice:
        join(alice)
        for content in "one", "two", "three":
            send(alice, type="say", channel="lobby", content=content)
        seen = [next_frame(alice, "message") for _ in range(3)]
    with chat.websocket("/chat") as again:
        join(again, after=seen[0]["id"])
        assert messages(again, 2) == ["two", "three"]
        send(again, type="say", channel="lobby", content="four")
        assert messages(again, 1) == ["four"]


def test_messages_posted_through_the_api_reach_the_chat(chat: AppClient) -> None:
    with player(chat, "alice") as alice:
        join(alice)
        post_json(chat, "/api/channels/lobby/messages", {"content": "from curl"})
        assert messages(alice, 1) == ["from curl"]


def wait_for_members(ws: WebsocketSession, members: list[str]) -> None:
    """Read presence frames until one lists ``members``; each says who is there at
    the time it is sent, so an earlier one may list fewer, or more."""
    presences = (next_frame(ws, "presence")["members"] for _ in range(10))
    assert members in presences


def test_who_is_in_a_channel(chat: AppClient) -> None:
    with player(chat, "alice") as alice:
        join(alice)
        with player(chat, "bob") as bob:
            assert join(bob)["members"] == ["alice", "bob"]
            wait_for_members(alice, ["alice", "bob"])
            send(bob, type="leave", channel="lobby")
            assert next_frame(bob, "left") == {"type": "left", "channel": "lobby"}
        wait_for_members(alice, ["alice"])


def test_channels_are_apart(chat: AppClient) -> None:
    add_channels(chat, "games")
    with player(chat, "alice") as alice, player(chat, "bob") as bob:
        join(alice, "games")
        join(bob, "lobby")
        send(bob, type="say", channel="lobby", content="lobby only")
        send(alice, type="say", channel="games", content="games only")
        assert next_frame(alice, "message")["content"] == "games only"
        assert next_frame(bob, "message")["content"] == "lobby only"


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "a frame must hold JSON"),
        ("[1, 2]", "a frame must hold a JSON object"),
        ('{"type": "shout"}', "type must be one of: join, say, leave"),
        ('{"type": "join", "channel": "Lobby!"}', "channel must be a channel's name"),
        ('{"type": "join", "channel": "kitchen"}', "there is no channel 'kitchen'"),
        ('{"type": "join", "channel": "lobby", "after": -1}', "after must be"),
        ('{"type": "join", "channel": "lobby", "after": 2147483648}', "after must be"),
        (
            '{"type": "say", "channel": "lobby", "content": "hi"}',
            "join channel 'lobby'",
        ),
        ('{"type": "leave", "channel": "lobby"}', "you are not in channel 'lobby'"),
    ],
)
def test_a_frame_the_chat_cannot_use_gets_an_error(
    chat: AppClient, frame: str, error: str
) -> None:
    with player(chat, "alice") as ws:
        ws.send(frame)
        assert next_frame(ws, "error")["error"].startswith(error)
        assert join(ws)["channel"] == "lobby"  # the socket is still open


def test_the_largest_id_is_one_to_join_after(chat: AppClient) -> None:
    with player(chat, "alice") as ws:
        assert join(ws, after=2**31 - 1)["channel"] == "lobby"  # read on each database
        send(ws, type="leave", channel="lobby")
        assert next_frame(ws, "left")["channel"] == "lobby"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "content must be text of 1 to 1000 characters"),
        ("x" * 1001, "content must be text of 1 to 1000 characters"),
        ("\ud800", "content must be Unicode text"),
    ],
)
def test_a_message_that_cannot_be_posted_gets_an_error(
    chat: AppClient, content: str, error: str
) -> None:
    with player(chat, "alice") as ws:
        join(ws)
        send(ws, type="say", channel="lobby", content=content)
        assert next_frame(ws, "error")["error"] == error


def test_binary_frames_get_an_error(chat: AppClient) -> None:
    with player(chat, "alice") as ws:
        ws.send(b"\x00")
        assert next_frame(ws, "error")["error"] == "frames must be text, holding JSON"


def test_joining_twice_or_too_much_gets_an_error(chat: AppClient) -> None:
    names = [f"room-{number}" for number in range(MOST_CHANNELS)]
    add_channels(chat, *names)
    with player(chat, "alice") as ws:
        for name in names:
            join(ws, name)
        send(ws, type="join", channel="lobby")
        assert "20 channels at most" in next_frame(ws, "error")["error"]
        send(ws, type="join", channel=names[0])
        assert next_frame(ws, "error")["error"] == "you are in channel 'room-0' already"


def test_the_chat_needs_a_sign_in(chat: AppClient) -> None:
    with pytest.raises(WebsocketRefused) as refused:
        chat.websocket("/chat").__enter__()
    assert refused.value.status == 403


def test_signing_out_elsewhere_ends_the_socket_at_its_next_post(
    chat: AppClient,
) -> None:
    with player(chat, "alice") as ws:
        join(ws)
        registry = chat.app.wsgi_app.registry

        async def sign_out_on_another_worker() -> None:
            async with registry[WRITER]() as session, session.begin():
                await session.execute(delete(SignIn))

        chat.run(sign_out_on_another_worker())
        send(ws, type="say", channel="lobby", content="still here?")
        before_closing = [json.loads(frame) for frame in iter(ws.receive, None)]
        assert all(frame["type"] == "presence" for frame in before_closing)
        assert ws.close_code == SIGNED_OUT
