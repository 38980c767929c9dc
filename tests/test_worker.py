"""aiopyramid's gunicorn worker: access log records are built only when something hears them."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import gunicorn.asgi.protocol
import httpx
import pytest
from gunicorn import glogging
from gunicorn.config import Config

from aiopyramid.gunicorn.worker import AsyncGunicornWorker
from testkit.server import free_port, wait_until
from tests.live_app import launch


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncGunicornWorker:
    """A worker (not started) whose gunicorn logging configuration turned the access log on.

    Any logging configuration does that, such as the ini file ``pserve`` passes on;
    gunicorn's own Logger decides it here, from a configuration naming an ini file
    (whose logging setup is skipped, to leave this process's logging alone).
    """
    ini = tmp_path / "app.ini"
    ini.write_text("[loggers]\nkeys = root\n")
    cfg = Config()
    cfg.set("logconfig", str(ini))
    monkeypatch.setattr(glogging, "fileConfig", lambda *args, **kwargs: None)
    log = glogging.Logger(cfg)
    assert log.access_log_enabled is True, "gunicorn no longer enables its access log here"
    # A logger of its own, out of reach of pytest's capture handlers, set up as
    # gunicorn sets up "gunicorn.access".
    log.access_log = logging.Logger("gunicorn.access", logging.INFO)
    log.access_log.propagate = False
    worker = AsyncGunicornWorker.__new__(AsyncGunicornWorker)
    worker.cfg, worker.log = cfg, log
    return worker


def test_access_log_without_handler_is_not_built(worker: AsyncGunicornWorker) -> None:
    worker._skip_unheard_access_log()
    assert worker.log.access_log_enabled is False


def test_access_log_with_a_handler_is_built(worker: AsyncGunicornWorker) -> None:
    worker.log.access_log.addHandler(logging.NullHandler())
    worker._skip_unheard_access_log()
    assert worker.log.access_log_enabled is True


def test_access_log_with_a_filter_is_built(worker: AsyncGunicornWorker) -> None:
    worker.log.access_log.addFilter(lambda record: True)
    worker._skip_unheard_access_log()
    assert worker.log.access_log_enabled is True


def test_access_log_is_built_for_a_post_request_hook(worker: AsyncGunicornWorker) -> None:
    worker.cfg.set("post_request", lambda worker, req, environ, resp: None)
    worker._skip_unheard_access_log()
    assert worker.log.access_log_enabled is True


def test_access_log_is_built_for_a_logger_class_with_its_own_access(
    worker: AsyncGunicornWorker,
) -> None:
    class CountingLogger(glogging.Logger):
        def access(self, *args: object) -> None:
            """Like gunicorn's statsd logger: counts requests, whatever the log says."""

    worker.log.__class__ = CountingLogger
    worker._skip_unheard_access_log()
    assert worker.log.access_log_enabled is True


def test_gunicorns_asgi_protocol_asks_access_log_enabled_per_request() -> None:
    """What makes turning the property off save the work: gunicorn's protocol asks it
    before it builds a record. If gunicorn stops asking, the workaround in
    ``AsyncGunicornWorker._skip_unheard_access_log`` must be looked at again."""
    source = inspect.getsource(gunicorn.asgi.protocol)
    assert source.count("access_log_enabled = self.log.access_log_enabled") >= 1


def test_access_log_file_still_gets_its_lines(tmp_path: Path) -> None:
    port = free_port()
    command = [
        "gunicorn",
        *("--paste", launch.ini_arg(tmp_path), "-k", launch.WORKER_CLASS),
        *("-b", f"127.0.0.1:{port}", "--no-control-socket", "--access-logfile", "-"),
        *launch.gunicorn_options(),
    ]
    with launch.server_process(command, port=port, log_dir=tmp_path) as server:
        assert httpx.get(server.url("/stats?access-log-check"), timeout=10).status_code == 200
        wait_until(
            lambda: "GET /stats?access-log-check" in server.log_text(),
            timeout=10,
            what="the access log line",
        )
