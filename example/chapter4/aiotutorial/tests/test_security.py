"""Sessions and their cookie, and the settings they need."""

from http.cookies import SimpleCookie

import pytest
from aiopyramid.testing import AppClient
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from aiotutorial import main
from aiotutorial.security import IDLE_HOURS
from aiotutorial.tests.conftest import SETTINGS
from aiotutorial.tests.signing_in import signed_in

IN_MEMORY = {"sqlalchemy.url": "sqlite+aiosqlite://"}


def session_cookie(settings: dict[str, str]) -> SimpleCookie:
    """The session cookie that a first visit to the app gets."""
    with AppClient(main({}, **settings, **IN_MEMORY)) as client:
        response = client.get("/api/session")
    cookie: SimpleCookie = SimpleCookie(response.headers["set-cookie"])
    return cookie


def test_the_session_cookie_is_out_of_scripts_and_other_sites_reach() -> None:
    morsel = session_cookie(SETTINGS)["aiotutorial_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]  # development is plain HTTP
    assert morsel["max-age"] == str(IDLE_HOURS * 3600)


def test_production_cookies_go_over_https_only() -> None:
    settings = {**SETTINGS, "aiotutorial.secure_cookies": "true"}
    assert session_cookie(settings)["aiotutorial_session"]["secure"] is True


@pytest.mark.parametrize(
    "secret",
    [None, "", "too-short", "CHANGE-ME-to-a-long-random-string"],
)
def test_the_app_needs_a_real_session_secret(secret: str | None) -> None:
    settings = {**SETTINGS, "aiotutorial.session_secret": secret}
    with pytest.raises(ConfigurationError, match=r"aiotutorial\.session_secret must"):
        main({}, **settings, **IN_MEMORY)


def test_a_forged_cookie_is_no_session(client: AppClient) -> None:
    client.cookies = {"aiotutorial_session": "eyJzaWduX2luIjogIngifQ"}
    response = client.get("/api/session")
    assert response.status == 200
    assert response.json()["player"] is None


def test_views_know_the_player_s_name(client: AppClient) -> None:
    async def whoami(request: Request) -> dict[str, str | None]:
        return {"userid": request.authenticated_userid}

    config = Configurator(registry=client.app.wsgi_app.registry)
    config.add_route("whoami", "/whoami")
    config.add_view(whoami, route_name="whoami", renderer="json", permission="play")
    config.commit()
    signed_in(client)
    assert client.get("/whoami").json() == {"userid": "alice"}
