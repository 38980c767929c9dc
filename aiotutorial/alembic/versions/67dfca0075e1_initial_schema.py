"""Create users, channels, messages, games and scores, and the lobby channel

Revision ID: 67dfca0075e1
Revises:
Create Date: 2026-11-25 22:15:09.762697
"""

import sqlalchemy as sa
from alembic import op

revision = "67dfca0075e1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    channels = op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_channels_name")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "games",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_games_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_games")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["author"], ["users.username"], name=op.f("fk_messages_author_users")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_messages_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        op.f("ix_messages_channel_id_time"), "messages", ["channel_id", "time"], unique=False
    )
    op.create_table(
        "scores",
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["game_id"], ["games.id"], name=op.f("fk_scores_game_id_games")),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_scores_username_users")
        ),
        sa.PrimaryKeyConstraint("game_id", "username", name=op.f("pk_scores")),
    )
    # Data, not schema: every player starts out in the lobby.
    op.bulk_insert(channels, [{"name": "lobby"}])


def downgrade() -> None:
    op.drop_table("scores")
    op.drop_index(op.f("ix_messages_channel_id_time"), table_name="messages")
    op.drop_table("messages")
    op.drop_table("games")
    op.drop_table("users")
    op.drop_table("channels")
