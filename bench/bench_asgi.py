"""Benchmarks for aiopyramid's request path, reported as ratios to baselines run alongside.

Run with ``nox -s bench``. Everything runs in-process, so the numbers measure
aiopyramid's own work (greenlet switches, environ building, ASGI messages) rather
than the network. Each figure is compared with a baseline measured in the same run:

* throughput: the same Pyramid app called directly as WSGI (no aiopyramid at all);
* concurrency: one request alone (the ideal wall time for many concurrent ones);
* memory: a bare asyncio task awaiting the same sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.response import Response

from aiopyramid.asgi import ASGIApplication


async def coroutine_view(request: Any) -> Response:
    await asyncio.sleep(float(request.params.get("sleep", 0)))
    return Response("ok")


def plain_view(request: Any) -> Response:
    return Response("ok")


def make_app(*, with_aiopyramid: bool) -> Any:
    with Configurator() as config:
        if with_aiopyramid:
            config.include("aiopyramid")
            config.add_route("coroutine", "/coroutine")
            config.add_view(coroutine_view, route_name="coroutine")
        config.add_route("plain", "/plain")
        config.add_view(plain_view, route_name="plain")
    return config.make_wsgi_app()


def wsgi_call(app: Any, path: str) -> bytes:
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }
    return b"".join(app(environ, lambda status, headers, exc_info=None: None))


async def asgi_call(app: ASGIApplication, path: str, query: bytes = b"") -> None:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    await app(scope, receive, send)


def per_second(count: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def throughput(count: int) -> list[tuple[str, float, float]]:
    baseline_app = make_app(with_aiopyramid=False)
    asgi = ASGIApplication(make_app(with_aiopyramid=True))

    def direct() -> None:
        for _ in range(count):
            wsgi_call(baseline_app, "/plain")

    def sequential(path: str) -> Callable[[], None]:
        async def main() -> None:
            for _ in range(count):
                await asgi_call(asgi, path)

        return lambda: asyncio.run(main())

    baseline = per_second(count, direct)
    rows = [("plain Pyramid WSGI call (baseline)", baseline, 1.0)]
    for label, path in [
        ("aiopyramid, coroutine view", "/coroutine"),
        ("aiopyramid, legacy view in executor", "/plain"),
    ]:
        rate = per_second(count, sequential(path))
        rows.append((label, rate, rate / baseline))
    return rows


def concurrency(count: int, sleep: float) -> tuple[float, float]:
    asgi = ASGIApplication(make_app(with_aiopyramid=True))
    query = f"sleep={sleep}".encode()

    async def one() -> float:
        started = time.perf_counter()
        await asgi_call(asgi, "/coroutine", query)
        return time.perf_counter() - started

    async def many() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(asgi_call(asgi, "/coroutine", query) for _ in range(count)))
        return time.perf_counter() - started

    return asyncio.run(one()), asyncio.run(many())


def memory(count: int) -> tuple[float, float]:
    """Peak bytes per in-flight request, for aiopyramid and for bare tasks."""
    asgi = ASGIApplication(make_app(with_aiopyramid=True))

    async def requests() -> None:
        await asyncio.gather(*(asgi_call(asgi, "/coroutine", b"sleep=0.2") for _ in range(count)))

    async def bare_tasks() -> None:
        await asyncio.gather(*(asyncio.sleep(0.2) for _ in range(count)))

    peaks = []
    for work in (requests, bare_tasks):
        tracemalloc.start()
        asyncio.run(work())
        peaks.append(tracemalloc.get_traced_memory()[1] / count)
        tracemalloc.stop()
    return peaks[0], peaks[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per throughput run")
    parser.add_argument("--concurrent", type=int, default=1000, help="concurrent requests")
    args = parser.parse_args()
    if args.requests < 1 or args.concurrent < 1:
        parser.error("--requests and --concurrent must be at least 1")

    print(f"throughput, {args.requests} sequential requests:")
    for label, rate, ratio in throughput(args.requests):
        print(f"  {label:40} {rate:9.0f} req/s   x{ratio:.2f} of baseline")

    alone, together = concurrency(args.concurrent, 0.5)
    print(f"concurrency, {args.concurrent} requests awaiting sleep(0.5) at once:")
    print(f"  one request alone (baseline)  {alone:.3f} s")
    print(f"  all {args.concurrent} together            {together:.3f} s   x{together / alone:.2f}")

    per_request, per_task = memory(args.concurrent)
    print(f"memory, {args.concurrent} requests in flight (tracemalloc peak per request):")
    print(f"  bare asyncio task (baseline)  {per_task / 1024:7.1f} KiB")
    ratio = per_request / per_task
    print(f"  aiopyramid request            {per_request / 1024:7.1f} KiB   x{ratio:.1f}")


if __name__ == "__main__":
    main()
