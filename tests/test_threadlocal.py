"""Pyramid's current request and registry stay right while requests interleave."""

import asyncio
import threading

from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.threadlocal import get_current_registry, get_current_request, manager

import aiopyramid  # noqa: F401  (importing it makes the request stack context-local)
from aiopyramid.asgi import ASGIApplication
from aiopyramid.threadlocal import ContextLocalManager
from testkit.asgi import asgi_get


async def coroutine_view(request):
    before = get_current_request()
    await asyncio.sleep(0.01 * (int(request.params["n"]) % 7))
    after = get_current_request()
    assert get_current_registry() is request.registry
    return Response(f"{request.params['n']} {before is request} {after is request}")


def legacy_view(request):
    same = get_current_request() is request and get_current_registry() is request.registry
    return Response(f"{request.params['n']} {threading.current_thread().name} {same}")


def make_app():
    with Configurator() as config:
        config.include("aiopyramid")
        config.add_route("coroutine", "/coroutine")
        config.add_route("legacy", "/legacy")
        config.add_view(coroutine_view, route_name="coroutine")
        config.add_view(legacy_view, route_name="legacy")
    return config.make_wsgi_app()


def test_the_manager_is_context_local_after_importing_aiopyramid():
    assert isinstance(manager, ContextLocalManager)


def test_150_interleaved_coroutine_requests_each_see_their_own_request():
    app = ASGIApplication(make_app())

    async def main():
        return await asyncio.gather(*(asgi_get(app, f"/coroutine?n={n}") for n in range(150)))

    bodies = [body.decode() for body in asyncio.run(main())]
    assert bodies == [f"{n} True True" for n in range(150)]


def test_executor_threads_see_the_request_that_sent_them():
    app = ASGIApplication(make_app())

    async def main():
        return await asyncio.gather(*(asgi_get(app, f"/legacy?n={n}") for n in range(40)))

    bodies = [body.decode() for body in asyncio.run(main())]
    for n, body in enumerate(bodies):
        number, thread, same = body.split()
        assert number == str(n)
        assert thread != threading.current_thread().name
        assert same == "True"


def test_stack_is_empty_again_after_requests():
    app = ASGIApplication(make_app())
    asyncio.run(asgi_get(app, "/coroutine?n=1"))
    assert get_current_request() is None


def test_new_threads_start_with_pyramid_defaults():
    manager.push({"request": "outer", "registry": "outer-registry"})
    try:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(get_current_request()))
        thread.start()
        thread.join()
        assert seen == [None]
        assert get_current_request() == "outer"
    finally:
        manager.pop()


def test_manager_stack_attribute_round_trips():
    manager.stack = [{"request": 1, "registry": 2}]
    try:
        assert manager.stack == [{"request": 1, "registry": 2}]
        assert manager.pop() == {"request": 1, "registry": 2}
        assert manager.pop() is None
    finally:
        manager.clear()
    assert manager.stack == []
