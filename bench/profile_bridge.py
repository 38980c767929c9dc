"""CPU cost per request of aiopyramid's request path, for profiling and A/B comparisons.

Each scenario runs in its own subprocess, so the pure-Pyramid baseline never sees
aiopyramid (including aiopyramid makes Pyramid's request stack context-local, for
the whole process, which is part of what is measured). Subprocesses of all
scenarios are interleaved over several rounds and the median is kept, because the
machine is shared and noisy; every figure is also given as a ratio to the baseline
of the same run.

Scenarios (all serve the body ``ok`` from a route of one Pyramid app):

``pyramid``        the app without aiopyramid, called as WSGI with a prepared environ
``pyramid+ctx``    the same with the request stack made context-local, as aiopyramid does
``pyramid+aio``    the app including aiopyramid, its plain view called as WSGI (no loop)
``asgi-bare``      aiopyramid's ASGI adapter around a bare WSGI function (no Pyramid)
``asgi-coro``      aiopyramid's ASGI adapter, ``async def`` view that awaits nothing
``asgi-sleep0``    the same view awaiting ``asyncio.sleep(0)`` (one loop iteration)
``asgi-executor``  a plain ``def`` view, run in the loop's executor

"Bridge overhead" is ``asgi-coro`` minus ``pyramid``: what aiopyramid adds to a
request (environ, greenlet, ASGI messages, request stack) beyond Pyramid's own work.

Examples::

    python bench/profile_bridge.py                      # table, 7 rounds
    python bench/profile_bridge.py --profile asgi-coro  # cProfile of one scenario
    mkdir /tmp/base && git archive HEAD aiopyramid | tar -x -C /tmp/base  # last commit
    python bench/profile_bridge.py --against /tmp/base  # ... compared with the work tree
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCENARIOS = [
    "pyramid",
    "pyramid+ctx",
    "pyramid+aio",
    "asgi-bare",
    "asgi-coro",
    "asgi-sleep0",
    "asgi-executor",
]
BASELINE = "pyramid"
HERE = Path(__file__).resolve().parent
TREE = HERE.parent  # the directory holding the aiopyramid package measured by default

# What a browser-like client sends, as a server hands it over in an ASGI scope.
HEADERS = [
    (b"host", b"127.0.0.1:6543"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
]


def scope_for(path: str) -> dict[str, Any]:
    """An ``http`` scope shaped like the ones gunicorn's ASGI worker builds."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(HEADERS),
        "server": ("127.0.0.1", 6543),
        "client": ("127.0.0.1", 50000),
    }


def wsgi_environ(path: str) -> dict[str, Any]:
    """The environ a WSGI server would pass for the same request."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "6543",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in HEADERS:
        environ["HTTP_" + name.decode().upper().replace("-", "_")] = value.decode()
    return environ


def make_app(*, with_aiopyramid: bool) -> Any:
    from pyramid.config import Configurator
    from pyramid.response import Response

    def plain(request: Any) -> Response:
        return Response("ok")

    async def coro(request: Any) -> Response:
        return Response("ok")

    async def sleep0(request: Any) -> Response:
        await asyncio.sleep(0)
        return Response("ok")

    with Configurator() as config:
        config.add_route("plain", "/plain")
        config.add_view(plain, route_name="plain")
        if with_aiopyramid:
            config.include("aiopyramid")
            config.add_route("coro", "/coro")
            config.add_view(coro, route_name="coro")
            config.add_route("sleep0", "/sleep0")
            config.add_view(sleep0, route_name="sleep0")
    return config.make_wsgi_app()


def bare_wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The smallest WSGI app answering like the Pyramid view (same headers, same body)."""
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", "2")]
    )
    return [b"ok"]


def wsgi_runner(app: Any, count: int) -> Callable[[], None]:
    template = wsgi_environ("/plain")

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        pass

    def run() -> None:
        for _ in range(count):
            body = app(dict(template), start_response)
            b"".join(body)
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


def asgi_runner(app: Any, path: str, count: int) -> Callable[[], None]:
    template = scope_for(path)
    request_message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request_message

    async def send(message: dict[str, Any]) -> None:
        pass

    async def many() -> None:
        for _ in range(count):
            scope = dict(template)
            scope["headers"] = list(template["headers"])
            await app(scope, receive, send)

    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(many())


