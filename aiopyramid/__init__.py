"""aiopyramid: run Pyramid applications on asyncio.

Include it in a Pyramid application (``config.include("aiopyramid")`` or
``pyramid.includes = aiopyramid`` in the ini file) to make
:class:`~aiopyramid.config.CoroutineOrExecutorMapper` the default view mapper, then
serve the application with :class:`aiopyramid.gunicorn.worker.AsyncGunicornWorker` or
any ASGI server through :mod:`aiopyramid.asgi`.

Importing aiopyramid, or any of its modules, changes nothing in Pyramid. Including
it makes Pyramid's request stack context-local (see :mod:`aiopyramid.threadlocal`),
so concurrent requests on one thread never see each other's request.

``aiopyramid.__version__`` is the version of the installed distribution, as its
metadata records it.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

__all__ = ["includeme"]
__version__ = version("aiopyramid")


def includeme(config: Any) -> None:
    """Make :class:`~aiopyramid.config.CoroutineOrExecutorMapper` the default view mapper.

    It also makes Pyramid's request stack context-local
    (:func:`~aiopyramid.threadlocal.make_request_stack_context_local`), reads the
    ``aiopyramid.*`` settings now, so a bad value stops the application at startup
    instead of failing the first request, and adds the ``config.add_lifespan_hook``
    directive (see :mod:`aiopyramid.lifespan`).
    """
    from aiopyramid.config import CoroutineOrExecutorMapper
    from aiopyramid.lifespan import add_lifespan_hook
    from aiopyramid.settings import settings_from
    from aiopyramid.threadlocal import make_request_stack_context_local

    make_request_stack_context_local()
    settings_from(config.registry)
    config.set_view_mapper(CoroutineOrExecutorMapper)
    config.add_directive("add_lifespan_hook", add_lifespan_hook)
