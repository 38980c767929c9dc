"""Alembic's environment for aiotutorial: which database, which models, how to connect.

Alembic runs this file for every command. The database URL is the application's own
``sqlalchemy.url`` setting, read from the ``[app:main]`` section of the ini file that
``alembic -c`` names, so the server and the migrations can never disagree on it.
"""

import asyncio

from alembic import context
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import Connection, pool

from aiotutorial.db import make_engine
from aiotutorial.models import Base

config = context.config
setup_logging(config.config_file_name)
url = get_appsettings(config.config_file_name)["sqlalchemy.url"]


def run_migrations(connection: Connection) -> None:
    """Run the migrations Alembic asked for, over ``connection``, in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite can change few things in a table in place; in "batch" mode,
        # Alembic rebuilds the table instead when a migration needs it.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    """Connect with the application's async driver and migrate."""
    engine = make_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "aiotutorial's migrations run against a database; --sql is not supported"
    )
asyncio.run(run_online())
