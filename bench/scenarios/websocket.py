"""Websockets: echo round trips per second, and what holding idle connections costs.

Echo: the profile's clients connect to ``/echo`` (the tutorial's echo view; the
2015 app's; a bare ASGI echo on gunicorn's ``asgi`` worker as the ceiling), then
each sends its messages one at a time, waiting for every echo. The server's log is
read afterwards: any error or asyncio complaint it logged counts.

Idle: websockets are opened to the tutorial's ``/echo`` and left idle, in steps up
to the profile's largest count. At each step the worker's resident memory is read
from /proc, a sample of the idle sockets must still echo, and a normal page
request must still be answered. Bytes per idle connection is the worker's growth
from before the first connection to the largest step, divided by the connections.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.clients import IdleSockets, echo_round_trips, get
from bench.contenders import Running, open_files_limit, rss_bytes
from bench.legacy import count_logged_errors
from bench.results import skipped
from bench.scenarios import Context, Unavailable, rate

ECHO_PATH = "/echo"
TIMEOUT_S = 30.0


def echo(context: Context, key: str) -> dict[str, Any]:
    profile = context.profile
    with context.serve(key, "websocket-echo") as server:
        errors_before = count_logged_errors(server.log_text())
        trips, seconds, failed = asyncio.run(
            echo_round_trips(
                server.ws_url(ECHO_PATH),
                clients=profile.ws_clients,
                messages=profile.ws_messages,
                timeout=TIMEOUT_S,
            )
        )
        time.sleep(profile.settle_s)  # let the server log what the closing made it say
        errors = count_logged_errors(server.log_text()) - errors_before
    return {
        "clients": profile.ws_clients,
        "messages_each": profile.ws_messages,
        "round_trips": trips,
        "seconds": round(seconds, 3),
        "msgs_per_s": rate(trips, seconds),
        "failed_clients": failed,
        "errors_logged": errors,
    }


async def hold_idle(server: Running, levels: tuple[int, ...], settle_s: float) -> dict[str, Any]:
    worker = server.worker_pid()
    baseline = rss_bytes(worker)
    sockets = IdleSockets(server.ws_url(ECHO_PATH), timeout=TIMEOUT_S)
    steps = []
    try:
        for level in levels:
            await sockets.open(level)
            await asyncio.sleep(settle_s)  # let the worker finish the handshakes
            page = await get(server.port, "/?sleep=0", timeout=TIMEOUT_S)
            echoing, sampled = await sockets.still_open()
            steps.append(
                {
                    "connections": len(sockets.sockets),
                    "failed_to_open": sockets.failed,
                    "rss_bytes": rss_bytes(worker),
                    "sample_echoing": echoing,
                    "sample_size": sampled,
                    "page_status": page.status,
                    "page_ms": round(page.seconds * 1000, 1),
                }
            )
    finally:
        await sockets.close()
    largest = steps[-1]
    held = largest["connections"]
    return {
        "worker_open_files_limit": open_files_limit(worker),
        "baseline_rss_bytes": baseline,
        "steps": steps,
        "idle_connections_held": held,
        "bytes_per_idle_connection": round((largest["rss_bytes"] - baseline) / held) if held else 0,
    }


def run(context: Context) -> dict[str, Any]:
    echoes: dict[str, Any] = {}
    for key in ("aiopyramid", "legacy", "ceiling"):
        context.log(f"websocket echo: {context.contenders[key].label}")
        try:
            echoes[key] = echo(context, key)
        except Unavailable as error:
            echoes[key] = skipped(str(error))
        context.log(f"  {echoes[key]}")
    levels = context.profile.ws_idle_levels
    context.log(f"websocket idle: {levels} connections to {context.contenders['aiopyramid'].label}")
    with context.serve("aiopyramid", "websocket-idle") as server:
        idle = asyncio.run(hold_idle(server, levels, context.profile.settle_s))
    context.log(f"  {idle['bytes_per_idle_connection']} bytes per idle connection")
    ours = echoes["aiopyramid"]["msgs_per_s"]
    legacy = echoes["legacy"]
    return {
        "echo_msgs_per_s": ours,
        "ceiling_echo_msgs_per_s": echoes["ceiling"]["msgs_per_s"],
        "errors_logged": echoes["aiopyramid"]["errors_logged"],
        "ratio_vs_legacy": legacy
        if isinstance(legacy, str)
        else round(ours / legacy["msgs_per_s"], 3),
        "bytes_per_idle_connection": idle["bytes_per_idle_connection"],
        "idle_connections_held": idle["idle_connections_held"],
        "echo": echoes,
        "idle": idle,
    }
