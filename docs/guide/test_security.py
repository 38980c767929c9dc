"""The security example: coroutine identity lookup, a synchronized __acl__, three views."""

import pytest

from aiopyramid.testing import AppClient
from docs.guide.examples import security

ADA = {"Authorization": "Bearer s3cret"}
GRACE = {"Authorization": "Bearer l0ngpass"}


@pytest.fixture
def client():
    with AppClient(security.make_app()) as client:
        yield client


def test_a_coroutine_view_awaits_the_identity(client):
    assert client.get("/budget").text == "budget, read by a guest"
    assert client.get("/budget", headers=ADA).text == "budget, read by ada"


def test_the_permission_check_awaits_identity_and_acl(client):
    assert client.get("/budget/edit", headers=ADA).text == "ada may edit budget"
    assert client.get("/budget/edit", headers=GRACE).status == 403
    assert client.get("/budget/edit").status == 403


def test_a_legacy_view_reads_the_identity_in_its_thread(client):
    assert client.get("/budget/legacy", headers=GRACE).text == "budget, read by grace (legacy)"
