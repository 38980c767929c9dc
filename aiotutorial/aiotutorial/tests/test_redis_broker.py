"""Two workers, each with its own hub, talking through Redis: what one worker's
players say reaches the other's, through an outage too.

Runs where ``AIOTUTORIAL_TEST_REDIS`` names a server (see ``conftest.py``).
"""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from aiotutorial.chat import REGISTRY_KEY
from aiotutorial.chat.hub import Hub
from aiotutorial.chat.members import Member
from aiotutorial.chat.redis_broker import POLL_SECONDS, RedisBroker
from aiotutorial.db import READER, transaction
from aiotutorial.models import User
from aiotutorial.security import Player
from aiotutorial.tests.conftest import REDIS, chat_app
from aiotutorial.tests.test_hub import contents, post, until
from aiotutorial.tests.test_members import FakeSocket

pytestmark = pytest.mark.skipif(not REDIS, reason="AIOTUTORIAL_TEST_REDIS is not set")


class Workers:
    """Two hubs on one database and one Redis, as two worker processes would be,
    in one event loop."""

    def __init__(self, database: str) -> None:
        settings = {"redis.url": REDIS, "aiotutorial.redis_prefix": uuid.uuid4().hex}
        self.registries = [chat_app(database, settings).registry for _ in range(2)]
        self.hubs: list[Hub] = [registry[REGISTRY_KEY] for registry in self.registries]
        self.brokers = [cast(RedisBroker, hub.broker) for hub in self.hubs]

    async def close(self) -> None:
        for hub, registry in zip(self.hubs, self.registries, strict=True):
            await hub.close()
            await registry[READER].kw["bind"].dispose()


def run(database: str, scenario: Callable[[Workers], Any]) -> None:
    async def main() -> None:
        workers = Workers(database)
        try:
            await scenario(workers)
        finally:
            await workers.close()

    asyncio.run(main())


@pytest.fixture
def database(migrated_database: str) -> Iterator[str]:
    """The database, with bob, who posts in these tests."""
    registry = chat_app(migrated_database, {}).registry

    async def add_bob() -> None:
        async with transaction(registry, write=True) as session:
            session.add(User(username="bob", password_hash="never checked"))
        await registry[READER].kw["bind"].dispose()

    asyncio.run(add_bob())
    yield migrated_database


def member(hub: Hub, name: str) -> tuple[Member, FakeSocket]:
    socket = FakeSocket()
    player = Player(name, f"{name}-sign-in")
    return Member(socket, player, gone=hub.drop), socket  # type: ignore[arg-type]


def test_a_message_posted_on_one_worker_reaches_the_other(database: str) -> None:
    async def scenario(workers: Workers) -> None:
        first, second = workers.hubs
        alice, alice_socket = member(first, "alice")
        carol, carol_socket = member(second, "carol")
        await first.join(alice, "lobby", None)
        await second.join(carol, "lobby", None)
        await until(lambda: carol_socket.sent[-1].get("members") == ["alice", "carol"])
        await post(first, 3)
        expected = ["message 0", "message 1", "message 2"]
        await until(lambda: contents(carol_socket) == expected)
        assert contents(alice_socket) == expected

    run(database, scenario)


def test_a_notice_lost_in_an_outage_is_caught_up(database: str) -> None:
    async def scenario(workers: Workers) -> None:
        first, second = workers.hubs
        carol, carol_socket = member(second, "carol")
        await second.join(carol, "lobby", None)
        # The second worker loses its connection to Redis: the notice of the next
        # message never reaches it, but it reads what it missed once reconnected.
        admin = Redis.from_url(REDIS)
        await admin.client_kill_filter(_type="pubsub")
        await admin.aclose()
        await post(first, 1)
        await until(lambda: contents(carol_socket) == ["message 0"])

    run(database, scenario)


