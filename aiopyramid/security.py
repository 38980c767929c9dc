"""Pyramid 2 security policies whose identity lookup is a coroutine.

Pyramid asks a security policy for ``identity(request)`` synchronously, from
framework code (permission checks, ``request.identity``). Subclass
:class:`CoroutineIdentityPolicy` and write the lookup as ``async def
load_identity``: inside a request greenlet or an executor thread it is awaited
without blocking the loop, and the result is cached for the rest of the request.

Coroutine views run on the event loop itself, where synchronous code cannot wait;
there, ``await get_identity(request)`` (or check a permission in the view's
configuration, which computes the identity before the view runs).
"""

from __future__ import annotations

from typing import Any

from pyramid.interfaces import ISecurityPolicy

from aiopyramid.exceptions import ScopeError
from aiopyramid.helpers import _can_wait, _wait_for_awaitable

__all__ = ["CoroutineIdentityPolicy", "get_identity"]

_IDENTITY_ENVIRON_KEY = "aiopyramid.identity"
_NOT_LOADED = object()


class CoroutineIdentityPolicy:
    """Base class for a security policy that looks the identity up with a coroutine.

    Implement :meth:`load_identity`, plus the other methods of Pyramid's security
    policy interface (:meth:`~pyramid.interfaces.ISecurityPolicy.authenticated_userid`,
    :meth:`~pyramid.interfaces.ISecurityPolicy.permits`,
    :meth:`~pyramid.interfaces.ISecurityPolicy.remember`,
    :meth:`~pyramid.interfaces.ISecurityPolicy.forget`) as usual; they may call
    ``self.identity(request)``.
    """

    async def load_identity(self, request: Any) -> Any:
        """Return the identity of ``request``'s user, or ``None``; may await I/O."""
        raise NotImplementedError("subclasses implement load_identity()")

    def identity(self, request: Any) -> Any:
        """Return the identity, loading it once per request (see the module docs)."""
        cached = request.environ.get(_IDENTITY_ENVIRON_KEY, _NOT_LOADED)
        if cached is not _NOT_LOADED:
            return cached
        if not _can_wait():
            raise ScopeError(
                "the identity of this request has not been loaded yet, and it is "
                "looked up with a coroutine, which synchronous code can only wait "
                "for inside a request greenlet. In a coroutine view, use "
                "`await aiopyramid.security.get_identity(request)`."
            )
        identity = _wait_for_awaitable(self.load_identity(request))
        request.environ[_IDENTITY_ENVIRON_KEY] = identity
        return identity


async def get_identity(request: Any) -> Any:
    """Return ``request.identity`` from a coroutine, awaiting a coroutine lookup if needed.

    Works with any security policy: a :class:`CoroutineIdentityPolicy` is awaited
    (and its result cached), any other policy is asked directly.
    """
    policy = request.registry.queryUtility(ISecurityPolicy)
    if policy is None:
        return None
    if not isinstance(policy, CoroutineIdentityPolicy):
        return policy.identity(request)
    cached = request.environ.get(_IDENTITY_ENVIRON_KEY, _NOT_LOADED)
    if cached is _NOT_LOADED:
        cached = await policy.load_identity(request)
        request.environ[_IDENTITY_ENVIRON_KEY] = cached
    return cached
