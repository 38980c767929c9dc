"""Websocket views for Pyramid applications served by aiopyramid.

A websocket handshake is routed through Pyramid like any request, so routes,
predicates, security and tweens apply. A view configured with
:class:`~aiopyramid.websocket.config.WebsocketMapper` accepts the socket and talks
over a :class:`~aiopyramid.websocket.connection.WebsocketConnection`.
"""

__all__: list[str] = []
