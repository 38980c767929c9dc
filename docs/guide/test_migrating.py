"""The migration guide's claims about the 2015 command, ``gunicorn --paste development.ini``.

It ignores the ini file's ``[server:main]``: gunicorn listens on port 8000 with its
synchronous worker, which can run neither coroutine views nor websockets. The
tutorial's project (the last chapter's) is served that way, on a free port, with
its own development.ini.
"""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidHandshake
from websockets.sync.client import connect

from testkit.chapters import latest
from testkit.server import ServerProcess, free_port

PROJECT = latest().directory
GUIDE = Path(__file__).with_name("migrating.rst")


def our_environment() -> dict[str, str]:
    """This environment, with the test run's own gunicorn first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def test_gunicorn_paste_ignores_server_main() -> None:
    printed = subprocess.run(
        ["gunicorn", "--paste", "development.ini", "--print-config"],
        cwd=PROJECT,
        env=our_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    settings = dict(re.findall(r"(?m)^(\w+)\s+= (.*)$", printed))
    assert settings["worker_class"] == "sync"
    assert settings["bind"] == "['127.0.0.1:8000']"
    assert "port 8000 with the synchronous" in " ".join(GUIDE.read_text().split())


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project behind ``gunicorn --paste`` (the 2015 command) with its own bind."""
    port = free_port()
    argv = ["gunicorn", "--paste", "development.ini", "--bind", f"127.0.0.1:{port}"]
    log = tmp_path_factory.mktemp("sync") / "server.log"
    env = our_environment()
    with ServerProcess(argv, port=port, log_path=log, cwd=PROJECT, env=env) as server:
        yield server.url()


def test_the_sync_worker_can_run_neither_coroutine_views_nor_websockets(sync_server: str) -> None:
    assert httpx.get(sync_server, timeout=30).status_code == 500
    with pytest.raises(InvalidHandshake):
        connect(sync_server.replace("http://", "ws://", 1) + "echo", open_timeout=30).close()
