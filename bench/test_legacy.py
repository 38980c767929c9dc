"""The legacy benchmark contender: the 2015 app on aiopyramid 0.4.1, served for real.

``bench/legacy.py`` builds a Python 3.6 virtualenv from the pinned 2017 stack and
returns the command serving ``bench/legacy_app``. These tests run that command and
check what the benchmark relies on: the home page with ``?sleep=``, the websocket
echo, and the count of errors the server logs (aiopyramid 0.4.1 logs one per
closed websocket). The virtualenv is cached in ``.bench/`` of the repository, so
the test sessions of one CI run build it once.

Without a Python 3.6 the live tests cannot run: in CI (``CI`` set) that is a
failure, on a developer's machine a skip that says why.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from websockets.asyncio.client import connect

from bench import legacy
from bench.legacy import LegacyUnavailable, count_logged_errors, prepare_legacy_server
from testkit.aio import run
from testkit.server import ServerProcess, free_port, wait_until

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".bench"
TIMEOUT = 30.0
TITLE = "aiotutorial websocket test"


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, where the legacy contender must run; skip elsewhere, saying why."""
    message = f"legacy contender unavailable: {reason}"
    if "CI" in os.environ:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    try:
        legacy_server = prepare_legacy_server(port, CACHE, print)
    except LegacyUnavailable as error:
        unavailable(str(error))
    log_path = tmp_path_factory.mktemp("legacy") / "legacy-server.log"
    with ServerProcess(
        legacy_server.argv,
        port=port,
        log_path=log_path,
        cwd=legacy_server.cwd,
        env=legacy_server.env,
        ready_path="/?sleep=0",
        startup_timeout=TIMEOUT,
    ) as process:
        yield process


def test_served_by_aiopyramid_041_worker_on_gunicorn_19(server: ServerProcess) -> None:
    log = server.log_text()
    assert "Starting gunicorn 19.7.1" in log
    assert "Using worker: aiopyramid.gunicorn.worker.AsyncGunicornWorker" in log
    assert f"Listening at: http://127.0.0.1:{server.port} " in log
    assert log.count("Booting worker with pid") == 1


def test_home_page_waits_the_default_tenth_of_a_second(server: ServerProcess) -> None:
    response = httpx.get(server.url("/"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert f"<title>{TITLE}</title>" in response.text
    assert "waited 0.1 s" in response.text
    assert 'new WebSocket("ws://" + window.location.host + "/echo")' in response.text


def test_home_page_sleeps_as_asked(server: ServerProcess) -> None:
    started = time.monotonic()
    response = httpx.get(server.url("/"), params={"sleep": "0.2"}, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert "waited 0.2 s" in response.text
    assert elapsed >= 0.19  # a lower bound only: the machine may be slower, never faster


def test_websocket_echo_then_one_logged_error_per_closed_connection(
    server: ServerProcess,
) -> None:
    messages = ["Aiopyramid echo test.", "héllo wörld ✓", "x" * 4096]
    before = count_logged_errors(server.log_text())

    async def main() -> list[str | bytes]:
        async with connect(server.ws_url("/echo"), open_timeout=TIMEOUT, close_timeout=10) as ws:
            replies = []
            for message in messages:
                await ws.send(message)
                replies.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
            return replies

    assert run(main(), TIMEOUT) == messages
    # aiopyramid 0.4.1's defect, which the benchmark reports: closing the socket
    # leaves aiohttp's cancelled request task unretrieved, and asyncio logs it.
    wait_until(
        lambda: count_logged_errors(server.log_text()) > before,
        timeout=TIMEOUT,
        what="the legacy server to log the closed websocket's error",
    )
    log = server.log_text()
    assert "Task exception was never retrieved" in log
    assert count_logged_errors(log) == before + 1


# -- count_logged_errors ------------------------------------------------------------

LEGACY_LOG = """\
[2026-11-25 22:01:29 +0000] [24424] [INFO] Starting gunicorn 19.7.1
[2026-11-25 22:01:29 +0000] [24429] [INFO] Booting worker with pid: 24429
2026-11-25 22:01:32,660 ERROR [asyncio][MainThread] Task exception was never retrieved
future: <Task finished coro=<RequestHandler.start() done> exception=CancelledError()>
concurrent.futures._base.CancelledError
2026-11-25 22:01:33,001 INFO  [aiotutorial][MainThread] an ERROR in a message is not a record
[2026-11-25 22:01:34 +0000] [24429] [ERROR] Error handling request /
Traceback (most recent call last):
  File "gunicorn/workers/base.py", line 1, in handle
RuntimeError: an ERROR in an exception's message is not a record
[2026-11-25 22:01:35 +0000] [24429] [CRITICAL] WORKER TIMEOUT (pid:24429)
Task was destroyed but it is pending!
"""


def test_count_logged_errors_counts_records_not_lines() -> None:
    assert count_logged_errors(LEGACY_LOG) == 4
    assert count_logged_errors("") == 0


# -- finding Python 3.6 and installing the stack ------------------------------------


def test_no_interpreter_is_a_clear_legacy_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "python3.6" on PATH that is not 3.6 (like a pyenv shim whose version is not
    # active) is tried and passed over; an empty pyenv root and home offer nothing.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.6").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    lines: list[str] = []
    with pytest.raises(LegacyUnavailable, match=r"^no python3\.6 interpreter found") as error:
        prepare_legacy_server(free_port(), tmp_path / "cache", lines.append)
    assert str(bin_dir / "python3.6") in str(error.value)
    assert lines == []
    assert not (tmp_path / "cache").exists()


def test_failed_install_is_a_legacy_unavailable_with_pips_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pin set naming a local archive that does not exist: pip fails without any network.
    legacy_app = tmp_path / "legacy_app"
    legacy_app.mkdir()
    requirements = legacy_app / "requirements.txt"
    requirements.write_text("# one pin\n./no-such-archive-1.0.tar.gz\n")
    monkeypatch.setattr(legacy, "LEGACY_APP", legacy_app)
    monkeypatch.setattr(legacy, "REQUIREMENTS", requirements)
    lines: list[str] = []
    with pytest.raises(LegacyUnavailable) as error:
        prepare_legacy_server(free_port(), tmp_path / "cache", lines.append)
    message = str(error.value)
    if message.startswith("no python3.6 interpreter found"):
        unavailable(message)
    assert message.startswith(f"pip install --no-deps -r {requirements} failed (exit code 1):")
    assert "no-such-archive-1.0.tar.gz" in message.splitlines()[-1]
    assert lines[1] == "legacy: installing 1 pinned package from requirements.txt"
    # Not marked complete: the next call builds it again instead of reusing a broken one.
    assert not list((tmp_path / "cache").glob("legacy-venv-*/complete"))
