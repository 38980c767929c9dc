"""Who is playing: sessions, a security policy that looks players up with a coroutine.

``config.include("aiotutorial.security")`` (``main()`` does it) sets up:

- a session per browser, kept in a cookie signed with the ``aiotutorial.session_secret``
  setting: ``HttpOnly`` (page scripts cannot read it), ``SameSite=Lax`` (other sites'
  forms do not get it sent), and ``Secure`` (HTTPS only) when
  ``aiotutorial.secure_cookies`` is on. It holds the id of the browser's sign-in and
  its CSRF token, nothing else, and ends after :data:`IDLE_HOURS` unused;
- :class:`SecurityPolicy`: a request's identity is the player whose sign-in the
  session names, looked up in the database by a coroutine;
- the permission ``play``, which every signed-in player has;
- CSRF checks on every request that may change something (any method but GET, HEAD,
  OPTIONS): the form field ``csrf_token``, or the header ``X-CSRF-Token``, must hold
  the session's token.
"""

import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

from aiopyramid.security import CoroutineIdentityPolicy
from pyramid.authorization import ACLHelper, Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from sqlalchemy import select

from aiotutorial.db import unit_of_work
from aiotutorial.models import SignIn

SECRET_LENGTH = 32
"""The shortest session secret accepted, in characters."""
IDLE_HOURS = 24
"""A session unused this long is over: its player must sign in again."""


@dataclass(frozen=True)
class Player:
    """A request's identity: the signed-in player, and which sign-in it is."""

    username: str
    sign_in: str


class Root:
    """The root of the application's resources: its ACL says who may do what."""

    __acl__: ClassVar = [(Allow, Authenticated, "play")]

    def __init__(self, request: Request) -> None:
        self.request = request


class SecurityPolicy(CoroutineIdentityPolicy):
    """Players are known by the sign-in their session names."""

    async def load_identity(self, request: Request) -> Player | None:
        """The player of the session's sign-in, if it is still there."""
        sign_in = request.session.get("sign_in")
        if not isinstance(sign_in, str):
            return None
        async with unit_of_work(request) as session:
            query = select(SignIn.username).where(SignIn.id == sign_in)
            username = await session.scalar(query)
        return None if username is None else Player(username, sign_in)

    def authenticated_userid(self, request: Request) -> str | None:
        """The signed-in player's name, for ``request.authenticated_userid``."""
        player: Player | None = self.identity(request)
        return None if player is None else player.username

    def permits(self, request: Request, context: Any, permission: str) -> Any:
        """What the ACL of ``context`` says: signed-in players are ``Authenticated``."""
        principals = [Everyone]
        if self.identity(request) is not None:
            principals.append(Authenticated)
        return ACLHelper().permits(context, principals, permission)

    def remember(
        self, request: Request, userid: str, **kw: Any
    ) -> list[tuple[str, str]]:
        """Put the new sign-in ``kw["sign_in"]`` of ``userid`` in a new session."""
        request.session.invalidate()  # a new session, and so a new CSRF token
        request.session["sign_in"] = kw["sign_in"]
        return []  # the session's own cookie carries it

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        """End the browser's session; its sign-in's row is the caller's to delete."""
        request.session.invalidate()
        return []


def new_sign_in_id() -> str:
    """A sign-in's id: 32 random bytes, which nobody can guess."""
    return secrets.token_urlsafe(32)


def includeme(config: Configurator) -> None:
    """Set up sessions, the security policy, the ``play`` permission and CSRF checks."""
    settings = config.get_settings()
    secret = str(settings.get("aiotutorial.session_secret") or "")
    if len(secret) < SECRET_LENGTH or secret.startswith("CHANGE-ME"):
        raise ConfigurationError(
            f"aiotutorial.session_secret must be a secret of {SECRET_LENGTH} "
            "characters or more; make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'"
        )
    secure = asbool(settings.get("aiotutorial.secure_cookies", False))
    config.set_session_factory(
        SignedCookieSessionFactory(
            secret,
            cookie_name="aiotutorial_session",
            httponly=True,
            samesite="Lax",
            secure=secure,
            max_age=IDLE_HOURS * 3600,  # the cookie outlives the browser's restart
            timeout=IDLE_HOURS * 3600,
            reissue_time=3600,  # renew the cookie, and so its timeout, once an hour
        )
    )
    config.set_security_policy(SecurityPolicy())
    config.set_root_factory(Root)
    config.set_default_csrf_options(require_csrf=True)
