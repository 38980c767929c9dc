"""Players: registering, signing in and out, for the pages and the JSON API alike.

The slow part of both registering and signing in is the password hash (see
:mod:`aiotutorial.passwords`): it runs in a thread, and never inside a transaction.
"""

import re

from aiopyramid.helpers import use_executor
from pyramid.request import Request
from pyramid.security import forget, remember
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiotutorial.db import unit_of_work
from aiotutorial.models import USERNAME_LENGTH, SignIn, User
from aiotutorial.passwords import hash_password, verify_password
from aiotutorial.security import Player, new_sign_in_id
from aiotutorial.sockets import open_sockets

USERNAME = re.compile(r"[A-Za-z0-9_-]+")
PASSWORD_LENGTHS = (8, 200)

# Hashing takes tens of milliseconds of CPU: run it in a thread, off the event loop.
hash_in_thread = use_executor(hash_password)
verify_in_thread = use_executor(verify_password)


def username_problem(username: str) -> str | None:
    """What is wrong with ``username`` as a new player's name, if anything."""
    if not 1 <= len(username) <= USERNAME_LENGTH:
        return f"username must be 1 to {USERNAME_LENGTH} characters long"
    if not USERNAME.fullmatch(username):
        return "username may only hold letters, digits, '-' and '_'"
    return None


def password_problem(password: str) -> str | None:
    """What is wrong with ``password`` as a new password, if anything."""
    shortest, longest = PASSWORD_LENGTHS
    if not shortest <= len(password) <= longest:
        return f"password must be {shortest} to {longest} characters long"
    return None


async def register(request: Request, username: str, password: str) -> bool:
    """Add a player in the request's transaction; False if the name is taken."""
    password_hash = await hash_in_thread(password)
    request.dbsession.add(User(username=username, password_hash=password_hash))
    try:
        # Send the INSERT now, to catch a duplicate here rather than at the commit.
        await request.dbsession.flush()
    except IntegrityError:
        return False
    return True


NOBODY_S_HASH = (
    "scrypt$16384$8$1$hCQGs35Utur5UYwpG7DlPg=="
    "$Q3OLUy/EZesNY+7EfmcFix8Syrmlvl/PZpCu9cLnIHQ="
)
"""The hash of a random password nobody knows (it was thrown away), made with the
same costs as everyone's: unknown players' passwords are checked against it."""


async def password_is_right(request: Request, username: str, password: str) -> bool:
    """Whether ``password`` is ``username``'s.

    An unknown name costs the same slow check as a wrong password, so that timing the
    answer does not tell which names exist. The stored hash is read in a short unit of
    work of its own, which ends before the check begins. A name that no player can
    have is not looked up at all: it may hold anything, even characters that
    PostgreSQL refuses.
    """
    stored = None
    if username_problem(username) is None:
        async with unit_of_work(request) as session:
            query = select(User.password_hash).where(User.username == username)
            stored = await session.scalar(query)
    right = await verify_in_thread(password, stored or NOBODY_S_HASH)
    return right and stored is not None


async def sign_in(request: Request, username: str) -> None:
    """Start a sign-in of ``username``: a new row, and a new session that names it.

    A sign-in the browser's session named already, of this player or another, ends
    first: a browser has one sign-in at a time.
    """
    previous = request.session.get("sign_in")
    if isinstance(previous, str):
        await end_sign_in(request, previous)
    sign_in_id = new_sign_in_id()
    request.dbsession.add(SignIn(id=sign_in_id, username=username))
    await request.dbsession.flush()
    remember(request, username, sign_in=sign_in_id)


async def sign_out(request: Request, player: Player) -> None:
    """End ``player``'s sign-in, and the browser's session with it."""
    await end_sign_in(request, player.sign_in)
    forget(request)


async def end_sign_in(request: Request, sign_in_id: str) -> None:
    """Delete the sign-in's row, and close this worker's sockets of it."""
    await request.dbsession.execute(delete(SignIn).where(SignIn.id == sign_in_id))
    await open_sockets(request).close(sign_in_id)


async def still_signed_in(session: AsyncSession, sign_in_id: str) -> bool:
    """Whether the sign-in ``sign_in_id`` is still there: nobody ended it since."""
    query = select(SignIn.id).where(SignIn.id == sign_in_id)
    return await session.scalar(query) is not None
