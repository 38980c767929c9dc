"""The throwaway Redis server of the tests, and ``python -m testkit.services``."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from testkit.availability import postgres_binaries, redis_binary
from testkit.chapters import ROOT
from testkit.postgres import URL_VARIABLE as POSTGRESQL_VARIABLE
from testkit.redis import URL_VARIABLE, RedisError, TemporaryRedis, redis_server_binary
from testkit.server import PortInUse, ServerStartError


def ping(port: int, host: str = "127.0.0.1") -> bytes:
    """PING as ``redis-cli`` would, inline; return the raw reply."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel writes them) of TCP sockets listening on
    ``port``, IPv4 and IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_server_answers_ping_at_its_url(redis_server: TemporaryRedis) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert ping(redis_server.port) == b"+PONG\r\n"
    assert redis_server.command("SET", "test_redis:answer", "42") == b"OK"
    assert redis_server.command("GET", "test_redis:answer") == b"42"
    assert redis_server.command("CONFIG", "GET", "save") == [b"save", b""]
    assert redis_server.command("CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]


def test_an_error_reply_raises(redis_server: TemporaryRedis) -> None:
    with pytest.raises(RedisError, match="unknown command"):
        redis_server.command("NO-SUCH-COMMAND")


def test_the_server_listens_on_127_0_0_1_only(redis_server: TemporaryRedis) -> None:
    assert redis_server.command("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.1"]
    assert listening_addresses(redis_server.port) == {"0100007F"}  # 127.0.0.1, no IPv6
    with pytest.raises(ConnectionRefusedError):
        ping(redis_server.port, host="127.0.0.2")  # loopback too, but another address


def test_a_restart_keeps_the_port_and_loses_the_data() -> None:
    with TemporaryRedis(redis_binary()) as server:
        port, pid = server.port, server.pid
        server.command("SET", "kept", "no")
        server.restart()
        assert server.port == port
        assert server.url.endswith(f":{port}/0")
        assert server.pid != pid
        assert ping(port) == b"+PONG\r\n"
        assert server.command("GET", "kept") is None
        assert server.command("DBSIZE") == 0
        # Nothing was saved on the way down: no RDB file, no append-only file.
        assert [path.name for path in server.directory.iterdir()] == ["redis.log"]


def test_stop_and_start_make_an_outage_on_the_same_port() -> None:
    with TemporaryRedis(redis_binary()) as server:
        server.stop()
        assert server.pid is None
        assert not server.answers()
        with pytest.raises(ConnectionRefusedError):
            ping(server.port)
        server.stop()  # stopping a stopped server does nothing
        server.start()
        assert ping(server.port) == b"+PONG\r\n"


def test_start_refuses_a_port_another_program_took_meanwhile() -> None:
    with TemporaryRedis(redis_binary()) as server:
        server.stop()
        with socket.create_server(("127.0.0.1", server.port)), pytest.raises(PortInUse):
            server.start()


def test_closing_leaves_no_process_no_directory_and_no_listener() -> None:
    with TemporaryRedis(redis_binary()) as server:
        pid, directory = server.pid, server.directory
        assert Path(f"/proc/{pid}").exists()
        assert (directory / "redis.log").is_file()
    assert not Path(f"/proc/{pid}").exists()
    assert not directory.exists()
    assert listening_addresses(server.port) == set()
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


def test_a_server_that_cannot_start_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "redis-server"
    broken.write_text("#!/bin/sh\necho 'FATAL: no way to start'\nexit 3\n")
    broken.chmod(0o755)
    server = TemporaryRedis(broken)
    with (
        pytest.raises(ServerStartError, match=r"exited with status 3; log tail:\n(.|\n)*no way"),
        server,
    ):
        pass
    assert not server.directory.exists()


def test_a_server_that_never_answers_is_given_up_on(tmp_path: Path) -> None:
    silent = tmp_path / "redis-server"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    server = TemporaryRedis(silent, startup_timeout=0.5, stop_timeout=2)
    with pytest.raises(ServerStartError, match=r"did not answer PING within 0\.5 s"), server:
        pass
    assert not server.directory.exists()


def test_a_missing_redis_server_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert redis_server_binary() is None
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install redis-server"):
        redis_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install redis-server"):
        redis_binary()


SHOW_AND_EXIT = f"""
import os, sys
from urllib.parse import urlsplit
from testkit.redis import command
postgresql, redis = os.environ[{POSTGRESQL_VARIABLE!r}], os.environ[{URL_VARIABLE!r}]
print(postgresql)
print(redis)
print(command(urlsplit(redis).port, "PING"))
sys.exit(5)
"""


def test_the_services_command_passes_both_urls_and_returns_the_status() -> None:
    postgres_binaries()
    redis_binary()
    done = subprocess.run(
        [
            sys.executable, "-m", "testkit.services", "--postgresql", "--redis",
            sys.executable, "-c", SHOW_AND_EXIT,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    postgresql_announced, redis_announced, postgresql, redis, pong = done.stdout.splitlines()
    assert postgresql.startswith("postgresql+asyncpg://aiotutorial@127.0.0.1:")
    assert postgresql_announced.endswith(f"a PostgreSQL server at {postgresql}")
    assert redis.startswith("redis://127.0.0.1:")
    assert redis_announced.endswith(f"a Redis server at {redis}")
    assert pong == "b'PONG'"
    assert listening_addresses(urlsplit(redis).port or 0) == set()  # stopped once the command ended


def test_the_services_command_runs_in_the_directory_it_is_given() -> None:
    redis_binary()
    done = subprocess.run(
        [
            sys.executable, "-m", "testkit.services", "--redis", "--directory", "example",
            sys.executable, "-c", "import os; print(os.getcwd())",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == str(ROOT / "example")


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--redis"], "a COMMAND is needed"),
        (["true"], "name the servers to start"),
    ],
)
def test_the_services_command_needs_servers_and_a_command(
    arguments: list[str], complaint: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testkit.services", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert complaint in done.stderr


def test_the_services_command_says_what_to_install(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testkit.services", "--redis", sys.executable, "-c", "pass"],
        cwd=ROOT,
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "redis-server was not found (on Debian: apt-get install redis-server)" in done.stderr
