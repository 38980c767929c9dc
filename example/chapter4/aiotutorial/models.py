"""The game's data: players and their sign-ins, chat channels and their messages.

Each class maps one table. The annotations are the schema: ``Mapped[str]`` is a
column that must hold a value (``NOT NULL``), ``Mapped[str | None]`` one that may be
empty (``NULL``), and ``mapped_column()`` adds what the type alone does not say:
lengths, keys, indexes. Alembic compares these classes with the database to write
migrations (see ``alembic/``).
"""

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Index, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

USERNAME_LENGTH = 32
CHANNEL_NAME_LENGTH = 32
MESSAGE_LENGTH = 1000
SIGN_IN_ID_LENGTH = 43
"""Characters of a sign-in's id: 32 random bytes, in URL-safe base64."""


def utcnow() -> datetime:
    """The current time, in UTC: what the ``time`` columns store."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The base class of every model; its ``metadata`` lists all the tables."""

    # Constraints and indexes get predictable names, the same on every database,
    # so that migrations can refer to them by name.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    """A player: a name, and a hash of their password, never the password itself."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Channel(Base):
    """A chat channel, such as the lobby where players meet."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(CHANNEL_NAME_LENGTH), unique=True)


class Message(Base):
    """One chat message, posted by a player in a channel."""

    __tablename__ = "messages"
    # Messages are read a channel at a time, newest first: this index serves that.
    __table_args__ = (Index(None, "channel_id", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    author: Mapped[str] = mapped_column(ForeignKey("users.username"))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content: Mapped[str] = mapped_column(String(MESSAGE_LENGTH))


class SignIn(Base):
    """A player's sign-in: the browser keeps its id in the session cookie.

    Signing out deletes it, which ends the sign-in everywhere at once: a copy of the
    cookie, or a websocket opened with it, is no good without its row.
    """

    __tablename__ = "sign_ins"

    id: Mapped[str] = mapped_column(String(SIGN_IN_ID_LENGTH), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
