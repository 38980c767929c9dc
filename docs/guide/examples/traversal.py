"""Traversal through resources that are loaded with a coroutine."""

from __future__ import annotations

import asyncio
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router

from aiopyramid.helpers import synchronize

CATALOGUE: dict[str, Any] = {
    "tea": {"sencha": "Sencha, 4.50 a tin", "assam": "Assam, 3.90 a tin"},
    "coffee": {"mocha": "Mocha, 5.00 a bag"},
}


async def fetch(path: tuple[str, ...]) -> Any:
    """Stands in for an asynchronous database query: the node at ``path``."""
    await asyncio.sleep(0.001)
    node: Any = CATALOGUE
    for name in path:
        node = node[name]  # KeyError: no such node
    return node


# [start resources]
class Shelf:
    """A folder of the catalogue; Pyramid's traverser calls ``shelf[name]``."""

    def __init__(self, path: tuple[str, ...] = (), parent: Any = None) -> None:
        self.__name__ = path[-1] if path else ""
        self.__parent__ = parent
        self.path = path

    @synchronize
    async def __getitem__(self, name: str) -> Shelf | Product:
        node = await fetch((*self.path, name))  # KeyError means "not found": a 404
        if isinstance(node, dict):
            return Shelf((*self.path, name), self)
        return Product(name, node, self)


class Product:
    """A leaf of the catalogue."""

    def __init__(self, name: str, description: str, parent: Shelf) -> None:
        self.__name__ = name
        self.__parent__ = parent
        self.description = description
        # [end resources]


async def show_product(context: Product, request: Request) -> Response:
    """The product's description and its URL path."""
    return Response(f"{context.description} ({request.resource_path(context)})")


def make_app() -> Router:
    """Traversal from a :class:`Shelf` root to products."""
    with Configurator(root_factory=lambda request: Shelf()) as config:
        config.include("aiopyramid")
        config.add_view(show_product, context=Product)
    return config.make_wsgi_app()
