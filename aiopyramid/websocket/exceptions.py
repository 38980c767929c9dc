"""Exceptions of aiopyramid's websocket support."""


class WebsocketClosed(ConnectionError):
    """The websocket is closed, so nothing more can be sent on it."""
