"""The maintenance tween calls a synchronized coroutine; the view awaits the same helper."""

import asyncio

import pytest

from aiopyramid.exceptions import ScopeError
from aiopyramid.testing import AppClient
from docs.guide.examples import tweens


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setitem(tweens.FLAGS, "maintenance", "")
    with AppClient(tweens.make_app()) as client:
        yield client


def test_pages_are_served_outside_maintenance(client):
    assert client.get("/").text == "welcome"
    assert client.get("/status").text == "maintenance: no"


def test_the_tween_answers_503_during_maintenance(client, monkeypatch):
    monkeypatch.setitem(tweens.FLAGS, "maintenance", "Back at 14:00")
    response = client.get("/")
    assert (response.status, response.text) == (503, "Back at 14:00")
    assert client.get("/status").text == "maintenance: Back at 14:00"


def test_the_lenient_helper_is_a_coroutine_outside_request_greenlets():
    # strict=False: outside a request greenlet the call returns a coroutine.
    assert asyncio.run(tweens.maintenance_message()) == ""


def test_strict_synchronized_functions_refuse_to_run_on_the_loop():
    from aiopyramid.helpers import synchronize

    strict = synchronize(tweens.maintenance_message.__wrapped__)

    async def coroutine_view():
        return strict()

    with pytest.raises(ScopeError, match="synchronized coroutine"):
        asyncio.run(coroutine_view())
