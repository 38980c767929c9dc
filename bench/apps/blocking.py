"""The tutorial's home page as plain synchronous Pyramid: what the async app is measured against.

Same settings (read from the tutorial's ini file), same route, same ``?sleep=``
checks, same template, so the page is byte for byte the one the tutorial serves;
the only difference is the view: ``time.sleep()`` holds the thread that runs it,
where the tutorial's ``await asyncio.sleep()`` lets its worker serve others.
Servers load ``bench.apps.blocking:application``.
"""

from __future__ import annotations

import time

from pyramid.config import Configurator
from pyramid.paster import get_appsettings
from pyramid.request import Request
from pyramid.router import Router

from aiotutorial import read_max_sleep
from aiotutorial.views import sleep_seconds
from bench.profiles import TUTORIAL_INI

TITLE = "aiotutorial websocket test"
"""The page title the tutorial's home view returns."""


def home(request: Request) -> dict[str, str]:
    """The tutorial's home view with a blocking wait."""
    time.sleep(sleep_seconds(request))
    return {"title": TITLE}


def make_app() -> Router:
    """Build the app from the tutorial ini's settings, without aiopyramid."""
    settings = dict(get_appsettings(str(TUTORIAL_INI)))
    settings["pyramid.includes"] = "pyramid_jinja2"
    settings["aiotutorial.max_sleep"] = read_max_sleep(settings)
    config = Configurator(settings=settings)
    config.add_route("home", "/")
    # The template links to the websocket route; no server of this app serves it.
    config.add_route("echo", "/echo")
    config.add_view(home, route_name="home", renderer="aiotutorial:templates/home.jinja2")
    return config.make_wsgi_app()


application = make_app()
