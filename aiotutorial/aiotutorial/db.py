"""The database: one engine per application, one unit of work per request.

``config.include("aiotutorial.db")`` (``main()`` does it):

- creates the engine from the ``sqlalchemy.url`` setting, refusing a missing or
  unusable one at startup. Creating the engine opens no connection: under
  ``pserve`` this runs in gunicorn's master process, before any worker and its
  event loop exist; a worker connects when its first request needs the database;
- gives every HTTP request a ``request.dbsession``, made the first time a view uses
  it, whose transaction :func:`transaction_tween` ends after the view: committed if
  the view succeeded, rolled back if it failed;
- closes the engine's connections when the server stops, through aiopyramid's
  lifespan hooks.

A websocket conversation lasts as long as the socket, so it gets no
``request.dbsession``: it opens a short :func:`unit_of_work` for each message instead.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aiopyramid.helpers import synchronize
from aiopyramid.websocket.environ import WEBSOCKET_ENVIRON_KEY
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import Connection, event
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

READER = "aiotutorial.db.reader"
WRITER = "aiotutorial.db.writer"
"""Registry keys of the session factories for requests that only read, and the rest."""

AFTER_COMMIT = "aiotutorial.db.after_commit"
"""Where a request keeps what :func:`after_commit` is to await."""

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
"""Methods that do not change anything, so their requests only read."""


def includeme(config: Configurator) -> None:
    """Set up the engine, ``request.dbsession`` and a transaction per request."""
    engine = engine_from_settings(config.get_settings())
    config.registry[READER] = async_sessionmaker(engine, expire_on_commit=False)
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    config.registry[WRITER] = async_sessionmaker(writer, expire_on_commit=False)
    config.add_request_method(dbsession, reify=True)
    config.add_tween("aiotutorial.db.transaction_tween")

    async def close_engine() -> None:
        await engine.dispose()
        log.info("closed the database connections")

    config.add_lifespan_hook(shutdown=close_engine)


def engine_from_settings(settings: dict[str, Any]) -> AsyncEngine:
    """The engine for the ``sqlalchemy.url`` setting.

    A missing or unusable URL stops the application at startup, with a message that
    points at the ini file, rather than failing the first request that needs it.
    """
    url = settings.get("sqlalchemy.url")
    if not url:
        raise ConfigurationError(
            "sqlalchemy.url is missing: give the database's URL in the ini file's "
            "[app:main], such as sqlite+aiosqlite:///%(here)s/aiotutorial.sqlite"
        )
    try:
        return make_engine(url)
    except (ArgumentError, InvalidRequestError) as error:
        raise ConfigurationError(
            f"sqlalchemy.url {url!r} is not usable: {error}"
        ) from None


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Create the engine for ``url``; SQLite gets the transaction handling it needs."""
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite checks foreign keys only when asked to, connection by connection.
    cursor.execute("PRAGMA foreign_keys = ON")
    # With a write-ahead log, reading goes on while one transaction writes.
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
    # Python's sqlite3 module starts and ends transactions on its own schedule;
    # switch that off, so transactions begin where SQLAlchemy says (_sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    # SQLite lets one transaction write at a time. A writer's transaction takes the
    # write lock as it begins (IMMEDIATE), so it waits for its turn there, rather
    # than failing halfway when another one writes; a reader's takes no lock.
    if connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def dbsession(request: Request) -> AsyncSession:
    """The request's database session, made on first use (``reify`` keeps it).

    A request whose method is safe (GET, HEAD, OPTIONS) gets a session that only
    reads; the others may write.
    """
    if WEBSOCKET_ENVIRON_KEY in request.environ:
        raise RuntimeError(
            "request.dbsession lives as long as its request, and a websocket's request "
            "lasts as long as the socket: open a unit of work per message instead, "
            "with `async with unit_of_work(request) as session:`"
        )
    key = READER if request.method in SAFE_METHODS else WRITER
    factory: async_sessionmaker[AsyncSession] = request.registry[key]
    return factory()


def unit_of_work(
    request: Request, *, write: bool = False
) -> AbstractAsyncContextManager[AsyncSession]:
    """A session in a transaction of its own, committed at the end of the ``async with``
    block, rolled back if the block raises. Pass ``write=True`` to write."""
    return transaction(request.registry, write=write)


@asynccontextmanager
async def transaction(
    registry: Registry, *, write: bool = False
) -> AsyncIterator[AsyncSession]:
    """:func:`unit_of_work` for code that has the application's registry, but no
    request, such as the chat's hub."""
    factory: async_sessionmaker[AsyncSession] = registry[WRITER if write else READER]
    async with factory() as session, session.begin():
        yield session


def transaction_tween(handler: Any, registry: Registry) -> Any:
    """Commit the request's transaction if the view succeeded, else roll it back.

    Success means no exception and a status below 400. The commit happens before the
    response goes out: a client that sees *201 Created* can count on the row.
    """

    def tween(request: Request) -> Response:
        try:
            response: Response = handler(request)
        except BaseException:
            end_transaction(request, commit=False)
            raise
        ok = request.exception is None and response.status_code < 400
        end_transaction(request, commit=ok)
        return response

    return tween


def after_commit(request: Request, work: Callable[[], Awaitable[None]]) -> None:
    """Await ``work()`` once the request's transaction is committed; never if it is
    rolled back. For news that others must not hear before the data is there."""
    request.environ.setdefault(AFTER_COMMIT, []).append(work)


def end_transaction(request: Request, *, commit: bool) -> None:
    """Commit or roll back the request's session, if a view used one, and close it."""
    session = request.__dict__.get("dbsession")  # where reify keeps the session
    if session is not None:
        then = request.environ.pop(AFTER_COMMIT, []) if commit else []
        finish(session, commit=commit, then=then)


@synchronize
async def finish(
    session: AsyncSession, *, commit: bool, then: list[Callable[[], Awaitable[None]]]
) -> None:
    """Commit or roll back ``session``, give its connection back to the pool, then
    await the ``then`` callbacks of a commit.

    A tween is ordinary synchronous code; ``@synchronize`` lets it wait for this
    coroutine, as it runs in the request's greenlet.
    """
    try:
        if commit:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()
    for work in then:
        await work()
