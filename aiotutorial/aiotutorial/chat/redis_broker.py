"""A broker through Redis: any number of workers, on any number of machines.

Notices travel by Redis's publish/subscribe: each worker keeps one connection
subscribed to the topics of the channels it has members in, and a task reads it.
Who is in a channel is a Redis hash per channel, ``socket -> username``; each
socket's field starts with its worker's id, and each worker keeps a key of its own
alive (:data:`ALIVE_SECONDS`), so the members of a worker that died without saying
goodbye drop out of the lists within that time.

Redis can go away. Then publishing a notice, or changing a list of members, fails;
the broker remembers that, and once Redis answers again it sends the notices again
and tells its listener, which re-adds its members and reads what it missed from the
database. Nothing waits for Redis meanwhile: players on this worker go on talking.
"""

import asyncio
import contextlib
import logging
import uuid

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aiotutorial.chat.brokers import Listener

log = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
"""What talking to Redis raises when it cannot be reached."""
ALIVE_SECONDS = 30
"""How long a worker's members stay listed after it last said it is alive."""
HEARTBEAT_SECONDS = 10
"""How often a worker says it is alive."""
POLL_SECONDS = 1.0
"""How long the reading task waits for a notice before it looks at its own work."""
RETRY_SECONDS = (0.1, 2.0)
"""The first and the longest wait before connecting to Redis again."""
CONNECTIONS = 20
"""The most connections to Redis a worker opens; more commands wait their turn."""
CONNECTION_WAIT_SECONDS = 5.0
"""How long a command waits for one of them before it counts as Redis unreachable."""


