"""Faults and process management, live: load leaves nothing behind; SIGHUP; a killed worker.

Each test starts its own server (gunicorn with aiopyramid's worker, ONE worker)
serving the live test app, whose ``/stats`` shows the worker's PID, its busy
request greenlets and its asyncio tasks.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.aio import coverage_paused, poll_json, run
from testkit.load import Abandon, HttpCall, Tally, WebsocketChat, drive
from testkit.server import ServerProcess, free_port, wait_until
from tests.live_app import INI_PATH, ini_settings, launch

MAX_BODY_SIZE = int(ini_settings()["aiopyramid.max_body_size"])
TIMEOUT = 30.0
MIXED_REQUESTS = 10_000

MIX = [
    HttpCall("GET", "/sleep?sleep=0", 200),
    HttpCall("GET", "/sleep?sleep=0.01", 200),
    HttpCall("GET", "/plain", 200),
    HttpCall("GET", "/plain-legacy", 200),
    HttpCall("GET", "/whoami?value=1", 200),
    HttpCall("GET", "/whoami-legacy?value=2", 200),
    HttpCall("HEAD", "/plain", 200),
    HttpCall("POST", "/body", 200, b"x" * 1000),
    HttpCall("POST", "/body-legacy", 200, b"y" * 1000),
    HttpCall("GET", "/boom", 500),
    HttpCall("GET", "/unhandled", 500),
    HttpCall("GET", "/custom-error", 418),
    HttpCall("GET", "/sleep?sleep=nan", 400),
    HttpCall("GET", "/no/such/page", 404),
    HttpCall("GET", "/ws/echo", 426),
    Abandon("/sleep?sleep=5"),
    WebsocketChat("/ws/echo", messages=5),
]
"""One of each kind of request the live app serves, good and bad."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with launch.pserve(tmp_path) as server:
        yield server


