"""A Pyramid 2 security policy whose identity lookup is a coroutine."""

import asyncio
from typing import ClassVar

import pytest
from pyramid.authorization import ACLHelper, Allow, Authenticated
from pyramid.config import Configurator
from pyramid.response import Response

from aiopyramid.exceptions import ScopeError
from aiopyramid.security import CoroutineIdentityPolicy, get_identity
from aiopyramid.testing import AppClient

lookups = []


class TokenPolicy(CoroutineIdentityPolicy):
    """Looks the bearer token up in a pretend database that needs awaiting."""

    users: ClassVar[dict[str, str]] = {"secret": "ada"}

    async def load_identity(self, request):
        await asyncio.sleep(0.01)
        lookups.append(request.path)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.users.get(token)

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        principals = ["system.Everyone"]
        if self.identity(request) is not None:
            principals.append(Authenticated)
        return ACLHelper().permits(context, principals, permission)


class Root:
    __acl__: ClassVar[list[tuple[str, str, str]]] = [(Allow, Authenticated, "view")]

    def __init__(self, request):
        pass


async def protected(request):
    # The permission check already loaded the identity, in the request greenlet.
    return Response(f"protected for {request.identity}")


async def open_view(request):
    return Response(f"open for {await get_identity(request)}")


async def careless(request):
    return Response(f"{request.identity}")


def legacy(request):
    return Response(f"legacy for {request.authenticated_userid}")


def make_app(policy=None):
    with Configurator(root_factory=Root) as config:
        config.include("aiopyramid")
        if policy is not False:
            config.set_security_policy(policy or TokenPolicy())
        for name, view, permission in [
            ("protected", protected, "view"),
            ("open", open_view, None),
            ("careless", careless, None),
            ("legacy", legacy, None),
        ]:
            config.add_route(name, f"/{name}")
            config.add_view(view, route_name=name, permission=permission)
    return config.make_wsgi_app()


AUTH = {"Authorization": "Bearer secret"}


@pytest.fixture
def client():
    lookups.clear()
    with AppClient(make_app()) as client:
        yield client


def test_permission_checks_await_the_identity_once(client):
    assert client.get("/protected", headers=AUTH).text == "protected for ada"
    assert client.get("/protected").status == 403
    assert lookups == ["/protected", "/protected"]


def test_get_identity_in_a_coroutine_view(client):
    assert client.get("/open", headers=AUTH).text == "open for ada"
    assert client.get("/open").text == "open for None"


def test_request_identity_in_a_legacy_view_runs_in_the_executor(client):
    assert client.get("/legacy", headers=AUTH).text == "legacy for ada"


def test_unloaded_identity_in_a_coroutine_view_raises_a_clear_error(client, caplog):
    assert client.get("/careless", headers=AUTH).status == 500
    assert "await aiopyramid.security.get_identity(request)" in caplog.text


def test_get_identity_with_other_policies():
    class Plain:
        def identity(self, request):
            return "plain"

    with AppClient(make_app(Plain())) as client:
        assert client.get("/open").text == "open for plain"
    with AppClient(make_app(False)) as client:
        assert client.get("/open").text == "open for None"


def test_load_identity_must_be_implemented():
    with pytest.raises(NotImplementedError):
        asyncio.run(CoroutineIdentityPolicy().load_identity(None))


def test_identity_outside_any_request_greenlet():
    from pyramid.testing import DummyRequest

    with pytest.raises(ScopeError):
        TokenPolicy().identity(DummyRequest())
