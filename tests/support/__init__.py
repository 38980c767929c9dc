"""Helpers shared by the test suite: running real server processes for live tests."""

from tests.support.aio import concurrent_gets, coverage_paused, poll_json, run
from tests.support.server import ServerProcess, ServerStartError, free_port, wait_until

__all__ = [
    "ServerProcess",
    "ServerStartError",
    "concurrent_gets",
    "coverage_paused",
    "free_port",
    "poll_json",
    "run",
    "wait_until",
]
