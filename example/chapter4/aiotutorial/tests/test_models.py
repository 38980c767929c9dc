"""The schema, as the migrations built it, on each database."""

import pytest
from aiopyramid.testing import AppClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial.models import Channel, Message


def test_the_lobby_comes_with_the_schema(
    client: AppClient, session: AsyncSession
) -> None:
    names = client.run(session.scalars(select(Channel.name)))
    assert list(names) == ["lobby"]


def test_a_message_needs_an_existing_channel_and_author(
    client: AppClient, session: AsyncSession
) -> None:
    session.add(Message(channel_id=999, author="nobody", content="hello?"))
    with pytest.raises(IntegrityError):
        client.run(session.flush())


def test_channel_names_are_unique(client: AppClient, session: AsyncSession) -> None:
    session.add(Channel(name="lobby"))
    with pytest.raises(IntegrityError):
        client.run(session.flush())
