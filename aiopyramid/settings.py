"""aiopyramid's settings, read from the application's ini file with clear errors.

==========================================  ==========  ====================================
Setting                                     Default     Meaning
==========================================  ==========  ====================================
``aiopyramid.max_body_size``                10485760    Largest request body in bytes;
                                                        larger bodies get ``413 Request
                                                        Entity Too Large``.
``aiopyramid.websocket.max_message_size``   1048576     Largest websocket message in bytes;
                                                        a larger one closes the socket
                                                        with code 1009.
``aiopyramid.websocket.allowed_origins``    (empty)     Origins allowed to open websockets,
                                                        separated by spaces or newlines;
                                                        ``*`` allows any. Empty means the
                                                        page's own origin only. Clients
                                                        that send no ``Origin`` (not
                                                        browsers) are always allowed.
==========================================  ==========  ====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyramid.exceptions import ConfigurationError

__all__ = ["AiopyramidSettings", "settings_from"]

_SETTINGS_KEY = "aiopyramid.settings"
"""Where :func:`settings_from` keeps the parsed settings in the application's registry."""


def _byte_count(settings: Mapping[str, Any], name: str, default: int) -> int:
    raw = settings.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < 1:
        raise ConfigurationError(
            f"{name} must be a whole number of bytes greater than 0, got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class AiopyramidSettings:
    """The parsed ``aiopyramid.*`` settings of one application."""

    max_body_size: int = 10 * 1024 * 1024
    """``aiopyramid.max_body_size``: the largest request body, in bytes."""
    websocket_max_message_size: int = 1024 * 1024
    """``aiopyramid.websocket.max_message_size``: the largest websocket message, in bytes."""
    websocket_allowed_origins: frozenset[str] = frozenset()
    """``aiopyramid.websocket.allowed_origins``: extra origins that may open websockets."""

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> AiopyramidSettings:
        """Read the settings from a Pyramid settings mapping; raise ConfigurationError if bad."""
        origins = settings.get("aiopyramid.websocket.allowed_origins") or ""
        if not isinstance(origins, str):
            origins = " ".join(origins)
        return cls(
            max_body_size=_byte_count(settings, "aiopyramid.max_body_size", cls.max_body_size),
            websocket_max_message_size=_byte_count(
                settings,
                "aiopyramid.websocket.max_message_size",
                cls.websocket_max_message_size,
            ),
            websocket_allowed_origins=frozenset(o.rstrip("/") for o in origins.split()),
        )


def settings_from(registry: Any) -> AiopyramidSettings:
    """Return the settings stored on ``registry``, parsing and storing them on first use.

    ``includeme`` calls it, so a bad value stops the application at startup.
    """
    stored = registry.get(_SETTINGS_KEY) if hasattr(registry, "get") else None
    if isinstance(stored, AiopyramidSettings):
        return stored
    parsed = AiopyramidSettings.parse(getattr(registry, "settings", None) or {})
    if hasattr(registry, "__setitem__"):
        registry[_SETTINGS_KEY] = parsed
    return parsed
