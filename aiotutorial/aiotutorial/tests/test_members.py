"""A member's queue: what it sends, in which order, and when it gives up."""

import asyncio
import json
from typing import Any

from aiopyramid.websocket.exceptions import WebsocketClosed

from aiotutorial.chat.members import OUTGOING_FRAMES, TOO_SLOW, Member
from aiotutorial.security import Player

ALICE = Player("alice", "a-sign-in")


class FakeSocket:
    """A socket that records what is sent, or, if ``stuck``, never finishes sending:
    a client that stopped reading."""

    def __init__(self, *, stuck: bool = False, gone: bool = False) -> None:
        self.stuck, self.gone = stuck, gone
        self.sent: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None

    async def send(self, frame: str) -> None:
        if self.gone:
            raise WebsocketClosed("the peer left")
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(json.loads(frame))

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


def message(number: int) -> dict[str, Any]:
    return {"id": number, "author": "bob", "time": "", "content": f"message {number}"}


def run_member(socket: FakeSocket, work: Any) -> tuple[Member, list[Member]]:
    """A member on ``socket``; ``work(member)`` runs, then its queue drains."""
    dropped: list[Member] = []

    async def main() -> Member:
        member = Member(socket, ALICE, gone=dropped.append)  # type: ignore[arg-type]
        work(member)
        for _ in range(OUTGOING_FRAMES * 2):  # enough turns to drain the queue
            await asyncio.sleep(0)
        member.close()
        return member

    return asyncio.run(main()), dropped


def test_history_first_then_what_came_meanwhile_each_once_in_order() -> None:
    def join_while_messages_arrive(member: Member) -> None:
        member.joining("lobby", after=1)
        member.deliver("lobby", message(4))  # live, while the history is sent
        member.deliver("lobby", message(3))
        for number in (1, 2, 3):  # the history: 1 is older than what the client has
            member.history("lobby", message(number))
        member.joined("lobby")
        member.deliver("lobby", message(4))  # again: a notice may come twice
        member.deliver("lobby", message(5))

    socket = FakeSocket()
    run_member(socket, join_while_messages_arrive)
    assert [frame["id"] for frame in socket.sent] == [2, 3, 4, 5]


def test_nothing_is_sent_from_a_channel_left() -> None:
    def leave(member: Member) -> None:
        member.joining("lobby", after=None)
        member.joined("lobby")
        member.left("lobby")
        member.deliver("lobby", message(1))

    socket = FakeSocket()
    run_member(socket, leave)
    assert socket.sent == []


def test_a_member_that_cannot_keep_up_is_dropped() -> None:
    def flood(member: Member) -> None:
        member.joining("lobby", after=None)
        member.joined("lobby")
        for number in range(1, OUTGOING_FRAMES + 3):
            member.deliver("lobby", message(number))

    socket = FakeSocket(stuck=True)
    member, dropped = run_member(socket, flood)
    assert dropped == [member]  # once, however many frames overflowed
    assert socket.closed_with == (TOO_SLOW, "too slow: connect again to resume")


def test_a_member_still_joining_is_dropped_if_too_much_waits() -> None:
    def flood_while_joining(member: Member) -> None:
        member.joining("lobby", after=None)
        for number in range(1, OUTGOING_FRAMES + 3):  # overflows twice: dropped once
            member.deliver("lobby", message(number))

    socket = FakeSocket()
    member, dropped = run_member(socket, flood_while_joining)
    assert dropped == [member]
    assert socket.closed_with is not None and socket.closed_with[0] == TOO_SLOW


def test_a_closed_member_sends_nothing() -> None:
    def close_then_send(member: Member) -> None:
        member.close()
        member.send({"type": "presence", "channel": "lobby", "members": []})

    socket = FakeSocket()
    run_member(socket, close_then_send)
    assert socket.sent == []


def test_a_socket_gone_away_closes_the_member() -> None:
    def send(member: Member) -> None:
        member.send({"type": "presence", "channel": "lobby", "members": []})

    member, dropped = run_member(FakeSocket(gone=True), send)
    assert member.closed and dropped == []
