"""The brokers, apart from any hub: the in-process one, and Redis unreachable."""

import asyncio
import logging
import socket
from unittest.mock import Mock

import pytest
from pyramid.exceptions import ConfigurationError

from aiotutorial.chat import broker_from_settings
from aiotutorial.chat.brokers import Listener, LocalBroker
from aiotutorial.chat.redis_broker import RedisBroker


def test_the_settings_choose_the_broker() -> None:
    assert isinstance(broker_from_settings({}), LocalBroker)
    redis = broker_from_settings({"redis.url": "redis://127.0.0.1:6379/0"})
    assert isinstance(redis, RedisBroker) and redis.prefix == "aiotutorial"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "127.0.0.1:6379"])
def test_a_url_that_is_not_redis_s_stops_the_app_at_startup(url: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a Redis URL"):
        broker_from_settings({"redis.url": url})


def test_the_local_broker_tells_its_worker_later_not_at_once() -> None:
    heard = Mock(spec=Listener)

    async def main() -> None:
        broker = LocalBroker()
        broker.listen(heard)
        await broker.subscribe("lobby")
        await broker.publish("lobby", "message")
        await broker.publish("games", "message")  # nobody here follows it
        heard.notified.assert_not_called()
        await asyncio.sleep(0)
        await broker.unsubscribe("lobby")
        await broker.publish("lobby", "message")
        await asyncio.sleep(0)
        await broker.close()

    asyncio.run(main())
    heard.notified.assert_called_once_with("lobby", "message")


def test_the_local_broker_lists_members_by_name_once() -> None:
    async def main() -> list[list[str]]:
        broker = LocalBroker()
        await broker.add_member("lobby", "1", "bob")
        await broker.add_member("lobby", "2", "alice")
        await broker.add_member("lobby", "3", "bob")  # bob's second socket
        listed = [await broker.members("lobby")]
        for member in "1", "2", "3":
            await broker.remove_member("lobby", member)
        return [*listed, await broker.members("lobby")]

    assert asyncio.run(main()) == [["alice", "bob"], []]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_without_redis_the_broker_blocks_nothing_and_keeps_what_it_owes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard = Mock(spec=Listener)

    async def main() -> RedisBroker:
        broker = RedisBroker(f"redis://127.0.0.1:{unused_port()}/0")
        broker.listen(heard)
        await broker.subscribe("lobby")  # noted, for when Redis answers
        await broker.add_member("lobby", "1", "alice")
        await broker.publish("lobby", "message")
        with pytest.raises(ConnectionError, match="Redis is unreachable"):
            await broker.members("lobby")
        await broker.remove_member("lobby", "1")
        await broker.unsubscribe("lobby")
        await asyncio.sleep(0.05)  # the tasks try, and fail
        await broker.close()
        return broker

    with caplog.at_level(logging.WARNING, logger="aiotutorial.chat.redis_broker"):
        broker = asyncio.run(main())
    assert broker.unsent == {("lobby", "message")}
    assert broker.resync
    heard.reconnected.assert_not_called()
    assert "lost Redis" in caplog.text


def test_a_broker_never_used_closes_at_once() -> None:
    asyncio.run(RedisBroker("redis://127.0.0.1:1/0").close())
