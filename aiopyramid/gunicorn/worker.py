"""The gunicorn worker class for aiopyramid applications."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gunicorn import glogging
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
        handler, a filter, a ``post_request`` hook (which is given the access log's
        data) or a logger class with its own ``access()`` (such as gunicorn's statsd
        logger) could see it.
        """
        # Works around gunicorn (27.0): its Logger decides in setup(), from the
        # configuration alone, whether the access log is on, keeps the answer in the
        # private _access_log_enabled that its access_log_enabled property returns,
        # and offers no setting to turn it off. tests/test_worker.py fails if writing
        # that attribute stops turning the property off, or if gunicorn's ASGI
        # protocol stops asking the property. This can go once gunicorn leaves the
        # access log off when "gunicorn.access" has nowhere to write.
        log = self.log
        post_request = self.cfg.settings["post_request"]
        if (
            isinstance(log, glogging.Logger)
            and type(log).access is glogging.Logger.access
            and not log.access_log.filters
            and not (log.access_log.isEnabledFor(logging.INFO) and log.access_log.hasHandlers())
            and post_request.get() is post_request.default
        ):
            log._access_log_enabled = False

    def notify(self) -> None:
        """Heartbeat to the master; the first one also restores gunicorn's listen backlog.

        The base worker hands its listening sockets to ``loop.create_server()``, which
        calls ``listen()`` again with asyncio's default backlog of 100; bursts of new
        connections beyond that would be dropped and retried by clients seconds later.
        """
        # Works around gunicorn (27.0), whose ASGI worker passes no backlog to
        # create_server(). It relies on the worker calling notify() first right
        # after it started its servers, which it keeps in self.servers;
        # test_listen_backlog_holds_200_waiting_connections in
        # tests/test_live_server.py fails if the backlog is not restored. This can go
        # once gunicorn passes backlog=cfg.backlog to create_server().
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
