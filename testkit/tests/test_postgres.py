"""The throwaway PostgreSQL server of the tests and benchmarks."""

import subprocess
import sys
from collections.abc import Iterator

import pytest

from testkit.availability import unavailable
from testkit.chapters import ROOT
from testkit.postgres import URL_VARIABLE, ClusterError, TemporaryCluster, server_binaries


@pytest.fixture(scope="module")
def postgres() -> Iterator[TemporaryCluster]:
    binaries = server_binaries()
    if binaries is None:
        unavailable(
            "PostgreSQL's initdb, pg_ctl and psql were not found (apt-get install postgresql)"
        )
    with TemporaryCluster(binaries) as cluster:
        yield cluster


def test_the_server_listens_on_the_loopback_port_it_was_given(postgres: TemporaryCluster) -> None:
    assert postgres.url("db") == f"postgresql+asyncpg://aiotutorial@127.0.0.1:{postgres.port}/db"
    assert postgres.sql("SHOW listen_addresses").strip() == "127.0.0.1"
    assert postgres.sql("SHOW port").strip() == str(postgres.port)


def test_databases_are_created_and_answer_sql(postgres: TemporaryCluster) -> None:
    url = postgres.create_database("made_by_a_test")
    assert url.endswith("/made_by_a_test")
    assert postgres.sql("SELECT 40 + 2", database="made_by_a_test").strip() == "42"


def test_a_failing_server_program_reports_what_it_printed(postgres: TemporaryCluster) -> None:
    with pytest.raises(
        ClusterError, match=r"pg_ctl status .* failed:\npg_ctl: directory .* does not exist"
    ):
        postgres.run("pg_ctl", "status", "-D", str(postgres.directory / "elsewhere"))


def test_the_command_runs_another_beside_a_cluster_and_removes_it() -> None:
    if server_binaries() is None:
        unavailable(
            "PostgreSQL's initdb, pg_ctl and psql were not found (apt-get install postgresql)"
        )
    show = f"import os; print(os.environ[{URL_VARIABLE!r}])"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "testkit.postgres",
            "--directory",
            "example",
            sys.executable,
            "-c",
            show + "; print(os.getcwd())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    announced, printed, directory = done.stdout.splitlines()
    assert printed.startswith("postgresql+asyncpg://aiotutorial@127.0.0.1:")
    assert announced.endswith(printed)
    assert directory == str(ROOT / "example")


def test_the_command_exits_with_the_status_of_the_command_it_ran() -> None:
    if server_binaries() is None:
        unavailable(
            "PostgreSQL's initdb, pg_ctl and psql were not found (apt-get install postgresql)"
        )
    done = subprocess.run(
        [sys.executable, "-m", "testkit.postgres", sys.executable, "-c", "raise SystemExit(3)"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 3


def test_the_command_needs_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testkit.postgres"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "a COMMAND is needed" in done.stderr