def test_a_notice_that_could_not_be_published_is_published_later(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(workers: Workers) -> None:
        first, second = workers.hubs
        carol, carol_socket = member(second, "carol")
        await second.join(carol, "lobby", None)
        await first.join(member(first, "alice")[0], "lobby", None)
        broker = workers.brokers[0]
        publish = broker.redis.publish  # type: ignore[union-attr]
        failures = [RedisConnectionError("Redis is restarting")]

        async def fails_once(*args: Any) -> Any:
            if failures:
                raise failures.pop()
            return await publish(*args)

        monkeypatch.setattr(broker.redis, "publish", fails_once)
        await post(first, 1)
        assert broker.unsent == {("lobby", "message")}
        await until(lambda: contents(carol_socket) == ["message 0"])
        assert broker.unsent == set()

    run(database, scenario)


def test_members_of_a_worker_that_died_drop_out(database: str) -> None:
    async def scenario(workers: Workers) -> None:
        first, second = workers.hubs
        await first.join(member(first, "alice")[0], "lobby", None)
        await second.join(member(second, "carol")[0], "lobby", None)
        assert await workers.brokers[0].members("lobby") == ["alice", "carol"]
        # The second worker stops saying it is alive, as a killed one would.
        workers.brokers[1].tasks[1].cancel()
        redis = workers.brokers[0].redis
        assert redis is not None
        await redis.delete(workers.brokers[1]._key("alive", workers.brokers[1].worker))
        assert await workers.brokers[0].members("lobby") == ["alice"]

    run(database, scenario)


def test_the_last_member_leaving_unsubscribes(database: str) -> None:
    async def scenario(workers: Workers) -> None:
        hub = workers.hubs[0]
        alice, _ = member(hub, "alice")
        await hub.join(alice, "lobby", None)
        assert workers.brokers[0].topics == {"lobby"}
        await hub.disconnect(alice)
        assert workers.brokers[0].topics == set()
        assert await workers.brokers[0].members("lobby") == []

    run(database, scenario)


def test_a_worker_that_stops_says_so(database: str) -> None:
    async def scenario(workers: Workers) -> None:
        broker = workers.brokers[0]
        await workers.hubs[0].join(member(workers.hubs[0], "alice")[0], "lobby", None)
        await workers.hubs[0].close()
        admin = Redis.from_url(REDIS)
        assert await admin.exists(broker._key("alive", broker.worker)) == 0
        await admin.aclose()

    run(database, scenario)


def test_a_subscription_that_fails_is_made_again(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(workers: Workers) -> None:
        first, second = workers.hubs
        await second.join(member(second, "carol")[0], "lobby", None)
        broker = workers.brokers[0]
        await first.join(member(first, "alice")[0], "lobby", None)
        await first.disconnect(next(iter(first.channels["lobby"].members)))
        assert broker.pubsub is not None

        async def fails(*keys: str) -> None:
            raise RedisConnectionError("Redis went away")

        monkeypatch.setattr(broker.pubsub, "subscribe", fails)
        alice, alice_socket = member(first, "alice")
        await first.join(alice, "lobby", None)
        assert broker.resync  # the reading task subscribes again, and catches up
        await asyncio.sleep(POLL_SECONDS * 1.5)  # quiet: the wait for notices times out
        await post(second, 1)
        await until(lambda: contents(alice_socket) == ["message 0"])

    run(database, scenario)


def test_a_new_member_is_listed_even_if_its_worker_has_not_said_lately_it_is_alive(
    database: str,
) -> None:
    async def scenario(workers: Workers) -> None:
        first = workers.hubs[0]
        await first.join(member(first, "alice")[0], "lobby", None)
        # The first worker has not said it is alive for a while: it was paused, say.
        workers.brokers[0].tasks[1].cancel()
        redis = workers.brokers[1]._started()
        await redis.delete(workers.brokers[0]._key("alive", workers.brokers[0].worker))
        await first.join(member(first, "bob")[0], "lobby", None)
        assert await workers.brokers[1].members("lobby") == ["alice", "bob"]

    run(database, scenario)
