"""The gunicorn worker class for aiopyramid applications."""

from __future__ import annotations

import asyncio
import logging
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

    On SIGTERM it stops accepting connections, lets in-flight requests finish within
    ``graceful_timeout``, and closes open websockets with code 1001 ("going away").
    """

    asgi: Any
    """The ASGI application this worker serves."""

    _backlog_restored = False
    _closing: asyncio.Task[None] | None = None

    def load_wsgi(self) -> None:
        """Load the application and wrap it for ASGI unless it already is ASGI."""
        super().load_wsgi()
        if not is_asgi_app(self.asgi):
            self.asgi = ASGIApplication(self.asgi)
        self._skip_unheard_access_log()

    def _skip_unheard_access_log(self) -> None:
        """Stop building access log records that nothing would ever write.

        ``pserve`` and ``gunicorn --paste`` hand the ini file to gunicorn as its
        logging configuration, and any logging configuration turns gunicorn's access
        log on, even when it gives the ``gunicorn.access`` logger no handler (as the
        tutorial's ini does): each request then formats a record that is thrown away,
        about a tenth of the worker's time for a small page. It stays on when a
        handler, a filter or a ``post_request`` hook (which is given the access log's
        data) could see it.
        """
        access_log = getattr(self.log, "access_log", None)
        post_request = self.cfg.settings["post_request"]
        if (
            hasattr(self.log, "_access_log_enabled")
            and isinstance(access_log, logging.Logger)
            and not access_log.filters
            and not (access_log.isEnabledFor(logging.INFO) and access_log.hasHandlers())
            and post_request.get() is post_request.default
        ):
            self.log._access_log_enabled = False

    def notify(self) -> None:
        """Heartbeat to the master; the first one also restores gunicorn's listen backlog.

        The base worker hands its listening sockets to ``loop.create_server()``, which
        calls ``listen()`` again with asyncio's default backlog of 100; bursts of new
        connections beyond that would be dropped and retried by clients seconds later.
        The first heartbeat runs right after the servers start.
        """
        super().notify()
        if self.servers and not self._backlog_restored:
            for listener in self.sockets:
                listener.sock.listen(self.cfg.backlog)
            self._backlog_restored = True

    def handle_exit_signal(self) -> None:
        """SIGTERM: shut down gracefully, and say goodbye to websocket clients."""
        super().handle_exit_signal()
        if isinstance(self.asgi, ASGIApplication) and self._closing is None:
            self._closing = self.loop.create_task(self.asgi.close_websockets())
