"""A Pyramid application that exercises aiopyramid, for the live-server tests.

``live.ini`` beside this file serves it with ``pserve`` (gunicorn and
aiopyramid's worker); the tests also serve it with ``gunicorn --paste``, uvicorn
and hypercorn. The repository root must be on ``PYTHONPATH`` so that PasteDeploy
can import ``tests.live_app``.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

INI_PATH = Path(__file__).with_name("live.ini")
"""The ini file that serves this app (``pserve tests/live_app/live.ini http_port=PORT``)."""

ROUTES = {
    "sleep": "/sleep",
    "gate": "/gate",
    "gate_legacy": "/gate-legacy",
    "release": "/release",
    "body": "/body",
    "body_legacy": "/body-legacy",
    "whoami": "/whoami",
    "whoami_legacy": "/whoami-legacy",
    "boom": "/boom",
    "custom_error": "/custom-error",
    "unhandled": "/unhandled",
    "plain": "/plain",
    "plain_legacy": "/plain-legacy",
    "stats": "/stats",
    "path": "/path/{rest:.*}",
    "ws_echo": "/ws/echo",
    "ws_bytes": "/ws/bytes",
    "ws_class": "/ws/class",
    "ws_close": "/ws/close",
    "ws_boom": "/ws/boom",
}


def main(global_config: Mapping[str, str], **settings: Any) -> Router:
    """PasteDeploy app factory: the live test app (``use = call:tests.live_app:main``)."""
    config = Configurator(settings=settings)
    # live.ini says `pyramid.includes = aiopyramid`; include it here too so the app
    # also works when built from settings without that line (idempotent).
    config.include("aiopyramid")
    for name, pattern in ROUTES.items():
        config.add_route(name, pattern)
    config.scan("tests.live_app.views")
    return config.make_wsgi_app()


def ini_settings(section: str = "app:main") -> dict[str, str]:
    """The raw values of ``section`` in ``live.ini`` (no interpolation), for the tests."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(INI_PATH, encoding="utf-8")
    return dict(parser[section])
