"""The database: one engine per application, one session and transaction per request.

``config.include("aiotutorial.db")`` (done by ``main()``):

- creates the engine from the ``sqlalchemy.url`` setting. Creating it opens no
  connection: under ``pserve`` that happens in gunicorn's master process, before the
  worker exists, and the worker opens its first connection, on its own event loop,
  when the first request needs one;
- gives every request a ``request.dbsession``, an :class:`~sqlalchemy.ext.asyncio.AsyncSession`
  created the first time a view uses it;
- ends that session's transaction after the view (:func:`transaction_tween`): commit
  if the view succeeded, roll back if it failed, so a request never leaves half its
  writes behind;
- closes the engine's connections when the server stops, through aiopyramid's
  lifespan hooks.
"""

import logging
from typing import Any

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aiopyramid.helpers import synchronize

log = logging.getLogger(__name__)

SESSION_FACTORY = "aiotutorial.dbsession_factory"
"""Registry key of the factory that makes each request's session."""


def includeme(config: Configurator) -> None:
    """Set up the engine, ``request.dbsession`` and the transaction per request."""
    engine = make_engine(config.get_settings()["sqlalchemy.url"])
    config.registry[SESSION_FACTORY] = async_sessionmaker(engine, expire_on_commit=False)
    config.add_request_method(dbsession, reify=True)
    config.add_tween("aiotutorial.db.transaction_tween")

    async def close_engine() -> None:
        await engine.dispose()
        log.info("closed the database connections")

    config.add_lifespan_hook(shutdown=close_engine)


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Create the engine for ``url``; SQLite gets the transaction handling it needs."""
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # SQLite checks foreign keys only when asked to, connection by connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
    # Python's sqlite3 module starts and ends transactions on its own schedule;
    # switch that off, so transactions begin where SQLAlchemy says (_sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    # SQLite lets one transaction write at a time. IMMEDIATE takes the write lock
    # at the start, so a transaction waits (up to the driver's timeout) for its
    # turn there, rather than failing halfway when another one writes.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def dbsession(request: Request) -> AsyncSession:
    """The request's database session, made on first use (``reify`` keeps it)."""
    factory: async_sessionmaker[AsyncSession] = request.registry[SESSION_FACTORY]
    return factory()


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


def end_transaction(request: Request, *, commit: bool) -> None:
    """Commit or roll back the request's session, if a view used one, and close it."""
    session = request.__dict__.get("dbsession")  # where reify keeps the session
    if session is not None:
        finish(session, commit=commit)


@synchronize
async def finish(session: AsyncSession, *, commit: bool) -> None:
    """Commit or roll back ``session``, then give its connection back to the pool.

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
