"""Exceptions of aiopyramid's websocket support."""

__all__ = ["WebsocketClosed", "WebsocketNotOpen"]


class WebsocketClosed(ConnectionError):
    """The websocket is closed, so nothing more can be sent on it."""


class WebsocketNotOpen(RuntimeError, AttributeError):
    """A :class:`~aiopyramid.websocket.view.WebsocketConnectionView` sent before its socket opened.

    A :exc:`RuntimeError`, and also the :exc:`AttributeError` that aiopyramid 0.4
    raised for it (the view had no ``ws`` attribute yet).
    """
