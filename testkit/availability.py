"""What to do when a live-server or browser check cannot run here."""

import os
from pathlib import Path
from typing import NoReturn

import pytest

from testkit.postgres import server_binaries
from testkit.redis import redis_server_binary


def unavailable(reason: str) -> NoReturn:
    """Fail under CI (``CI`` set), where every check must run; skip with ``reason`` elsewhere.

    A developer without Chromium still gets the other checks, while CI can never pass
    by silently skipping what the docs promise.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this check may not be skipped)", pytrace=False)
    pytest.skip(reason)


def postgres_binaries() -> Path:
    """Where PostgreSQL's server programs are; unavailable (see above) where they are not."""
    found = server_binaries()
    if found is None:
        unavailable(
            "PostgreSQL's initdb, pg_ctl and psql were not found (apt-get install postgresql)"
        )
    return found


def redis_binary() -> Path:
    """Where ``redis-server`` is; unavailable (see above) where it is not installed."""
    found = redis_server_binary()
    if found is None:
        unavailable("redis-server was not found (apt-get install redis-server)")
    return found
