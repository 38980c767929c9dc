"""Exceptions of aiopyramid's websocket support."""

__all__ = ["WebsocketClosed"]


class WebsocketClosed(ConnectionError):
    """The websocket is closed, so nothing more can be sent on it."""
