"""Small asyncio helpers for the live tests, which are plain (synchronous) pytest tests."""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import httpx

__all__ = ["concurrent_gets", "coverage_paused", "poll_json", "run"]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run ``coroutine`` in a new event loop; fail with TimeoutError after ``timeout`` s."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def poll_json(
    client: httpx.AsyncClient,
    url: str,
    condition: Callable[[Any], bool],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "the condition",
) -> Any:
    """GET ``url`` until ``condition(response.json())`` holds; return that JSON.

    Raises :class:`TimeoutError` (with the last JSON seen) after ``timeout`` s.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    data: Any = None
    while True:
        response = await client.get(url)
        response.raise_for_status()
        data = response.json()
        if condition(data):
            return data
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; last: {data}")
        await asyncio.sleep(interval)


@contextlib.contextmanager
def coverage_paused() -> Iterator[None]:
    """Pause coverage measurement of this process (if any) for the ``with`` block.

    A test that times a *server* must not time the tracer slowing its *client*:
    under ``pytest --cov`` on Python 3.11, tracing made the 200-request client of
    the concurrency test three times slower, enough to miss a 3 s bound that the
    server itself meets with room to spare.
    """
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage is a test dependency
        yield
        return
    current = coverage.Coverage.current()
    if current is None:
        yield
        return
    current.stop()
    try:
        yield
    finally:
        current.start()


@cache
def _ssl_context() -> ssl.SSLContext:
    # httpx builds an SSL context per client unless given one, which costs ~25 ms each.
    return ssl.create_default_context()


async def concurrent_gets(
    base_url: str,
    requests: Sequence[tuple[str, Mapping[str, str]]],
    *,
    connections_per_client: int = 10,
    timeout: float = 30.0,
) -> list[httpx.Response]:
    """Send all ``(path, params)`` GET requests at once; return the responses in order.

    The requests are spread over several fresh clients of ``connections_per_client``
    connections each: the work of one httpx connection pool grows with the square
    of its concurrent requests (200 at once on one pool cost ~1.3 s of client CPU
    here, 20 clients of 10 about 0.3 s), and the client must not be what a
    concurrency test measures. Fresh clients also avoid reusing keep-alive
    connections that the server may be closing.
    """
    count = max(1, math.ceil(len(requests) / connections_per_client))
    limits = httpx.Limits(
        max_connections=connections_per_client, max_keepalive_connections=connections_per_client
    )
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url, limits=limits, timeout=timeout, verify=_ssl_context()
                )
            )
            for _ in range(count)
        ]
        return list(
            await asyncio.gather(
                *(
                    clients[index % count].get(path, params=dict(params))
                    for index, (path, params) in enumerate(requests)
                )
            )
        )
