"""The tutorial application: players sign in, try a websocket, chat through an API."""

import math
from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.router import Router


def main(global_config: Mapping[str, str], **settings: Any) -> Router:
    """Build the WSGI application that ``pserve`` serves.

    ``pserve`` has already set up logging from the ini file's logging sections by the
    time it calls this function, so there is nothing to do for logging here.
    """
    settings["aiotutorial.max_sleep"] = read_max_sleep(settings)
    config = Configurator(settings=settings)
    # Every view of this app is a coroutine, so ask for the strict mapper:
    config.set_view_mapper("aiopyramid.config.CoroutineMapper")
    config.include(".db")
    config.include(".security")
    config.include(".throttle")
    config.include(".sockets")
    config.add_route("home", "/")
    config.add_route("echo", "/echo")
    config.add_route("sign_up", "/sign-up")
    config.add_route("sign_in", "/sign-in")
    config.add_route("sign_out", "/sign-out")
    config.add_route("account", "/account")
    config.add_route("users", "/api/users")
    config.add_route("session", "/api/session")
    config.add_route("channels", "/api/channels")
    config.add_route("messages", "/api/channels/{channel}/messages")
    config.scan(ignore=".tests")  # the tests import pytest, which a server may not have
    return config.make_wsgi_app()


def read_max_sleep(settings: Mapping[str, Any]) -> float:
    """Return the ``aiotutorial.max_sleep`` setting: the longest ``?sleep=`` allowed.

    A missing or unusable value stops the application at startup, where the message
    points at the ini file, rather than at the first request.
    """
    raw = settings.get("aiotutorial.max_sleep")
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise ConfigurationError(
            f"aiotutorial.max_sleep must be a finite number of seconds, 0 or more; "
            f"the ini file gives {raw!r}"
        )
    return seconds
