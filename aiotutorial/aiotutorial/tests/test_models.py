"""The schema, as the migrations built it, on each database."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiopyramid.testing import AppClient
from aiotutorial.models import Channel, Game, Message, Score, User


def test_the_lobby_comes_with_the_schema(client: AppClient, session: AsyncSession) -> None:
    names = client.run(session.scalars(select(Channel.name)))
    assert list(names) == ["lobby"]


def test_a_game_records_scores(client: AppClient, session: AsyncSession) -> None:
    async def play() -> list[tuple[str, int]]:
        lobby = await session.scalar(select(Channel).where(Channel.name == "lobby"))
        session.add_all([User(username=name, password_hash="x") for name in ("ann", "bob")])
        game = Game(channel_id=lobby.id)
        session.add(game)
        await session.flush()
        session.add_all(
            [
                Score(game_id=game.id, username="ann", points=3),
                Score(game_id=game.id, username="bob", points=5),
            ]
        )
        game.finished = datetime.now(UTC)
        await session.commit()
        rows = await session.execute(
            select(Score.username, Score.points)
            .where(Score.game_id == game.id)
            .order_by(Score.points)
        )
        return [tuple(row) for row in rows]

    assert client.run(play()) == [("ann", 3), ("bob", 5)]


def test_a_message_needs_an_existing_channel_and_author(
    client: AppClient, session: AsyncSession
) -> None:
    session.add(Message(channel_id=999, author="nobody", content="hello?"))
    with pytest.raises(IntegrityError):
        client.run(session.flush())
