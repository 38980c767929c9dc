"""The chat of one worker: its members, by channel, and the broker to the others.

Messages reach members in the order of their ids, each exactly once:

- posting commits the message, then publishes a notice ``"message"`` on the
  channel's topic (:mod:`aiotutorial.chat.brokers`);
- a worker that hears it reads the channel's messages after the last one it
  delivered, from the database, and hands them to its members. Notices may come late,
  twice, or not at all during an outage: the next read catches up all the same;
- a joining member gets the history first (the messages after the id its client
  names), then the live messages that arrived meanwhile; it skips any it had.

Every read and write is a unit of work of its own: no database connection is held
while sockets wait.
"""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from pyramid.registry import Registry
from sqlalchemy import func, select

from aiotutorial import messages
from aiotutorial.chat.brokers import Broker
from aiotutorial.chat.members import Member
from aiotutorial.chat.protocol import HISTORY, ProtocolError
from aiotutorial.db import transaction
from aiotutorial.models import Channel, Message
from aiotutorial.players import still_signed_in

log = logging.getLogger(__name__)

BATCH = 100
"""Messages read from the database at a time."""
MOST_CHANNELS = 20
"""The most channels one socket may join."""


class SignedOut(Exception):
    """The member's sign-in ended: its socket must close."""


@dataclass(eq=False)
class LocalChannel:
    """A channel that members on this worker joined."""

    id: int
    name: str
    members: set[Member] = field(default_factory=set)
    last_id: int = 0
    """The id of the last message handed to the members."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while messages are read and handed out: one reader at a time."""
    stale: bool = False
    """Whether new messages may have been posted since the last read."""


