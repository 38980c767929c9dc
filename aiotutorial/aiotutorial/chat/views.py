"""The chat's websocket: one per player, for every channel they join."""

from aiopyramid.security import get_identity
from aiopyramid.websocket.config import WebsocketMapper
from aiopyramid.websocket.view import WebsocketConnectionView
from pyramid.view import view_config

from aiotutorial.chat import hub
from aiotutorial.chat.hub import SignedOut
from aiotutorial.chat.members import Member
from aiotutorial.chat.protocol import Join, ProtocolError, Say, parse
from aiotutorial.security import Player
from aiotutorial.sockets import SIGNED_OUT, open_sockets


@view_config(route_name="chat", mapper=WebsocketMapper, permission="play")
class ChatSocket(WebsocketConnectionView):
    """Read the player's frames and do what they ask; the hub sends the rest.

    A frame the chat cannot use gets an ``error`` frame back, and the socket stays
    open; a player who signed out meanwhile is disconnected with ``SIGNED_OUT``.
    """

    async def on_open(self) -> None:
        assert self.ws is not None
        self.player: Player = await get_identity(self.request)
        self.member = Member(self.ws, self.player, gone=hub(self.request).drop)
        open_sockets(self.request).add(self.player.sign_in, self.ws)

    async def on_message(self, message: str | bytes) -> None:
        assert self.ws is not None
        chat = hub(self.request)
        try:
            request = parse(message)
            if isinstance(request, Join):
                await chat.join(self.member, request.channel, request.after)
            elif isinstance(request, Say):
                await chat.say(self.member, request.channel, request.content)
            else:
                await chat.leave(self.member, request.channel)
        except ProtocolError as error:
            self.member.send({"type": "error", "error": str(error)})
        except SignedOut:
            await self.ws.close(SIGNED_OUT, "signed out")

    async def on_close(self) -> None:
        assert self.ws is not None
        await hub(self.request).disconnect(self.member)
        open_sockets(self.request).remove(self.player.sign_in, self.ws)
