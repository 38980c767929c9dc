"""A limit on failed sign-ins: a client that keeps guessing passwords has to wait.

A successful sign-in does not wipe a client's failures: they leave the count only as
they grow old. Otherwise someone with an account of their own could sign in to it
between guesses at other players' passwords, and guess forever.

Each worker process keeps its own count, in memory: with several workers, a client
gets that many tries per worker. That is enough to make guessing slow; a limit
shared by all workers would live in a store they share, such as the database.

Behind a reverse proxy every request comes from the proxy's address: list the proxy
in ``aiotutorial.trusted_proxies``, or one client's failures would lock everyone
out (see :func:`client`).
"""

import math
import time
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request
from pyramid.settings import aslist

REGISTRY_KEY = "aiotutorial.throttle"
PROXIES_KEY = "aiotutorial.trusted_proxies"


class Throttle:
    """At most ``attempts`` failed sign-ins per client in any ``window`` seconds.

    An attempt counts as failed from the moment it starts, and is taken back if the
    password turns out right: otherwise many attempts sent at once would all get
    past :meth:`wait` while their passwords were being checked.
    """

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts, self.window, self.clock = attempts, window, clock
        self.failures: dict[str, list[float]] = {}
        """When each client's recent failures happened, oldest first."""
        self.swept = clock()

    def _recent(self, client: str) -> list[float]:
        """``client``'s failures within the window; a client with none is forgotten."""
        since = self.clock() - self.window
        recent = [when for when in self.failures.pop(client, []) if when > since]
        if recent:
            self.failures[client] = recent
        return recent

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before it may try again; 0 if it may now."""
        recent = self._recent(client)
        if len(recent) < self.attempts:
            return 0.0
        return recent[0] + self.window - self.clock()

    def attempt(self, client: str) -> float:
        """Count an attempt of ``client`` as failed; return its time, the attempt's
        name for :meth:`succeeded`."""
        self._sweep()
        when = self.clock()
        self.failures.setdefault(client, []).append(when)
        return when

    def succeeded(self, client: str, attempt: float) -> None:
        """Take back the ``attempt`` of ``client``: the password was right.

        The client's other failures stay counted.
        """
        failures = self.failures.get(client, [])
        if attempt in failures:
            failures.remove(attempt)

    def _sweep(self) -> None:
        """Forget the clients with no failure in the window, once per window, so that
        clients who fail once and never come back take no memory for long."""
        if self.clock() - self.swept >= self.window:
            for client in list(self.failures):
                self._recent(client)
            self.swept = self.clock()


def throttle(request: Request) -> Throttle:
    """The application's throttle."""
    found: Throttle = request.registry[REGISTRY_KEY]
    return found


def client(request: Request) -> str:
    """Who is signing in, as the throttle counts them: the client's address.

    That is the address of whoever connected, unless it is one of the proxies of the
    ``aiotutorial.trusted_proxies`` setting: then it is the address that proxy
    connected from, which it adds at the end of ``X-Forwarded-For``. Addresses
    further left in that header come from the client itself, who could write
    anything there, so they are not believed.
    """
    address = str(request.remote_addr)
    trusted: frozenset[str] = request.registry[PROXIES_KEY]
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    if address in trusted and forwarded:
        return forwarded
    return address


def read_setting(
    settings: dict[str, Any], name: str, kind: type[int] | type[float]
) -> Any:
    """A positive, finite number from the settings, or a clear error at startup."""
    raw = settings.get(name)
    try:
        number = kind(raw)
    except (TypeError, ValueError):
        number = math.nan
    if not 0 < number < math.inf:
        wanted = "a whole number" if kind is int else "a number"
        raise ConfigurationError(
            f"{name} must be {wanted} above 0; the ini file gives {raw!r}"
        )
    return number


def includeme(config: Configurator) -> None:
    """Make the throttle from the ``aiotutorial.sign_in_*`` settings, and read
    ``aiotutorial.trusted_proxies`` (addresses separated by spaces; none if unset)."""
    settings = config.get_settings()
    attempts = read_setting(settings, "aiotutorial.sign_in_attempts", int)
    window = read_setting(settings, "aiotutorial.sign_in_window", float)
    config.registry[REGISTRY_KEY] = Throttle(attempts, window)
    proxies = aslist(settings.get("aiotutorial.trusted_proxies", ""))
    config.registry[PROXIES_KEY] = frozenset(proxies)