class RedisBroker:
    """The chat's broker through the Redis server at ``url``.

    Keys and topics start with ``prefix``, so several applications, or test runs,
    can share one server. Connections and tasks start on first use, inside the
    worker's event loop: the object itself is made in ``main()``, before the server
    starts its workers.
    """

    def __init__(self, url: str, prefix: str = "aiotutorial") -> None:
        self.url, self.prefix = url, prefix
        self.listener: Listener | None = None
        self.topics: set[str] = set()
        self.unsent: set[tuple[str, str]] = set()
        """Notices that could not be published, to publish once Redis is back."""
        self.resync = False
        """Whether Redis failed us since the listener last heard it was back."""
        self.confirmations: dict[str, asyncio.Future[None]] = {}
        self.worker = ""
        self.redis: Redis | None = None
        self.pubsub: PubSub | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def listen(self, listener: Listener) -> None:
        self.listener = listener

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def _started(self) -> Redis:
        """The client, after starting the tasks on first use."""
        if self.redis is None:
            self.worker = uuid.uuid4().hex  # after the server forked: one per worker
            # No retries inside redis-py: a failure must reach this class, which
            # knows what to do again once Redis is back. A busy worker's commands
            # queue for a connection rather than fail when all of them are in use.
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=CONNECTIONS,
                timeout=CONNECTION_WAIT_SECONDS,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=5,
            )
            self.redis = Redis.from_pool(pool)
            self.tasks = [
                asyncio.create_task(self._read()),
                asyncio.create_task(self._keep_alive()),
            ]
        return self.redis

    async def subscribe(self, topic: str) -> None:
        self._started()
        self.topics.add(topic)
        if self.pubsub is None:
            return  # once connected, the reading task subscribes, then says so
        key = self._key("topic", topic)
        confirmed = asyncio.get_running_loop().create_future()
        self.confirmations[key] = confirmed
        try:
            await self.pubsub.subscribe(key)
            await asyncio.wait_for(asyncio.shield(confirmed), 5)
        except (*UNREACHABLE, TimeoutError):
            self.resync = True  # the reading task reconnects and resubscribes
        finally:
            self.confirmations.pop(key, None)

    async def unsubscribe(self, topic: str) -> None:
        self.topics.discard(topic)
        if self.pubsub is not None:
            # If Redis is away, the next connection subscribes to self.topics only.
            with contextlib.suppress(*UNREACHABLE):
                await self.pubsub.unsubscribe(self._key("topic", topic))

    async def publish(self, topic: str, notice: str) -> None:
        redis = self._started()
        try:
            await redis.publish(self._key("topic", topic), notice)
        except UNREACHABLE as error:
            log.warning(
                "could not publish to Redis (%s): will again once it is back", error
            )
            self.unsent.add((topic, notice))
            self.resync = True

    def _field(self, member: str) -> str:
        return f"{self.worker}/{member}"

    async def add_member(self, channel: str, member: str, username: str) -> None:
        """List the member, and say at once that its worker is alive: the heartbeat
        may not have said so yet (a worker's first member), or not lately (a worker
        that was paused), and readers drop the members of workers that have not."""
        redis = self._started()
        try:
            async with redis.pipeline(transaction=True) as both:
                both.set(self._key("alive", self.worker), 1, ex=ALIVE_SECONDS)
                both.hset(self._key("members", channel), self._field(member), username)
                await both.execute()
        except UNREACHABLE:
            self.resync = True  # the listener adds its members again later

    async def remove_member(self, channel: str, member: str) -> None:
        redis = self._started()
        try:
            await redis.hdel(self._key("members", channel), self._field(member))
        except UNREACHABLE:
            self.resync = True

    async def members(self, channel: str) -> list[str]:
        """Who is in ``channel``; the members of workers that stopped saying they are
        alive are removed on the way. Raises :class:`ConnectionError` in an outage."""
        redis = self._started()
        key = self._key("members", channel)
        try:
            fields: dict[bytes, bytes] = await redis.hgetall(key)
            worker_of = {field: field.split(b"/", 1)[0].decode() for field in fields}
            alive = await self._alive(set(worker_of.values()))
            gone = [field for field, worker in worker_of.items() if worker not in alive]
            if gone:
                await redis.hdel(key, *gone)
        except UNREACHABLE as error:
            self.resync = True
            raise ConnectionError(f"Redis is unreachable: {error}") from None
        present = [field for field, worker in worker_of.items() if worker in alive]
        return sorted({fields[field].decode() for field in present})

    async def _alive(self, workers: set[str]) -> set[str]:
        """Which of ``workers`` said lately that they are alive."""
        assert self.redis is not None
        if not workers:
            return set()
        ordered = sorted(workers)
        flags = await self.redis.mget([self._key("alive", w) for w in ordered])
        return {worker for worker, flag in zip(ordered, flags, strict=True) if flag}

    async def _keep_alive(self) -> None:
        """Say every :data:`HEARTBEAT_SECONDS` that this worker is alive."""
        while True:
            try:
                await self._say_alive()
            except UNREACHABLE:
                self.resync = True  # Redis may come back empty: members are re-added
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _read(self) -> None:
        """Read notices; connect, and connect again after an outage, for ever."""
        assert self.redis is not None
        wait = RETRY_SECONDS[0]
        while True:
            pubsub = self.redis.pubsub()
            try:
                # A connection must be subscribed to something to wait for notices:
                # the control topic, which nobody publishes to, keeps it so. The
                # channels' topics follow at once, in _catch_up().
                await pubsub.subscribe(self._key("control", "workers"))
                self.pubsub, wait = pubsub, RETRY_SECONDS[0]
                self.resync = True  # anything may have happened before this connection
                while True:
                    if self.resync:
                        await self._catch_up()
                    message = await pubsub.get_message(timeout=POLL_SECONDS)
                    if message is not None:
                        self._handle(message)
            except UNREACHABLE as error:
                log.warning("lost Redis (%s): connecting again in %.1f s", error, wait)
                self.pubsub, self.resync = None, True
            finally:
                await _close_quietly(pubsub)
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_SECONDS[1])

    async def _catch_up(self) -> None:
        """Redis answers again: subscribe to every topic (again: a subscription may
        have failed), say so to the listener, then send what could not be sent.
        Raises as the connection does, if it fails again meanwhile."""
        assert self.redis is not None and self.pubsub is not None
        assert self.listener is not None
        self.resync = False
        keys = [self._key("topic", topic) for topic in self.topics]
        if keys:
            await self.pubsub.subscribe(*keys)
        await self._say_alive()
        self.listener.reconnected()
        unsent, self.unsent = self.unsent, set()
        for topic, notice in unsent:
            await self.publish(topic, notice)

    async def _say_alive(self) -> None:
        assert self.redis is not None
        await self.redis.set(self._key("alive", self.worker), 1, ex=ALIVE_SECONDS)

    def _handle(self, message: dict[str, object]) -> None:
        channel = message.get("channel")
        key = channel.decode() if isinstance(channel, bytes) else str(channel)
        if message["type"] == "subscribe":
            confirmed = self.confirmations.get(key)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if message["type"] == "message":
            assert self.listener is not None
            data = message["data"]
            notice = data.decode() if isinstance(data, bytes) else str(data)
            self.listener.notified(key.removeprefix(self._key("topic", "")), notice)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.redis is not None:
            with contextlib.suppress(*UNREACHABLE):  # else the key expires by itself
                await self.redis.delete(self._key("alive", self.worker))
            await self.redis.aclose()


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(*UNREACHABLE):
        await pubsub.aclose()
