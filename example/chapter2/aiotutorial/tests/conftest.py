"""Fixtures for the database tests: each test runs on both SQLite and PostgreSQL.

The schema is made once per database by the project's own migrations. Then every
test runs inside a transaction that is rolled back when it ends, so tests never see
each other's rows and leave the database as they found it. The application's
sessions join that transaction through savepoints: their commits and rollbacks
behave as usual, and the final rollback undoes them all.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiopyramid.testing import AppClient
from aiotutorial import main
from aiotutorial.db import SESSION_FACTORY, make_engine
from aiotutorial.tests.postgres import TemporaryCluster, server_binaries

PROJECT = Path(__file__).resolve().parents[2]
"""The project's directory: development.ini and alembic/ are there."""
SETTINGS = {"pyramid.includes": "aiopyramid pyramid_jinja2", "aiotutorial.max_sleep": "10"}


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryCluster]:
    """A PostgreSQL server of our own for the whole test run.

    Without PostgreSQL's server programs its tests are skipped, except on CI
    (where the ``CI`` variable is set): there they fail, so they cannot go missing.
    """
    binaries = server_binaries()
    if binaries is None:  # pragma: no cover (only where PostgreSQL is not installed)
        reason = "PostgreSQL's initdb and pg_ctl were not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = TemporaryCluster(binaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


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


def new_database(kind: str, factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database of ``kind`` ("sqlite" or "postgresql")."""
    directory = factory.mktemp(kind)
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'test.sqlite'}"
    cluster: TemporaryCluster = request.getfixturevalue("postgres")
    return cluster.create_database(directory.name.replace("-", "_").lower())


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on: every database test runs on both."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
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
    """The application, whose sessions all join one transaction rolled back at the end."""
    app = main({}, **SETTINGS, **{"sqlalchemy.url": database_url})
    with AppClient(app) as client:
        engine = make_engine(database_url, poolclass=pool.NullPool)
        connection = client.run(engine.connect())
        transaction = client.run(connection.begin())
        app.registry[SESSION_FACTORY] = async_sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield client
        finally:
            client.run(transaction.rollback())
            client.run(connection.close())
            client.run(engine.dispose())


@pytest.fixture
def session(client: AppClient) -> AsyncSession:
    """A session in the test's transaction, for looking at (or arranging) the data."""
    factory: Any = client.app.wsgi_app.registry[SESSION_FACTORY]
    session: AsyncSession = factory()
    return session
