"""The throwaway PostgreSQL server of the tests."""

import pytest

from aiotutorial.tests.postgres import TemporaryCluster


def test_the_server_listens_on_the_loopback_port_it_was_given(postgres: TemporaryCluster) -> None:
    assert postgres.url("db") == f"postgresql+asyncpg://aiotutorial@127.0.0.1:{postgres.port}/db"


def test_a_failing_server_program_reports_what_it_printed(postgres: TemporaryCluster) -> None:
    with pytest.raises(
        RuntimeError, match=r"pg_ctl status .* failed:\npg_ctl: directory .* does not exist"
    ):
        postgres.run("pg_ctl", "status", "-D", str(postgres.directory / "elsewhere"))
