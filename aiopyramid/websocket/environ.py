"""Where a websocket handshake's connection lives in the WSGI environ."""

__all__ = ["WEBSOCKET_ENVIRON_KEY"]

WEBSOCKET_ENVIRON_KEY = "aiopyramid.websocket"
"""The environ key holding the :class:`~aiopyramid.websocket.connection.WebsocketConnection`
of a websocket handshake; absent on ordinary HTTP requests."""
