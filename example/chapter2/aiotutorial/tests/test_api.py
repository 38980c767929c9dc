"""The JSON API, driven through the whole application on each database."""

from aiopyramid.testing import AppClient


def test_list_channels(client: AppClient) -> None:
    response = client.get("/api/channels")
    assert response.status == 200
    assert response.json() == {"channels": [{"name": "lobby"}]}
