"""Traversal through a catalogue whose __getitem__ awaits a query."""

import pytest

from aiopyramid.testing import AppClient
from docs.guide.examples import traversal


@pytest.fixture
def client():
    with AppClient(traversal.make_app()) as client:
        yield client


def test_products_are_found_through_awaited_lookups(client):
    assert client.get("/tea/sencha").text == "Sencha, 4.50 a tin (/tea/sencha/)"
    assert client.get("/coffee/mocha").text == "Mocha, 5.00 a bag (/coffee/mocha/)"


@pytest.mark.parametrize("path", ["/tea/earl-grey", "/juice", "/tea"])
def test_missing_resources_and_shelves_without_a_view_are_404(client, path):
    assert client.get(path).status == 404
