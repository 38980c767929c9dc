"""The websockets this worker holds open, by sign-in: signing out closes them at once.

Each worker process knows only its own sockets. A socket that another worker holds
notices the sign-out at its next message, when it checks its sign-in (see
:mod:`aiotutorial.views`).
"""

from collections import defaultdict

from aiopyramid.websocket.connection import WebsocketConnection
from pyramid.config import Configurator
from pyramid.request import Request

REGISTRY_KEY = "aiotutorial.sockets"

SIGNED_OUT = 4001
"""The close code of a socket whose player signed out (4000-4999 are the app's own)."""


class OpenSockets:
    """The open websockets of each sign-in."""

    def __init__(self) -> None:
        self.by_sign_in: defaultdict[str, set[WebsocketConnection]] = defaultdict(set)

    def add(self, sign_in: str, ws: WebsocketConnection) -> None:
        """Remember ``ws``, an open socket of ``sign_in``."""
        self.by_sign_in[sign_in].add(ws)

    def remove(self, sign_in: str, ws: WebsocketConnection) -> None:
        """Forget ``ws``, which closed."""
        self.by_sign_in[sign_in].discard(ws)
        if not self.by_sign_in[sign_in]:
            del self.by_sign_in[sign_in]

    async def close(self, sign_in: str) -> None:
        """Close every socket of ``sign_in``, saying the player signed out."""
        for ws in list(self.by_sign_in.pop(sign_in, ())):
            await ws.close(SIGNED_OUT, "signed out")


def open_sockets(request: Request) -> OpenSockets:
    """The worker's open websockets."""
    found: OpenSockets = request.registry[REGISTRY_KEY]
    return found


def includeme(config: Configurator) -> None:
    """Give the worker its record of open sockets."""
    config.registry[REGISTRY_KEY] = OpenSockets()
