"""Signing in tells nobody which usernames exist, not even by its timing."""

from collections.abc import Callable
from typing import Any

import pytest
from aiopyramid.testing import AppClient

from aiotutorial import players
from aiotutorial.passwords import hash_password
from aiotutorial.tests.signing_in import PASSWORD, post_json, register


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes that sign-ins check passwords against, in order."""
    checked: list[str] = []
    verify: Callable[..., Any] = players.verify_in_thread

    async def counting(password: str, stored: str) -> bool:
        checked.append(stored)
        return bool(await verify(password, stored))

    monkeypatch.setattr(players, "verify_in_thread", counting)
    return checked


def test_an_unknown_name_costs_the_same_check_as_a_wrong_password(
    client: AppClient, checks: list[str]
) -> None:
    register(client)
    wrong = post_json(client, "/api/session", {"username": "alice", "password": "x"})
    unknown = post_json(client, "/api/session", {"username": "bob", "password": "x"})
    assert (wrong.status, wrong.json()) == (unknown.status, unknown.json())
    assert len(checks) == 2  # one slow check each
    assert checks[1] == players.NOBODY_S_HASH


def test_nobody_s_hash_costs_what_everyone_s_does() -> None:
    costs = players.NOBODY_S_HASH.rsplit("$", 2)[0]
    assert hash_password(PASSWORD).startswith(costs + "$")
