"""Brokers: how the workers of the chat tell each other what happened.

A worker only knows the sockets it holds. When a player posts, the other workers
must hear of it, so that they deliver the message to their own members of the
channel; and who is in a channel is the sum of every worker's members. A broker
carries both. The chat uses it through :class:`Broker` alone:

- :meth:`~Broker.publish` a short notice on a *topic* (one per channel): every
  worker subscribed to it hears it, this one included. A notice says only *what*
  changed (``"message"``, ``"presence"``); the worker reads the rest from the
  database, or from the broker's list of members, so a notice lost or repeated
  costs a little time, never a message;
- keep the list of who is in each channel (:meth:`~Broker.add_member` ...).

:class:`LocalBroker`, in this process, serves one worker, with nothing to install:
``development.ini``'s case. :class:`aiotutorial.chat.redis_broker.RedisBroker`
serves any number of workers and machines, through Redis; the ``redis.url``
setting chooses it.
"""

import asyncio
from collections import defaultdict
from typing import Protocol


class Listener(Protocol):
    """Who hears what a broker carries: the worker's hub."""

    def notified(self, topic: str, notice: str) -> None:
        """``notice`` was published on ``topic``, which this worker subscribed to."""

    def reconnected(self) -> None:
        """The broker was unreachable, and is back: notices may have been missed."""


class Broker(Protocol):
    """What the chat needs from a broker."""

    def listen(self, listener: Listener) -> None:
        """Tell ``listener`` about every notice of the topics subscribed to."""

    async def subscribe(self, topic: str) -> None:
        """Start hearing ``topic``; returns once notices of it will arrive."""

    async def unsubscribe(self, topic: str) -> None:
        """Stop hearing ``topic``."""

    async def publish(self, topic: str, notice: str) -> None:
        """Tell every worker subscribed to ``topic``; never raises for an outage."""

    async def add_member(self, channel: str, member: str, username: str) -> None:
        """``username`` is in ``channel``, through the socket ``member``."""

    async def remove_member(self, channel: str, member: str) -> None:
        """The socket ``member`` left ``channel``."""

    async def members(self, channel: str) -> list[str]:
        """Who is in ``channel``, by name, sorted, each name once."""

    async def close(self) -> None:
        """Let go of connections and tasks: the worker is stopping."""


class LocalBroker:
    """A broker for one worker process, in memory: notices go straight back to it."""

    def __init__(self) -> None:
        self.listener: Listener | None = None
        self.topics: set[str] = set()
        self.channels: defaultdict[str, dict[str, str]] = defaultdict(dict)

    def listen(self, listener: Listener) -> None:
        self.listener = listener

    async def subscribe(self, topic: str) -> None:
        self.topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self.topics.discard(topic)

    async def publish(self, topic: str, notice: str) -> None:
        if self.listener is not None and topic in self.topics:
            # Later, as a broker over the network would: never inside the caller.
            asyncio.get_running_loop().call_soon(self.listener.notified, topic, notice)

    async def add_member(self, channel: str, member: str, username: str) -> None:
        self.channels[channel][member] = username

    async def remove_member(self, channel: str, member: str) -> None:
        self.channels[channel].pop(member, None)
        if not self.channels[channel]:
            del self.channels[channel]

    async def members(self, channel: str) -> list[str]:
        return sorted(set(self.channels.get(channel, {}).values()))

    async def close(self) -> None:
        self.topics.clear()
