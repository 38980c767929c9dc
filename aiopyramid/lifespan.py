"""The application's own start-up and shut-down coroutines, run with the server's lifespan.

An ASGI server tells the application when a worker starts serving and when it stops
(the ASGI ``lifespan`` protocol; gunicorn's ASGI worker, uvicorn and hypercorn all
speak it). That is the time for work that needs the worker's event loop, such as
closing a database connection pool: the application's ``main()`` runs before that
loop exists, and under ``pserve`` even before gunicorn forks the worker.

Once aiopyramid is included, register coroutine functions with the
``add_lifespan_hook`` directive::

    config.add_lifespan_hook(shutdown=engine.dispose)

:class:`~aiopyramid.asgi.ASGIApplication` runs the start-up hooks in the order they
were added when the server starts, and the shut-down hooks in the reverse order when it
stops. A server that does not run the lifespan protocol (or a test driving the
application directly) runs neither.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REGISTRY_KEY", "LifespanHooks", "add_lifespan_hook", "hooks_of"]

_log = logging.getLogger(__name__)

_Hook = Callable[[], Awaitable[Any]]

REGISTRY_KEY = "aiopyramid.lifespan"
"""Where the application's :class:`LifespanHooks` are kept in its Pyramid registry."""


@dataclass
class LifespanHooks:
    """The coroutine functions to await when the server starts and when it stops."""

    startup: list[_Hook] = field(default_factory=list)
    shutdown: list[_Hook] = field(default_factory=list)

    async def run_startup(self) -> None:
        """Await each start-up hook in turn; the first failure propagates."""
        for hook in self.startup:
            await hook()

    async def run_shutdown(self) -> None:
        """Await every shut-down hook, newest first, even if one fails.

        A failure is logged and the others still run, so one broken hook cannot leave
        the rest of the application's resources open; the first error is raised at
        the end.
        """
        first: Exception | None = None
        for hook in reversed(self.shutdown):
            try:
                await hook()
            except Exception as error:
                _log.exception("lifespan shut-down hook %r failed", hook)
                first = first or error
        if first is not None:
            raise first


def hooks_of(registry: Any) -> LifespanHooks:
    """The hooks registered in ``registry`` (an empty set if there are none)."""
    hooks = registry.get(REGISTRY_KEY) if registry is not None else None
    return hooks if isinstance(hooks, LifespanHooks) else LifespanHooks()


def add_lifespan_hook(
    config: Any, *, startup: _Hook | None = None, shutdown: _Hook | None = None
) -> None:
    """Configuration directive: await ``startup`` and ``shutdown`` with the server's lifespan.

    Both are coroutine functions called without arguments, on the worker's event
    loop: ``startup`` when the server starts serving, ``shutdown`` when it stops.
    """
    hooks = config.registry.get(REGISTRY_KEY)
    if not isinstance(hooks, LifespanHooks):
        hooks = config.registry[REGISTRY_KEY] = LifespanHooks()
    if startup is not None:
        hooks.startup.append(startup)
    if shutdown is not None:
        hooks.shutdown.append(shutdown)
