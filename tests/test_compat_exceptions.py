"""Code written for aiopyramid 0.4 still catches what is raised for the same conditions.

For each condition 0.4 signalled with an exception of its own or Pyramid's, the
table below names the class 0.4 raised (read from the 0.4.1 source) and a callable
that brings the condition about today. Where the class raised now is more precise,
it is a subclass of both. ``docs/guide/migrating.rst`` lists every entry (a test
checks that it does), and the classes of libraries 0.4 used that are no longer
dependencies (aiohttp, websockets), which cannot be kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from pyramid.exceptions import ConfigurationError

from aiopyramid.config import CoroutineMapper, ExecutorMapper
from aiopyramid.exceptions import NotACoroutineFunction, ScopeError
from aiopyramid.helpers import synchronize
from aiopyramid.websocket.exceptions import WebsocketClosed, WebsocketNotOpen
from aiopyramid.websocket.view import WebsocketConnectionView

MIGRATING = Path(__file__).parents[1] / "docs" / "guide" / "migrating.rst"


def plain(request: object) -> str:
    return "plain"


async def coroutine(request: object) -> str:
    return "coroutine"


def synchronize_plain_function() -> None:
    synchronize(plain)  # type: ignore[arg-type]


def call_synchronized_outside_a_greenlet() -> None:
    synchronize(coroutine)(None)


def map_plain_view_as_coroutine() -> None:
    # Committed with config.add_view(), Pyramid wraps it in its
    # ConfigurationExecutionError, a ConfigurationError too (as it did in 0.4).
    CoroutineMapper()(plain)


def map_coroutine_view_to_executor() -> None:
    ExecutorMapper()(coroutine)


def send_before_the_socket_opened() -> None:
    asyncio.run(WebsocketConnectionView(None, None).send("too early"))


class Case(NamedTuple):
    condition: str
    bring_about: Callable[[], None]
    raised_by_0_4: type[BaseException]
    raised_now: type[BaseException]


CASES = [
    Case(
        "synchronize() given a plain function",
        synchronize_plain_function,
        ConfigurationError,
        NotACoroutineFunction,
    ),
    Case(
        "a strict synchronized coroutine called outside a request greenlet",
        call_synchronized_outside_a_greenlet,
        ScopeError,
        ScopeError,
    ),
    Case(
        "CoroutineMapper given a plain view",
        map_plain_view_as_coroutine,
        ConfigurationError,
        ConfigurationError,
    ),
    Case(
        "ExecutorMapper given a coroutine view",
        map_coroutine_view_to_executor,
        ConfigurationError,
        ConfigurationError,
    ),
    Case(
        "WebsocketConnectionView.send() before the socket opened",
        send_before_the_socket_opened,
        AttributeError,
        WebsocketNotOpen,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.condition for case in CASES])
def test_what_0_4_raised_still_catches_it(case: Case) -> None:
    with pytest.raises(case.raised_by_0_4) as caught:
        case.bring_about()
    assert type(caught.value) is case.raised_now


def test_the_more_precise_classes_are_what_they_say() -> None:
    assert issubclass(NotACoroutineFunction, TypeError)
    assert issubclass(WebsocketNotOpen, RuntimeError)
    assert issubclass(ScopeError, RuntimeError)
    assert issubclass(WebsocketClosed, ConnectionError)


def test_the_migrating_guide_lists_every_case() -> None:
    guide = MIGRATING.read_text(encoding="utf-8")
    start = guide.index(".. _migrate-exceptions:")
    end = guide.find("\n.. _", start + 1)
    rows = guide[start : end if end != -1 else None].replace("``", "").split("\n   * - ")
    for case in CASES:
        row = next((row for row in rows if row.startswith(f"{case.condition}\n")), "")
        assert case.raised_by_0_4.__name__ in row, f"no row for {case.condition!r}"
        assert case.raised_now.__name__ in row, case.condition