def runner(scenario: str, count: int) -> Callable[[], None]:
    """Build the app of ``scenario`` and return a function serving ``count`` requests."""
    if scenario == "pyramid":
        return wsgi_runner(make_app(with_aiopyramid=False), count)
    from aiopyramid.threadlocal import make_request_stack_context_local

    make_request_stack_context_local()  # what including aiopyramid does

    if scenario == "pyramid+ctx":
        return wsgi_runner(make_app(with_aiopyramid=False), count)
    if scenario == "pyramid+aio":
        return wsgi_runner(make_app(with_aiopyramid=True), count)
    from aiopyramid.asgi import ASGIApplication

    if scenario == "asgi-bare":
        return asgi_runner(ASGIApplication(bare_wsgi_app), "/", count)
    app = ASGIApplication(make_app(with_aiopyramid=True))
    path = {"asgi-coro": "/coro", "asgi-sleep0": "/sleep0", "asgi-executor": "/plain"}[scenario]
    return asgi_runner(app, path, count)


def cpu_us_per_request(scenario: str, count: int, batches: int) -> float:
    """Best (lowest) CPU microseconds per request over ``batches`` batches, after a warm-up."""
    run = runner(scenario, count)
    run()
    best = float("inf")
    for _ in range(batches):
        gc.collect()
        started = time.process_time()
        run()
        best = min(best, (time.process_time() - started) / count * 1e6)
    return best


def measure_in_subprocess(scenario: str, tree: Path, count: int, batches: int) -> float:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    argv = [sys.executable, __file__, "--worker", scenario, "--tree", str(tree)]
    argv += ["--requests", str(count), "--batches", str(batches)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["us"])


def table(rounds: int, count: int, batches: int, trees: dict[str, Path]) -> None:
    """Interleave every (tree, scenario) pair over ``rounds``; print medians and ratios."""
    pairs = [(label, scenario) for scenario in SCENARIOS for label in trees]
    results: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for number in range(rounds):
        order = pairs[number % len(pairs) :] + pairs[: number % len(pairs)]
        for label, scenario in order:
            us = measure_in_subprocess(scenario, trees[label], count, batches)
            results[label, scenario].append(us)
    base = statistics.median(results[next(iter(trees)), BASELINE])
    print(f"CPU us/request, median of {rounds} interleaved rounds (min of {batches} batches")
    print(f"of {count} requests each); ratio = baseline '{BASELINE}' time / scenario time")
    for scenario in SCENARIOS:
        for label in trees:
            values = results[label, scenario]
            us = statistics.median(values)
            spread = f"{min(values):6.1f}..{max(values):6.1f}"
            line = f"  {scenario:14} {label:8} {us:7.1f} us  ({spread})  x{base / us:4.2f}"
            if scenario.startswith("asgi-coro"):
                line += f"   overhead {us - base:5.1f} us"
            print(line)
    if len(trees) == 2:
        first, second = trees
        print(f"A/B ({second} time / {first} time, per round, median):")
        for scenario in SCENARIOS:
            a, b = results[first, scenario], results[second, scenario]
            ratio = statistics.median(y / x for x, y in zip(a, b, strict=True))
            print(f"  {scenario:14} x{ratio:.3f}")


def profile(scenario: str, count: int) -> None:
    run = runner(scenario, count)
    run()
    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("tottime")
    stats.print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--requests", type=int, default=2000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per subprocess")
    parser.add_argument("--against", type=Path, help="another tree holding aiopyramid (A/B)")
    parser.add_argument("--profile", choices=SCENARIOS, help="print a cProfile of a scenario")
    parser.add_argument("--worker", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=TREE, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"us": cpu_us_per_request(args.worker, args.requests, args.batches)}))
    elif args.profile:
        profile(args.profile, args.requests)
    else:
        trees = {"work": args.tree}
        if args.against:
            trees = {"against": args.against.resolve(), "work": args.tree}
        table(args.rounds, args.requests, args.batches, trees)


if __name__ == "__main__":
    main()
