"""Chat messages: posting one, reading them back, and how they look as JSON.

The API (:mod:`aiotutorial.api`) and the chat's websocket (:mod:`aiotutorial.chat`)
both post through :func:`post`, so messages of one channel always get their ids in
the order they are committed: the chat delivers them by id, and a client resumes
after the last id it saw.
"""

from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial.models import Channel, Message


async def post(
    session: AsyncSession, channel_id: int, author: str, content: str
) -> Message:
    """Add a message to the channel in the session's transaction, and return it.

    The channel's row stays locked (``SELECT ... FOR UPDATE``) until the transaction
    ends, so two messages of one channel never commit out of the order of their ids:
    otherwise a reader could see id 11, remember it, and never see id 10 when it
    commits a moment later. SQLite needs no lock: it lets one transaction write at a
    time anyway.
    """
    await session.execute(
        select(Channel.id).where(Channel.id == channel_id).with_for_update()
    )
    message = Message(channel_id=channel_id, author=author, content=content)
    session.add(message)
    await session.flush()  # the database gives the message its id
    return message


async def after(
    session: AsyncSession, channel_id: int, last_id: int, limit: int
) -> list[Message]:
    """The channel's next ``limit`` messages after the one with id ``last_id``."""
    query = (
        select(Message)
        .where(Message.channel_id == channel_id, Message.id > last_id)
        .order_by(Message.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def latest(session: AsyncSession, channel_id: int, limit: int) -> list[Message]:
    """The channel's last ``limit`` messages, oldest first."""
    query = (
        select(Message)
        .where(Message.channel_id == channel_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(await session.scalars(query))))


def message_json(message: Message) -> dict[str, Any]:
    """A message as the API and the chat show it; the time in ISO 8601, in UTC."""
    time = message.time
    if time.tzinfo is None:  # SQLite keeps no time zone; the time is UTC (see models)
        time = time.replace(tzinfo=UTC)
    return {
        "id": message.id,
        "author": message.author,
        "time": time.isoformat(),
        "content": message.content,
    }
