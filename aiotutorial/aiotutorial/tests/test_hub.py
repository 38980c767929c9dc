"""The hub, driven directly with stand-in sockets, on each database."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiotutorial import messages
from aiotutorial.chat import REGISTRY_KEY
from aiotutorial.chat.hub import BATCH, Hub
from aiotutorial.chat.members import OUTGOING_FRAMES, TOO_SLOW, Member
from aiotutorial.db import READER, transaction
from aiotutorial.models import User
from aiotutorial.security import Player
from aiotutorial.tests.conftest import chat_app
from aiotutorial.tests.test_members import FakeSocket

Scenario = Callable[[Hub], Awaitable[None]]


def run(database: str, scenario: Scenario) -> None:
    """Run ``scenario`` with the hub of a new application on ``database``."""
    registry = chat_app(database, {}).registry

    async def main() -> None:
        hub: Hub = registry[REGISTRY_KEY]
        async with transaction(registry, write=True) as session:
            session.add(User(username="bob", password_hash="never checked"))
        try:
            await scenario(hub)
        finally:
            await hub.close()
            await registry[READER].kw["bind"].dispose()

    asyncio.run(main())


def member(hub: Hub, socket: FakeSocket, name: str = "alice") -> Member:
    player = Player(name, f"{name}-sign-in")
    return Member(socket, player, gone=hub.drop)  # type: ignore[arg-type]


async def post(hub: Hub, count: int, channel_id: int = 1) -> None:
    """Post ``count`` messages of bob to the lobby in one transaction, and say so."""
    async with transaction(hub.registry, write=True) as session:
        for number in range(count):
            await messages.post(session, channel_id, "bob", f"message {number}")
    await hub.posted("lobby")


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition()`` holds, ten seconds at most."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), 10)


def contents(socket: FakeSocket) -> list[str]:
    return [frame["content"] for frame in socket.sent if frame["type"] == "message"]


def test_a_slow_member_is_dropped_and_holds_nobody_up(migrated_database: str) -> None:
    fast, slow = FakeSocket(), FakeSocket(stuck=True)
    count = OUTGOING_FRAMES + BATCH

    async def scenario(hub: Hub) -> None:
        await hub.join(member(hub, fast), "lobby", None)
        await hub.join(member(hub, slow, "bob"), "lobby", None)
        await post(hub, count)
        await until(lambda: len(contents(fast)) == count)
        assert slow.closed_with is not None and slow.closed_with[0] == TOO_SLOW
        assert len(hub.channels["lobby"].members) == 1
        # The others are told, and so is every other worker, through the broker.
        await until(lambda: alone in fast.sent)
        assert await hub.broker.members("lobby") == ["alice"]

    alone = {"type": "presence", "channel": "lobby", "members": ["alice"]}
    run(migrated_database, scenario)
    assert contents(fast) == [f"message {number}" for number in range(count)]


def test_a_client_far_behind_gets_every_page_it_missed(migrated_database: str) -> None:
    socket = FakeSocket()

    async def scenario(hub: Hub) -> None:
        await post(hub, BATCH * 2 + 1)
        await hub.join(member(hub, socket), "lobby", after=1)
        await until(lambda: len(contents(socket)) == BATCH * 2)

    run(migrated_database, scenario)
    assert contents(socket)[0] == "message 1"


def test_many_new_messages_at_once_all_arrive(migrated_database: str) -> None:
    socket = FakeSocket()

    async def scenario(hub: Hub) -> None:
        await hub.join(member(hub, socket), "lobby", None)
        await post(hub, BATCH * 2)
        await until(lambda: len(contents(socket)) == BATCH * 2)

    run(migrated_database, scenario)


def test_two_members_joining_a_channel_at_once_share_it(migrated_database: str) -> None:
    alice, bob = FakeSocket(), FakeSocket()

    async def scenario(hub: Hub) -> None:
        await asyncio.gather(
            hub.join(member(hub, alice), "lobby", None),
            hub.join(member(hub, bob, "bob"), "lobby", None),
        )
        assert len(hub.channels["lobby"].members) == 2
        await post(hub, 1)
        await until(lambda: contents(alice) == contents(bob) == ["message 0"])

    run(migrated_database, scenario)
    for socket in (alice, bob):  # each was told of the other, whoever joined first
        lists = [
            f["members"] for f in socket.sent if f["type"] in {"joined", "presence"}
        ]
        assert lists[-1] == ["alice", "bob"], socket.sent


def test_without_the_broker_the_members_are_this_worker_s(
    migrated_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket = FakeSocket()

    async def unreachable(channel: str) -> list[str]:
        raise ConnectionError("the broker is away")

    async def scenario(hub: Hub) -> None:
        monkeypatch.setattr(hub.broker, "members", unreachable)
        await hub.join(member(hub, socket), "lobby", None)

    run(migrated_database, scenario)
    assert socket.sent[0] == {
        "type": "joined",
        "channel": "lobby",
        "members": ["alice"],
    }


def test_a_failing_background_task_is_logged(
    migrated_database: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("broken on purpose")

    async def scenario(hub: Hub) -> None:
        await hub.join(member(hub, FakeSocket()), "lobby", None)
        monkeypatch.setattr(hub, "_send_presence", broken)
        hub.notified("lobby", "presence")
        await until(lambda: "chat task failed" in caplog.text)

    with caplog.at_level(logging.ERROR, logger="aiotutorial.chat.hub"):
        run(migrated_database, scenario)
    assert "broken on purpose" in caplog.text


def test_notices_of_channels_nobody_here_joined_are_ignored(
    migrated_database: str,
) -> None:
    async def scenario(hub: Hub) -> None:
        hub.notified("lobby", "message")
        assert hub.tasks == set()

    run(migrated_database, scenario)
