"""Fixtures for the database tests: each test runs on SQLite, and on PostgreSQL too.

SQLite needs nothing installed. For PostgreSQL, set ``AIOTUTORIAL_TEST_POSTGRESQL``
to the URL of a server where the URL's user may create databases, such as
``postgresql+asyncpg://me:secret@127.0.0.1:5432/postgres``; the tests create their
databases there and drop them at the end. Without it, the PostgreSQL runs are
skipped, and pytest says so. The chat's tests run with its broker in the process,
and through Redis too if ``AIOTUTORIAL_TEST_REDIS`` gives a server's URL, such as
``redis://127.0.0.1:6379/0``; their keys start with a prefix of their own.

The schema is made once per database by the project's own migrations. Then every
test runs inside a transaction that is rolled back when it ends, so tests never see
each other's rows and leave the database as they found it. The application's
sessions join that transaction through savepoints: their commits and rollbacks
behave as usual, and the final rollback undoes them all.
"""

import asyncio
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiopyramid.testing import AppClient
from alembic import command
from alembic.config import Config
from sqlalchemy import make_url, pool, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiotutorial import main
from aiotutorial.chat import REGISTRY_KEY as HUB
from aiotutorial.db import READER, WRITER, make_engine

PROJECT = Path(__file__).resolve().parents[2]
"""The project's directory: development.ini and alembic/ are there."""
SETTINGS = {
    "pyramid.includes": "aiopyramid pyramid_jinja2",
    "aiotutorial.max_sleep": "10",
    "aiotutorial.session_secret": "a-secret-for-the-tests-and-nothing-else",
    "aiotutorial.secure_cookies": "false",
    "aiotutorial.sign_in_attempts": "5",
    "aiotutorial.sign_in_window": "60",
}
POSTGRESQL = os.environ.get("AIOTUTORIAL_TEST_POSTGRESQL", "")
"""The URL of a PostgreSQL server to run the database tests on too, if any."""
REDIS = os.environ.get("AIOTUTORIAL_TEST_REDIS", "")
"""The URL of a Redis server to run the chat's tests through too, if any."""


def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the database at ``url``, each outside a transaction."""

    async def run() -> None:
        engine = make_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """Make new PostgreSQL databases on the server at ``AIOTUTORIAL_TEST_POSTGRESQL``.

    Yields a function that creates one and returns its URL; they are all dropped
    when the tests end.
    """
    if not POSTGRESQL:  # pragma: no cover (runs only where no server is given)
        pytest.skip(
            "PostgreSQL: set AIOTUTORIAL_TEST_POSTGRESQL to a server's URL "
            "to run these tests on it"
        )
    server = make_url(POSTGRESQL)
    created: list[str] = []

    def create() -> str:
        name = f"aiotutorial_test_{uuid.uuid4().hex[:12]}"
        run_sql(POSTGRESQL, f'CREATE DATABASE "{name}"')
        created.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        run_sql(
            POSTGRESQL,
            *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in created),
        )


def alembic_config(url: str, directory: Path) -> Config:
    """Alembic's configuration for ``url``: development.ini, with its URL replaced."""
    ini = (PROJECT / "development.ini").read_text()
    ini, count = re.subn(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini)
    assert count == 1, "development.ini should set sqlalchemy.url once"
    path = directory / "development.ini"
    path.write_text(ini)
    config = Config(str(path))
    config.set_main_option("script_location", str(PROJECT / "alembic"))
    return config


def new_database(
    kind: str, factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """The URL of a new, empty database of ``kind`` ("sqlite" or "postgresql")."""
    directory = factory.mktemp(kind)
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'test.sqlite'}"
    create: Callable[[], str] = request.getfixturevalue("postgres")
    return create()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on: every database test runs on both."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def database_url(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A database of each kind, migrated to the latest schema, for the whole run."""
    url = new_database(backend, tmp_path_factory, request)
    command.upgrade(alembic_config(url, tmp_path_factory.mktemp("alembic")), "head")
    return url


@pytest.fixture
def empty_database(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> Config:
    """Alembic's configuration for a new, empty database of each kind."""
    return alembic_config(new_database(backend, tmp_path_factory, request), tmp_path)


@pytest.fixture
def client(database_url: str) -> Iterator[AppClient]:
    """The application, its sessions all in one transaction rolled back at the end."""
    app = main({}, **SETTINGS, **{"sqlalchemy.url": database_url})
    with AppClient(app) as client:
        engine = make_engine(database_url, poolclass=pool.NullPool)
        connection = client.run(engine.connect())
        transaction = client.run(connection.begin())
        joined = async_sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        app.registry[READER] = app.registry[WRITER] = joined
        try:
            yield client
        finally:
            client.run(transaction.rollback())
            client.run(connection.close())
            client.run(engine.dispose())


@pytest.fixture
def session(client: AppClient) -> AsyncSession:
    """A session in the test's transaction, for looking at (or arranging) the data."""
    factory: Any = client.app.wsgi_app.registry[WRITER]
    session: AsyncSession = factory()
    return session


@pytest.fixture
def migrated_database(empty_database: Config) -> str:
    """The URL of a new database of each kind, migrated, for one test alone: the
    chat's hub reads and writes in the background, outside the test's transaction."""
    command.upgrade(empty_database, "head")
    url: str = empty_database.get_section("app:main")["sqlalchemy.url"]
    return url


@pytest.fixture(params=["local", "redis"])
def broker_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings of each broker: every chat test runs with both."""
    if request.param == "local":
        return {}
    if not REDIS:  # pragma: no cover (runs only where no server is given)
        pytest.skip(
            "Redis: set AIOTUTORIAL_TEST_REDIS to a server's URL to run these tests "
            "through it"
        )
    return {"redis.url": REDIS, "aiotutorial.redis_prefix": f"test-{uuid.uuid4().hex}"}


def chat_app(database: str, broker: dict[str, str]) -> Any:
    """The application, on ``database``, with the broker of ``broker``."""
    return main({}, **SETTINGS, **broker, **{"sqlalchemy.url": database})


@pytest.fixture
def chat(
    migrated_database: str, broker_settings: dict[str, str]
) -> Iterator[AppClient]:
    """The whole application, on a database of its own, with each broker."""
    with AppClient(chat_app(migrated_database, broker_settings)) as client:
        yield client
        registry = client.app.wsgi_app.registry
        client.run(registry[HUB].close())
        client.run(registry[READER].kw["bind"].dispose())
