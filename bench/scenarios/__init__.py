"""One module per scenario; each has ``run(context) -> dict``, its part of ``results.json``.

:class:`Context` is what they share: the run's :class:`~bench.profiles.Profile`, the
contenders, where server logs go, and :meth:`Context.serve`, which starts a
contender, warms it up and checks that it answers, or reports why it can't run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.clients import get
from bench.contenders import Contender, Running, Unavailable, serve
from bench.profiles import Profile

__all__ = ["Context", "Unavailable", "rate", "warm_up"]

WARM_UP_REQUESTS = 20


@dataclass
class Context:
    """What every scenario needs."""

    profile: Profile
    contenders: dict[str, Contender]
    log_dir: Path
    log: Callable[[str], None]
    pages: dict[str, bytes] = field(default_factory=dict)
    """The home page each contender served at warm-up, to check they serve the same."""

    @contextlib.contextmanager
    def serve(self, key: str, scenario: str, *, warm_path: str = "/?sleep=0") -> Iterator[Running]:
        """Start contender ``key`` for ``scenario``, warm it up, stop it afterwards.

        The warm-up requests ``warm_path`` a few times (templates compile, caches
        fill) and each must answer 200. Raises :class:`Unavailable` when the
        contender can't run here (no Python 3.6 for the 2015 stack, no Apache).
        """
        contender = self.contenders[key]
        started = time.monotonic()
        with serve(contender, self.log_dir, f"{scenario}-{key}") as server:
            self.log(f"  {contender.label}: up in {time.monotonic() - started:.1f} s")
            self.pages[key] = asyncio.run(warm_up(server, warm_path))
            yield server


async def warm_up(server: Running, path: str) -> bytes:
    """Request ``path`` a few times; return the body; fail unless every answer is 200."""
    body = b""
    for _ in range(WARM_UP_REQUESTS):
        reply = await get(server.port, path, timeout=30)
        if reply.status != 200:
            raise RuntimeError(
                f"{server.contender.label} answered {reply.status or 'nothing'} to {path}; "
                f"server log tail:\n{server.process.log_tail()}"
            )
        body = reply.body
    return body


def rate(count: float, seconds: float) -> float:
    """``count`` per second, rounded for the results file."""
    return round(count / seconds, 1) if seconds > 0 else 0.0
