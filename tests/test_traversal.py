"""Traversal through resources whose __getitem__ awaits I/O."""

import asyncio

from pyramid.config import Configurator
from pyramid.response import Response

from aiopyramid.helpers import synchronize
from aiopyramid.testing import AppClient

DATABASE = {"books": {"dune": "Dune, by Frank Herbert"}}


class Folder:
    def __init__(self, name, children, parent=None):
        self.__name__ = name
        self.__parent__ = parent
        self.children = children

    @synchronize
    async def __getitem__(self, key):
        await asyncio.sleep(0.001)  # stands in for a database query
        child = self.children[key]  # KeyError means "not found" to the traverser
        if isinstance(child, dict):
            return Folder(key, child, self)
        return Book(key, child, self)


class Book:
    def __init__(self, name, title, parent):
        self.__name__ = name
        self.__parent__ = parent
        self.title = title


async def show_book(context, request):
    return Response(f"{context.title} at {request.resource_path(context)}")


def make_app():
    with Configurator(root_factory=lambda request: Folder("", DATABASE)) as config:
        config.include("aiopyramid")
        config.add_view(show_book, context=Book)
    return config.make_wsgi_app()


def test_default_traverser_awaits_synchronized_getitem():
    with AppClient(make_app()) as client:
        response = client.get("/books/dune")
        assert response.status == 200
        assert response.text == "Dune, by Frank Herbert at /books/dune/"


def test_missing_resources_are_404():
    with AppClient(make_app()) as client:
        assert client.get("/books/nothing").status == 404
