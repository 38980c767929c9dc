"""The gunicorn worker class for aiopyramid applications."""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gasgi import ASGIWorker

from aiopyramid.asgi import ASGIApplication, is_asgi_app

__all__ = ["AsyncGunicornWorker"]


class AsyncGunicornWorker(ASGIWorker):  # type: ignore[misc]
    """gunicorn's native asyncio (ASGI) worker, serving the Pyramid app through aiopyramid.

    gunicorn loads the application as usual (``pserve app.ini`` with
    ``[server:main] use = egg:gunicorn#main``, or ``gunicorn --paste app.ini``); this
    worker wraps the loaded WSGI app in :class:`~aiopyramid.asgi.ASGIApplication`.
    Select it with ``worker_class = aiopyramid.gunicorn.worker.AsyncGunicornWorker``
    in ``[server:main]`` or ``-k aiopyramid.gunicorn.worker.AsyncGunicornWorker``.
    """

    asgi: Any
    """The ASGI application this worker serves."""

    def load_wsgi(self) -> None:
        """Load the application and wrap it for ASGI unless it already is ASGI."""
        super().load_wsgi()
        if not is_asgi_app(self.asgi):
            self.asgi = ASGIApplication(self.asgi)
