"""Security whose lookups are coroutines: an identity policy and a resource's ``__acl__``.

Pyramid asks for the identity and the ACL synchronously, while it checks a view's
permission. Both lookups here await a (pretend) asynchronous database anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyramid.authorization import ACLHelper, Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.helpers import synchronize
from aiopyramid.security import CoroutineIdentityPolicy, get_identity

TOKENS = {"s3cret": "ada", "l0ngpass": "grace"}
OWNERS = {"budget": "ada"}


async def query(table: dict[str, str], key: str) -> str | None:
    """Stands in for an asynchronous database client's query."""
    await asyncio.sleep(0.001)
    return table.get(key)


# [start acl]
class Document:
    """A resource whose access rules live in the database."""

    def __init__(self, name: str, parent: Any) -> None:
        self.__name__ = name
        self.__parent__ = parent

    @property
    @synchronize
    async def __acl__(self) -> list[tuple[str, str, str]]:
        owner = await query(OWNERS, self.__name__)
        return [(Allow, Everyone, "view"), (Allow, str(owner), "edit")]
        # [end acl]


class Root:
    """The root of the resource tree: every name is a document."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request: Request) -> None:
        pass

    def __getitem__(self, name: str) -> Document:
        return Document(name, self)


# [start policy]
class TokenPolicy(CoroutineIdentityPolicy):
    """Pyramid 2 security policy: a bearer token names the user."""

    async def load_identity(self, request: Request) -> str | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return await query(TOKENS, token)

    def authenticated_userid(self, request: Request) -> str | None:
        return self.identity(request)  # type: ignore[no-any-return]

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        principals = [Everyone]
        userid = self.identity(request)
        if userid is not None:
            principals += [Authenticated, userid]
        return ACLHelper().permits(context, principals, permission)

    def remember(self, request: Request, userid: str, **kw: Any) -> list[tuple[str, str]]:
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        return []
        # [end policy]


# [start views]
async def edit(context: Document, request: Request) -> Response:
    """permission="edit": Pyramid checked it, loading the identity, before this runs."""
    return Response(f"{request.identity} may edit {context.__name__}")


async def read(context: Document, request: Request) -> Response:
    """In a coroutine view, await the identity: nothing has loaded it yet."""
    user = await get_identity(request)
    return Response(f"{context.__name__}, read by {user or 'a guest'}")


def legacy_read(context: Document, request: Request) -> Response:
    """A legacy view runs in an executor thread, where synchronous lookups may wait."""
    user = request.authenticated_userid
    return Response(f"{context.__name__}, read by {user} (legacy)")
    # [end views]


def make_app() -> Router:
    """Traversal over documents, with the token policy and ACLs from the database."""
    with Configurator(root_factory=Root) as config:
        config.include("aiopyramid")
        config.set_security_policy(TokenPolicy())
        config.add_view(read, context=Document, permission="view")
        config.add_view(edit, context=Document, name="edit", permission="edit")
        config.add_view(legacy_read, context=Document, name="legacy", permission="view")
    return config.make_wsgi_app()