class Hub:
    """The chat of this worker, which the broker tells what other workers did."""

    def __init__(self, registry: Registry, broker: Broker) -> None:
        self.registry, self.broker = registry, broker
        self.channels: dict[str, LocalChannel] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        broker.listen(self)

    # What the broker tells this worker.

    def notified(self, topic: str, notice: str) -> None:
        """A channel (``topic``) has a new ``"message"``, or its ``"presence"``
        changed."""
        channel = self.channels.get(topic)
        if channel is None:
            return
        if notice == "message":
            self._spawn(self._deliver_new(channel))
        else:
            self._spawn(self._send_presence(channel))

    def reconnected(self) -> None:
        """The broker is back after an outage."""
        for channel in self.channels.values():
            self._spawn(self._rejoin(channel))

    # What members ask for.

    async def join(self, member: Member, name: str, after: int | None) -> None:
        """Add ``member`` to channel ``name``: its history, then its new messages."""
        if name in member.last_ids:
            raise ProtocolError(f"you are in channel {name!r} already")
        if len(member.last_ids) >= MOST_CHANNELS:
            raise ProtocolError(f"a socket may join {MOST_CHANNELS} channels at most")
        channel = self.channels.get(name) or await self._open(name)
        member.joining(name, after)
        channel.members.add(member)
        await self.broker.add_member(name, member.id, member.player.username)
        await self.broker.publish(name, "presence")
        who = await self._members(channel)
        member.send({"type": "joined", "channel": name, "members": who})
        if after is None:
            async with transaction(self.registry) as session:
                history = await messages.latest(session, channel.id, HISTORY)
            for message in history:
                member.history(name, messages.message_json(message))
        else:
            await self._send_after(member, channel, after)
        member.joined(name)
        # Whoever joined or left meanwhile was not announced to a joining member.
        now = await self._members(channel)
        if now != who:
            member.send({"type": "presence", "channel": name, "members": now})

    async def say(self, member: Member, name: str, content: str) -> None:
        """Post ``content`` to channel ``name`` as the member's player."""
        channel = self.channels.get(name)
        if channel is None or member not in channel.members:
            raise ProtocolError(f"join channel {name!r} first")
        async with transaction(self.registry, write=True) as session:
            if not await still_signed_in(session, member.player.sign_in):
                raise SignedOut
            await messages.post(session, channel.id, member.player.username, content)
        await self.posted(name)

    async def posted(self, name: str) -> None:
        """A message of channel ``name`` was committed: tell this worker's members,
        whatever the broker, and every other worker."""
        self.notified(name, "message")
        await self.broker.publish(name, "message")

    async def leave(self, member: Member, name: str) -> None:
        """Take ``member`` out of channel ``name``."""
        channel = self.channels.get(name)
        if channel is None or member not in channel.members:
            raise ProtocolError(f"you are not in channel {name!r}")
        await self._remove(member, channel)
        member.send({"type": "left", "channel": name})

    async def disconnect(self, member: Member) -> None:
        """The member's socket closed: take it out of every channel."""
        member.close()
        await self._remove_from(member, self._channels_of(member))

    def drop(self, member: Member) -> None:
        """Stop delivering to ``member`` at once; tell the others in the background."""
        channels = self._channels_of(member)
        for channel in channels:
            channel.members.discard(member)
        self._spawn(self._remove_from(member, channels))

    async def close(self) -> None:
        """The worker is stopping: stop the hub's tasks, and wait until they have."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.broker.close()

    # How.

    async def _open(self, name: str) -> LocalChannel:
        """Start following channel ``name`` on this worker."""
        async with transaction(self.registry) as session:
            channel_id = await session.scalar(
                select(Channel.id).where(Channel.name == name)
            )
        if channel_id is None:
            raise ProtocolError(f"there is no channel {name!r}")
        if name in self.channels:  # another member opened it meanwhile
            return self.channels[name]
        channel = self.channels[name] = LocalChannel(channel_id, name)
        async with channel.lock:  # deliveries wait until last_id is known
            await self.broker.subscribe(name)
            async with transaction(self.registry) as session:
                last = select(func.max(Message.id)).where(
                    Message.channel_id == channel_id
                )
                channel.last_id = await session.scalar(last) or 0
        return channel

    def _channels_of(self, member: Member) -> list[LocalChannel]:
        return [
            channel for channel in self.channels.values() if member in channel.members
        ]

    async def _remove_from(self, member: Member, channels: list[LocalChannel]) -> None:
        for channel in channels:
            await self._remove(member, channel)

    async def _remove(self, member: Member, channel: LocalChannel) -> None:
        channel.members.discard(member)
        member.left(channel.name)
        await self.broker.remove_member(channel.name, member.id)
        await self.broker.publish(channel.name, "presence")
        if not channel.members and self.channels.get(channel.name) is channel:
            del self.channels[channel.name]
            await self.broker.unsubscribe(channel.name)

    async def _send_after(
        self, member: Member, channel: LocalChannel, after: int
    ) -> None:
        """Send ``member`` the channel's messages after ``after``, a page at a time."""
        while True:
            async with transaction(self.registry) as session:
                page = await messages.after(session, channel.id, after, BATCH)
            for message in page:
                member.history(channel.name, messages.message_json(message))
            if len(page) < BATCH:
                return
            after = page[-1].id

    async def _deliver_new(self, channel: LocalChannel) -> None:
        """Hand the channel's new messages to its members, in the order of their ids."""
        channel.stale = True
        if channel.lock.locked():
            return  # the task reading now reads again before it stops
        async with channel.lock:
            while channel.stale:
                channel.stale = False
                while True:
                    async with transaction(self.registry) as session:
                        page = await messages.after(
                            session, channel.id, channel.last_id, BATCH
                        )
                    for message in page:
                        frame = messages.message_json(message)
                        for member in list(channel.members):
                            member.deliver(channel.name, frame)
                    if page:
                        channel.last_id = page[-1].id
                    if len(page) < BATCH:
                        break

    async def _members(self, channel: LocalChannel) -> list[str]:
        """Who is in the channel; this worker's members alone, if the broker is away."""
        try:
            return await self.broker.members(channel.name)
        except ConnectionError:
            return sorted({member.player.username for member in channel.members})

    async def _send_presence(self, channel: LocalChannel) -> None:
        frame = {"type": "presence", "channel": channel.name}
        frame["members"] = await self._members(channel)
        for member in list(channel.members):
            if channel.name not in member.held:  # a joining member gets "joined"
                member.send(frame)

    async def _rejoin(self, channel: LocalChannel) -> None:
        """The broker is back: list this worker's members again, and catch up."""
        for member in list(channel.members):
            await self.broker.add_member(
                channel.name, member.id, member.player.username
            )
        await self.broker.publish(channel.name, "presence")
        await self._deliver_new(channel)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("chat task failed", exc_info=task.exception())
