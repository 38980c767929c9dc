"""The throwaway PostgreSQL server of the tests and benchmarks."""

import subprocess
import sys

import pytest

from testkit.availability import postgres_binaries
from testkit.chapters import ROOT
from testkit.postgres import URL_VARIABLE, ClusterError, TemporaryCluster


def test_the_server_listens_on_the_loopback_port_it_was_given(
    postgres_cluster: TemporaryCluster,
) -> None:
    assert (
        postgres_cluster.url("db")
        == f"postgresql+asyncpg://aiotutorial@127.0.0.1:{postgres_cluster.port}/db"
    )
    assert postgres_cluster.sql("SHOW listen_addresses").strip() == "127.0.0.1"
    assert postgres_cluster.sql("SHOW port").strip() == str(postgres_cluster.port)


def test_databases_are_created_and_answer_sql(postgres_cluster: TemporaryCluster) -> None:
    url = postgres_cluster.create_database("made_by_a_test")
    assert url.endswith("/made_by_a_test")
    assert postgres_cluster.sql("SELECT 40 + 2", database="made_by_a_test").strip() == "42"


def test_a_failing_server_program_reports_what_it_printed(
    postgres_cluster: TemporaryCluster,
) -> None:
    with pytest.raises(
        ClusterError, match=r"pg_ctl status .* failed:\npg_ctl: directory .* does not exist"
    ):
        postgres_cluster.run(
            "pg_ctl", "status", "-D", str(postgres_cluster.directory / "elsewhere")
        )


def test_the_command_runs_another_beside_a_cluster_and_removes_it() -> None:
    postgres_binaries()
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
    postgres_binaries()
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