def stats(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(server.url("/stats"), timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def test_10000_mixed_requests_leave_no_greenlets_or_tasks_behind(
    server: ServerProcess, record_property: Callable[[str, object], None]
) -> None:
    """Good, failing, abandoned and websocket requests; afterwards the worker is as before.

    Abandoned ``?sleep=5`` requests are cancelled by gunicorn 3 s after their
    client left, so the worker is given that long to settle before it must be
    back to the tasks it had (one per open connection: the watcher's) and no
    busy request greenlet but the one serving ``/stats``, once unreachable
    objects have been collected.
    """

    async def main() -> tuple[dict[str, Any], Tally, float, dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as watcher:
            before = (await watcher.get("/stats")).json()
            started = time.perf_counter()
            tally = await drive(server.host, server.port, MIX, clients=20, total=MIXED_REQUESTS)
            seconds = time.perf_counter() - started
            after = await poll_json(
                watcher,
                "/stats?collect",
                lambda now: now["tasks"] <= before["tasks"] and now["request_greenlets"] == 1,
                timeout=20,
                what="the worker to finish every request",
            )
            return before, tally, seconds, after

    with coverage_paused():
        before, tally, seconds, after = run(main(), timeout=240)
    print(f"\n{MIXED_REQUESTS} mixed requests: {seconds:.2f} s, {dict(tally.by_kind)}")
    record_property("mixed_requests_wall_time_s", round(seconds, 3))
    assert tally.calls == MIXED_REQUESTS
    assert tally.errors == 0, tally.problems
    assert after["pid"] == before["pid"], "the worker was replaced during the load"
    assert after["tasks"] == before["tasks"]
    assert after["request_greenlets"] == before["request_greenlets"] == 1
    assert after["inflight"]["sleep"] == 0
    assert len(after["cancelled"]) == 0  # only requests with ?token= record their cancellation
    assert after["hits"]["sleep"] >= MIXED_REQUESTS * 2 // len(MIX)


def test_sighup_under_pserve_replaces_the_worker_and_lets_requests_finish(
    tmp_path: Path,
) -> None:
    """SIGHUP: a new worker starts, the old one finishes its requests, then exits.

    Under ``pserve`` the application was loaded once, by pserve, before gunicorn
    started; the new worker is a fork of that process, so SIGHUP does not re-read
    the ini file: a limit changed in it meanwhile does not apply (see the
    ``gunicorn --paste`` test below for a server that does re-read it).
    """
    ini = copy_of_live_ini(tmp_path)
    port = free_port()
    command = ["pserve", str(ini), f"http_port={port}"]
    with launch.server_process(command, port=port, log_dir=tmp_path) as server:
        old = stats(server)["pid"]

        async def main() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=4)
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=TIMEOUT, limits=limits
            ) as client:
                requests = [client.get("/sleep", params={"sleep": "2"}) for _ in range(3)]
                in_flight = [asyncio.create_task(request) for request in requests]
                await poll_json(
                    client,
                    "/stats",
                    lambda now: now["inflight"].get("sleep", 0) >= 3,
                    what="three requests in flight",
                )
                lower_the_body_limit(ini)
                os.kill(server.pid, signal.SIGHUP)
                return list(await asyncio.gather(*in_flight))

        responses = run(main(), timeout=60)
        assert [(r.status_code, r.json()["pid"]) for r in responses] == [(200, old)] * 3
        wait_until(lambda: not pid_alive(old), timeout=TIMEOUT, what="the old worker to exit")
        assert stats(server)["pid"] != old
        assert "Handling signal: hup" in server.log_text()
        assert server.process is not None and server.process.poll() is None
        response = httpx.post(server.url("/body"), content=BODY, timeout=TIMEOUT)
        assert response.status_code == 200, "pserve's new worker re-read the ini file"


BODY = b"z" * 2000
"""A request body under the live app's limit, but over :func:`lower_the_body_limit`'s."""


def copy_of_live_ini(directory: Path) -> Path:
    ini = directory / "live.ini"
    ini.write_text(INI_PATH.read_text())
    return ini


def lower_the_body_limit(ini: Path) -> None:
    """Set ``aiopyramid.max_body_size`` to 1000 bytes in ``ini``."""
    text, count = re.subn(
        r"(?m)^aiopyramid\.max_body_size = \d+$", "aiopyramid.max_body_size = 1000", ini.read_text()
    )
    assert count == 1
    ini.write_text(text)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sighup_under_gunicorn_paste_reloads_the_ini_file(tmp_path: Path) -> None:
    """With ``gunicorn --paste``, each worker loads the app from the ini: SIGHUP re-reads it."""
    ini = copy_of_live_ini(tmp_path)
    port = free_port()
    command = ["gunicorn", "--paste", str(ini), "-k", launch.WORKER_CLASS]
    command += ["-b", f"127.0.0.1:{port}", "--no-control-socket"]
    with launch.server_process(command, port=port, log_dir=tmp_path) as server:
        old = stats(server)["pid"]
        assert httpx.post(server.url("/body"), content=BODY, timeout=TIMEOUT).status_code == 200
        lower_the_body_limit(ini)
        os.kill(server.pid, signal.SIGHUP)
        # The old worker serves on until the new one is up: wait until it is gone.
        wait_until(lambda: not pid_alive(old), timeout=TIMEOUT, what="the old worker to exit")
        assert stats(server)["pid"] != old
        response = httpx.post(server.url("/body"), content=BODY, timeout=TIMEOUT)
        assert response.status_code == 413, "the new worker still has the old limit"


def test_a_killed_worker_is_replaced_and_service_resumes(server: ServerProcess) -> None:
    old = stats(server)["pid"]
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: not pid_alive(old), timeout=TIMEOUT, what="the worker to die")
    # Connections made meanwhile wait in the listening socket, held by the master.
    new = stats(server)["pid"]
    assert new != old
    token = uuid.uuid4().hex
    for _ in range(3):
        response = httpx.get(server.url("/whoami"), params={"value": token}, timeout=TIMEOUT)
        assert response.json() == {"value": token, "same_request": True, "same_registry": True}
    assert server.process is not None and server.process.poll() is None
    assert re.search(rf"Worker \(pid:{old}\) was sent SIGKILL", server.log_text()), (
        server.log_tail()
    )
