"""Chat channels over one websocket per player, fanned out across workers.

``config.include("aiotutorial.chat")`` (``main()`` does it) gives the application
its :class:`~aiotutorial.chat.hub.Hub`, with a broker chosen by the settings: Redis
when ``redis.url`` names a server (``production.ini``), else one in this process,
which serves a single worker (``development.ini``). The socket is at ``/chat``
(:mod:`aiotutorial.chat.views`); its protocol is :mod:`aiotutorial.chat.protocol`.
"""

from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.request import Request

from aiotutorial.chat.brokers import Broker, LocalBroker
from aiotutorial.chat.hub import Hub
from aiotutorial.chat.redis_broker import RedisBroker

REGISTRY_KEY = "aiotutorial.chat.hub"
REDIS_SCHEMES = {"redis", "rediss", "unix"}


def hub(request: Request) -> Hub:
    """This worker's chat."""
    found: Hub = request.registry[REGISTRY_KEY]
    return found


def broker_from_settings(settings: dict[str, str]) -> Broker:
    """Redis if ``redis.url`` is set, else a broker in this process."""
    url = settings.get("redis.url") or ""
    if not url:
        return LocalBroker()
    if urlsplit(url).scheme not in REDIS_SCHEMES:
        raise ConfigurationError(
            f"redis.url {url!r} is not a Redis URL, such as redis://127.0.0.1:6379/0"
        )
    return RedisBroker(
        url, prefix=settings.get("aiotutorial.redis_prefix") or "aiotutorial"
    )


def includeme(config: Configurator) -> None:
    """Set up the hub, and its broker."""
    chat = Hub(config.registry, broker_from_settings(config.get_settings()))
    config.registry[REGISTRY_KEY] = chat
    config.add_lifespan_hook(shutdown=chat.close)
